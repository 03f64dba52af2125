"""The dashboard's engine line for a distributed job (``prune_core/jobs/status.engine_line``)."""

from __future__ import annotations

from prune_core.jobs.status import engine_line


def test_a_local_job_has_no_engine_line():
    assert engine_line(None) is None
    assert engine_line({"stage": "train", "done": 3, "total": 10}) is None


def test_a_ray_job_shows_its_workers_and_per_shard_progress():
    progress = {
        "stage": "represent shards",
        "engine": "ray: 2 workers (1 CPU each)",
        "shards": {
            "done": 5,
            "total": 22,
            "recent": [
                {"key": "shards/train/epoch-1/00003", "examples": 8, "seconds": 1.25, "worker": "node:41"}
            ],
        },
    }
    assert engine_line(progress) == (
        "ray: 2 workers (1 CPU each) · shards 5 / 22 · "
        "last shards/train/epoch-1/00003: 8 examples in 1.2 s on node:41"
    )
