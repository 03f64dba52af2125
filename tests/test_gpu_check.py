"""``bench/gpu_check.py`` stays runnable while no GPU is at hand: its ``--smoke`` mode runs here on CPU."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from prune_core.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "bench" / "gpu_check.py"
CORRECTNESS_ROWS = (
    "grad top",
    "grad LoRA",
    "gradient features twice (CountSketch)",
    "every compute stage done",
    "run opens and selects in a CPU-only process",
)
MEASURED_ROWS = (
    "grad features, batch-size-1 loop",
    "training step, batch 8",
    "grad features, batched 8",
    "batched vs loop, best batch size",
    "projection CountSketch",
    "whole compute",
    "compute vs plain fine-tune",
)


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script is loaded
    spec.loader.exec_module(module)
    return module


def run_script(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=600
    )


def test_smoke_mode_prints_one_table_of_passing_checks_and_exits_0():
    done = run_script("--smoke")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("check "))
    assert lines[header].split() == ["check", "value", "target", "result"]
    rows = lines[header + 2 :]
    assert all(row.split()[-1] in ("PASS", "info") for row in rows), rows
    for name in CORRECTNESS_ROWS:
        assert any(row.startswith(name) and row.endswith("PASS") for row in rows), name
    for name in MEASURED_ROWS:
        assert any(row.startswith(name) for row in rows), name
    assert sum(line.startswith("check ") for line in lines) == 1  # one table


def test_a_failed_check_makes_the_table_say_fail_and_the_exit_status_non_zero(capsys):
    gpu_check = load_script()
    table = gpu_check.Table()
    table.add("grad top: vmap vs loop", "3.0e-02", "<= 1e-5", False)
    table.add("device", "cpu")
    table.print()
    out = capsys.readouterr().out
    assert out.splitlines()[2].endswith("FAIL") and out.splitlines()[3].endswith("info")
    assert [r.check for r in table.failed] == ["grad top: vmap vs loop"]


@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_without_the_gpu_it_asks_for_the_check_stops_with_one_line_and_status_2(device):
    done = run_script("--device", device)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: --device") and "--smoke" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_main_exits_1_and_names_the_failed_check(monkeypatch, capsys):
    gpu_check = load_script()
    for name in ("make_model_folder", "make_dataset", "check_repeatable", "throughput", "projection_rates"):
        monkeypatch.setattr(gpu_check, name, lambda *args, **kwargs: None)
    monkeypatch.setattr(gpu_check, "opens_on_cpu", lambda *args: None)
    monkeypatch.setattr(gpu_check, "whole_compute", lambda *args: "run-id")
    monkeypatch.setattr(
        gpu_check, "check_gradients", lambda table, *args: table.add("grad top", "2e-2", "<= 1e-5", False)
    )
    assert gpu_check.main(["--smoke"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "1 check(s) failed: grad top" in out


def test_the_check_needs_no_dashboard_packages():
    """The GPU machine has torch, transformers, peft, numpy, scipy, scikit-learn, pandas and pyarrow only."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('gpu_check', {str(SCRIPT)!r})\n"
        "module = importlib.util.module_from_spec(spec); sys.modules['gpu_check'] = module\n"
        "spec.loader.exec_module(module)\n"
        "import prune_core.methods.select_stage\n"
        "extra = {m.split('.')[0] for m in sys.modules} & {'streamlit', 'umap', 'plotly', 'datasets'}\n"
        "assert not extra, extra\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_the_gpu_install_takes_the_same_pins_on_a_cuda_runtime_image():
    assert "-r requirements.txt" in (REPO_ROOT / "requirements-gpu.txt").read_text().splitlines()
    docker = (REPO_ROOT / "Dockerfile.gpu").read_text()
    base = next(line for line in docker.splitlines() if line.startswith("FROM "))
    assert base.startswith("FROM nvidia/cuda:") and "-runtime-" in base
    assert "pip install -r requirements-gpu.txt" in docker and "torch.version.cuda" in docker
    assert "COPY bench ./bench" in docker  # the image can run bench/gpu_check.py
