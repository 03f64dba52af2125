"""The run store: atomic writes, validation on read, stage bookkeeping, the lock, no pickle."""

from __future__ import annotations

import json
import multiprocessing
import time

import numpy as np
import pandas as pd
import pytest
import torch

from prune_core.store import CorruptFileError, RunLockedError, RunStore, StoreError, stable_hash


@pytest.fixture
def run(tmp_path):
    return RunStore(tmp_path).create("demo-run", {"config": {"x": 1}})


def test_array_round_trip_records_shape_dtype_and_checksum(run):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    run.write_array(
        "hidden/train/epoch-1/cls", array, stage="represent:epoch-1", dtype="float16", meta={"split": "train"}
    )
    info = run.reload().file_info("hidden/train/epoch-1/cls")
    assert info.shape == [3, 4] and info.dtype == "float16" and len(info.sha256) == 64
    loaded = run.read_array("hidden/train/epoch-1/cls")
    assert isinstance(loaded, np.memmap)
    np.testing.assert_array_equal(loaded, array.astype(np.float16))
    assert run.arrays()[0].meta == {"split": "train"}


def test_truncated_array_is_detected_and_blamed_on_its_stage(run):
    run.write_array("grads/train/epoch-1/sgd", np.ones((50, 8), np.float32), stage="represent:epoch-1")
    path = run.path / run.file_info("grads/train/epoch-1/sgd").path
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(CorruptFileError, match="truncated") as err:
        run.read_array("grads/train/epoch-1/sgd")
    assert err.value.stage == "represent:epoch-1"


def test_altered_array_of_same_size_fails_the_checksum(tmp_path):
    run = RunStore(tmp_path).create("r", {})
    run.write_array("a", np.zeros(100, np.float32), stage="s")
    path = run.path / run.file_info("a").path
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    fresh = RunStore(tmp_path).open("r")  # a new reader has no cached verification
    assert "checksum" in fresh.problems(["a"])["a"]
    with pytest.raises(CorruptFileError, match="checksum"):
        fresh.read_array("a")


def test_stage_is_done_only_with_same_params_and_intact_files(run):
    run.begin_stage("train", {"epochs": 2})
    assert not run.stage_is_done("train", {"epochs": 2})  # still running (or killed mid-way)
    run.write_array("dynamics/train/p_gold", np.ones((4, 2), np.float32), stage="train")
    run.finish_stage("train", 1.5)
    assert run.stage_is_done("train", {"epochs": 2})
    assert not run.stage_is_done("train", {"epochs": 3})
    (run.path / run.file_info("dynamics/train/p_gold").path).unlink()
    assert not run.stage_is_done("train", {"epochs": 2})


def test_object_arrays_are_refused_because_they_would_need_pickle(run):
    with pytest.raises(StoreError, match="pickle"):
        run.write_array("bad", np.array([{"a": 1}], dtype=object), stage="s")


def test_tables_and_json_round_trip(run):
    frame = pd.DataFrame({"uid": ["a", "b"], "score": [0.5, 1.5]})
    run.write_table("scores", frame, stage="select")
    pd.testing.assert_frame_equal(run.read_table("scores"), frame)
    run.write_json("summary", {"k": [1, 2]}, stage="select")
    assert run.read_json("summary") == {"k": [1, 2]}


def test_checkpoint_groups_are_safetensors_and_incomplete_ones_are_ignored(run):
    run.save_checkpoint("epoch-1", {"weights": {"w": torch.ones(3)}}, {"epoch": 1, "step": 4})
    assert run.complete_checkpoints() == ["epoch-1"]
    assert torch.equal(run.load_checkpoint_group("epoch-1", "weights")["w"], torch.ones(3))
    (run.checkpoint_dir("epoch-1") / "state.json").unlink()
    assert run.complete_checkpoints() == []


def _hold_lock(path, ready, release):
    from prune_core.store import Run

    with Run(path).lock("test holder"):
        ready.set()
        release.wait(10)


def test_second_computation_on_a_locked_run_fails_clearly(run):
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(run.path, ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        assert run.is_locked()
        with pytest.raises(RunLockedError, match="test holder"):
            with run.lock("compute"):
                pass
    finally:
        release.set()
        holder.join(10)
    assert not run.is_locked()  # released once the holder exits
    with run.lock("compute"):
        assert run.is_locked()


def test_manifest_updates_from_two_writers_are_both_kept(tmp_path):
    store = RunStore(tmp_path)
    first = store.create("r", {})
    second = store.open("r")
    first.write_json("one", 1, stage="a")
    second.write_json("two", 2, stage="b")  # second never re-read the manifest itself
    files = json.loads((first.path / "manifest.json").read_text())["files"]
    assert {"one", "two"} <= set(files)


def test_open_unknown_run_names_the_store_and_known_runs(tmp_path):
    store = RunStore(tmp_path)
    store.create("known", {})
    with pytest.raises(StoreError, match="known"):
        store.open("missing")


def test_runs_are_listed_newest_first(tmp_path):
    store = RunStore(tmp_path)
    store.create("old", {})
    time.sleep(0.02)
    store.create("new", {}).update_manifest(note="x")
    assert [r.id for r in store.runs()] == ["new", "old"]


def test_stable_hash_ignores_key_order():
    assert stable_hash({"a": 1, "b": [1, 2]}) == stable_hash({"b": [1, 2], "a": 1})
    assert stable_hash({"a": 1}) != stable_hash({"a": 2})


def test_checkpoint_files_are_registered_with_checksums_and_verified_on_read(run):
    run.save_checkpoint(
        "epoch-1", {"weights": {"w": torch.ones(3)}, "optimizer": {"m": torch.zeros(2)}}, {"epoch": 1}
    )
    info = run.file_info("checkpoints/epoch-1/weights")
    assert info.kind == "checkpoint" and info.stage == "train" and len(info.sha256) == 64
    assert run.file_info("checkpoints/epoch-1/state").path == "checkpoints/epoch-1/state.json"
    path = run.path / info.path
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    fresh = RunStore(run.path.parent).open(run.id)
    with pytest.raises(CorruptFileError, match="checksum") as err:
        fresh.load_checkpoint_group("epoch-1", "weights")
    assert err.value.stage == "train"
    assert "checkpoints/epoch-1/weights" in fresh.problems()
    fresh.drop_checkpoint_group("epoch-1", "optimizer")
    assert not fresh.has("checkpoints/epoch-1/optimizer") and not fresh.has_checkpoint_group(
        "epoch-1", "optimizer"
    )


def test_the_manifest_is_typed_and_keeps_fields_it_does_not_know(run):
    run.update_manifest(
        checkpoints=[{"id": "epoch-1", "epoch": 1, "step": 4, "lr": 0.1, "gradients": True}], note="kept"
    )
    run.begin_stage("train", {"epochs": 2})
    run.finish_stage("train", 1.25, history=[0.5])
    fresh = RunStore(run.path.parent).open(run.id)
    assert fresh.checkpoints[0].id == "epoch-1" and fresh.checkpoints[0].lr == 0.1
    record = fresh.stage_record("train")
    assert record.status == "done" and record.seconds == 1.25 and record.extra == {"history": [0.5]}
    assert fresh.stage_record("select:x").status == "missing"
    raw = json.loads((run.path / "manifest.json").read_text())
    assert raw["note"] == "kept" and raw["stages"]["train"]["history"] == [0.5]
    assert raw["format_version"] == 2 and raw["config"] == {"x": 1}


def _format_1_run(root):
    """A run folder as format 1 wrote it: untyped manifest, checkpoints on disk but not registered."""
    from safetensors.torch import save_file

    path = root / "old-run"
    (path / "arrays/dynamics/train").mkdir(parents=True)
    (path / "checkpoints/epoch-1").mkdir(parents=True)
    array_path = path / "arrays/dynamics/train/loss.npy"
    np.save(array_path, np.arange(4, dtype=np.float32))
    save_file({"w": torch.ones(2)}, str(path / "checkpoints/epoch-1/weights.safetensors"))
    (path / "checkpoints/epoch-1/state.json").write_text(json.dumps({"epoch": 1, "step": 3, "mean_lr": 0.1}))
    from prune_core.store import file_sha256

    manifest = {
        "format_version": 1,
        "run_id": "old-run",
        "created": "2026-01-01T00:00:00+00:00",
        "config": {"model": "minilm"},
        "dataset": {"fingerprint": "abc", "label_names": ["neg", "pos"], "sizes": {"train": 4}},
        "checkpoints": [{"id": "pretrained", "epoch": 0, "step": 0, "lr": None}],
        "stages": {"train": {"status": "done", "params": {}, "params_hash": stable_hash({}), "seconds": 2.0}},
        "files": {
            "dynamics/train/loss": {
                "path": "arrays/dynamics/train/loss.npy",
                "stage": "train",
                "bytes": array_path.stat().st_size,
                "sha256": file_sha256(array_path),
                "written": "2026-01-01T00:00:01+00:00",
                "kind": "array",
                "shape": [4],
                "dtype": "float32",
                "meta": {},
            }
        },
    }
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def test_a_run_written_in_format_1_still_opens_with_its_unregistered_checkpoints(tmp_path):
    run = RunStore(tmp_path).open(_format_1_run(tmp_path))
    assert run.label_names == ["neg", "pos"] and run.dataset.fingerprint == "abc"
    assert run.stage_is_done("train", {}) and run.stage_record("train").seconds == 2.0
    np.testing.assert_array_equal(run.read_array("dynamics/train/loss"), np.arange(4))
    assert run.complete_checkpoints() == ["epoch-1"] and run.checkpoint_state("epoch-1")["step"] == 3
    assert torch.equal(run.load_checkpoint_group("epoch-1", "weights")["w"], torch.ones(2))
    run.write_json("later", {"a": 1}, stage="select:x")  # writing keeps the format-1 fields
    assert RunStore(tmp_path).open("old-run").stage_record("train").seconds == 2.0


def test_a_run_of_a_newer_format_is_refused_with_a_clear_message(tmp_path):
    path = _format_1_run(tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    (path / "manifest.json").write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(StoreError, match="format 99.*upgrade PruneScope"):
        RunStore(tmp_path).open("old-run").reload().stages()
