"""The agreement views under AppTest on the synthetic seed group (three runs differing only in the training
seed, grid cells selected): the grid page, seed stability, the across-seeds switches, budget sweeps, two
methods on one map and the cross-run page. Every chart's data is compared with ``prunescope analyze``'s
JSON for the same run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app.figures import plot_positions
from prune_core.cli import main
from prune_core.results import Results
from prune_core.stability import cross_seed_correlation, cross_seed_jaccard
from prune_core.store import RunStore
from tests.run_fixtures import chart_specs, decode, seed_env, seed_group  # noqa: F401  (shared fixtures)

HOME = str(__import__("app.navigation", fromlist=["APP_DIR"]).APP_DIR / "Home.py")


def open_page(script: str, run: str = "seed-0") -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=90)
    at.query_params["run"] = run
    at.run()
    at.switch_page(script)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def analyze(store_dir, *args) -> dict:
    """``prunescope analyze ... --json`` in-process, parsed."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["analyze", *args, "--runs-dir", str(store_dir), "--json"]) == 0
    return json.loads(out.getvalue())


@pytest.fixture
def store(seed_env):  # noqa: F811
    return RunStore(seed_env[0])


def test_grid_page_shows_the_clis_verdict_and_numbers(seed_env, store):  # noqa: F811
    at = open_page("app_pages/grid.py")
    report = analyze(seed_env[0], "seed-0", "--grid", "--budget", "0.3")["grid"]
    assert report["sentence"] in [t.value for t in at.text]
    specs = chart_specs(at)
    heat = specs["grid_heatmap"]["data"][0]
    assert heat["y"] == report["selectors"] and heat["x"] == report["representations"]
    z = decode(heat["z"]).reshape(len(report["selectors"]), len(report["representations"]))
    bars = specs["grid_factors"]["data"]
    by_factor = {t["name"]: dict(zip(t["x"], decode(t["y"]).tolist())) for t in bars}
    sel = next(v for k, v in by_factor.items() if k.startswith("selector"))
    rep = next(v for k, v in by_factor.items() if k.startswith("representation"))
    assert sel == pytest.approx({k: v["mean_jaccard"] for k, v in report["by_selector"].items()})
    assert rep == pytest.approx({k: v["mean_jaccard"] for k, v in report["by_representation"].items()})
    # a cell's colour: its mean Jaccard with the same selector on the other representations
    for i, selector in enumerate(report["selectors"]):
        entry = report["by_selector"].get(selector)
        for j, rep_name in enumerate(report["representations"]):
            if entry is None or rep_name not in entry["compared"]:
                assert np.isnan(z[i, j])
                continue
            pairs = [p["jaccard"] for p in entry["pairs"] if rep_name in (p["a"], p["b"])]
            assert z[i, j] == pytest.approx(np.mean(pairs))


def test_budget_and_balance_change_the_grid(seed_env):  # noqa: F811
    at = open_page("app_pages/grid.py")
    at.select_slider(key="grid_budget").set_value(0.1).run()
    report = analyze(seed_env[0], "seed-0", "--grid", "--budget", "0.1")["grid"]
    assert report["sentence"] in [t.value for t in at.text]


def test_clicking_a_grid_cell_opens_both_subsets_on_the_embedding_map(seed_env, store):  # noqa: F811
    at = open_page("app_pages/grid.py")
    at.session_state["grid_heatmap"] = {
        "selection": {"points": [{"x": "grad", "y": "kcenter"}], "point_indices": [], "box": [], "lasso": []}
    }
    at.run()
    assert at.selectbox(key="grid_a").value == "kcenter@grad"
    assert at.selectbox(key="grid_b").value == "kcenter"  # the same selector on another representation (hs)
    results = Results(store.open("seed-0"))
    a, b = results.membership("kcenter@grad", 0.3), results.membership("kcenter", 0.3)
    counts = at.dataframe[-1].value["examples"].tolist()
    assert counts == [int((a & b).sum()), int((a & ~b).sum()), int((b & ~a).sum()), int((~a & ~b).sum())]
    at.button(key="grid_open_map").click().run()
    assert not at.exception
    assert at.radio(key="map_colour").value == "pair"
    spec = next(s for k, s in chart_specs(at).items() if k.startswith("map_chart_"))
    positions = plot_positions(results.n, on_top=a | b)
    colours = decode(spec["data"][0]["marker"]["color"])
    np.testing.assert_array_equal(colours, (2 * a + b)[positions])
    legend = [t["name"] for t in spec["data"][1:]]
    assert legend == [
        f"kept by neither ({int((~a & ~b).sum()):,})",
        f"only kcenter ({int((b & ~a).sum()):,})",
        f"only kcenter@grad ({int((a & ~b).sum()):,})",
        f"kept by both ({int((a & b).sum()):,})",
    ]


def test_two_method_map_keeps_box_selection(seed_env, store):  # noqa: F811
    at = open_page("app_pages/embedding_map.py")
    at.radio(key="map_colour").set_value("pair").run()
    at.selectbox(key="map_pair_a").set_value("el2n").run()
    at.selectbox(key="map_pair_b").set_value("kcenter").run()
    results = Results(store.open("seed-0"))
    a, b = results.membership("el2n", 0.3), results.membership("kcenter", 0.3)
    key, spec = next((k, s) for k, s in chart_specs(at).items() if k.startswith("map_chart_"))
    positions = plot_positions(results.n, on_top=a | b)
    np.testing.assert_array_equal(decode(spec["data"][0]["marker"]["color"]), (2 * a + b)[positions])
    at.session_state[key] = {
        "selection": {
            "points": [{"curve_number": 0, "point_index": i} for i in (0, 1, 2, 3)],
            "point_indices": [0, 1, 2, 3],
            "box": [{"x": [0, 1], "y": [0, 1]}],
            "lasso": [],
        }
    }
    at.run()
    assert not at.exception
    rows = np.sort(positions[:4])
    table = at.dataframe[0].value
    assert table["uid"].tolist() == results.train["uid"].to_numpy()[rows].tolist()
    assert table["kept by el2n"].tolist() == a[rows].tolist()


def test_stability_page_draws_the_clis_numbers(seed_env):  # noqa: F811
    at = open_page("app_pages/stability.py")
    report = analyze(seed_env[0], "seed-0", "--stability")["stability"]
    specs = chart_specs(at)
    lines = {t["name"]: t for t in specs["stability_jaccard"]["data"]}
    for entry in report["methods"]:
        if entry["method"] not in lines:
            continue
        expected = [row["jaccard"]["mean"] for row in entry["budgets"]]
        assert decode(lines[entry["method"]]["y"]).tolist() == pytest.approx(expected)
    assert len(lines) >= 2 and "random subsets" in lines
    chance = [row["random_jaccard"] for row in report["methods"][0]["budgets"]]
    assert decode(lines["random subsets"]["y"]).tolist() == pytest.approx(chance)
    bars = specs["stability_spearman"]["data"][0]
    rho = {e["method"]: e["spearman"]["mean"] for e in report["methods"] if e["spearman"]}
    assert dict(zip(bars["y"], decode(bars["x"]).tolist())) == pytest.approx({m: rho[m] for m in bars["y"]})


def test_stability_page_names_the_methods_that_are_identical_on_every_seed(seed_env):  # noqa: F811
    at = open_page("app_pages/stability.py")
    at.multiselect(key="stability_methods").set_value(["el2n", "random"]).run()
    assert not at.exception
    note = next(c.value for c in at.caption if "Identical on every seed" in c.value)
    assert note.endswith("hidden states): random.")  # el2n reads the trained model: not listed


def test_stability_page_explains_how_to_make_a_seed_group(seed_env):  # noqa: F811
    at = open_page("app_pages/stability.py", run="other-data")
    assert any("--seeds 0,1,2" in c.value for c in at.code)


def test_overlap_page_switches_to_across_seeds_and_sweeps_budgets(seed_env, store):  # noqa: F811
    at = open_page("app_pages/overlap.py")
    at.radio(key="overlap_scope").set_value("across seeds").run()
    heat = chart_specs(at)["overlap_heatmap"]["data"][0]
    runs = [Results(store.open(f"seed-{s}")) for s in (0, 1, 2)]
    np.testing.assert_allclose(decode(heat["z"]), cross_seed_jaccard(runs, heat["x"], 0.3).to_numpy())
    at.selectbox(key="overlap_sweep_a").set_value("el2n").run()
    at.selectbox(key="overlap_sweep_b").set_value("kcenter").run()
    rows = analyze(seed_env[0], "seed-0", "--sweep", "el2n,kcenter")["sweep"]["rows"]
    lines = chart_specs(at)["overlap_sweep"]["data"]
    assert decode(lines[0]["x"]).tolist() == [r["budget"] for r in rows]
    assert decode(lines[0]["y"]).tolist() == pytest.approx([r["jaccard"] for r in rows])
    assert decode(lines[1]["y"]).tolist() == pytest.approx([r["random_jaccard"] for r in rows])


def test_correlation_page_switches_to_across_seeds(seed_env, store):  # noqa: F811
    at = open_page("app_pages/correlations.py")
    at.radio(key="corr_scope").set_value("across seeds").run()
    assert not at.exception
    heat = chart_specs(at)["corr_heatmap"]["data"][0]
    runs = [Results(store.open(f"seed-{s}")) for s in (0, 1, 2)]
    expected = cross_seed_correlation(runs, heat["x"], "spearman").to_numpy()
    np.testing.assert_allclose(decode(heat["z"]), expected, atol=1e-12)


def test_label_balance_page_sweeps_tv_over_budgets(seed_env):  # noqa: F811
    at = open_page("app_pages/label_balance.py")
    lines = chart_specs(at)["balance_tv_sweep"]["data"]
    methods = [t["name"] for t in lines]
    report = analyze(seed_env[0], "seed-0", "--tv-sweep", "--methods", ",".join(methods))["tv_sweep"]
    for trace in lines:
        assert decode(trace["x"]).tolist() == report["budgets"]
        assert decode(trace["y"]).tolist() == pytest.approx(report["tv"][trace["name"]])


def test_compare_runs_page_matches_the_clis_cross_run_report(seed_env):  # noqa: F811
    at = open_page("app_pages/compare_runs.py")
    at.selectbox(key="compare_other").set_value("seed-2").run()
    report = analyze(seed_env[0], "seed-0", "--compare", "seed-2", "--budget", "0.3")["compare"]
    bars = chart_specs(at)["compare_jaccard"]["data"]
    expected = {row["method"]: row["jaccard"] for row in report["methods"]}
    assert dict(zip(bars[0]["y"], decode(bars[0]["x"]).tolist())) == pytest.approx(expected)
    chance = {row["method"]: row["random_jaccard"] for row in report["methods"]}
    assert dict(zip(bars[1]["y"], decode(bars[1]["x"]).tolist())) == pytest.approx(chance)
