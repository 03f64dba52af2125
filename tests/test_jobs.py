"""Background jobs: compute -> select -> maps in a detached process that reports progress, finishes,
survives a "reload" (re-reading its record), reports a failure with its error, and can be cancelled."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from prune_core.jobs import (
    JobRequest,
    cancel_job,
    compute_stage_names,
    ensure_demo_run,
    extra_seed_runs,
    job_status,
    list_jobs,
    load_job,
    log_tail,
    stage_views,
    start_job,
)
from prune_core.stability import seed_of, seed_siblings
from prune_core.store import RunStore, StoreError
from tests.run_fixtures import small_run  # noqa: F401  (shared session fixture)

FAST_METHODS = ("aum", "el2n", "random", "kcenter")


def wait_until_finished(job, timeout: float = 240.0) -> list:
    """Poll like the page does; returns every status seen, the last one finished."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        status = job_status(job)
        seen.append(status)
        if not status.active:
            return seen
        if time.monotonic() > deadline:
            pytest.fail(
                f"job {job.id} still {status.status} after {timeout} s; log:\n" + "\n".join(status.log_tail)
            )
        time.sleep(0.2)


def test_stage_views_fill_finished_stages_and_take_the_running_one_from_progress():
    record = {
        "request": {"epochs": 1},
        "steps": [
            {"name": "compute", "status": "running"},
            {"name": "select", "status": "pending"},
            {"name": "maps:pca", "status": "pending"},
        ],
    }
    stages = {
        "data": {"status": "done", "seconds": 0.25},
        "train": {"status": "done", "seconds": 3.0},
        "represent:pretrained": {"status": "done", "seconds": 1.0},
        "represent:epoch-1": {"status": "running"},
    }
    progress = {"stage": "represent:epoch-1 gradients", "done": 30, "total": 120}
    views = {v.name: v for v in stage_views(record, stages, progress, expected_methods=4)}
    assert list(views) == ["data", "train", "represent:pretrained", "represent:epoch-1", "select", "maps:pca"]
    assert (views["data"].fraction, views["data"].detail) == (1.0, "0.2 s")
    assert views["represent:epoch-1"].status == "running" and views["represent:epoch-1"].fraction == 0.25
    assert views["represent:epoch-1"].detail == "gradients: 30 / 120"
    assert views["select"].status == "pending" and views["select"].fraction == 0.0


def test_select_and_maps_bars_count_finished_methods_and_representations():
    record = {
        "request": {"epochs": 1},
        "steps": [
            {"name": "compute", "status": "done"},
            {"name": "select", "status": "running"},
            {"name": "maps:pca", "status": "done", "note": ""},
        ],
    }
    stages = {
        "select:aum": {"status": "done"},
        "select:less": {"status": "failed"},
        "select:el2n": {"status": "running"},
        "map:hs:pca": {"status": "done"},
        "map:dyn:pca": {"status": "done"},
        "map:hs:umap": {"status": "done"},
    }
    views = {v.name: v for v in stage_views(record, stages, None, expected_methods=8)}
    assert views["select"].fraction == 2 / 8 and views["select"].detail == "2 / 8 methods"
    assert views["maps:pca"].fraction == 1.0 and views["maps:pca"].detail == "2 representations"
    assert views["train"].status == "cached"  # compute exited without running it: it was already stored


def test_log_tail_keeps_the_latest_state_of_progress_bars():
    text = "start\ntrain:  10%|#  | 1/10\rtrain:  50%|#####| 5/10\rtrain: 100%|#####| 10/10\n\nerror: boom\n"
    assert log_tail_of(text) == ["start", "train: 100%|#####| 10/10", "error: boom"]


def log_tail_of(text: str) -> list[str]:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.txt"
        path.write_text(text)
        return log_tail(path)


def test_compute_stage_names_follow_the_pipeline():
    assert compute_stage_names(2) == [
        "data",
        "train",
        "represent:pretrained",
        "represent:epoch-1",
        "represent:epoch-2",
    ]


def test_a_job_runs_compute_select_and_maps_reports_progress_and_survives_a_reload(
    tmp_path, tiny_model_dir, sst2_dir
):
    request = JobRequest(
        data=str(sst2_dir),
        model=str(tiny_model_dir),
        epochs=1,
        limit=60,
        limit_validation=30,
        maps=("pca",),
        methods=FAST_METHODS,
        extra_seeds=(1,),
    )
    job = start_job(request, tmp_path)
    # A "reload": a new page finds the job again from the store alone.
    again = load_job(tmp_path, job.id)
    assert [j.id for j in list_jobs(tmp_path)] == [job.id]
    seen = wait_until_finished(again)
    final = seen[-1]
    assert final.status == "done", final.error or "\n".join(final.log_tail)
    assert any(s.active and any(v.status in ("running", "pending") for v in s.stages) for s in seen)
    assert all(v.fraction == 1.0 for v in final.stages), [(v.name, v.status, v.detail) for v in final.stages]
    run = RunStore(tmp_path).open(final.run_id)
    assert all(run.stage_status(f"select:{m}") == "done" for m in FAST_METHODS)
    assert run.has("maps/hs/pca") and run.has("methods")
    assert job_status(load_job(tmp_path, job.id)).status == "done"  # re-reading after the end agrees
    assert any("[map:hs:pca] done" in line for line in final.log_tail)
    # The extra seed: a second run of the same data sample, trained with seed 1 and selected, kept apart
    # from the job's own run (the one its pages open) and grouped with it for Seed stability.
    partner = RunStore(tmp_path).open(job.record()["seed_runs"]["seed-1"]["path"])
    assert partner.id != run.id and seed_of(partner) == 1 and seed_of(run) == 0
    assert [r.id for r in seed_siblings(RunStore(tmp_path), run)] == [run.id, partner.id]
    assert all(partner.stage_status(f"select:{m}") == "done" for m in FAST_METHODS)
    assert extra_seed_runs(tmp_path) == {partner.id}
    views = {v.name: v for v in final.stages}
    assert views["seed-1:compute"].detail == f"run {partner.id}" and views["seed-1:select"].status == "done"


def test_a_failing_job_reports_the_error_of_its_step(tmp_path):
    job = start_job(JobRequest(data=str(tmp_path / "no-such-data.csv"), epochs=1, maps=("pca",)), tmp_path)
    final = wait_until_finished(job, timeout=120)[-1]
    assert final.status == "failed"
    assert "compute failed" in final.error and "no-such-data.csv" in final.error
    assert any(line.startswith("error:") for line in final.log_tail)
    record = job.record()
    assert [s["status"] for s in record["steps"]] == ["failed", "skipped", "skipped"]
    assert final.run_id is None
    views = {v.name: v for v in final.stages}
    # the stage that failed says so and why; nothing reads "pending" in a job that has ended
    assert views["data"].status == "failed" and "no-such-data.csv" in views["data"].detail
    assert views["train"].status == "not started" and views["select"].status == "skipped"
    assert not [v for v in final.stages if v.status == "pending"]


def test_a_job_can_be_cancelled(tmp_path, tiny_model_dir, sst2_dir):
    job = start_job(
        JobRequest(
            data=str(sst2_dir),
            model=str(tiny_model_dir),
            epochs=3,
            limit=300,
            maps=("pca",),
            methods=FAST_METHODS,
        ),
        tmp_path,
    )
    deadline = time.monotonic() + 60
    while job.record().get("status") != "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    cancel_job(job)
    final = wait_until_finished(job, timeout=60)[-1]
    assert final.status == "cancelled" and final.error == "cancelled by the user"


def test_unknown_jobs_are_reported_with_the_jobs_that_exist(tmp_path):
    with pytest.raises(StoreError, match="no job 'nope'.*recent jobs: none"):
        load_job(tmp_path, "nope")


def test_the_demo_run_starts_once_only_when_the_store_is_empty(tmp_path, tiny_model_dir, sst2_dir, small_run):  # noqa: F811
    assert ensure_demo_run(tmp_path, None) is None
    with pytest.raises(FileNotFoundError, match="PRUNESCOPE_DEMO_DATA"):
        ensure_demo_run(tmp_path, tmp_path / "missing")
    assert ensure_demo_run(small_run.parent, sst2_dir) is None  # a store with a run needs no demo
    job = ensure_demo_run(tmp_path, sst2_dir, model=str(tiny_model_dir), limit=40, epochs=1, maps=("pca",))
    try:
        assert job is not None and job.record()["request"]["label"] == "demo"
        assert ensure_demo_run(tmp_path, sst2_dir).id == job.id  # still running: not started twice
    finally:
        cancel_job(job)
        wait_until_finished(job, timeout=60)


def test_an_extra_seeds_bar_reads_its_own_runs_progress_and_a_failed_seed_stops_only_its_select():
    record = {
        "request": {"epochs": 1},
        "steps": [
            {"name": "compute", "status": "done"},
            {"name": "select", "status": "done"},
            {"name": "seed-1:compute", "status": "running"},
            {"name": "seed-1:select", "status": "pending"},
        ],
    }
    progress = {"stage": "train", "done": 40, "total": 160, "epoch": 1, "epochs": 1, "loss": 0.61}
    views = {v.name: v for v in stage_views(record, {}, None, 4, {"seed-1": progress})}
    running = views["seed-1:compute"]
    assert running.status == "running" and running.fraction == 0.25
    assert running.detail.startswith("training seed 1 · train: epoch 1/1 · loss 0.610 · 40 / 160")
    assert views["seed-1:select"].status == "pending"
    record["steps"][2:] = [
        {"name": "seed-1:compute", "status": "failed", "note": "error: out of memory"},
        {"name": "seed-1:select", "status": "skipped", "note": "not run: seed-1:compute failed"},
    ]
    views = {v.name: v for v in stage_views(record, {}, None, 4, {})}
    assert views["seed-1:compute"].status == "failed" and "out of memory" in views["seed-1:compute"].detail
    assert views["seed-1:select"].detail == "not run: seed-1:compute failed"


def test_the_dashboard_opens_a_jobs_own_run_before_its_extra_seeds_run():
    from app.state import default_run

    assert default_run(["seed1-run", "main-run", "older"], {"seed1-run"}) == "main-run"
    assert default_run(["cli-run", "seed1-run", "main-run"], {"seed1-run"}) == "cli-run"
    assert default_run(["seed1-run"], {"seed1-run"}) == "seed1-run"


def test_a_running_bar_shows_epoch_running_loss_and_time_left():
    record = {"request": {"epochs": 3}, "steps": [{"name": "compute", "status": "running"}]}
    stages = {"data": {"status": "done", "seconds": 0.1}, "train": {"status": "running"}}
    progress = {
        "stage": "train",
        "done": 600,
        "total": 1500,
        "epoch": 2,
        "epochs": 3,
        "loss": 0.41234,
        "eta": 150,
    }
    view = {v.name: v for v in stage_views(record, stages, progress)}["train"]
    assert view.fraction == 0.4
    assert view.detail == "epoch 2/3 · loss 0.412 · 600 / 1,500 · about 2 min left"


def test_the_finished_driver_is_reaped_without_anyone_polling_it(tmp_path):
    job = start_job(JobRequest(data=str(tmp_path / "no-such-data.csv"), epochs=1, maps=("pca",)), tmp_path)
    pid = job.driver_pid()
    deadline = time.monotonic() + 120
    while job.record().get("status") in ("starting", "running") and time.monotonic() < deadline:
        time.sleep(0.2)  # reads the record only: job_status() would reap the driver itself
    time.sleep(1.0)
    stat = Path(f"/proc/{pid}/stat")
    state = stat.read_text().rsplit(")", 1)[1].split()[0] if stat.exists() else "gone"
    assert state == "gone", f"driver {pid} is in state {state} (Z = zombie)"
