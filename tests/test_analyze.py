"""Representation or selector, seed stability, cross-run comparison and budget sweeps: the maths on hand
examples, the reports on a synthetic seed group, the Gaussian-mixture lab's grid, and the analyze CLI."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pytest
from scipy.stats import spearmanr

from prune_core.agreement import Spread, excess_over_chance, expected_random_jaccard, strict_json
from prune_core.analysis import jaccard_matrix, label_balance_table
from prune_core.analysis_grid import cell_of, grid_agreement, grid_methods, grid_report
from prune_core.cli import main
from prune_core.results import Results
from prune_core.stability import (
    cross_run,
    cross_seed_correlation,
    cross_seed_jaccard,
    seed_group_key,
    seed_of,
    seed_siblings,
    seed_stability,
    stability_table,
)
from prune_core.store import RunStore
from prune_core.sweeps import jaccard_sweep, tv_sweep
from tests.run_fixtures import SEED_METHODS, seed_group, stored_id  # noqa: F401  (shared fixture)

PROTO_GRAD = stored_id("proto@grad")


# ---------------------------------------------------------------------------------------------- chance
def _brute_force_jaccard(k: int, n: int, k_other: int) -> float:
    values = []
    for a in combinations(range(n), k):
        for b in combinations(range(n), k_other):
            union = len(set(a) | set(b))
            values.append(len(set(a) & set(b)) / union)
    return float(np.mean(values))


@pytest.mark.parametrize(("k", "n", "k_other"), [(2, 6, 2), (3, 7, 2), (1, 5, 4), (4, 6, 4)])
def test_random_jaccard_is_the_exact_mean_over_every_pair_of_subsets(k, n, k_other):
    assert expected_random_jaccard(k, n, k_other) == pytest.approx(_brute_force_jaccard(k, n, k_other))


def test_random_jaccard_edges_and_first_order_agreement():
    assert expected_random_jaccard(10, 10) == 1.0
    assert expected_random_jaccard(0, 10, 3) == 0.0
    assert np.isnan(expected_random_jaccard(0, 10))
    # large n: close to the lab's first-order k / (2n - k)
    assert expected_random_jaccard(3000, 10_000) == pytest.approx(3000 / 17_000, rel=1e-3)
    with pytest.raises(ValueError, match="k_other"):
        expected_random_jaccard(3, 10, 11)


def test_spread_and_excess_over_chance():
    spread = Spread.of([0.2, 0.4, float("nan")])
    assert (spread.mean, spread.low, spread.high, spread.pairs) == (pytest.approx(0.3), 0.2, 0.4, 2)
    assert excess_over_chance(0.5, 0.5) == 0 and excess_over_chance(1.0, 0.2) == 1
    assert strict_json({"a": [np.float64("nan"), np.int64(2)]}) == {"a": [None, 2]}


# ---------------------------------------------------------------------------------------------- grid
def _grid(same_representation_identical: bool):
    """Selectors s1, s2 on representations r1, r2 of 12 examples: either every selector keeps the same
    examples on one representation (the representation decides) or every representation keeps the same
    examples for one selector (the selector decides)."""
    blocks = {0: [0, 1, 2, 3], 1: [6, 7, 8, 9]}
    cells = {}
    for si, s in enumerate(("s1", "s2")):
        for ri, r in enumerate(("r1", "r2")):
            cells[(s, r)] = blocks[ri if same_representation_identical else si]
    return cells


def test_grid_verdict_names_the_factor_that_moves_the_selection():
    by_rep = grid_agreement(_grid(True), 12)
    assert by_rep.verdict == "representation"
    assert by_rep.selector_fixed.mean == 0.0 and by_rep.representation_fixed.mean == 1.0
    assert by_rep.by_selector["s1"].pairs == {("r1", "r2"): 0.0}
    assert by_rep.chance == pytest.approx(expected_random_jaccard(4, 12))
    assert "representation moves the selection more" in by_rep.sentence
    by_sel = grid_agreement(_grid(False), 12)
    assert by_sel.verdict == "selector" and "selection algorithm moves" in by_sel.sentence


def test_grid_verdict_is_a_tie_within_the_margin_and_insufficient_without_both_axes():
    cells = {("s1", "r1"): [0, 1], ("s1", "r2"): [0, 1], ("s2", "r1"): [0, 1], ("s2", "r2"): [0, 1]}
    assert grid_agreement(cells, 10).verdict == "tie"
    single = grid_agreement({("s1", "r1"): [0, 1], ("s1", "r2"): [1, 2]}, 10)
    assert single.verdict == "insufficient" and "--methods grid" in single.sentence


def test_grid_cells_come_from_the_registry_and_a_cell_is_counted_once():
    assert cell_of("kcenter@grad") == ("kcenter", "grad")
    assert cell_of(PROTO_GRAD) == (PROTO_GRAD.split("@")[0], "grad")
    assert cell_of("el2n") is None and cell_of("no-such-method") is None
    layout = grid_methods(["kcenter", "kcenter@hs", "kcenter@tl", "el2n"])
    assert layout == {("kcenter", "tl"): "kcenter@tl", ("kcenter", "hs"): "kcenter@hs"}
    assert grid_methods(["kcenter"]) == {("kcenter", "hs"): "kcenter"}


def test_on_the_gaussian_lab_the_grid_agrees_with_the_labs_jaccard_table():
    from prune_core.simulate import build_world, grid_cells, jaccard_table, select_grid

    world = build_world()
    cells = [(rep, s) for rep, s in grid_cells() if s not in ("random", "h2l")]
    lab = select_grid(world, cells, budget=0.3)
    table = jaccard_table(lab)
    grid = grid_agreement({(s, rep): kept for (rep, s), kept in lab.items()}, len(world.split.train))
    for selector, row in table.iterrows():
        assert grid.by_selector[selector].spread.mean == pytest.approx(row["mean"])
    assert grid.selector_fixed.mean == pytest.approx(table["mean"].mean())
    per_rep = []
    for rep in {r for r, _ in lab}:
        subsets = {s: kept for (r, s), kept in lab.items() if r == rep}
        matrix = jaccard_matrix(subsets).to_numpy()
        per_rep.append(matrix[np.triu_indices(len(matrix), 1)].mean())
    assert grid.representation_fixed.mean == pytest.approx(np.mean(per_rep))
    expected = "representation" if table["mean"].mean() < np.mean(per_rep) - 0.02 else None
    expected = expected or ("selector" if table["mean"].mean() > np.mean(per_rep) + 0.02 else "tie")
    assert grid.verdict == expected


# ---------------------------------------------------------------------------------------------- seed group
@pytest.fixture(scope="module")
def group(seed_group):  # noqa: F811
    store_dir, ids = seed_group
    store = RunStore(store_dir)
    return store, [Results(store.open(i)) for i in ids]


def test_runs_that_differ_only_in_seed_form_one_group_ordered_by_seed(group):
    store, results = group
    runs = [r.run for r in results]
    assert [seed_of(r) for r in runs] == [0, 1, 2]
    assert len({seed_group_key(r) for r in runs}) == 1
    assert [r.id for r in seed_siblings(store, runs[1])] == [r.id for r in runs]
    other = store.open("other-data")
    assert [r.id for r in seed_siblings(store, other)] == ["other-data"]


def test_seed_stability_is_the_mean_pairwise_jaccard_and_spearman_across_seeds(group):
    _, results = group
    report = seed_stability(results)
    assert {e["method"] for e in report["methods"]} == {stored_id(m) for m in SEED_METHODS}
    el2n = next(e for e in report["methods"] if e["method"] == "el2n")
    row = next(r for r in el2n["budgets"] if r["budget"] == 0.3)
    uids = [r.selected_uids("el2n", 0.3) for r in results]
    pairs = [len(np.intersect1d(a, b)) / len(np.union1d(a, b)) for a, b in combinations(uids, 2)]
    assert row["jaccard"]["mean"] == pytest.approx(np.mean(pairs))
    assert row["jaccard"]["min"] == pytest.approx(min(pairs))
    assert row["random_jaccard"] == pytest.approx(expected_random_jaccard(48, 160))
    rhos = [spearmanr(a.scores["el2n"], b.scores["el2n"]).statistic for a, b in combinations(results, 2)]
    assert el2n["spearman"]["mean"] == pytest.approx(np.mean(rhos))
    assert el2n["spearman"]["random_std"] == pytest.approx(1 / np.sqrt(159))
    kcenter = next(e for e in report["methods"] if e["method"] == "kcenter")
    assert kcenter["spearman"] is None  # a set method has no score
    # the random baseline's seed is its own, not the training seed: identical subsets on every run
    random_row = next(e for e in report["methods"] if e["method"] == "random")["budgets"][0]
    assert random_row["jaccard"]["mean"] == 1.0
    identical = {e["method"] for e in report["methods"] if e["identical"]}
    assert "random" in identical and "el2n" not in identical  # flagged: it never reads the trained model
    table = stability_table(report)
    assert set(table.loc[table["identical"], "method"]) == identical
    assert len(table) == len(SEED_METHODS) * 4
    assert table.set_index(["method", "budget"]).loc[("el2n", 0.3), "jaccard"] == pytest.approx(
        np.mean(pairs)
    )


def test_stability_needs_two_runs_and_methods_every_run_has(group):
    _, results = group
    with pytest.raises(ValueError, match="--seeds 0,1,2"):
        seed_stability(results[:1])
    with pytest.raises(ValueError, match="not computed on every run"):
        seed_stability(results, ["el2n", "less"])


def test_across_seeds_matrices_have_each_methods_stability_on_the_diagonal(group):
    _, results = group
    ids = ["el2n", PROTO_GRAD, "kcenter"]
    jac = cross_seed_jaccard(results, ids, 0.3)
    report = seed_stability(results, ids)
    for entry in report["methods"]:
        row = next(r for r in entry["budgets"] if r["budget"] == 0.3)
        assert jac.loc[entry["method"], entry["method"]] == pytest.approx(row["jaccard"]["mean"])

    def jac_of(x, y):
        return len(np.intersect1d(x, y)) / len(np.union1d(x, y))

    expected = np.mean(
        [
            jac_of(results[i].selected_uids("el2n", 0.3), results[j].selected_uids("kcenter", 0.3))
            for i in range(3)
            for j in range(3)
            if i != j
        ]
    )
    assert jac.loc["el2n", "kcenter"] == pytest.approx(expected)
    corr = cross_seed_correlation(results, ["el2n", PROTO_GRAD])
    rho = next(e for e in report["methods"] if e["method"] == "el2n")["spearman"]["mean"]
    assert corr.loc["el2n", "el2n"] == pytest.approx(rho)
    assert corr.loc["el2n", PROTO_GRAD] == pytest.approx(corr.loc[PROTO_GRAD, "el2n"])


def test_cross_run_matches_subsets_by_uid(group):
    _, results = group
    a, b = results[0], results[2]
    report = cross_run(a, b, 0.3)
    assert report["shared_uids"] == 160 and report["only_in_a"] == 0
    row = next(r for r in report["methods"] if r["method"] == "less@hs")
    ua, ub = a.selected_uids("less@hs", 0.3), b.selected_uids("less@hs", 0.3)
    assert row["jaccard"] == pytest.approx(len(np.intersect1d(ua, ub)) / len(np.union1d(ua, ub)))
    assert row["spearman"] == pytest.approx(spearmanr(a.scores["less@hs"], b.scores["less@hs"]).statistic)
    same = cross_run(a, a, 0.3, ["el2n"])
    assert same["methods"][0]["jaccard"] == 1.0


def test_cross_run_counts_only_the_uids_both_runs_hold(group):
    store, results = group
    other = Results(store.open("other-data"))  # 120 examples whose uids are the first 120 of seed-0's
    report = cross_run(results[0], other, 0.1, ["el2n"])
    assert (report["shared_uids"], report["only_in_a"], report["only_in_b"]) == (120, 40, 0)
    row = report["methods"][0]
    kept = np.intersect1d(results[0].selected_uids("el2n", 0.1), other.train["uid"])
    assert row["size_a"] == len(kept) and row["size_b"] == 12
    assert row["random_jaccard"] == pytest.approx(expected_random_jaccard(len(kept), 120, 12))


# ---------------------------------------------------------------------------------------------- sweeps
def test_jaccard_sweep_is_the_jaccard_at_every_cached_budget(group):
    _, results = group
    r = results[0]
    sweep = jaccard_sweep(r, "el2n", PROTO_GRAD)
    assert sweep["budget"].tolist() == [0.1, 0.3, 0.5, 1.0]
    for _, row in sweep.iterrows():
        subsets = {m: r.selection(m, row["budget"]) for m in ("el2n", PROTO_GRAD)}
        assert row["jaccard"] == pytest.approx(jaccard_matrix(subsets).loc["el2n", PROTO_GRAD])
        assert row["random_jaccard"] == pytest.approx(expected_random_jaccard(int(row["size_a"]), 160))
    assert sweep["jaccard"].iloc[-1] == 1.0


def test_tv_sweep_is_the_label_balance_tables_tv_at_every_budget(group):
    _, results = group
    r = results[0]
    table = tv_sweep(r, ["el2n", "kcenter"])
    for budget in table.index:
        expected = label_balance_table(r.selections_at(budget, ["el2n", "kcenter"]), r.labels, r.label_names)
        np.testing.assert_allclose(table.loc[budget].to_numpy(), expected["tv_from_full"].to_numpy())
    assert (table.loc[1.0] == 0).all()


# ---------------------------------------------------------------------------------------------- CLI
def _cli_json(capsys, *args) -> dict:
    assert main(["analyze", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_analyze_grid_json_is_the_grid_report(group, capsys):
    store, results = group
    out = _cli_json(capsys, "seed-0", "--runs-dir", str(store.root), "--grid", "--budget", "0.3")
    expected = strict_json(grid_report(results[0], 0.3))
    assert out["grid"] == json.loads(json.dumps(expected))
    assert out["grid"]["verdict"] in ("representation", "selector", "tie")
    cells = {(c["selector"], c["representation"]) for c in out["grid"]["cells"]}
    # every computed method the registry places on the grid (presets with a grid selector included)
    assert cells == {cell_of(m) for m in SEED_METHODS if cell_of(m)}
    assert {("kcenter", "grad"), ("kcenter", "hs"), ("less", "hs"), ("less", "grad")} <= cells


def test_analyze_stability_finds_the_seed_group_by_itself(group, capsys):
    store, results = group
    out = _cli_json(
        capsys, "seed-1", "--runs-dir", str(store.root), "--stability", "--methods", "el2n,kcenter"
    )
    assert out["stability"]["runs"] == ["seed-0", "seed-1", "seed-2"]
    assert out["stability"] == json.loads(
        json.dumps(strict_json(seed_stability(results, ["el2n", "kcenter"])))
    )
    explicit = _cli_json(
        capsys,
        "seed-0",
        "--runs-dir",
        str(store.root),
        "--stability",
        "--seed-runs",
        "seed-2",
        "--methods",
        "el2n",
    )
    assert explicit["stability"]["runs"] == ["seed-0", "seed-2"]


def test_analyze_compare_and_sweeps(group, capsys):
    store, results = group
    out = _cli_json(
        capsys,
        "seed-0",
        "--runs-dir",
        str(store.root),
        "--compare",
        "seed-1",
        "--budget",
        "0.1",
        "--sweep",
        "el2n,kcenter",
        "--tv-sweep",
        "--methods",
        "el2n,kcenter",
    )
    assert out["compare"]["runs"] == ["seed-0", "seed-1"] and out["compare"]["budget"] == 0.1
    assert [r["method"] for r in out["compare"]["methods"]] == ["el2n", "kcenter"]
    sweep = jaccard_sweep(results[0], "el2n", "kcenter")
    assert [r["jaccard"] for r in out["sweep"]["rows"]] == pytest.approx(sweep["jaccard"].tolist())
    assert out["tv_sweep"]["tv"]["el2n"] == pytest.approx(tv_sweep(results[0], ["el2n"])["el2n"].tolist())


def test_analyze_plain_output_prints_the_verdict(group, capsys):
    store, _ = group
    assert main(["analyze", "seed-0", "--runs-dir", str(store.root), "--grid", "--stability"]) == 0
    out = capsys.readouterr().out
    assert "moves the selection more" in out or "Neither factor" in out
    assert "seed stability over runs seed-0, seed-1, seed-2" in out
    random_line = next(line for line in out.splitlines() if line.strip().startswith("random "))
    assert "same on every seed" in random_line
    assert "same on every seed" not in next(line for line in out.splitlines() if "el2n " in line)


def test_analyze_refuses_a_call_without_an_analysis_and_a_bad_sweep(group, capsys):
    store, _ = group
    assert main(["analyze", "seed-0", "--runs-dir", str(store.root)]) == 2
    assert "choose at least one of --grid" in capsys.readouterr().err
    assert main(["analyze", "seed-0", "--runs-dir", str(store.root), "--sweep", "el2n"]) == 2
    assert "--sweep takes two method ids" in capsys.readouterr().err


def test_compute_seeds_makes_one_run_per_seed_on_the_same_data_sample(monkeypatch, capsys, tmp_path):
    from prune_core import pipeline, reference
    from prune_core.cli.common import UsageError
    from prune_core.cli.compute import parse_seeds

    made = []

    class FakeCompute:
        def __init__(self, config, store, **_):
            self.config = config

        def run(self):
            made.append(self.config)
            fake = type("R", (), {"path": tmp_path / f"run-{self.config.train.seed}"})()
            fake.reload = lambda: fake
            return fake

    monkeypatch.setattr(pipeline, "Compute", FakeCompute)
    monkeypatch.setattr(reference, "reference_curve", lambda run: None)  # a fake run has no checkpoints
    assert main(["compute", "--data", "x.csv", "--seed", "5", "--seeds", "0,1,2,1", "--quiet"]) == 0
    assert [c.train.seed for c in made] == [0, 1, 2]
    assert {c.dataset.seed for c in made} == {5}  # the same sample for every seed
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    with pytest.raises(UsageError, match="--seeds"):
        parse_seeds("0,a")
