"""Each preset follows its authors' code (issue 12), checked through the registry on a synthetic run."""

from __future__ import annotations

import numpy as np
import pytest

from prune_core import scores as S
from prune_core.methods import Representations, get_method
from prune_core.methods.runner import MethodRunner
from prune_core.select.balance import label_quota
from prune_core.select.budget import budget_to_k
from prune_core.store import RunStore
from prune_core.synthetic import make_synthetic_run

BUDGETS = (0.1, 0.3)


@pytest.fixture(scope="module")
def reps(tmp_path_factory) -> Representations:
    run = make_synthetic_run(RunStore(tmp_path_factory.mktemp("fidelity")), n=160, m=40, num_labels=3, seed=7)
    return Representations(run)


def selected(reps, method_id: str) -> list[np.ndarray]:
    return MethodRunner(reps, BUDGETS).run(get_method(method_id)).selections["plain"]


def difficulty(reps) -> np.ndarray:
    return S.accumulated_probability_margin(reps.prob_margin())


def hardest(reps, fraction: float) -> set[int]:
    order = np.argsort(-difficulty(reps), kind="stable")
    return set(order[: int(fraction * reps.n)].tolist())


def test_ccs_removes_the_authors_beta_of_the_hardest_by_probability_margin(reps):
    at_10, at_30 = selected(reps, "ccs")
    assert not hardest(reps, 0.3) & set(at_10.tolist())  # 90 % pruning: beta 0.3
    assert not hardest(reps, 0.1) & set(at_30.tolist())  # 70 % pruning: beta 0.2 (0.1 checked)
    assert get_method("ccs").params["beta"] == "schedule"


def test_d2_removes_the_hardest_40_percent_before_the_graph(reps):
    for chosen in selected(reps, "d2"):
        assert not hardest(reps, 0.4) & set(chosen.tolist())


def test_less_is_du_et_als_mean_over_validation_and_the_grouped_max_is_a_variant(reps):
    plain = get_method("less").score(reps, get_method("less").params)
    grouped = get_method("less-grouped").score(reps, get_method("less-grouped").params)
    args = (reps.grads("train", "adam"), reps.grads("validation", "sgd"), reps.grad_lrs())
    np.testing.assert_allclose(plain, S.less(*args))
    np.testing.assert_allclose(grouped, S.less(*args, val_groups=reps.val_labels))
    assert not np.allclose(plain, grouped)
    reverse = get_method("reverse-less")
    np.testing.assert_allclose(reverse.score(reps, reverse.params), -plain)


@pytest.mark.parametrize("method_id", ["gradmatch", "craig"])
def test_gradmatch_and_craig_select_per_class_with_proportional_budgets(reps, method_id):
    for budget, chosen in zip(BUDGETS, selected(reps, method_id)):
        quota = label_quota(reps.labels, budget_to_k(budget, reps.n), mode="stratified")
        counts = np.bincount(reps.labels[chosen], minlength=3)
        assert all(abs(int(counts[c]) - q) <= 1 for c, q in quota.items()), (method_id, budget)


def test_forgetting_ties_go_to_the_less_confident_example(reps):
    counts = S.forgetting_counts(reps.dynamics("correct"))
    confidence = S.datamap(reps.dynamics("p_gold"), reps.dynamics("correct"))["confidence"]
    for budget, chosen in zip(BUDGETS, selected(reps, "forgetting")):
        boundary = counts[chosen].min()
        inside = np.flatnonzero(counts == boundary)
        kept = np.intersect1d(inside, chosen)
        left = np.setdiff1d(inside, chosen)
        if len(kept) and len(left):  # the cut splits a tie block: confidence decides it
            assert confidence[kept].max() <= confidence[left].min(), budget


def test_influence_uses_the_damping_checked_against_leave_one_out():
    described = get_method("influence").describe()
    assert described["params"]["damping"] == 1.0
    assert described["validation"]["spearman"] == pytest.approx(0.67)
    assert "tie_break" in get_method("forgetting").describe()
