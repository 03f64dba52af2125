"""One contract for every registered selector (the scikit-learn habit): exact budget, distinct
indices, determinism per seed, and the edge cases every selector must survive.

The selectors come from the one table (prune_core/select/registry.py) and run with their declared
parameter defaults, so these tests check what the method registry, the grid and the lab run."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prune_core.select import SELECTORS, BudgetError, top_k
from prune_core.select.registry import INPUTS, SOURCES

NAMES = sorted(SELECTORS)


def make_inputs(n: int, seed: int, *, ties: bool = False) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n, 4))
    scores = rng.random(n)
    return {
        "scores": np.round(scores, 1) if ties else scores,
        "difficulty": np.round(1 - scores, 1) if ties else 1 - scores,
        "features": features,
        "labels": rng.integers(0, 3, n),
        "target": features[: max(1, n // 4)].sum(axis=0),
        "validation": rng.standard_normal((5, 4)),
        "validation_labels": np.array([0, 1, 2, 0, 1]),
        "influence": rng.standard_normal((n, 3)),
    }


def run(name: str, n: int, k: int, seed: int, inputs: dict[str, np.ndarray]) -> np.ndarray:
    info = SELECTORS[name]
    return info.run(n=n, k=k, seed=seed, **{key: inputs[key] for key in info.inputs})


def check_selection(name: str, chosen: np.ndarray, n: int, k: int) -> None:
    assert chosen.dtype == np.int64
    assert len(set(chosen.tolist())) == chosen.size, f"{name} repeated an index"
    assert chosen.size == 0 or (chosen.min() >= 0 and chosen.max() < n)
    if name == "quantile":
        assert chosen.size >= k  # ties at the threshold may add examples
    else:
        assert chosen.size == k, f"{name} returned {chosen.size} indices for k = {k}"


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 60), seed=st.integers(0, 1000), data=st.data())
def test_every_selector_returns_exactly_k_distinct_indices_deterministically(name, n, seed, data):
    k = data.draw(st.integers(0, n))
    inputs = make_inputs(n, seed, ties=data.draw(st.booleans()))
    chosen = run(name, n, k, seed, inputs)
    check_selection(name, chosen, n, k)
    assert run(name, n, k, seed, inputs).tolist() == chosen.tolist()


@pytest.mark.parametrize("name", NAMES)
def test_every_selector_handles_identical_rows_equal_scores_and_one_label(name):
    n = 12
    inputs = {
        "scores": np.full(n, 0.5),
        "difficulty": np.full(n, 0.5),
        "features": np.ones((n, 4)),
        "labels": np.zeros(n, dtype=int),
        "target": np.ones(4),
        "validation": np.ones((3, 4)),
        "validation_labels": np.zeros(3, dtype=int),
        "influence": np.ones((n, 3)),
    }
    for k in (0, 1, 5, n):
        check_selection(name, run(name, n, k, 0, inputs), n, k)


@pytest.mark.parametrize("name", NAMES)
def test_every_selector_accepts_float16_inputs_and_nan_scores(name):
    n = 20
    inputs = {
        key: value.astype(np.float16) if value.dtype.kind == "f" else value
        for key, value in make_inputs(n, 0).items()
    }
    for key in ("scores", "difficulty"):
        inputs[key] = inputs[key].astype(np.float64)
        inputs[key][[1, 5]] = np.nan
    check_selection(name, run(name, n, 7, 0, inputs), n, 7)


@pytest.mark.parametrize("name", NAMES)
def test_every_selector_handles_a_single_example(name):
    inputs = make_inputs(1, 0)
    assert run(name, 1, 1, 0, inputs).tolist() == [0]
    assert run(name, 1, 0, 0, inputs).tolist() == []


@pytest.mark.parametrize("name", NAMES)
def test_every_selector_refuses_a_budget_above_n(name):
    with pytest.raises(BudgetError, match="k <= n"):
        run(name, 5, 6, 0, make_inputs(5, 0))


@pytest.mark.parametrize("name", NAMES)
def test_every_selector_declares_its_inputs_kind_and_citation(name):
    info = SELECTORS[name]
    assert info.name == name
    assert info.kind in ("score", "set")
    assert set(info.inputs) <= set(INPUTS)
    assert info.citation and info.title and info.description
    if info.kind == "score":
        assert info.score_function is not None
    for param in {**info.params, **info.input_params}.values():
        assert param.source in SOURCES and param.default is not None


@pytest.mark.parametrize("name", [n for n in NAMES if SELECTORS[n].kind == "score" and n != "quantile"])
def test_score_kind_selectors_keep_the_top_of_their_score(name):
    inputs = make_inputs(30, 3)
    info = SELECTORS[name]
    scores = info.scores(n=30, seed=3, **{key: inputs[key] for key in info.inputs})
    assert set(run(name, 30, 9, 3, inputs).tolist()) == set(top_k(scores, 9, seed=3).tolist())


@pytest.mark.parametrize("name", [n for n in NAMES if SELECTORS[n].nested])
def test_nested_selectors_return_prefixes_of_their_larger_budgets(name):
    inputs = make_inputs(30, 2)
    full = run(name, 30, 29, 2, inputs).tolist()
    for k in (1, 5, 12):
        assert run(name, 30, k, 2, inputs).tolist() == full[:k], (name, k)


def test_prototypicality_runs_unnormalised_as_every_product_method_does():
    # the drift issue 9 names: the table ran normalize=True while every proto* method ran False
    assert SELECTORS["prototypicality"].defaults()["normalize"] is False


def test_old_selector_names_resolve_to_their_one_name():
    from prune_core.select import ALIASES, resolve_selector

    assert ALIASES == {
        "proto": "prototypicality",
        "facility_location": "craig",
        "nn_omp": "gradmatch",
        "cosamp": "gtp",
    }
    assert resolve_selector("nn_omp") == "gradmatch" and resolve_selector("kcenter") == "kcenter"
