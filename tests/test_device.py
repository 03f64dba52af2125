"""Device, precision and batch-size policy, checked on CPU (the GPU half lives in test_gpu.py).

The logic that decides what runs where is device-independent: which device a ``--device`` value means,
when bf16 is used, what the run id holds, how batch sizes are chosen, what the deterministic settings are.
Where a test needs a GPU's answer (its compute capability, its free memory) it is faked.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from prune_core import models
from prune_core.cli import main
from prune_core.data import DatasetSpec, load_dataset
from prune_core.evaluate.modes import FinetuneEvaluation
from prune_core.evaluate.plan import EvalJob, result_key
from prune_core.models import ModelError, choose_device, native_bf16, resolve_precision
from prune_core.pipeline import Compute, ComputeConfig, run_id_for
from prune_core.represent.projection import ProjectionSpec, Projector
from prune_core.represent.sizing import (
    CPU_SIZES,
    GPU_CAPS,
    BatchSizes,
    ModelShape,
    auto_batch_sizes,
    resolve_batch_sizes,
)
from prune_core.reproducibility import _flags, deterministic, deterministic_flags
from prune_core.store import RunStore
from prune_core.train import TrainConfig


def one_gpu(monkeypatch, capabilities=((8, 0),)):
    """Pretend this machine has CUDA devices with the given compute capabilities."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: len(capabilities))
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index=None: capabilities[index or 0])
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=None: f"Fake GPU {index}")

    def emulation_counts(*_a, **_k):  # the trap of torch.cuda.is_bf16_supported: never consulted
        raise AssertionError("is_bf16_supported counts emulation and looks at the current device")

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", emulation_counts)


# ------------------------------------------------------------------------------------------ --device
def test_a_cuda_index_this_machine_lacks_is_one_clear_error(monkeypatch):
    one_gpu(monkeypatch)
    assert choose_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ModelError, match=r"--device cuda:1 .* has 1 CUDA device \(cuda:0\)"):
        choose_device("cuda:1")


@pytest.mark.parametrize("name", ["gpu", "cuda:x", "tpu"])
def test_a_device_name_torch_does_not_know_is_a_model_error_not_a_traceback(name):
    with pytest.raises(ModelError, match="--device"):
        choose_device(name)


def write_tiny_csv(path):
    rows = [f"{i},{'good fun' if i % 2 else 'dull and slow'} {i},{i % 2}" for i in range(40)]
    path.write_text("id,text,label\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    "device, gpus, expected",
    [
        ("cuda", 0, "CUDA is not available"),
        ("cuda:1", 1, "has 1 CUDA device"),
        ("cuda:3", 2, "cuda:0..cuda:1"),
    ],
)
def test_compute_with_a_missing_gpu_prints_one_line_and_exits_2(
    tmp_path, tiny_model_dir, capsys, monkeypatch, device, gpus, expected
):
    if gpus:
        one_gpu(monkeypatch, [(8, 0)] * gpus)
    else:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    args = ["compute", "--data", str(write_tiny_csv(tmp_path / "d.csv")), "--model", str(tiny_model_dir)]
    code = main([*args, "--runs-dir", str(tmp_path / "runs"), "--device", device, "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and expected in err and f"--device {device}" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # stopped before any run folder was made


# ------------------------------------------------------------------------------------------ precision
def test_bf16_only_when_the_chosen_gpu_has_it_natively(monkeypatch):
    one_gpu(monkeypatch, [(8, 6), (7, 5)])  # an RTX 30xx beside a T4 (bf16 only emulated)
    assert native_bf16(torch.device("cuda:0")) and not native_bf16(torch.device("cuda:1"))
    assert resolve_precision("auto", torch.device("cuda:0")) == "bf16"
    assert resolve_precision("auto", torch.device("cuda:1")) == "fp32"
    assert resolve_precision("fp32", torch.device("cuda:0")) == "fp32"
    with pytest.raises(ModelError, match=r"--precision bf16 .* cuda:1 \(Fake GPU 1, compute 7.5\)"):
        resolve_precision("bf16", torch.device("cuda:1"))
    with pytest.raises(ModelError, match="--precision must be one of"):
        resolve_precision("fp16", torch.device("cuda:0"))
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    assert resolve_precision("auto", torch.device("mps")) == "fp32"


def test_a_bf16_saved_model_loads_with_float32_weights(tmp_path, tiny_model_dir):
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir).to(torch.bfloat16)
    model.save_pretrained(tmp_path / "bf16")
    loaded = models.load_classifier(str(tmp_path / "bf16"), 2)
    assert {p.dtype for p in loaded.model.parameters()} == {torch.float32}


def small_args(data, runs, model, *extra, quiet=True):
    return [
        "compute",
        "--data",
        str(data),
        "--limit",
        "40",
        "--limit-validation",
        "16",
        "--limit-test",
        "8",
        "--epochs",
        "2",
        "--proj-dim",
        "16",
        "--runs-dir",
        str(runs),
        "--model",
        str(model),
        *(["--quiet"] if quiet else []),
        *extra,
    ]


def test_training_follows_the_run_precision_and_every_stored_pass_is_fp32(
    sst2_dir, tmp_path, tiny_model_dir, monkeypatch, capsys
):
    """The precision invariant, on any device: with bf16 chosen (faked as native here), every training
    forward runs under bf16 autocast and every representation forward (eval outputs, hidden states, the
    gradient pass) in fp32 — so the eval-loss trajectory never stacks bf16 and fp32 columns."""
    seen: list[tuple[bool, bool, torch.dtype]] = []
    original = Compute._build_model

    def build(self, checkpoint=None):
        model = original(self, checkpoint)
        model.register_forward_pre_hook(
            lambda m, _args: seen.append(
                (m.training, torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"))
            )
        )
        return model

    monkeypatch.setattr(Compute, "_build_model", build)
    monkeypatch.setattr(models, "native_bf16", lambda device: True)
    assert main(small_args(sst2_dir, tmp_path, tiny_model_dir, "--device", "cpu")) == 0
    capsys.readouterr()
    run = RunStore(tmp_path).runs()[0]
    assert run.config["precision"] == "bf16" and run.config["device"] == "cpu"
    assert run.manifest.extra["execution"] == {"device": "cpu", "precision": "bf16"}
    training = [s for s in seen if s[0]]
    representing = [s for s in seen if not s[0]]
    assert training and all(enabled and dtype == torch.bfloat16 for _, enabled, dtype in training)
    assert representing and not any(enabled for _, enabled, _ in representing)
    # the trajectory's columns come from passes of one precision: gradient checkpoint == forward-only one
    tl = np.stack([run.read_array(f"outputs/train/epoch-{e}/loss") for e in (1, 2)], axis=1)
    assert tl.dtype == np.float32 and np.isfinite(tl).all()

    # fine-tune evaluation results are keyed by device kind and precision, like runs
    bf16_eval = FinetuneEvaluation(run, "cpu")
    monkeypatch.setattr(models, "native_bf16", lambda device: False)
    fp32_eval = FinetuneEvaluation(run, "cpu")
    assert (bf16_eval.settings["precision"], fp32_eval.settings["precision"]) == ("bf16", "fp32")
    assert bf16_eval.settings["device"] == fp32_eval.settings["device"] == "cpu"
    job = EvalJob("random", 0.5, False, 0, "finetune")
    assert result_key(job, "s", bf16_eval.settings) != result_key(job, "s", fp32_eval.settings)

    # the same config in fp32 is a separate run, and compute says so
    assert main(small_args(sst2_dir, tmp_path, tiny_model_dir, "--device", "cpu", quiet=False)) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert len(RunStore(tmp_path).runs()) == 2
    assert f"note: run {run.id} holds this config computed on cpu in bf16" in err
    assert "runs never mix devices or precisions" in err


# ------------------------------------------------------------------------------------------ run id
def test_run_id_holds_device_kind_and_precision_but_not_index_or_batch_sizes(sst2_dir):
    dataset = load_dataset(DatasetSpec(train=str(sst2_dir), limit=30, limit_validation=10, limit_test=8))
    config = ComputeConfig(dataset=DatasetSpec(train=str(sst2_dir)), train=TrainConfig(epochs=1))
    ids = {
        (device, precision): run_id_for(config, dataset, device=device, precision=precision)
        for device in ("cpu", "cuda", "mps")
        for precision in ("fp32", "bf16")
    }
    assert len(set(ids.values())) == 6
    bigger = ComputeConfig(
        dataset=config.dataset,
        train=TrainConfig(epochs=1),
        device="cuda:1",
        batches=BatchSizes(forward=512, gradients=128, projection_chunk=1 << 20),
    )
    assert run_id_for(bigger, dataset, device="cuda", precision="bf16") == ids[("cuda", "bf16")]


# ------------------------------------------------------------------------------------------ batch sizes
def test_batch_sizes_are_cpu_defaults_on_cpu_and_fill_free_gpu_memory_up_to_a_cap():
    minilm = ModelShape(hidden=384, layers=6, grad_params=1_900_000, max_length=128)
    assert auto_batch_sizes("cpu", minilm, None) == CPU_SIZES
    roomy = auto_batch_sizes("cuda", minilm, free_bytes=70 * 2**30)
    assert roomy == GPU_CAPS
    tight = auto_batch_sizes("cuda", minilm, free_bytes=1 * 2**30)
    assert 1 <= tight["gradients"] < GPU_CAPS["gradients"]
    assert tight["gradients"] & (tight["gradients"] - 1) == 0  # a power of two
    huge = ModelShape(hidden=4096, layers=32, grad_params=200_000_000, max_length=512)
    assert auto_batch_sizes("cuda", huge, free_bytes=20 * 2**30)["gradients"] == 1  # never 0


def test_explicit_batch_sizes_win_and_bad_ones_name_their_flag():
    shape = ModelShape(hidden=32, layers=2, grad_params=1000, max_length=64)
    sizes, note = resolve_batch_sizes(BatchSizes(gradients=8), torch.device("cpu"), shape)
    assert sizes == {**CPU_SIZES, "gradients": 8} and "auto for cpu" in note
    sizes, note = resolve_batch_sizes(BatchSizes(3, 5, 7), torch.device("cpu"), shape)
    assert sizes == {"forward": 3, "gradients": 5, "projection_chunk": 7} and "as given" in note
    with pytest.raises(ValueError, match="--grad-batch-size must be >= 1"):
        BatchSizes(gradients=0).validate()


def test_the_projection_chunk_changes_no_result():
    g = torch.randn(5, 1000, generator=torch.Generator().manual_seed(0))
    for kind in ("dense", "sparse"):
        spec = ProjectionSpec(1000, 32, seed=1, kind=kind)
        small, whole = Projector(spec, chunk=7)(g), Projector(spec, chunk=4096)(g)
        torch.testing.assert_close(small, whole, rtol=1e-5, atol=1e-4)  # summation order only


def test_out_of_memory_names_the_flags_and_a_smaller_batch_resumes_the_same_run(
    sst2_dir, tmp_path, tiny_model_dir, monkeypatch, capsys
):
    import prune_core.pipeline as pipeline

    real = pipeline.gradient_features

    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(pipeline, "gradient_features", out_of_memory)
    args = small_args(sst2_dir, tmp_path, tiny_model_dir, "--grad-batch-size", "64")
    assert main(args) == 2
    err = capsys.readouterr().err
    # Gradients are taken at every epoch by default, so the first gradient pass is epoch 1's.
    assert "out of memory on cpu in represent:epoch-1" in err and "--grad-batch-size 64" in err
    assert "Traceback" not in err
    run = RunStore(tmp_path).runs()[0]
    trained = run.stage_record("train").finished
    assert run.stage_status("represent:epoch-1") == "failed"

    monkeypatch.setattr(pipeline, "gradient_features", real)
    assert main(small_args(sst2_dir, tmp_path, tiny_model_dir, "--grad-batch-size", "4")) == 0
    again = RunStore(tmp_path).runs()
    assert [r.id for r in again] == [run.id]  # batch sizes are not part of the run id
    assert again[0].stage_record("train").finished == trained  # training was kept
    assert again[0].stage_status("represent:epoch-2") == "done"


# ------------------------------------------------------------------------------------------ determinism
def test_deterministic_settings_apply_on_cuda_only_and_are_restored():
    before = _flags()
    with deterministic(torch.device("cpu")):
        assert _flags() == before
    with deterministic(torch.device("cuda")):
        assert _flags() == deterministic_flags()
        assert torch.backends.cuda.math_sdp_enabled()
        assert not torch.backends.cuda.mem_efficient_sdp_enabled()
        assert not torch.backends.cuda.flash_sdp_enabled()
    assert _flags() == before and torch.backends.cuda.mem_efficient_sdp_enabled()
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] in (":4096:8", ":16:8")
