"""CONTRIBUTING.md's four recipes, each followed the documented way with a throwaway addition.

Each test registers one thing exactly as the recipe says (one declaration, through the registration
function of its table), then checks it reaches every place the recipe promises: ``methods --json``,
the representation x selector grid, the Gaussian-mixture lab, the dashboard's navigation. The
registration is undone after each test.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app import navigation
from prune_core.cli import main
from prune_core.methods import (
    INPUTS,
    PRESETS,
    REPRESENTATIONS,
    Method,
    MethodInput,
    Representations,
    all_grid_cells,
    get_method,
    register_input,
    register_preset,
)
from prune_core.methods.runner import MethodRunner
from prune_core.select import ALIASES, SELECTORS, Param, Selector, register_selector, top_k
from prune_core.simulate import (
    LIBRARY_SELECTORS,
    build_world,
    grid_cells,
    run_selector,
    select_grid,
    selection_input,
)
from prune_core.simulate import SELECTORS as LAB_SELECTORS
from prune_core.store import RunStore
from prune_core.synthetic import make_synthetic_run
from tests.test_select_contract import check_selection, make_inputs

HOME = str(navigation.APP_DIR / "Home.py")


@pytest.fixture(scope="module")
def reps(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("recipes"))
    return Representations(make_synthetic_run(store, n=60, m=15, num_labels=3, seed=2))


def listing(capsys) -> dict:
    capsys.readouterr()
    assert main(["methods", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@contextmanager
def registered(register, thing, *tables: dict):
    """Register ``thing`` the documented way; afterwards remove every entry it added to ``tables``."""
    before = [dict(table) for table in tables]
    try:
        yield register(thing)
    finally:
        for table, old in zip(tables, before):
            for key in set(table) - set(old):
                del table[key]


# ---------------------------------------------------------------------------------------------- recipe 1
def test_recipe_a_new_score_method(capsys, reps):
    method = Method(
        id="last-loss",
        title="Last-epoch loss",
        objective="difficulty",
        representation="dyn",
        selector="top_k",
        citation="a throwaway example for CONTRIBUTING.md",
        direction="higher loss = harder; kept as is",
        description="The online loss at the last epoch.",
        score=lambda r, p: r.dynamics("loss")[:, -1] * p["scale"],
        settings={"scale": Param(1.0, "our choice", "a parameter, to show how one is declared")},
    )
    with registered(register_preset, method, PRESETS):
        described = {m["id"]: m for m in listing(capsys)["presets"]}["last-loss"]
        assert described["kind"] == "score" and described["family"] == "training dynamics"
        assert described["param_sources"]["scale"]["source"] == "our choice"
        result = MethodRunner(reps, [0.1, 0.5]).run(get_method("last-loss"))
        assert [len(s) for s in result.selections["plain"]] == [6, 30]
        loss = reps.dynamics("loss")[:, -1]
        assert (
            loss[result.selections["plain"][0]].min() >= np.delete(loss, result.selections["plain"][0]).max()
        )
    assert "last-loss" not in PRESETS


# ---------------------------------------------------------------------------------------------- recipe 2
def _far_scores(*, n: int, features: np.ndarray, seed: int = 0, power: float = 2.0) -> np.ndarray:
    x = np.asarray(features, dtype=np.float64)
    return np.linalg.norm(x - x.mean(axis=0), axis=1) ** power if n else np.zeros(0)


def _far(*, n: int, k: int, features: np.ndarray, seed: int = 0, power: float = 2.0) -> np.ndarray:
    return top_k(_far_scores(n=n, features=features, power=power), k, seed=seed)


FAR = Selector(
    name="far_from_mean",
    function=_far,
    inputs=("features",),
    kind="score",
    objective="difficulty",
    title="Far from the mean",
    citation="a throwaway example for CONTRIBUTING.md",
    description="Keep the examples farthest from the mean representation.",
    score_function=_far_scores,
    params={"power": Param(2.0, "our choice", "squared distance")},
    aliases=("far",),
)


def test_recipe_a_new_selector(capsys, reps):
    with registered(register_selector, FAR, SELECTORS, ALIASES):
        listed = listing(capsys)
        assert listed["selectors"]["far_from_mean"]["params"]["power"]["source"] == "our choice"
        assert {f"far_from_mean@{rep}" for rep in REPRESENTATIONS} <= set(listed["grid"])
        # the grid: a cell on a run's representation, by its name or its alias
        cell = get_method("far@hs")
        assert cell.id == "far_from_mean@hs" and cell.kind == "score"
        result = MethodRunner(reps, [0.2]).run(cell)
        expected = top_k(_far_scores(n=reps.n, features=reps.features("hs")), 12)
        assert set(result.selections["plain"][0].tolist()) == set(expected.tolist())
        # the lab: one more library rule, on every simulated representation
        assert "far_from_mean" in LAB_SELECTORS and "far_from_mean" in LIBRARY_SELECTORS
        cells = grid_cells(["far_from_mean"])
        kept = select_grid(build_world(), cells, budget=0.3)
        assert all(len(kept[c]) == 180 for c in cells)
        # the contract tests' checks hold for it
        inputs = make_inputs(25, 0)
        check_selection("far_from_mean", FAR.run(n=25, k=7, features=inputs["features"]), 25, 7)
    assert "far_from_mean" not in SELECTORS and "far" not in ALIASES
    assert "far_from_mean" not in LAB_SELECTORS and "far_from_mean@hs" not in all_grid_cells()


def test_lab_runs_a_registered_selector_on_its_own_inputs():
    with registered(register_selector, FAR, SELECTORS, ALIASES):
        world = build_world()
        inputs = selection_input(world, "hidden")
        kept = run_selector("far", inputs, 10)
        assert sorted(kept.tolist()) == sorted(
            top_k(_far_scores(n=600, features=inputs.train), 10, seed=42).tolist()
        )


# ---------------------------------------------------------------------------------------------- recipe 3
def test_recipe_a_new_representation(capsys, reps):
    info = MethodInput(
        name="hs-centred",
        family="hidden states",
        title="fine-tuned hidden states minus their training mean",
        has_validation=True,
        features=lambda r, split: (
            r.hidden(split, r.final_checkpoint) - r.hidden("train", r.final_checkpoint).mean(axis=0)
        ),
    )
    with registered(register_input, info, INPUTS, REPRESENTATIONS):
        listed = listing(capsys)
        assert listed["representations"]["hs-centred"]["family"] == "hidden states"
        assert {"kcenter@hs-centred", "less@hs-centred", "gradmatch@hs-centred"} <= set(listed["grid"])
        fresh = Representations(reps.run)
        result = MethodRunner(fresh, [0.25]).run(get_method("kcenter@hs-centred"))
        assert len(result.selections["plain"][0]) == 15
        centred = fresh.features("hs-centred")
        assert np.allclose(centred.mean(axis=0), 0.0, atol=1e-5)
    assert "hs-centred" not in REPRESENTATIONS and "kcenter@hs-centred" not in all_grid_cells()


# ---------------------------------------------------------------------------------------------- recipe 4
def test_recipe_a_new_dashboard_page(tmp_path, monkeypatch):
    script = tmp_path / "throwaway.py"
    script.write_text('import streamlit as st\n\nst.title("A throwaway page")\n')
    spec = navigation.PageSpec(str(script), "Throwaway", ":material/science:", "Explore examples")
    navigation.PAGES.append(spec)
    try:
        assert spec in navigation.sections()["Explore examples"]
        monkeypatch.setenv("PRUNESCOPE_RUNS_DIR", str(tmp_path / "runs"))
        at = AppTest.from_file(HOME, default_timeout=90)
        at.run()
        at.switch_page(str(script))
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert [t.value for t in at.title] == ["A throwaway page"]
    finally:
        navigation.PAGES.remove(spec)
