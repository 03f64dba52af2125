"""Per-example gradients: vmap equals a plain autograd loop; Adam preconditioning; projections."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from prune_core.models import apply_lora
from prune_core.represent.features import forward_features, gradient_features
from prune_core.represent.gradients import (
    PerExampleGradients,
    adam_direction,
    gradient_parameter_names,
    head_gradients,
)
from prune_core.represent.projection import ProjectionSpec, Projector, make_projector
from prune_core.tokenize import Encoded, collate


def tiny_bert(num_labels: int = 3, seed: int = 0):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        num_labels=num_labels,
    )
    return BertForSequenceClassification(config).eval()


def tiny_batch(n: int = 6, seed: int = 0) -> tuple[Encoded, torch.Tensor]:
    rng = np.random.default_rng(seed)
    ids = [[2] + rng.integers(5, 50, size=rng.integers(2, 10)).tolist() + [3] for _ in range(n)]
    return Encoded(ids, [[0] * len(x) for x in ids], pad_token_id=0), torch.as_tensor(rng.integers(0, 3, n))


def loop_gradients(model, names, encoded, labels):
    """The slow reference: one unpadded example at a time through plain autograd."""
    named = dict(model.named_parameters())
    rows = []
    for i in range(len(encoded)):
        batch = collate(encoded, np.array([i]))
        loss = F.cross_entropy(model(**batch).logits, labels[i : i + 1])
        grads = torch.autograd.grad(loss, [named[n] for n in names])
        rows.append(torch.cat([g.flatten() for g in grads]))
    return torch.stack(rows)


@pytest.mark.parametrize("scope", ["top", "head", "trainable"])
def test_vmap_gradients_match_a_plain_autograd_loop(scope):
    model = tiny_bert()
    encoded, labels = tiny_batch()
    names = gradient_parameter_names(model, scope)
    batched = PerExampleGradients(model, names)(collate(encoded, np.arange(len(encoded))), labels)
    reference = loop_gradients(model, names, encoded, labels)
    relative = (batched - reference).norm(dim=1) / reference.norm(dim=1)
    assert batched.shape == reference.shape
    assert relative.max() < 1e-4


def test_top_scope_is_the_last_block_and_everything_after_it():
    names = gradient_parameter_names(tiny_bert(), "top")
    assert names[0].startswith("bert.encoder.layer.1.")
    assert "classifier.weight" in names and "bert.pooler.dense.weight" in names
    assert not any(n.startswith("bert.encoder.layer.0.") or "embeddings" in n for n in names)


def test_lora_gradients_match_the_loop_once_adapters_are_nonzero():
    model = apply_lora(tiny_bert(), r=2, alpha=4, dropout=0.0, target_modules=["query", "value"])
    with torch.no_grad():  # B = 0 at initialisation makes every A-gradient zero
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.1)
    model.eval()
    encoded, labels = tiny_batch(seed=1)
    names = gradient_parameter_names(model, "trainable")
    assert any("lora_A" in n for n in names) and any("classifier" in n for n in names)
    batched = PerExampleGradients(model, names)(collate(encoded, np.arange(len(encoded))), labels)
    reference = loop_gradients(model, names, encoded, labels)
    assert ((batched - reference).norm(dim=1) / reference.norm(dim=1)).max() < 1e-4


def test_closed_form_head_gradient_equals_autograd():
    torch.manual_seed(0)
    x, weight, bias = (
        torch.randn(5, 4),
        torch.randn(3, 4, requires_grad=True),
        torch.randn(3, requires_grad=True),
    )
    labels = torch.tensor([0, 2, 1, 1, 0])
    probs = torch.softmax(x @ weight.T + bias, dim=1)
    closed = head_gradients(x, probs.detach(), labels)
    for i in range(5):
        loss = F.cross_entropy((x[i] @ weight.T + bias)[None], labels[i : i + 1])
        gw, gb = torch.autograd.grad(loss, [weight, bias])
        torch.testing.assert_close(closed[i], torch.cat([gw.flatten(), gb]))


def test_adam_direction_follows_less_formula_on_a_hand_built_state():
    g = torch.tensor([[0.5, -2.0, 0.0]])
    m, v = torch.tensor([0.1, 0.2, -0.3]), torch.tensor([0.01, 0.04, 0.0])
    m2 = 0.9 * m + 0.1 * g
    v2 = 0.999 * v + 0.001 * g**2
    expected = m2 / torch.sqrt(v2 + 1e-8)  # no bias correction, eps inside the square root
    torch.testing.assert_close(adam_direction(g, m, v), expected)
    # a hand-checked entry: m' = 0.09 + 0.05 = 0.14, v' = 0.00999 + 0.00025 = 0.01024 -> 0.14 / 0.1012 = 1.3834
    assert adam_direction(g, m, v)[0, 0].item() == pytest.approx(0.14 / np.sqrt(0.01024 + 1e-8), rel=1e-5)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_projection_is_deterministic_per_seed_and_differs_across_seeds(kind):
    g = torch.randn(4, 300)
    a = Projector(ProjectionSpec(300, 64, seed=7, kind=kind))(g)
    b = Projector(ProjectionSpec(300, 64, seed=7, kind=kind))(g)
    c = Projector(ProjectionSpec(300, 64, seed=8, kind=kind))(g)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_projection_preserves_inner_products_within_jl_bounds(kind):
    torch.manual_seed(0)
    n, p, d = 40, 5000, 1024
    x = torch.randn(n, p) / p**0.5
    x[: n // 2] += 0.5 * x[n // 2 :]  # correlated pairs so inner products are not all ~0
    projected = Projector(ProjectionSpec(p, d, seed=3, kind=kind))(x)
    exact, approx = x @ x.T, projected @ projected.T
    norms = x.norm(dim=1)
    error = (approx - exact).abs() / (norms[:, None] * norms[None, :])
    # JL: |<Px,Py> - <x,y>| <= eps ||x|| ||y|| with eps ~ 4 / sqrt(d) with high probability
    assert error.max() < 4 / d**0.5
    assert error.mean() < 1 / d**0.5


def test_auto_projector_never_builds_a_matrix_that_does_not_fit():
    assert make_projector(1000, 64, 0).spec.kind == "dense"
    big = make_projector(2_000_000, 1024, 0)  # a dense fp32 matrix would be 8 GB
    assert big.spec.kind == "sparse"


def test_gradient_features_write_projected_sgd_adam_and_exact_norms():
    model = tiny_bert()
    encoded, labels = tiny_batch(n=10)
    names = gradient_parameter_names(model, "top")
    size = sum(dict(model.named_parameters())[n].numel() for n in names)
    projector = make_projector(size, 32, seed=0)
    moments = (torch.zeros(size), torch.full((size,), 1e-4))
    out = gradient_features(
        model,
        names,
        encoded,
        labels.numpy(),
        projector,
        torch.device("cpu"),
        batch_size=4,
        adam_moments=moments,
    )
    reference = loop_gradients(model, names, encoded, labels)
    np.testing.assert_allclose(out["norm"], reference.norm(dim=1).numpy(), rtol=1e-4)
    np.testing.assert_allclose(out["sgd"], projector(reference).numpy(), rtol=1e-3, atol=1e-5)
    expected_adam = projector(adam_direction(reference, *moments)).numpy()
    np.testing.assert_allclose(out["adam"], expected_adam, rtol=1e-3, atol=1e-4)


def test_forward_features_pool_hidden_states_and_capture_the_head_input():
    model = tiny_bert()
    encoded, labels = tiny_batch(n=7)
    out = forward_features(model, encoded, labels.numpy(), torch.device("cpu"), batch_size=3)
    assert out["logits"].shape == (7, 3) and out["hidden_cls"].shape == (7, 16)
    assert out["head_input"].shape == (7, 16)
    batch = collate(encoded, np.array([4]))
    with torch.no_grad():
        result = model(**batch, output_hidden_states=True)
    np.testing.assert_allclose(
        out["hidden_cls"][4], result.hidden_states[-1][0, 0].numpy(), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        out["hidden_mean"][4], result.hidden_states[-1][0].mean(0).numpy(), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(out["logits"][4], result.logits[0].numpy(), rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        pooled = model.bert.pooler(result.hidden_states[-1])
    np.testing.assert_allclose(out["head_input"][4], pooled[0].numpy(), rtol=1e-4, atol=1e-5)


def test_gradient_pass_outputs_equal_a_separate_forward_pass():
    model = tiny_bert()
    encoded, labels = tiny_batch(n=9)
    names = gradient_parameter_names(model, "top")
    size = sum(dict(model.named_parameters())[n].numel() for n in names)
    fused = gradient_features(
        model,
        names,
        encoded,
        labels.numpy(),
        make_projector(size, 8, 0),
        torch.device("cpu"),
        batch_size=4,
        with_outputs=True,
    )
    separate = forward_features(model, encoded, labels.numpy(), torch.device("cpu"), batch_size=5)
    for key in ("logits", "loss", "hidden_cls", "hidden_mean", "head_input"):
        np.testing.assert_allclose(fused[key], separate[key], rtol=1e-4, atol=1e-5, err_msg=key)
