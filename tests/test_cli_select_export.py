"""``select`` and ``export`` for every preset on the backend's integration run (real MiniLM, SST-2)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from prune_core.cli import main
from prune_core.export import read_csv_export
from prune_core.methods import PRESETS
from prune_core.results import Results


@pytest.fixture(scope="module")
def selected(minilm_run):
    assert main(["select", str(minilm_run.path), "--json"]) == 0
    return minilm_run.reload()


@pytest.mark.slow
def test_select_computes_every_preset_and_caches_it(selected, capsys):
    results = Results(selected)
    assert set(results.available()) == set(PRESETS)
    assert list(results.scores.index) == list(results.train["uid"])
    score_methods = {m for m, v in PRESETS.items() if v.kind == "score"}
    assert set(results.scores.columns) == score_methods
    before = {k: v.finished for k, v in selected.stages("select:").items()}
    capsys.readouterr()
    assert main(["select", str(selected.path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {r["status"] for r in report.values()} == {"cached"}
    after = {k: v.finished for k, v in selected.reload().stages("select:").items()}
    assert before == after


@pytest.mark.slow
def test_info_lists_the_cached_methods(selected, capsys):
    capsys.readouterr()
    assert main(["info", str(selected.path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert set(info["methods"]) == set(PRESETS)
    assert info["methods"]["less"]["objective"] == "relevance" and info["methods"]["less"]["status"] == "done"


@pytest.mark.slow
@pytest.mark.parametrize("method", sorted(PRESETS))
def test_export_every_preset_writes_uids_and_manifest(selected, method, tmp_path, capsys):
    out = tmp_path / "subsets" / f"{method}.jsonl"
    assert (
        main(
            [
                "export",
                str(selected.path),
                "--method",
                method,
                "--budget",
                "0.3",
                "--balanced",
                "--format",
                "jsonl",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    manifest = json.loads((out.parent / f"{method}.jsonl.manifest.json").read_text())
    results = Results(selected)
    expected = results.selected_uids(method, 0.3, balanced=True)
    assert [r["uid"] for r in rows] == list(expected) and len(rows) == 90
    assert manifest["size"] == 90 and manifest["method"] == method and manifest["balanced"] is True
    assert sum(manifest["label_histogram"].values()) == 90
    train = results.train.set_index("uid")
    assert all(train.loc[r["uid"], "text"] == r["text"] for r in rows[:5])


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "json", "txt"])
def test_export_formats_hold_the_same_uids(selected, fmt, tmp_path):
    out = tmp_path / f"el2n.{fmt}"
    assert (
        main(
            [
                "export",
                str(selected.path),
                "--method",
                "el2n",
                "--budget",
                "0.1",
                "--format",
                fmt,
                "--output",
                str(out),
            ]
        )
        == 0
    )
    if fmt == "csv":
        uids = read_csv_export(out)["uid"].tolist()
    elif fmt == "json":
        uids = json.loads(out.read_text())
    else:
        uids = out.read_text().split()
    assert uids == list(Results(selected).selected_uids("el2n", 0.1))


@pytest.mark.slow
def test_ranking_export_lists_every_uid_in_keep_order(selected, tmp_path):
    out = tmp_path / "order.txt"
    assert main(["export", str(selected.path), "--method", "kcenter", "--ranking", "--output", str(out)]) == 0
    uids = out.read_text().split()
    assert len(uids) == 300 and len(set(uids)) == 300
    assert uids[:60] == list(Results(selected).selected_uids("kcenter", 0.2))


@pytest.mark.slow
def test_uncached_budget_of_a_set_method_is_computed_on_demand(selected, tmp_path):
    out = tmp_path / "s2l.txt"
    assert (
        main(["export", str(selected.path), "--method", "s2l", "--budget", "0.33", "--output", str(out)]) == 0
    )
    assert len(out.read_text().split()) == 99


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, message",
    [
        (["--method", "no-such-method", "--budget", "0.3"], "unknown method 'no-such-method'"),
        (["--method", "el2n", "--budget", "1.5"], "outside (0, 1]"),
        (["--method", "el2n", "--budget", "0"], "outside (0, 1]"),
        (["--method", "el2n"], "needs --budget"),
    ],
)
def test_bad_export_requests_fail_clearly(selected, tmp_path, capsys, args, message):
    assert main(["export", str(selected.path), *args, "--output", str(tmp_path / "x.txt")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.txt").exists()


@pytest.mark.slow
def test_export_never_escapes_the_named_directory(selected, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    escape = tmp_path / "out" / ".." / "escaped.txt"
    assert (
        main(["export", str(selected.path), "--method", "el2n", "--budget", "0.1", "--output", str(escape)])
        == 2
    )
    assert "climbs out" in capsys.readouterr().err and not (tmp_path / "escaped.txt").exists()
    (tmp_path / "out" / "link.txt").symlink_to(tmp_path / "elsewhere.txt")
    assert (
        main(
            [
                "export",
                str(selected.path),
                "--method",
                "el2n",
                "--budget",
                "0.1",
                "--output",
                str(tmp_path / "out" / "link.txt"),
            ]
        )
        == 2
    )
    assert not (tmp_path / "elsewhere.txt").exists()


def test_methods_json_lists_the_registry(capsys):
    assert main(["methods", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert {m["id"] for m in listing["presets"]} == set(PRESETS)
    assert "kcenter@grad" in listing["grid"] and listing["representations"]["grad"]["family"] == "gradients"
    assert np.all([m["direction"] for m in listing["presets"]])


def test_methods_json_shows_every_preset_parameter_with_the_source_of_its_default(capsys):
    from prune_core.select import SELECTORS
    from prune_core.select.registry import SOURCES

    assert main(["methods", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    presets = {m["id"]: m for m in listing["presets"]}
    for method in presets.values():
        assert set(method["param_sources"]) == set(method["params"]), method["id"]
        assert all(p["source"] in SOURCES for p in method["param_sources"].values()), method["id"]
    assert presets["gradmatch"]["param_sources"]["target"]["default"] == "train"
    assert presets["gradmatch"]["param_sources"]["target"]["source"] == "paper"
    assert presets["s2l"]["param_sources"]["n_clusters"]["source"] == "authors' code"
    assert set(listing["selectors"]) == set(SELECTORS)
    assert listing["selectors"]["prototypicality"]["aliases"] == ["proto"]
    assert set(listing["other_inputs"]) == {"outputs", "head", "none"}
