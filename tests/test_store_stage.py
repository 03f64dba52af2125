"""The one stage lifecycle (``prune_core/store/stage.py``): check done, begin, record failure, finish."""

from __future__ import annotations

import numpy as np
import pytest

from prune_core.store import RunStore


@pytest.fixture
def run(tmp_path):
    return RunStore(tmp_path).create("r", config={"x": 1})


def test_a_finished_stage_records_its_time_and_report_and_is_done_only_with_the_same_params(run):
    stage = run.stage("train", {"epochs": 2})
    assert not stage.done
    with stage:
        assert run.stage_status("train") == "running"
        run.write_array("dynamics/train/loss", np.ones((4, 2), np.float32), stage=stage.name)
        stage.report(examples=4)
    record = run.stage_record("train")
    assert record.status == "done" and record.seconds >= 0 and record.extra == {"examples": 4}
    assert record.pid is None and record.error is None
    assert run.stage("train", {"epochs": 2}).done
    assert not run.stage("train", {"epochs": 3}).done
    (run.path / run.file_info("dynamics/train/loss").path).unlink()
    assert not run.stage("train", {"epochs": 2}).done  # a file it wrote is gone


def test_raise_records_the_failure_then_propagates_it(run):
    stage = run.stage("train")
    with pytest.raises(RuntimeError, match="out of memory"), stage:
        raise RuntimeError("out of memory")
    record = run.reload().stage_record("train")
    assert record.status == "failed" and record.error == "RuntimeError: out of memory"
    assert stage.error == "RuntimeError: out of memory"


def test_record_keeps_the_failure_on_the_stage_and_lets_the_caller_go_on(run):
    stage = run.stage("select:el2n", errors="record")
    with stage:
        raise ValueError("no gradients")
    assert stage.error == "ValueError: no gradients" and isinstance(stage.exception, ValueError)
    assert run.reload().stage_record("select:el2n").status == "failed"


def test_record_still_stops_on_an_interrupt_after_recording_it(run):
    stage = run.stage("select:el2n", errors="record")
    with pytest.raises(KeyboardInterrupt), stage:
        raise KeyboardInterrupt
    assert run.reload().stage_status("select:el2n") == "failed"


def test_a_stage_begun_again_drops_its_stale_files_but_keeps_intact_ones_it_marks(run):
    with run.stage("train") as stage:
        run.write_array("dynamics/train/loss", np.ones(3, np.float32), stage=stage.name)
        run.write_json("kept", {"a": 1}, stage=stage.name)
        run.write_json("damaged", {"b": 2}, stage=stage.name)
    (run.path / run.file_info("damaged").path).write_text('{"b": 3}')
    with run.stage("train", keep=lambda record: record.kind == "json"):
        assert run.has("kept")  # intact and marked: kept
        assert not run.has("dynamics/train/loss")  # not marked: dropped
        assert not run.has("damaged")  # marked but damaged: dropped
    assert not (run.path / "arrays/dynamics/train/loss.npy").exists()


def test_an_unknown_error_policy_is_refused(run):
    with pytest.raises(ValueError, match="raise"):
        run.stage("train", errors="ignore")
