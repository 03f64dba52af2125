"""``compute`` end to end: every array, caching, recovery from damaged files and from kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from prune_core.cli import main
from prune_core.paths import REPO_ROOT
from prune_core.store import RunStore


def compute_args(data_dir, runs_dir, model, *extra):
    return [
        "compute",
        "--data",
        str(data_dir),
        "--limit",
        "300",
        "--limit-validation",
        "100",
        "--limit-test",
        "200",
        "--epochs",
        "2",
        "--runs-dir",
        str(runs_dir),
        "--model",
        str(model),
        "--quiet",
        *extra,
    ]


def expected_arrays(
    n_train: int, n_val: int, hidden: int, classes: int, dim: int, n_test: int = 200
) -> dict[str, tuple]:
    """Every array a 2-epoch compute must leave behind, with its shape and dtype."""
    found = {}
    for name in ("p_gold", "loss", "margin", "prob_margin", "correct"):
        found[f"dynamics/train/{name}"] = ((n_train, 2), "uint8" if name == "correct" else "float32")
    for split, n in (("train", n_train), ("validation", n_val)):
        for ckpt in ("pretrained", "epoch-1", "epoch-2"):
            found[f"outputs/{split}/{ckpt}/logits"] = ((n, classes), "float32")
            found[f"outputs/{split}/{ckpt}/loss"] = ((n,), "float32")
            found[f"hidden/{split}/{ckpt}/cls"] = ((n, hidden), "float16")
            found[f"hidden/{split}/{ckpt}/mean"] = ((n, hidden), "float16")
            found[f"head_input/{split}/{ckpt}"] = ((n, hidden), "float16")
        for ckpt in ("epoch-1", "epoch-2"):  # gradients at every epoch by default
            found[f"grads/{split}/{ckpt}/sgd"] = ((n, dim), "float16")
            found[f"grad_norms/{split}/{ckpt}"] = ((n,), "float32")
    for ckpt in ("epoch-1", "epoch-2"):
        found[f"grads/train/{ckpt}/adam"] = ((n_train, dim), "float16")
    if n_test:  # the pre-trained model also sees the test split (for the fast evaluation probe)
        found["outputs/test/pretrained/logits"] = ((n_test, classes), "float32")
        found["outputs/test/pretrained/loss"] = ((n_test,), "float32")
        found["hidden/test/pretrained/cls"] = ((n_test, hidden), "float16")
        found["hidden/test/pretrained/mean"] = ((n_test, hidden), "float16")
        found["head_input/test/pretrained"] = ((n_test, hidden), "float16")
    return found


def check_every_array(run, expected):
    # later stages (select, maps) may add arrays to a shared run; compute's own must all be there
    stored = {a.key: a for a in run.arrays() if a.stage == "train" or a.stage.startswith("represent:")}
    assert set(stored) == set(expected)
    for key, (shape, dtype) in expected.items():
        array = run.read_array(key)
        assert array.shape == shape and str(array.dtype) == dtype, key
        assert np.isfinite(np.asarray(array, dtype=np.float64)).all(), key


@pytest.mark.slow
def test_compute_with_the_packaged_minilm_on_real_sst2(minilm_run, capsys):
    """The issue's integration test: real MiniLM, 300 SST-2 train + 100 validation, 2 epochs."""
    run = minilm_run
    expected = expected_arrays(300, 100, 384, 2, 1024)
    check_every_array(run, {k: v for k, v in expected.items()})
    assert all(s.status == "done" for s in run.stages().values())
    meta = run.array_meta("grads/train/epoch-2/adam")
    assert meta["projection"]["dim"] == 1024 and meta["scope"] == "top"
    assert meta["projection"] == run.array_meta("grads/validation/epoch-2/sgd")["projection"]
    examples = run.examples("train")
    assert len(examples) == 300 and set(examples["label"]) == {0, 1}
    # fine-tuning learned something: training loss falls from epoch 1 to epoch 2
    loss = run.read_array("dynamics/train/loss")
    assert loss[:, 1].mean() < loss[:, 0].mean()

    assert main(["info", str(run.path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["dataset"]["label_names"] == ["negative", "positive"]
    assert info["dataset"]["sizes"]["train"] == 300 and info["model"]["parameters"] > 20_000_000
    assert {"key": "grads/train/epoch-2/adam", "shape": [300, 1024], "dtype": "float16"}.items() <= next(
        a for a in info["arrays"] if a["key"] == "grads/train/epoch-2/adam"
    ).items()
    named = next(a for a in info["arrays"] if a["key"] == "grads/train/epoch-2/adam")
    assert named["split"] == "train" and named["checkpoint"] == "epoch-2" and named["grad_type"] == "adam"


@pytest.fixture
def tiny_run(sst2_dir, tmp_path, tiny_model_dir, capsys):
    assert main(compute_args(sst2_dir, tmp_path, tiny_model_dir)) == 0
    capsys.readouterr()
    return RunStore(tmp_path).runs()[0]


def test_rerunning_compute_reuses_every_finished_stage(sst2_dir, tmp_path, tiny_model_dir, tiny_run, capsys):
    before = {name: stage.finished for name, stage in tiny_run.reload().stages().items()}
    assert main(compute_args(sst2_dir, tmp_path, tiny_model_dir)) == 0
    after = {name: stage.finished for name, stage in tiny_run.reload().stages().items()}
    assert before == after
    check_every_array(tiny_run, expected_arrays(300, 100, 32, 2, 1024))


def test_a_damaged_file_is_detected_and_only_its_stage_recomputed(
    sst2_dir, tmp_path, tiny_model_dir, tiny_run
):
    stages = tiny_run.reload().stages()
    path = tiny_run.path / tiny_run.file_info("hidden/train/epoch-1/cls").path
    original = np.load(path)
    path.write_bytes(path.read_bytes()[:-100])  # truncated
    assert main(compute_args(sst2_dir, tmp_path, tiny_model_dir)) == 0
    redone = tiny_run.reload().stages()
    assert redone["represent:epoch-1"].finished != stages["represent:epoch-1"].finished
    assert redone["train"].finished == stages["train"].finished
    np.testing.assert_array_equal(tiny_run.read_array("hidden/train/epoch-1/cls"), original)


@pytest.mark.parametrize("capture", ["checkpoint", "step"])
@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_compute_killed_mid_way_resumes_to_the_same_result(
    sst2_dir, tmp_path, tiny_model_dir, device, capture
):
    """The reproducibility promise (prune_core/reproducibility.py), on CPU and on a GPU, for both gradient
    captures (step capture saves each epoch's gradients with that epoch's checkpoint)."""
    clean_dir, killed_dir = tmp_path / "clean", tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    extra = ("--epochs", "3", "--device", device, "--grad-capture", capture)
    args = compute_args(sst2_dir, killed_dir, tiny_model_dir, *extra)
    process = subprocess.Popen(
        [sys.executable, "-m", "prune_core", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if list(killed_dir.glob("*/checkpoints/epoch-1/state.json")):
            break
        time.sleep(0.05)
    assert process.poll() is None, "compute finished before it could be killed; the test needs a slower run"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    run = RunStore(killed_dir).runs()[0]
    assert run.stage_status("train") == "running"  # what a kill -9 leaves behind

    assert main(compute_args(sst2_dir, killed_dir, tiny_model_dir, *extra)) == 0
    assert main(compute_args(sst2_dir, clean_dir, tiny_model_dir, *extra)) == 0
    resumed, clean = RunStore(killed_dir).runs()[0], RunStore(clean_dir).runs()[0]
    assert resumed.id == clean.id
    for info in clean.arrays():
        np.testing.assert_allclose(
            np.asarray(resumed.read_array(info.key), np.float64),
            np.asarray(clean.read_array(info.key), np.float64),
            rtol=1e-4,
            atol=1e-5,
            err_msg=info.key,
        )


def test_bad_data_stops_with_a_clear_error_and_no_traceback(tmp_path, tiny_model_dir, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text,label\n1,good,0\n2,,1\n3,fine,1\n")
    code = main(
        [
            "compute",
            "--data",
            str(bad),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--model",
            str(tiny_model_dir),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "bad.csv" in err and "row 2" in err and "'text'" in err
    assert "Traceback" not in err
