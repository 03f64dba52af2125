"""``compute --grad-capture step`` end to end: the same arrays under the same keys as checkpoint capture,
training untouched by the hooks, and every gradient method running on the result unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from prune_core.cli import main
from prune_core.methods import Representations, get_method
from prune_core.methods.runner import MethodRunner
from prune_core.results import Results
from prune_core.store import RunStore
from tests.test_pipeline import check_every_array, compute_args, expected_arrays

GRADIENT_METHODS = ("less", "tracin", "memorization", "gtp", "s2l-grad", "proto-grad", "grand")


@pytest.fixture(scope="module")
def both_runs(sst2_dir, tiny_model_dir, tmp_path_factory):
    runs = {}
    for capture in ("checkpoint", "step"):
        store = tmp_path_factory.mktemp(f"capture-{capture}")
        assert main(compute_args(sst2_dir, store, tiny_model_dir, "--grad-capture", capture)) == 0
        runs[capture] = RunStore(store).runs()[0]
    return runs


def test_step_capture_stores_every_array_under_the_usual_keys(both_runs):
    run = both_runs["step"]
    check_every_array(run, expected_arrays(300, 100, 32, 2, 1024))
    assert run.id != both_runs["checkpoint"].id  # the capture mode is part of the run key
    train, val = run.array_meta("grads/train/epoch-2/adam"), run.array_meta("grads/validation/epoch-2/sgd")
    assert train["capture"] == "step" and train["projection"]["kind"] == "factored"
    assert train["projection"] == val["projection"]  # one projection for train and validation
    assert run.config["represent"]["grad_capture"] == "step"
    # what the dashboard reads (prune_core/results.py)
    assert Results(run).gradient_capture == "step" and Results(run).gradient_epochs == [1, 2]
    assert Results(both_runs["checkpoint"]).gradient_capture == "checkpoint"


def test_the_hooks_leave_training_unchanged(both_runs):
    step, checkpoint = both_runs["step"], both_runs["checkpoint"]
    for name in ("loss", "p_gold", "margin"):
        np.testing.assert_array_equal(
            step.read_array(f"dynamics/train/{name}"), checkpoint.read_array(f"dynamics/train/{name}")
        )
    a, b = (
        step.load_checkpoint_group("epoch-2", "weights"),
        checkpoint.load_checkpoint_group("epoch-2", "weights"),
    )
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in b)
    # the end-of-epoch outputs come from the same checkpoint either way
    np.testing.assert_allclose(
        step.read_array("outputs/train/epoch-2/loss"),
        checkpoint.read_array("outputs/train/epoch-2/loss"),
        rtol=1e-4,
        atol=1e-5,
    )


def test_step_captured_gradients_agree_with_checkpoint_ones_where_they_must(both_runs):
    """Validation gradients are taken at the same end-of-epoch checkpoint in both modes, so their exact
    norms agree; the training gradients differ on purpose (taken at each example's own step)."""
    step, checkpoint = both_runs["step"], both_runs["checkpoint"]
    np.testing.assert_allclose(
        step.read_array("grad_norms/validation/epoch-2"),
        checkpoint.read_array("grad_norms/validation/epoch-2"),
        rtol=1e-3,
    )
    train_step, train_ckpt = (
        step.read_array("grad_norms/train/epoch-2"),
        checkpoint.read_array("grad_norms/train/epoch-2"),
    )
    assert not np.allclose(train_step, train_ckpt, rtol=1e-3)
    # but they measure the same thing (loosely: the tiny model trains with dropout at the step, and its
    # parameters move within the epoch)
    assert np.corrcoef(train_step, train_ckpt)[0, 1] > 0.2


def test_every_gradient_method_runs_on_a_step_captured_run(both_runs):
    reps = Representations(both_runs["step"])
    runner = MethodRunner(reps, (0.1, 0.3))
    for method_id in GRADIENT_METHODS:
        result = runner.run(get_method(method_id))
        assert result.scores is None or np.isfinite(np.asarray(result.scores, dtype=float)).all(), method_id
        assert all(len(chosen) > 0 for per in result.selections.values() for chosen in per), method_id
