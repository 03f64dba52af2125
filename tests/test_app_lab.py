"""The Gaussian-mixture lab page (AppTest, through the app's router) and its figure builder."""

from __future__ import annotations

import time

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app import navigation
from app.figures.lab import LabPanel, html_title, lab_panels
from prune_core.simulate import (
    LabConfig,
    build_world,
    grid_cells,
    panel_title,
    probability_grid,
    select_grid,
    view_layout,
)
from tests.run_fixtures import chart_specs, decode

HOME = str(navigation.APP_DIR / "Home.py")
PAGE = "app_pages/gaussian_lab.py"
PAPER_TITLES = [
    "ℓ-Difficulty<sub>proto</sub>",
    "h-Difficulty<sub>proto</sub>",
    "∇ℓ-Difficulty<sub>proto</sub>",
    "ℓ-Difficulty<sub>h2l</sub>",
    "h-Diversity<sub>s2l</sub>",
    "∇ℓ-Diversity<sub>s2l</sub>",
]


def _spec(at: AppTest) -> dict:
    return chart_specs(at)["lab_figure"]


def _titles(spec: dict) -> list[str]:
    return [a["text"] for a in spec["layout"]["annotations"] if "<sub>" in a["text"] or "·" in a["text"]]


def _kept_counts(spec: dict) -> list[int]:
    return [len(decode(t["x"])) for t in spec["data"] if t.get("name") == "kept"]


@pytest.fixture
def page(tmp_path, monkeypatch):
    """The lab opened through Home.py; it needs no run, so the run store is an empty folder. The page is
    added to the navigation for the test until the lead registers it in app/navigation.py."""
    spec = navigation.PageSpec(PAGE, "Gaussian-mixture lab", ":material/science:", "Compare methods")
    registered = any(p.script == PAGE for p in navigation.PAGES)
    if not registered:
        navigation.PAGES.append(spec)
    monkeypatch.setenv("PRUNESCOPE_RUNS_DIR", str(tmp_path))
    st.cache_resource.clear()
    at = AppTest.from_file(HOME, default_timeout=90)
    at.run()
    at.switch_page(PAGE)
    at.run()
    yield at
    if not registered:
        navigation.PAGES.remove(spec)


# ------------------------------------------------------------------------------------------ figure builder
def _tiny_figure(rows):
    points = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    decision = (np.linspace(0, 2, 4), np.linspace(0, 1, 3), np.full((3, 4), 0.5))
    return lab_panels(points, np.array([-1, 1, 1]), np.array([False, True, False]), decision, rows)


def test_each_panel_draws_regions_boundary_two_labels_flipped_rings_and_kept_crosses():
    fig = _tiny_figure([[LabPanel("a", np.array([0, 2])), LabPanel("b", np.array([1]))]])
    names = [t.name for t in fig.data]
    assert names == ["p(+1)", "decision boundary", "label −1", "label +1", "flipped label", "kept"] * 2
    kept = [t for t in fig.data if t.name == "kept"]
    assert [list(t.x) for t in kept] == [[0.0, 2.0], [1.0]]
    assert [list(t.x) for t in fig.data if t.name == "flipped label"] == [[1.0], [1.0]]
    assert sum(bool(t.showlegend) for t in fig.data) == 4  # one legend entry per kind, from the first panel


def test_a_missing_cell_says_the_selector_does_not_run_there():
    fig = _tiny_figure([[LabPanel("ℓ-Difficulty_h2l", np.array([0])), None]])
    texts = [a.text for a in fig.layout.annotations]
    assert "ℓ-Difficulty<sub>h2l</sub>" in texts
    assert "not defined on<br>this representation" in texts


def test_html_title_turns_the_paper_subscript_into_html():
    assert html_title("∇ℓ-Diversity_s2l") == "∇ℓ-Diversity<sub>s2l</sub>"
    assert html_title("h · kcenter") == "h · kcenter"


def test_points_and_labels_of_different_lengths_are_refused():
    decision = (np.arange(2), np.arange(2), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="expected 3 labels and flipped flags, found shapes"):
        lab_panels(np.zeros((3, 2)), np.zeros(2), np.zeros(3, bool), decision, [[LabPanel("a", np.zeros(1))]])


def test_default_view_recomputes_in_under_two_seconds():
    build_world(LabConfig(seed=1))  # imports and first calls are paid once per server process, not per rerun

    def recompute(seed: int) -> float:
        started = time.perf_counter()
        world = build_world(LabConfig(seed=seed))
        kept = select_grid(world, grid_cells(["h2l", "proto-paper", "s2l-paper", "less-paper"]))
        train = world.split.train
        decision = probability_grid(world.training.model, train.x, resolution=100)
        rows = [[LabPanel(panel_title(*cell), kept[cell]) for cell in row] for row in view_layout("paper")]
        lab_panels(train.x, train.y, train.flipped, decision, rows)
        return time.perf_counter() - started

    # the best of three reruns: one wall-clock reading on a shared 2-core box is mostly other processes
    assert min(recompute(seed) for seed in (2, 3, 4)) < 2.0


# ------------------------------------------------------------------------------------------ the page
def test_page_opens_on_the_papers_six_panel_figure(page):
    assert not page.exception, [e.value for e in page.exception]
    spec = _spec(page)
    assert _titles(spec) == PAPER_TITLES
    assert len(_kept_counts(spec)) == 6
    assert _kept_counts(spec)[0] == 180
    assert [m.value for m in page.metric] == ["0.875", "600", "180", "4"]
    assert len(page.dataframe) == 2  # Jaccard table and flipped-label table


def test_budget_slider_changes_how_many_points_each_panel_keeps(page):
    page.slider(key="lab_budget").set_value(0.5).run()
    assert not page.exception
    counts = _kept_counts(_spec(page))
    assert counts[0] == 300 and counts[3] == 300  # prototypicality and h2l keep exactly k
    assert page.metric[2].value == "300"


def test_grid_view_draws_one_row_per_selector_and_one_column_per_representation(page):
    page.selectbox(key="lab_view").set_value("grid").run()
    page.multiselect(key="lab_selectors").set_value(["h2l", "kcenter"]).run()
    assert not page.exception
    spec = _spec(page)
    assert _titles(spec) == ["ℓ-Difficulty<sub>h2l</sub>", "ℓ · kcenter", "h · kcenter", "∇ℓ · kcenter"]
    assert len(_kept_counts(spec)) == 4
    assert any("not defined" in a["text"] for a in spec["layout"]["annotations"])


def test_model_and_generator_controls_retrain_and_redraw(page):
    before = _spec(page)
    page.radio(key="lab_model").set_value("mlp").run()
    assert not page.exception
    assert page.metric[0].value != "0.875"
    page.selectbox(key="lab_generator").set_value("mixture").run()
    page.slider(key="lab_blobs_mixture").set_value(3).run()
    assert not page.exception
    after = _spec(page)
    heatmap = next(t for t in after["data"] if t.get("type") == "heatmap")
    assert heatmap["z"] != next(t for t in before["data"] if t.get("type") == "heatmap")["z"]


def test_k_and_seed_change_the_clusters_and_the_draws(page):
    first = _spec(page)
    page.number_input(key="lab_seed").set_value(7).run()
    page.number_input(key="lab_k").set_value(4).run()
    assert not page.exception
    assert _spec(page)["data"] != first["data"]
