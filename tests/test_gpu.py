"""The CUDA paths: per-example gradients, projections, the precision invariant and determinism on a GPU.

Every test here is marked ``gpu`` and skips on a machine without CUDA (tests/conftest.py); the policy
they rely on is tested on CPU in test_device.py. ``bench/gpu_check.py`` runs the same checks at
MiniLM size with timings, in one table.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from prune_core.cli import main
from prune_core.models import ModelError, apply_lora, choose_device, native_bf16, resolve_precision
from prune_core.represent.features import forward_features, gradient_features
from prune_core.represent.gradients import PerExampleGradients, gradient_parameter_names
from prune_core.represent.projection import ProjectionSpec, Projector, make_projector
from prune_core.reproducibility import deterministic
from prune_core.store import RunStore
from prune_core.tokenize import collate
from prune_core.train import DynamicsRecorder, TrainConfig, train_reference
from tests.test_gradients import tiny_batch, tiny_bert

pytestmark = pytest.mark.gpu
CUDA = torch.device("cuda")


def loop_gradients(model, names, encoded, labels, device):
    """The reference: one unpadded example at a time through plain autograd, on ``device``."""
    named = dict(model.named_parameters())
    rows = []
    for i in range(len(encoded)):
        batch = collate(encoded, np.array([i]), device)
        loss = F.cross_entropy(model(**batch).logits, labels[i : i + 1].to(device))
        grads = torch.autograd.grad(loss, [named[n] for n in names])
        rows.append(torch.cat([g.flatten() for g in grads]))
    return torch.stack(rows)


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b).norm(dim=1) / b.norm(dim=1)).max())


def lora_bert():
    model = apply_lora(tiny_bert(), r=2, alpha=4, dropout=0.0, target_modules=["query", "value"])
    with torch.no_grad():  # B = 0 at initialisation makes every A-gradient zero
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.1, generator=torch.Generator().manual_seed(1))
    return model.eval()


@pytest.mark.parametrize("scope", ["top", "trainable-lora", "head"])
def test_vmap_gradients_on_cuda_equal_the_loop_on_cuda_and_the_cpu_result(scope):
    model = lora_bert() if scope == "trainable-lora" else tiny_bert()
    names = gradient_parameter_names(model, "trainable" if scope == "trainable-lora" else scope)
    encoded, labels = tiny_batch(n=8, seed=2)
    on_cpu = PerExampleGradients(model, names)(collate(encoded, np.arange(len(encoded))), labels)
    model.to(CUDA)
    with deterministic(CUDA):
        batch = collate(encoded, np.arange(len(encoded)), CUDA)
        on_gpu = PerExampleGradients(model, names)(batch, labels.to(CUDA))
        loop = loop_gradients(model, names, encoded, labels, CUDA)
    assert relative_error(on_gpu, loop) <= 1e-5
    assert relative_error(on_gpu.cpu(), on_cpu) <= 1e-5


def test_stored_outputs_are_fp32_on_cuda_whether_from_the_forward_or_the_gradient_pass():
    """The invariant behind the eval-loss trajectory: on a bf16-capable GPU too, a checkpoint's outputs
    from the gradient pass equal a forward-only checkpoint's, and both equal the CPU's."""
    model = tiny_bert()
    encoded, labels = tiny_batch(n=9)
    names = gradient_parameter_names(model, "top")
    size = sum(dict(model.named_parameters())[n].numel() for n in names)
    on_cpu = forward_features(model, encoded, labels.numpy(), torch.device("cpu"), batch_size=4)
    with deterministic(CUDA):
        separate = forward_features(model, encoded, labels.numpy(), CUDA, batch_size=5)
        fused = gradient_features(
            model,
            names,
            encoded,
            labels.numpy(),
            make_projector(size, 8, 0, device=CUDA),
            CUDA,
            batch_size=4,
            with_outputs=True,
        )
    for key in ("logits", "loss", "hidden_cls", "hidden_mean", "head_input"):
        np.testing.assert_allclose(fused[key], separate[key], rtol=1e-5, atol=1e-6, err_msg=key)
        np.testing.assert_allclose(separate[key], on_cpu[key], rtol=1e-4, atol=1e-5, err_msg=key)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_projection_on_cuda_equals_cpu_and_repeats_bit_for_bit(kind):
    g = torch.randn(32, 50_000, generator=torch.Generator().manual_seed(0))
    spec = ProjectionSpec(50_000, 256, seed=3, kind=kind)
    on_cpu = Projector(spec)(g)
    with deterministic(CUDA):
        projector = Projector(spec, CUDA, chunk=1 << 18)
        first, second = projector(g.to(CUDA)), projector(g.to(CUDA))
    assert torch.equal(first, second)  # index_add_ of CountSketch uses the deterministic kernel
    torch.testing.assert_close(first.cpu(), on_cpu, rtol=1e-4, atol=1e-4)


def test_the_device_names_and_bf16_answer_match_the_real_gpus():
    count = torch.cuda.device_count()
    for index in range(count):
        device = choose_device(f"cuda:{index}")
        native = torch.cuda.get_device_capability(index) >= (8, 0)
        assert native_bf16(device) is native
        assert resolve_precision("auto", device) == ("bf16" if native else "fp32")
    with pytest.raises(ModelError, match=f"has {count} CUDA device"):
        choose_device(f"cuda:{count}")


def test_bf16_training_on_a_capable_gpu_records_float32_dynamics():
    if not native_bf16(CUDA):
        pytest.skip("this GPU has no native bf16")
    model = tiny_bert(num_labels=3)
    encoded, labels = tiny_batch(n=24)
    recorder = DynamicsRecorder(len(encoded), 2, CUDA)
    config = TrainConfig(epochs=2, batch_size=8, lr=1e-3)
    with deterministic(CUDA):
        train_reference(model, encoded, labels.numpy(), config, CUDA, recorder=recorder, precision="bf16")
    arrays = recorder.arrays()
    assert arrays["loss"].dtype == np.float32 and np.isfinite(arrays["loss"]).all()
    assert {p.dtype for p in model.parameters()} == {torch.float32}  # master weights stay fp32


def test_two_computes_on_cuda_give_the_same_arrays(sst2_dir, tmp_path, tiny_model_dir):
    """The reproducibility promise on one GPU (reproducibility.py): recomputation gives the same run."""
    stores = []
    for name in ("a", "b"):
        args = ["compute", "--data", str(sst2_dir), "--limit", "200", "--limit-validation", "50"]
        args += ["--limit-test", "20", "--epochs", "2", "--model", str(tiny_model_dir), "--quiet"]
        assert main([*args, "--device", "cuda", "--runs-dir", str(tmp_path / name)]) == 0
        stores.append(RunStore(tmp_path / name).runs()[0])
    first, second = stores
    assert first.id == second.id and first.config["device"] == "cuda"
    for info in first.arrays():
        np.testing.assert_allclose(
            np.asarray(first.read_array(info.key), np.float64),
            np.asarray(second.read_array(info.key), np.float64),
            rtol=1e-4,
            atol=1e-5,
            err_msg=info.key,
        )
