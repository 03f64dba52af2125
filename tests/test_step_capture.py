"""Step gradient capture: hooks in the training step equal a batch-size-1 autograd loop at the same
parameters through the same factored projection (SGD and LESS's Adam form), and the factored projection
keeps inner products within its documented Johnson-Lindenstrauss tolerance (represent/factored.py)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from prune_core.models import apply_lora, load_classifier
from prune_core.represent.factored import (
    FactoredProjection,
    LayerSpec,
    adam_projected_blocks,
    factored_norms_sq,
)
from prune_core.represent.gradients import adam_direction, gradient_parameter_names
from prune_core.represent.step_capture import StepCapture, TrainingCapture, optimizer_moments
from prune_core.tokenize import collate, encode
from prune_core.train import TrainConfig, train_reference
from tests.test_gradients import tiny_batch, tiny_bert

TOLERANCE = 1e-4  # max relative error, float32


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def no_dropout(model: torch.nn.Module) -> torch.nn.Module:
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return model


def loop_reference(model, names, encoded, labels, indices, moments=None):
    """Full per-example gradients of one unpadded example at a time (plain autograd), and their Adam
    directions given moments: {name: [B, *shape]} each."""
    named = dict(model.named_parameters())
    grads: dict[str, list] = {n: [] for n in names}
    adams: dict[str, list] = {n: [] for n in names}
    for i in indices:
        batch = collate(encoded, np.array([i]))
        loss = F.cross_entropy(model(**batch).logits.float(), torch.tensor(np.asarray(labels[i : i + 1])))
        for name, g in zip(names, torch.autograd.grad(loss, [named[n] for n in names])):
            grads[name].append(g)
            if moments is not None:
                m, v = moments[name]
                adams[name].append(
                    adam_direction(g.reshape(1, -1), m.reshape(-1), v.reshape(-1)).reshape(g.shape)
                )
    full = {n: torch.stack(v) for n, v in grads.items()}
    adam = {n: torch.stack(v) for n, v in adams.items()} if moments is not None else None
    return full, adam


def full_norms(full: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.stack([g.flatten(1).square().sum(1) for g in full.values()]).sum(0).sqrt()


# ------------------------------------------------------------------------------------ pure projection maths
def test_factored_projection_of_token_factors_equals_projecting_the_full_gradient():
    torch.manual_seed(0)
    layer = LayerSpec("fc", "linear", out_features=96, in_features=80, weight="fc.weight", bias="fc.bias")
    proj = FactoredProjection([layer], dim=64, seed=3, factor_dim=16)
    g, x = torch.randn(5, 7, 96), torch.randn(5, 7, 80)
    full = torch.bmm(g.transpose(1, 2), x)
    assert relative_error(proj.project_tokens(0, g, x), proj.project_matrix(0, full)) < 1e-5
    assert torch.allclose(factored_norms_sq(g, x), full.square().sum((1, 2)), rtol=1e-4)
    # seeded: a second projection with the same spec is identical, another seed is not
    again = FactoredProjection([layer], dim=64, seed=3, factor_dim=16)
    assert torch.equal(proj.p_out[0], again.p_out[0]) and torch.equal(proj.p_in[0], again.p_in[0])
    assert not torch.equal(proj.p_in[0], FactoredProjection([layer], dim=64, seed=4, factor_dim=16).p_in[0])


def test_small_sides_are_kept_exactly():
    layer = LayerSpec("head", "linear", out_features=2, in_features=8, weight="head.weight")
    proj = FactoredProjection([layer], dim=16, seed=0, factor_dim=8)
    assert proj.p_out[0] is None and proj.p_in[0] is None and proj.stage1_dim == 16
    full = torch.randn(3, 2, 8)
    assert torch.equal(proj.project_matrix(0, full), full.flatten(1))


@pytest.mark.parametrize(
    ("out_f", "in_f", "block"),
    [(96, 80, 1 << 21), (96, 80, 700), (96, 80, 5 * 96 * 80 // 2), (6, 40, 100), (96, 8, 300)],
    ids=["one-tile", "row-tiles", "example-tiles", "identity-out", "identity-in"],
)
def test_the_tiled_adam_direction_equals_projecting_the_full_directions(out_f, in_f, block):
    """adam_projected_blocks forms each gradient in tiles of examples x output rows (uneven last tiles
    included) and folds constants into the projected result: the same numbers as mapping every full
    gradient with represent/gradients.adam_direction and projecting it, and the exact norms."""
    torch.manual_seed(0)
    layer = LayerSpec("fc", "linear", out_features=out_f, in_features=in_f, weight="fc.weight")
    proj = FactoredProjection([layer], dim=64, seed=3, factor_dim=16)
    g, x = 1e-2 * torch.randn(5, 7, out_f), torch.randn(5, 7, in_f)
    m, v = 1e-3 * torch.randn(out_f, in_f), 1e-6 * torch.rand(out_f, in_f)
    full = torch.bmm(g.transpose(1, 2), x)
    expected = proj.project_matrix(0, adam_direction(full.flatten(1), m.flatten(), v.flatten()).view_as(full))
    got, norms_sq = adam_projected_blocks(proj, 0, g, x, m, v, block_elements=block)
    assert relative_error(got, expected) <= TOLERANCE
    assert relative_error(norms_sq, full.square().sum((1, 2))) <= TOLERANCE


def jl_sigma(k_o: int, k_i: int, d: int) -> float:
    """The documented worst-case relative standard deviation (represent/factored.py)."""
    return ((1 + 2 / k_o) * (1 + 2 / k_i) * (1 + 2 / d) - 1) ** 0.5


def test_factored_projection_preserves_inner_products_within_the_jl_tolerance():
    """Known gradients: token sums of outer products with planted inner products. Every inner product
    error is within 3 sigma (Chebyshev guarantees >= 8/9; Gaussian tails make it ~all), errors average
    to ~0 (unbiased), and the mean squared error stays below the documented variance bound."""
    torch.manual_seed(1)
    out_f, in_f, k, d = 256, 192, 32, 512
    layer = LayerSpec("fc", "linear", out_features=out_f, in_features=in_f, weight="fc.weight")
    proj = FactoredProjection([layer], dim=d, seed=11, factor_dim=k)
    base_g, base_x = torch.randn(1, 6, out_f), torch.randn(1, 6, in_f)
    # 40 gradients sharing part of their tokens, so their inner products range from ~0 to large
    share = torch.linspace(0.0, 2.0, 40)[:, None, None]
    g = share * base_g + torch.randn(40, 6, out_f)
    x = share * base_x + torch.randn(40, 6, in_f)
    full = torch.bmm(g.transpose(1, 2), x).flatten(1)
    full = full / full.norm(dim=1, keepdim=True)
    projected = proj.mix([proj.project_matrix(0, full.reshape(-1, out_f, in_f))])
    exact, approx = full @ full.T, projected @ projected.T
    errors = (approx - exact)[~torch.eye(40, dtype=torch.bool)]
    sigma = jl_sigma(k, k, d)
    assert float(exact[~torch.eye(40, dtype=torch.bool)].std()) > 0.1  # the planted spread is real
    assert float((errors.abs() <= 3 * sigma).float().mean()) >= 8 / 9
    assert float(errors.square().mean()) <= sigma**2
    # unbiased: averaged over independent projections, the error of one inner product shrinks toward 0
    means = []
    for seed in range(30):
        p = FactoredProjection([layer], dim=d, seed=100 + seed, factor_dim=k)
        y = p.mix([p.project_matrix(0, full[:2].reshape(-1, out_f, in_f))])
        means.append(float(y[0] @ y[1]))
    assert abs(np.mean(means) - float(exact[0, 1])) <= 3 * sigma / 30**0.5


# ------------------------------------------------------------------------------------ capture vs autograd loop
def check_capture(model, names, encoded, labels, moments):
    """One batched backward of the mean loss with capture == the loop at the same parameters."""
    idx = np.arange(len(encoded))
    capture = StepCapture(model, names, dim=48, seed=5, factor_dim=8)
    with capture:
        batch = collate(encoded, idx)
        loss = F.cross_entropy(model(**batch).logits.float(), torch.as_tensor(labels)).mean()
        loss.backward()
        got = capture.collect(len(idx), scale=len(idx), moments=moments)
    full, adam = loop_reference(model, names, encoded, labels, idx, moments)
    assert relative_error(got.sgd, capture.projection.project_full(full)) <= TOLERANCE
    assert relative_error(got.norm, full_norms(full)) <= TOLERANCE
    assert relative_error(got.adam, capture.projection.project_full(adam)) <= TOLERANCE


def random_moments(model, names, seed=0):
    gen = torch.Generator().manual_seed(seed)
    named = dict(model.named_parameters())
    return {
        n: (
            1e-3 * torch.randn(named[n].shape, generator=gen),
            1e-6 * torch.rand(named[n].shape, generator=gen),
        )
        for n in names
    }


@pytest.mark.parametrize("scope", ["top", "head"])
def test_capture_equals_a_batch_size_1_loop_on_a_tiny_bert(scope):
    model = no_dropout(tiny_bert().train())
    encoded, labels = tiny_batch()
    names = gradient_parameter_names(model, scope)
    check_capture(model, names, encoded, labels.numpy(), random_moments(model, names))


def test_capture_equals_the_loop_under_lora():
    model = apply_lora(tiny_bert(), r=4, alpha=8, dropout=0.0, target_modules=["query", "value"])
    with torch.no_grad():  # B = 0 at initialisation would make every A gradient zero
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)
    model.train()
    encoded, labels = tiny_batch()
    names = gradient_parameter_names(model, "trainable")
    assert any("lora_A" in n for n in names)
    check_capture(no_dropout(model), names, encoded, labels.numpy(), random_moments(model, names))


def test_a_capture_reuses_a_projection_only_when_it_is_the_one_it_would_build():
    """compute builds the factored projection (and its large mixing matrix) once and hands it to every
    later capture: a matching one is shared, any other argument builds a new one."""
    model = tiny_bert()
    names = gradient_parameter_names(model, "top")
    first = StepCapture(model, names, dim=48, seed=5, factor_dim=8)
    assert StepCapture(model, names, dim=48, seed=5, factor_dim=8, reuse=first.projection).projection is (
        first.projection
    )
    for changed in ({"dim": 32}, {"seed": 6}, {"factor_dim": 4}, {"mixer": "sparse"}):
        args = {"dim": 48, "seed": 5, "factor_dim": 8, **changed}
        other = StepCapture(model, names, **args, reuse=first.projection).projection
        assert other is not first.projection and other.spec() != first.projection.spec()
    head = gradient_parameter_names(model, "head")
    assert StepCapture(model, head, dim=48, seed=5, factor_dim=8, reuse=first.projection).projection is not (
        first.projection
    )


def test_an_unsupported_layer_in_the_scope_is_named():
    model = tiny_bert()
    name = next(n for n, _ in model.named_parameters() if "word_embeddings" in n)
    with pytest.raises(Exception, match="word_embeddings.*--grad-capture checkpoint"):
        StepCapture(model, [name], dim=8, seed=0)


# ------------------------------------------------------------------------------------ a real MiniLM run
class Snapshot:
    """Wraps TrainingCapture.after_backward: at one chosen step keeps the parameters before the update,
    the batch, the optimizer moments and the capture's float32 result for that batch."""

    def __init__(self, recorder: TrainingCapture, at_step: int):
        self.recorder, self.at_step, self.step = recorder, at_step, 0
        self.params = self.indices = self.moments = self.captured = None

    def __call__(self, epoch, indices, optimizer):
        if self.step == self.at_step:
            model = self.recorder.capture.model
            self.params = {n: p.detach().clone() for n, p in model.named_parameters()}
            self.indices = np.array(indices)
            named = dict(model.named_parameters())
            moments = optimizer_moments(optimizer, named, self.recorder.capture.param_names)
            self.moments = {n: (m.clone(), v.clone()) for n, (m, v) in moments.items()}
        self.recorder.after_backward(epoch, indices, optimizer)
        if self.step == self.at_step:
            self.captured = self.recorder.last
        self.step += 1


@pytest.mark.parametrize("lora", [False, True], ids=["full-finetune-top", "lora-trainable"])
def test_minilm_training_capture_equals_the_loop_at_the_same_step(sst2_dir, lora):
    """A real run: MiniLM fine-tuned on SST-2 with step capture; at step 3 (after two updates, so LoRA's
    B is no longer zero) the captured gradients and Adam directions equal the loop's at the parameters
    before that step's update, dropout off."""
    import pandas as pd

    frame = pd.read_csv(sst2_dir / "train.csv").head(24)
    texts, labels = frame["text"].astype(str).tolist(), frame["label"].to_numpy()
    loaded = load_classifier(None, 2, seed=0)
    model = loaded.model
    if lora:
        model = apply_lora(model, r=4, alpha=8, dropout=0.0, target_modules=["query", "value"])
    no_dropout(model)
    encoded = encode(loaded.tokenizer, texts, None, 32)
    names = gradient_parameter_names(model, "trainable" if lora else "top")
    capture = StepCapture(model, names, dim=256, seed=2, factor_dim=32)
    recorder = TrainingCapture(capture, len(texts), epochs=[1])
    snapshot = Snapshot(recorder, at_step=2)
    config = TrainConfig(epochs=1, batch_size=8, lr=5e-4 if lora else 5e-5, max_length=32)
    reference = copy.deepcopy(model)
    with capture:
        train_reference(model, encoded, labels, config, torch.device("cpu"), after_backward=snapshot)
    with torch.no_grad():
        for name, p in reference.named_parameters():
            p.copy_(snapshot.params[name])
    reference.train()
    idx = snapshot.indices
    full, adam = loop_reference(reference, names, encoded, labels, idx, snapshot.moments)
    assert float(capture.projection.project_full(full).abs().max()) > 0
    assert relative_error(snapshot.captured.sgd, capture.projection.project_full(full)) <= TOLERANCE
    assert relative_error(snapshot.captured.adam, capture.projection.project_full(adam)) <= TOLERANCE
    assert relative_error(snapshot.captured.norm, full_norms(full)) <= TOLERANCE
    # the float16 buffers the run stores hold the same numbers to float16 precision
    rows = torch.as_tensor(idx)
    assert relative_error(recorder.buffers["sgd"][rows].float(), snapshot.captured.sgd) <= 1e-3
    assert relative_error(recorder.buffers["adam"][rows].float(), snapshot.captured.adam) <= 1e-3
