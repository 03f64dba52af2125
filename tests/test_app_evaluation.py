"""The subset-evaluation page under AppTest: its charts show exactly the stored results, the widgets switch
metric, split and filters, and a run without evaluations gets the command that makes them."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app import navigation
from prune_core.evaluate import FULL_DATA, RANDOM_BAND, evaluate_run
from prune_core.store import RunStore
from tests.run_fixtures import chart_specs, decode, small_run  # noqa: F401  (shared fixtures)

HOME = str(navigation.APP_DIR / "Home.py")
PAGE = "app_pages/evaluation.py"
METHODS = ["el2n", "less", "prototypicality"]


@pytest.fixture
def registered_page():
    """The page in the navigation (the lead registers it in app/navigation.py; until then, for this test)."""
    if any(p.script == PAGE for p in navigation.PAGES):
        yield
        return
    spec = navigation.PageSpec(
        PAGE, "Subset evaluation", ":material/model_training:", "Compare methods", ("examples",)
    )
    navigation.PAGES.append(spec)
    yield
    navigation.PAGES.remove(spec)


def private_copy(run_folder, root):
    """A copy of the shared small run (evaluating adds files and a stage the other app tests do not expect)."""
    shutil.copytree(run_folder, root / run_folder.name)
    return RunStore(root).open(run_folder.name)


@pytest.fixture(scope="module")
def evaluated_copy(small_run, tmp_path_factory):  # noqa: F811
    run = private_copy(small_run, tmp_path_factory.mktemp("evaluated-store"))
    evaluate_run(run, METHODS, [0.1, 0.3], [0, 1], mode="fast", show_progress=False, log=lambda _m: None)
    return run.reload()


def point_app_at(run, monkeypatch):
    import streamlit as st

    monkeypatch.setenv("PRUNESCOPE_RUNS_DIR", str(run.path.parent))
    st.cache_resource.clear()


@pytest.fixture
def evaluated(evaluated_copy, monkeypatch, registered_page):
    point_app_at(evaluated_copy, monkeypatch)
    return evaluated_copy


@pytest.fixture
def store(small_run, tmp_path, monkeypatch, registered_page):  # noqa: F811
    run = private_copy(small_run, tmp_path)
    point_app_at(run, monkeypatch)
    return run


def open_page() -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=90)
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def means(run, column: str) -> pd.Series:
    table = run.read_table("evaluations")
    return table.groupby(["method", "balanced", "budget"])[column].mean()


def traces(spec: dict) -> dict[str, dict]:
    return {t["name"]: t for t in spec["data"] if t.get("name")}


def test_curves_show_the_stored_means_with_the_random_band_and_the_full_data(evaluated):
    at = open_page()
    curve = traces(chart_specs(at)["evaluation_curve"])
    expected = means(evaluated, "test_accuracy")
    for method in METHODS:
        assert decode(curve[method]["x"]).tolist() == [0.1, 0.3]
        np.testing.assert_allclose(
            decode(curve[method]["y"]), [expected[(method, False, b)] for b in (0.1, 0.3)]
        )
        np.testing.assert_allclose(
            decode(curve[f"{method} (balanced)"]["y"]), [expected[(method, True, b)] for b in (0.1, 0.3)]
        )
    np.testing.assert_allclose(
        decode(curve["random band"]["y"]), [expected[(RANDOM_BAND, False, b)] for b in (0.1, 0.3)]
    )
    # the full data is a level line across the axis (two points), with its own legend entry
    assert decode(curve["full data"]["y"]).tolist() == pytest.approx([expected[(FULL_DATA, False, 1.0)]] * 2)


def test_metric_split_and_filters_change_what_is_drawn(evaluated):
    at = open_page()
    at.radio(key="evaluation_metric").set_value("macro_f1").run()
    at.radio(key="evaluation_split").set_value("validation").run()
    curve = traces(chart_specs(at)["evaluation_curve"])
    expected = means(evaluated, "validation_macro_f1")
    np.testing.assert_allclose(decode(curve["less"]["y"]), [expected[("less", False, b)] for b in (0.1, 0.3)])
    objectives = at.multiselect(key="evaluation_objectives")
    at = objectives.set_value([o for o in objectives.value if o != "relevance"]).run()
    at.toggle(key="evaluation_balanced").set_value(False).run()
    names = set(traces(chart_specs(at)["evaluation_curve"]))
    assert "less" not in names and "el2n" in names and not any("balanced" in n for n in names)


def test_leaderboard_ranks_by_mean_and_shows_each_subsets_label_shares(evaluated):
    at = open_page()
    at.select_slider(key="evaluation_budget").set_value(0.1).run()
    board = chart_specs(at)["evaluation_leaderboard"]["data"]
    rows, scores = board[0]["y"], decode(board[0]["x"])
    assert list(scores) == sorted(scores, reverse=True)
    table = evaluated.read_table("evaluations")
    at_budget = table[(table["budget"] == 0.1) | (table["method"] == FULL_DATA)]
    el2n = at_budget[(at_budget["method"] == "el2n") & ~at_budget["balanced"]]
    assert scores[rows.index("el2n")] == pytest.approx(el2n["test_accuracy"].mean())
    names = evaluated.label_names
    counts = el2n[[f"count_{n}" for n in names]].sum().to_numpy(dtype=float)
    shares = {t["name"]: decode(t["x"])[rows.index("el2n")] for t in board[1:]}
    np.testing.assert_allclose([shares[n] for n in names], counts / counts.sum())
    grid = next(d.value for d in at.dataframe if d.value.index.name == "representation")
    assert "gradients" in grid.index and "relevance" in grid.columns


def test_a_run_without_evaluations_names_the_command_that_makes_them(store):
    at = open_page()
    assert any("no evaluation yet" in i.value for i in at.info)
    commands = "\n".join(c.value for c in at.code)
    assert f"prunescope evaluate {store.id} --mode fast\n" in commands + "\n"
    assert f"prunescope evaluate {store.id} --mode finetune --seeds 0,1,2" in commands


def test_a_damaged_evaluation_table_names_the_command_that_rebuilds_it(store):
    evaluate_run(
        store,
        ["el2n"],
        [0.1],
        [0],
        mode="fast",
        variants=["plain"],
        baselines=False,
        show_progress=False,
        log=lambda _m: None,
    )
    (store.path / store.file_info("evaluations").path).write_bytes(b"not a parquet file")
    at = open_page()
    assert any("evaluation table" in e.value and "damaged" in e.value for e in at.error)
    assert any("not a parquet" in c.value or "unusable" in c.value for c in at.code)
    assert any(f"prunescope evaluate {store.id} --mode fast" in c.value for c in at.code)


def test_fast_mode_shows_one_score_per_method_and_labels_the_random_band_spread(evaluated):
    at = open_page()
    assert any("only series with a spread" in i.value for i in at.info)
    at.select_slider(key="evaluation_budget").set_value(0.3).run()
    board = next(d.value for d in at.dataframe if "series" in d.value)
    rows = board.set_index("series")
    metric = next(c for c in board.columns if c in ("accuracy", "macro-F1"))
    assert "±" not in rows.loc["el2n", metric] and rows.loc["el2n", "runs"] == "1 (deterministic)"
    assert "±" in rows.loc["random band", metric] and rows.loc["random band", "runs"] == "3 random draws"
