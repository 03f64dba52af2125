"""One contract for every registered method (scikit-learn style): a new preset inherits all of these.

Each method: returns exactly the budget, is deterministic per seed, accepts ties and a single label, works
on 1 and on many examples, rejects a budget outside (0, 1] clearly, and declares its direction.
"""

from __future__ import annotations

import numpy as np
import pytest

from prune_core.methods import PRESETS, Representations, all_grid_cells, get_method
from prune_core.methods.runner import MethodRunner
from prune_core.select.budget import BudgetError
from prune_core.store import RunStore
from prune_core.synthetic import make_synthetic_run

ALL_PRESETS = sorted(PRESETS)
BUDGETS = [0.05, 0.1, 0.3, 0.5, 1.0]


@pytest.fixture(scope="module")
def reps(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("contract"))
    return Representations(make_synthetic_run(store, n=120, m=30, num_labels=3, seed=1))


@pytest.fixture(scope="module")
def results(reps):
    runner = MethodRunner(reps, BUDGETS)
    return {m: runner.run(get_method(m)) for m in ALL_PRESETS}


def test_registry_has_every_method_the_issue_names():
    required = (
        "el2n grand forgetting aum datamap-hard datamap-ambiguous datamap-easy s2l s2l-hs s2l-grad "
        "prototypicality proto-tl proto-grad semdedup memorization tracin less less-tl less-hs "
        "reverse-less gtp gradmatch craig kcenter moderate ccs d2 influence group-annealing random"
    ).split()
    assert set(required) <= set(PRESETS)


@pytest.mark.parametrize("method_id", ALL_PRESETS)
def test_method_declares_what_it_is(method_id):
    method = PRESETS[method_id]
    assert method.objective in ("difficulty", "diversity", "relevance", "baseline")
    assert method.kind in ("score", "set") and method.direction and method.citation and method.description
    assert (method.score is not None) == (method.kind == "score")


@pytest.mark.parametrize("method_id", ALL_PRESETS)
def test_method_returns_exactly_the_budget_plain_and_balanced(method_id, results, reps):
    result = results[method_id]
    for budget, plain, balanced in zip(BUDGETS, result.selections["plain"], result.selections["balanced"]):
        k = int(np.floor(budget * reps.n))
        assert len(plain) == k and len(np.unique(plain)) == k, (method_id, budget)
        assert len(balanced) == k and len(np.unique(balanced)) == k, (method_id, budget)
        assert plain.min(initial=0) >= 0 and plain.max(initial=0) < reps.n


@pytest.mark.parametrize("method_id", ALL_PRESETS)
def test_label_balanced_selection_keeps_each_label_share(method_id, results, reps):
    counts = np.bincount(reps.labels, minlength=3)
    for budget, chosen in zip(BUDGETS, results[method_id].selections["balanced"]):
        k = len(chosen)
        kept = np.bincount(reps.labels[chosen], minlength=3)
        assert np.all(np.abs(kept - k * counts / counts.sum()) <= 1.0 + 1e-9), (method_id, budget, kept)


@pytest.mark.parametrize("method_id", ALL_PRESETS)
def test_rankings_cover_every_example_once(method_id, results, reps):
    for ranking in results[method_id].rankings.values():
        assert sorted(ranking.tolist()) == list(range(reps.n))


@pytest.mark.parametrize("method_id", ALL_PRESETS)
def test_method_is_deterministic_per_seed(method_id, results, reps):
    again = MethodRunner(reps, BUDGETS).run(get_method(method_id))
    for first, second in zip(results[method_id].selections["plain"], again.selections["plain"]):
        np.testing.assert_array_equal(first, second)


def test_score_methods_keep_their_top_scores(results):
    result = results["el2n"]
    ten = result.selections["plain"][1]
    assert result.scores[ten].min() >= np.delete(result.scores, ten).max()


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("method_id", ALL_PRESETS)
def test_method_works_on_tiny_runs_and_with_a_single_label(method_id, n, tmp_path):
    run = make_synthetic_run(RunStore(tmp_path), n=n, m=4, num_labels=2, seed=3, labels=np.zeros(n, int))
    result = MethodRunner(Representations(run), [1.0, 0.5]).run(get_method(method_id))
    assert len(result.selections["plain"][0]) == n
    assert len(result.selections["plain"][1]) == max(1, n // 2)


@pytest.mark.parametrize("method_id", ["el2n", "less", "kcenter", "s2l", "gtp", "semdedup", "d2"])
def test_methods_scale_to_ten_thousand_examples(method_id, tmp_path):
    run = make_synthetic_run(RunStore(tmp_path), n=10_000, m=200, num_labels=2, seed=4)
    result = MethodRunner(Representations(run), [0.1]).run(get_method(method_id))
    assert len(result.selections["plain"][0]) == 1000


def test_ties_do_not_break_exact_budgets(tmp_path):
    run = make_synthetic_run(RunStore(tmp_path), n=50, m=10, seed=5)
    reps = Representations(run)
    reps._cache[("features", "hs", "train")] = np.ones((50, 16), np.float32)  # every example identical
    for method_id in ("prototypicality", "kcenter", "s2l-hs", "semdedup", "moderate"):
        result = MethodRunner(reps, [0.2]).run(get_method(method_id))
        assert len(result.selections["plain"][0]) == 10, method_id


@pytest.mark.parametrize("budget", [0, -0.1, 1.5, float("nan")])
def test_budget_outside_zero_one_is_rejected_with_a_clear_message(budget, reps):
    with pytest.raises(BudgetError, match="budget"):
        MethodRunner(reps, [budget])


def test_every_grid_cell_resolves_and_a_few_run(reps):
    cells = all_grid_cells()
    assert "kcenter@grad" in cells and "less@tl" in cells and "less@dyn" not in cells
    for cell in ("proto@hs-pre", "s2l@grad-sgd", "less@hs", "gtp@hs", "craig@tl"):
        result = MethodRunner(reps, [0.25]).run(get_method(cell))
        assert len(result.selections["plain"][0]) == 30, cell


# ---------------------------------------------------------------------------------------------- one table
def test_every_method_reads_a_declared_input_and_every_parameter_names_its_source():
    from prune_core.methods import INPUTS
    from prune_core.select.registry import SOURCES

    for method in [*PRESETS.values(), *(get_method(c) for c in all_grid_cells())]:
        assert method.representation in INPUTS, method.id
        assert method.family == INPUTS[method.representation].family
        for name, param in method.parameters.items():
            assert param.source in SOURCES, (method.id, name)
        assert method.describe()["param_sources"]["seed"]["source"] == "our choice"


def _grid_twin(method):
    """The grid cell with the preset's selector and representation, if the grid has it."""
    cell = f"{method.selector}@{method.representation}"
    return get_method(cell) if cell in all_grid_cells() else None


@pytest.mark.parametrize("method_id", ALL_PRESETS)
def test_a_preset_and_its_grid_cell_compute_the_same_unless_the_preset_declares_how_it_differs(
    method_id, reps, results
):
    preset = PRESETS[method_id]
    twin = _grid_twin(preset)
    if twin is None:
        return
    differs = {
        name: p.default
        for name, p in preset.parameters.items()
        if name not in twin.parameters or twin.parameters[name].default != p.default
    }
    if preset.own_score:
        assert differs, (
            f"{method_id} computes its own score but declares nothing that sets it apart from {twin.id}"
        )
        return
    assert differs == {name: p.default for name, p in preset.settings.items() if name in differs}
    cell = MethodRunner(reps, BUDGETS).run(twin)
    same = all(
        np.array_equal(a, b) for a, b in zip(results[method_id].selections["plain"], cell.selections["plain"])
    )
    assert same == (not differs), (method_id, twin.id, differs)


def test_gradmatch_preset_matches_the_training_mean_and_its_grid_cell_the_validation_mean():
    assert PRESETS["gradmatch"].params["target"] == "train"
    assert get_method("gradmatch@grad-sgd").params["target"] == "validation"
    assert (
        PRESETS["gtp"].params["trajectory"] is True
        and get_method("gtp@grad-sgd").params["trajectory"] is False
    )


def test_old_grid_ids_resolve_to_the_one_selector_name():
    for old, new in [
        ("proto@hs", "prototypicality@hs"),
        ("facility_location@tl", "craig@tl"),
        ("nn_omp@hs", "gradmatch@hs"),
        ("cosamp@grad", "gtp@grad"),
    ]:
        assert get_method(old).id == new and new in all_grid_cells()
    assert PRESETS["craig"].selector == "craig" and PRESETS["prototypicality"].selector == "prototypicality"


def test_a_derived_preset_refuses_a_parameter_its_selector_does_not_declare():
    from prune_core.methods import Method
    from prune_core.select.registry import Param

    with pytest.raises(ValueError, match="not parameters of selector 'kcenter'"):
        Method(
            id="kcenter-bad",
            title="k-center",
            objective="diversity",
            representation="hs",
            selector="kcenter",
            citation="-",
            direction="set",
            description="-",
            settings={"n_clusters": Param(3, "our choice")},
        )
    with pytest.raises(ValueError, match="not a declared input"):
        Method(
            id="x",
            title="x",
            objective="baseline",
            representation="logits",
            selector="top_k",
            citation="-",
            direction="-",
            description="-",
            score=lambda r, p: np.zeros(r.n),
        )


# ---------------------------------------------------------------------------------------------- generation runs
GENERATION_PRESETS = sorted(m for m in PRESETS if PRESETS[m].applies_to("generation"))


@pytest.fixture(scope="module")
def gen_reps(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("contract-generation"))
    return Representations(make_synthetic_run(store, n=120, m=30, num_labels=3, seed=1, task="generation"))


@pytest.fixture(scope="module")
def gen_results(gen_reps):
    runner = MethodRunner(gen_reps, BUDGETS)
    return {m: runner.run(get_method(m)) for m in GENERATION_PRESETS}


def test_every_method_says_which_tasks_it_applies_to_and_why_not():
    from prune_core.methods.registry import task_applicability

    for method_id in [*PRESETS, *all_grid_cells()]:
        info = task_applicability(get_method(method_id))
        assert "classification" in info["tasks"], method_id
        assert set(info["tasks"]) | set(info["not_applicable"]) == {"classification", "generation"}
        assert all(reason for reason in info["not_applicable"].values()), method_id
    # what needs class logits is marked, what reads losses, hidden states or gradients is not
    marked = {m for m in PRESETS if not PRESETS[m].applies_to("generation")}
    assert marked == {"el2n", "forgetting", "aum", "ccs", "d2", "influence", "group-annealing"}
    assert "ccs@hs" not in {c for c in all_grid_cells() if get_method(c).applies_to("generation")}


@pytest.mark.parametrize("method_id", GENERATION_PRESETS)
def test_generation_run_exact_budget_source_balance_full_rankings(method_id, gen_results, gen_reps):
    result = gen_results[method_id]
    counts = np.bincount(gen_reps.labels, minlength=3)
    for budget, plain, balanced in zip(BUDGETS, result.selections["plain"], result.selections["balanced"]):
        k = int(np.floor(budget * gen_reps.n))
        assert len(plain) == k and len(np.unique(plain)) == k, (method_id, budget)
        assert len(balanced) == k and len(np.unique(balanced)) == k, (method_id, budget)
        kept = np.bincount(gen_reps.labels[balanced], minlength=3)  # labels are the sources here
        assert np.all(np.abs(kept - k * counts / counts.sum()) <= 1.0 + 1e-9), (method_id, budget, kept)
    for ranking in result.rankings.values():
        assert sorted(ranking.tolist()) == list(range(gen_reps.n))


@pytest.mark.parametrize("method_id", GENERATION_PRESETS)
def test_generation_run_methods_are_deterministic_and_work_on_tiny_runs(
    method_id, gen_results, gen_reps, tmp_path
):
    again = MethodRunner(gen_reps, BUDGETS).run(get_method(method_id))
    for first, second in zip(gen_results[method_id].selections["plain"], again.selections["plain"]):
        np.testing.assert_array_equal(first, second)
    run = make_synthetic_run(RunStore(tmp_path), n=3, m=4, seed=3, labels=np.zeros(3, int), task="generation")
    result = MethodRunner(Representations(run), [1.0, 0.5]).run(get_method(method_id))
    assert [len(s) for s in result.selections["plain"]] == [3, 1]


def test_a_generation_run_skips_class_logit_methods_and_says_why(gen_reps):
    from prune_core.methods.select_stage import select_methods

    notes = []
    report = select_methods(gen_reps.run, ["el2n", "random"], budgets=[0.5], log=notes.append)
    assert list(report) == ["random"]
    assert any("el2n" in n and "not applicable to generation runs" in n and "class" in n for n in notes)
