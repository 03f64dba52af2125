# ruff: noqa: F811  (the shared fixtures are imported by name, then requested as arguments)
"""A Ray extraction whose driver is killed resumes from the shards already written, computing none twice.

The driver runs in a subprocess joined to the session's cluster; once it has registered a few shards
the test kills it (SIGKILL, by pid). Running the same computation again keeps every intact shard of the
killed pass, computes only the others, and ends with the local engine's arrays.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from prune_core.distributed.engine import RayCompute, RayOptions
from prune_core.paths import REPO_ROOT
from prune_core.store import keys
from tests.distributed_support import (  # noqa: F401 (fixtures)
    copy_without_representations,
    local_run,
    ray_cluster,
    small_config,
    worst_relative_error,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
OPTIONS = {"workers": 2, "train_workers": 1, "shard_examples": 4}
DRIVER = """
import sys
from pathlib import Path
from prune_core.distributed.engine import RayCompute, RayOptions
from prune_core.store import RunStore
from tests.distributed_support import small_config
RayCompute(small_config(Path(sys.argv[1])), RunStore(sys.argv[2]), RayOptions(**{options}),
           show_progress=False).run()
"""
CHECKPOINTS = ("pretrained", "epoch-1", "epoch-2")


def test_a_rerun_after_the_driver_is_killed_keeps_its_shards_and_computes_only_the_rest(
    local_run, ray_cluster, sst2_dir, tmp_path
):
    store = copy_without_representations(local_run, tmp_path)
    run = store.open(local_run.id)
    env = {**os.environ, "RAY_ADDRESS": ray_cluster.get_runtime_context().gcs_address}
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER.format(options=OPTIONS), str(sst2_dir), str(tmp_path)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 480
        while time.time() < deadline and driver.poll() is None:
            if len(run.reload().files(keys.prefix(keys.SHARDS))) >= 2:
                break
            time.sleep(0.1)
        assert driver.poll() is None, "the driver ended before it could be killed"
        os.kill(driver.pid, signal.SIGKILL)
    finally:
        if driver.poll() is None:
            driver.kill()
        driver.wait()
    time.sleep(3)  # the cluster stops the dead driver's actors
    written = {r.key: r.sha256 for r in run.reload().files(keys.prefix(keys.SHARDS))}
    assert len(written) >= 2

    resumed = RayCompute(small_config(sst2_dir), store, RayOptions(**OPTIONS), show_progress=False).run()
    reused, computed, every = set(), set(), set()
    for checkpoint in CHECKPOINTS:
        engine = resumed.stage_record(keys.represent_stage(checkpoint)).extra["engine"]
        reused |= set(engine["reused"])
        computed |= set(engine["computed"])
        every |= {s["key"] for s in engine["shards"]}
        # a kept shard is the very file the killed pass wrote
        assert all(written[s["key"]] == s["sha256"] for s in engine["shards"] if s["key"] in engine["reused"])
    assert set(written) <= reused
    assert not reused & computed  # no shard computed twice
    assert reused | computed == every and computed
    worst, _ = worst_relative_error(local_run.reload(), resumed.reload())
    assert worst <= 1e-5
