"""Every page under AppTest on the small real run: no exception, the figures' data equal the store's, and
widgets change what is shown. Plotly charts are read from their figure spec; chart
selections are injected through session state."""

from __future__ import annotations

import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app.figures import plot_positions
from app.views import order_methods
from prune_core.analysis import jaccard_matrix, label_balance_table, overlap_matrix, score_correlations
from prune_core.results import Results
from prune_core.scores.dynamics import datamap
from prune_core.store import RunStore
from tests.run_fixtures import app_env, chart_specs, decode, shown, small_run  # noqa: F401  (shared fixtures)

HOME = str(__import__("app.navigation", fromlist=["APP_DIR"]).APP_DIR / "Home.py")


def open_page(script: str, **query) -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(script)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def results(app_env):  # noqa: F811
    return Results(RunStore(app_env.parent).open(app_env.name))


def test_runs_page_lists_the_run_and_offers_a_new_run_form(app_env):  # noqa: F811
    at = open_page("app_pages/runs.py")
    table = at.dataframe[0].value
    assert table["run"].tolist() == [app_env.name]
    assert table["methods"].iloc[0] > 10
    assert any(e.label == "New run" for e in at.expander)
    assert at.sidebar.selectbox(key="run_picker").value == app_env.name
    assert at.query_params["run"] == [app_env.name] or at.query_params["run"] == app_env.name


def test_new_run_form_refuses_a_dataset_path_that_does_not_exist(app_env, tmp_path):  # noqa: F811
    at = open_page("app_pages/runs.py")
    at.text_input(key="new_run_path").input(str(tmp_path / "missing.csv")).run()
    next(b for b in at.button if b.label == "Start").click().run()
    assert any("no file or folder at" in e.value and "missing.csv" in e.value for e in at.error)


def test_overview_shows_sizes_label_counts_and_stage_timings_from_the_manifest(app_env, results):  # noqa: F811
    at = open_page("app_pages/overview.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Training examples"] == "300" and metrics["Validation examples"] == "100"
    specs = chart_specs(at)
    examples = results.run.examples()
    counts = {t["name"]: decode(t["y"]).tolist() for t in specs["label_counts"]["data"]}
    for label, name in enumerate(results.label_names):
        assert counts[name] == [
            int(((examples["label"] == label) & (examples["split"] == s)).sum())
            for s in ("train", "validation", "test")
        ]
    stages = decode(specs["stage_timings"]["data"][0]["y"]).tolist()
    assert stages[:3] == ["data", "train", "represent:pretrained"] and stages[-2].startswith("select (")
    needs = next(d.value for d in at.dataframe if "ready" in d.value.columns)
    assert needs["ready"].all()  # the small run has every stage a page needs


def test_correlation_heatmap_matches_the_stored_scores_and_follows_the_measure(app_env, results):  # noqa: F811
    at = open_page("app_pages/correlations.py")
    heatmap = chart_specs(at)["corr_heatmap"]["data"][0]
    ids = order_methods(results.methods, [c for c in results.scores.columns])
    assert heatmap["x"] == ids and heatmap["y"] == ids
    expected = score_correlations(results.scores[ids], "spearman").to_numpy()
    np.testing.assert_allclose(decode(heatmap["z"]), expected, atol=1e-12)
    at.radio(key="corr_measure").set_value("kendall").run()
    heatmap = chart_specs(at)["corr_heatmap"]["data"][0]
    np.testing.assert_allclose(
        decode(heatmap["z"]), score_correlations(results.scores[ids], "kendall").to_numpy(), atol=1e-12
    )


def test_clicking_a_heatmap_cell_shows_that_pair_of_scores(app_env, results):  # noqa: F811
    at = open_page("app_pages/correlations.py")
    at.session_state["corr_heatmap"] = {
        "selection": {"points": [{"x": "el2n", "y": "less"}], "point_indices": [], "box": [], "lasso": []}
    }
    at.run()
    assert not at.exception
    scatter = chart_specs(at)["corr_pair_scatter"]
    positions = plot_positions(results.n)
    np.testing.assert_allclose(
        decode(scatter["data"][0]["x"]), results.scores["el2n"].to_numpy()[positions], rtol=1e-6
    )
    np.testing.assert_allclose(
        decode(scatter["data"][0]["y"]), results.scores["less"].to_numpy()[positions], rtol=1e-6
    )
    assert scatter["layout"]["title"]["text"].startswith("less against el2n")
    assert at.selectbox(key="corr_pair_a").value == "less"


def test_overlap_heatmap_is_the_jaccard_of_the_cached_subsets_at_the_budget(app_env, results):  # noqa: F811
    at = open_page("app_pages/overlap.py")
    heatmap = chart_specs(at)["overlap_heatmap"]["data"][0]
    ids = heatmap["x"]
    assert set(ids) == set(results.available())
    subsets = results.selections_at(0.3, ids)
    np.testing.assert_allclose(decode(heatmap["z"]), jaccard_matrix(subsets).to_numpy())
    at.radio(key="overlap_measure").set_value("overlap").run()
    heatmap = chart_specs(at)["overlap_heatmap"]["data"][0]
    np.testing.assert_allclose(decode(heatmap["z"]), overlap_matrix(subsets).to_numpy())
    at.select_slider(key="overlap_budget").set_value(0.1).run()
    subsets = results.selections_at(0.1, ids)
    np.testing.assert_allclose(
        decode(chart_specs(at)["overlap_heatmap"]["data"][0]["z"]), overlap_matrix(subsets).to_numpy()
    )
    bars = chart_specs(at)["overlap_intersections"]["data"][0]
    assert sum(decode(bars["x"])) <= len(set().union(*map(set, subsets.values())))


def test_label_balance_compares_plain_and_balanced_shares_with_the_full_data(app_env, results):  # noqa: F811
    at = open_page("app_pages/label_balance.py")
    method = at.selectbox(key="balance_method").value
    table = label_balance_table(
        {
            "plain": results.selection(method, 0.3),
            "label-balanced": results.selection(method, 0.3, balanced=True),
        },
        results.labels,
        results.label_names,
        include_full=True,
    )
    bars = chart_specs(at)["balance_bars"]["data"]
    names = results.label_names
    for trace, row in zip(bars, ["(full data)", "plain", "label-balanced"]):
        np.testing.assert_allclose(
            decode(trace["y"]), table.loc[row, [f"share_{n}" for n in names]].to_numpy(float)
        )
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["TV distance, plain"] == f"{table.loc['plain', 'tv_from_full']:.3f}"
    assert table.loc["label-balanced", "tv_from_full"] <= 0.01  # stratified selection keeps the shares
    at.selectbox(key="balance_method").set_value("random").run()
    assert not at.exception
    tv_all = chart_specs(at)["balance_tv_all"]["data"]
    assert len(decode(tv_all[0]["y"])) == len(results.available())


def test_embedding_map_draws_the_cached_map_and_lists_an_injected_box_selection(app_env, results):  # noqa: F811
    at = open_page("app_pages/embedding_map.py")
    assert at.selectbox(key="map_source").value.startswith("PCA · fine-tuned")  # hidden states first
    coords = np.asarray(results.run.read_array("maps/hs/pca"))
    key, spec = next((k, s) for k, s in chart_specs(at).items() if k.startswith("map_chart_"))
    positions = plot_positions(results.n)
    np.testing.assert_array_equal(decode(spec["data"][0]["x"]), coords[positions, 0])
    np.testing.assert_array_equal(decode(spec["data"][0]["y"]), coords[positions, 1])
    at.session_state[key] = {
        "selection": {
            "points": [{"curve_number": 0, "point_index": i} for i in (0, 5, 7)],
            "point_indices": [0, 5, 7],
            "box": [{"x": [0, 1], "y": [0, 1]}],
            "lasso": [],
        }
    }
    at.run()
    assert not at.exception
    chosen = np.sort(positions[[0, 5, 7]])
    assert at.metric[0].value == "3"
    assert at.dataframe[0].value["uid"].tolist() == results.train["uid"].to_numpy()[chosen].tolist()
    assert len(at.get("download_button")) == 2


def test_embedding_map_colours_by_membership_with_kept_points_drawn_last(app_env, results):  # noqa: F811
    at = open_page("app_pages/embedding_map.py")
    at.radio(key="map_colour").set_value("member").run()
    method = at.selectbox(key="map_method_member").value
    kept = results.membership(method, 0.3)
    spec = next(s for k, s in chart_specs(at).items() if k.startswith("map_chart_"))
    colours = decode(spec["data"][0]["marker"]["color"])
    assert colours.sum() == kept.sum() and colours[-int(kept.sum()) :].all()
    positions = plot_positions(results.n, on_top=kept)
    np.testing.assert_array_equal(colours, kept[positions].astype(int))


def test_data_map_plots_confidence_and_variability_and_rings_a_subset(app_env, results):  # noqa: F811
    at = open_page("app_pages/data_map.py")
    coords = datamap(
        np.asarray(results.run.read_array("dynamics/train/p_gold"), dtype=np.float64),
        np.asarray(results.run.read_array("dynamics/train/correct")),
    )
    positions = plot_positions(results.n)
    trace = chart_specs(at)["datamap_chart"]["data"][0]
    np.testing.assert_allclose(decode(trace["y"]), coords["confidence"][positions].astype(np.float32))
    np.testing.assert_allclose(decode(trace["x"]), coords["variability"][positions].astype(np.float32))
    at.selectbox(key="datamap_method").set_value("aum").run()
    ring = chart_specs(at)["datamap_chart"]["data"][1]
    assert len(decode(ring["x"])) == len(results.selection("aum", 0.3))


def test_inspector_finds_an_example_by_uid_and_ranks_it_under_every_method(app_env, results):  # noqa: F811
    at = open_page("app_pages/inspector.py")
    row = 17
    uid = results.train["uid"].iloc[row]
    at.text_input(key="inspect_query").input(uid).run()
    assert at.selectbox(key="inspect_row").value == row
    profile = at.dataframe[0].value
    for method in ("aum", "kcenter", "random"):
        expected_rank = int(np.flatnonzero(results.ranking(method) == row)[0]) + 1
        assert profile.loc[method, "rank"] == expected_rank
        assert profile.loc[method, "kept"] == bool(results.membership(method, 0.3)[row])
    bars = chart_specs(at)["inspect_ranks"]["data"][0]
    assert len(decode(bars["x"])) == len(results.available())
    at.text_input(key="inspect_query").input("no example says this 12345").run()
    assert any("No training example" in w.value for w in at.warning)


def test_export_page_previews_the_same_uids_as_the_cli_export(app_env, results):  # noqa: F811
    at = open_page("app_pages/export.py")
    method = at.selectbox(key="export_method").value
    expected = results.selected_uids(method, 0.3)
    assert at.dataframe[0].value["uid"].tolist() == expected[:50].tolist()
    assert at.metric[0].value == f"{len(expected):,} of {results.n:,}"
    at.toggle(key="export_balanced").set_value(True).run()
    assert (
        at.dataframe[0].value["uid"].tolist()
        == results.selected_uids(method, 0.3, balanced=True)[:50].tolist()
    )
    assert any(f"--method {method} --budget 0.3 --balanced" in c.value for c in at.code)
    at.toggle(key="export_ranking").set_value(True).run()
    assert at.metric[0].value == f"{results.n:,} of {results.n:,}"


def test_pages_without_a_run_say_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.setenv("PRUNESCOPE_RUNS_DIR", str(tmp_path))
    at = open_page("app_pages/correlations.py")
    assert any("No run is open" in i.value for i in at.info)
    at = open_page("app_pages/runs.py")
    assert any("No run yet" in i.value for i in at.info)
    assert any(e.label == "New run" for e in at.expander)


def test_above_the_point_limit_the_map_draws_a_density_a_box_takes_every_point_inside_and_zoom_draws_points(
    app_env,  # noqa: F811  (the shared fixture, requested by name)
    results,
    monkeypatch,
):
    from app.figures import scatter
    from app.figures.density import extent
    from app.views import rows_in_range

    monkeypatch.setattr(scatter, "MAX_POINTS", 200)  # the small run has 300 training examples
    at = open_page("app_pages/embedding_map.py")
    assert any("300 examples in view, drawn as a density" in c.value for c in at.caption)
    key, spec = next((k, s) for k, s in chart_specs(at).items() if k.startswith("map_chart_"))
    assert spec["layout"]["images"][0]["source"].startswith("data:image/png;base64,")
    assert len(decode(spec["data"][0]["x"])) == 80 * 50  # invisible selection anchors, no example drawn
    coords = np.asarray(results.run.read_array("maps/hs/pca"), dtype=np.float64)
    (x0, x1), (y0, y1) = np.quantile(coords[:, 0], [0.1, 0.7]), np.quantile(coords[:, 1], [0.2, 0.9])
    inside = np.flatnonzero(
        (coords[:, 0] >= x0) & (coords[:, 0] <= x1) & (coords[:, 1] >= y0) & (coords[:, 1] <= y1)
    )
    assert ui_page_rows() < len(inside) < 300  # more than a page: the table is paged
    at.session_state[key] = {
        "selection": {"points": [], "point_indices": [], "box": [{"x": [x0, x1], "y": [y0, y1]}], "lasso": []}
    }
    at.run()
    assert not at.exception
    uids = results.train["uid"].to_numpy()
    assert at.metric[0].value == f"{len(inside):,}"
    assert at.dataframe[0].value["uid"].tolist() == uids[inside[: ui_page_rows()]].tolist()
    at.number_input(key="map_selection_table_page").set_value(2).run()
    assert at.dataframe[0].value["uid"].tolist() == uids[inside[ui_page_rows() : 2 * ui_page_rows()]].tolist()
    assert any(f"({len(inside):,} uids)" in b.proto.label for b in at.get("download_button"))

    view = extent(coords, inside)
    assert len(rows_in_range(coords, *view)) <= 200
    at.button(key="map_zoom_in").click().run()  # the selection's extent holds <= 200 points: real points
    positions = plot_positions(results.n, rows=rows_in_range(coords, *view))
    spec = next(s for k, s in chart_specs(at).items() if k.startswith("map_chart_"))
    np.testing.assert_array_equal(decode(spec["data"][0]["x"]), coords[positions, 0].astype(np.float32))
    assert spec["layout"]["xaxis"]["range"] == list(view[0])
    at.button(key="map_zoom_out").click().run()
    spec = next(s for k, s in chart_specs(at).items() if k.startswith("map_chart_"))
    assert spec["layout"]["images"]


def ui_page_rows() -> int:
    from app.ui import PAGE_ROWS

    return PAGE_ROWS


def test_a_job_followed_through_the_url_shows_its_stages_and_error_after_a_reload(tmp_path, monkeypatch):
    from prune_core.jobs import JobRequest, job_status, start_job

    monkeypatch.setenv("PRUNESCOPE_RUNS_DIR", str(tmp_path))
    job = start_job(JobRequest(data=str(tmp_path / "absent.csv"), epochs=1, maps=("pca",)), tmp_path)
    deadline = time.monotonic() + 120
    while job_status(job).active and time.monotonic() < deadline:
        time.sleep(0.2)
    at = open_page("app_pages/runs.py", job=job.id)  # a fresh session: only the URL remembers the job
    assert any(f"Job {job.id}" in shown(m.value) and "failed" in m.value for m in at.markdown)
    bars = [p.proto.text for p in at.get("progress")]
    # the stage that failed and why, not "data: pending"
    bars = [shown(b) for b in bars]
    assert bars[0].startswith("data: failed") and "absent.csv" in bars[0]
    assert bars[1] == "train: not started" and any(b.startswith("select: skipped") for b in bars)
    assert any("stopped with this error" in e.value for e in at.error)
    assert any("compute failed" in c.value and "absent.csv" in c.value for c in at.code)
