"""`python -m prune_core simulate`: the lab's selections and Jaccard table for scripts."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from prune_core.cli.common import UsageError
from prune_core.cli.simulate import add_simulate
from prune_core.simulate import PAPER_SELECTORS, build_world, grid_cells, jaccard_table, select_grid


def _run(argv: list[str]) -> int:
    """The subcommand through its own parser, as ``prune_core.cli.main`` dispatches it."""
    parser = argparse.ArgumentParser()
    add_simulate(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["simulate", *argv])
    return args.func(args)


def test_json_output_parses_and_matches_the_library(capsys):
    assert _run(["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    world = build_world()
    selections = select_grid(world, grid_cells(PAPER_SELECTORS), budget=0.3)
    assert report["sizes"] == {"train": 600, "validation": 200, "test": 200}
    assert report["model"]["validation_accuracy"] == 0.875
    assert report["selection"] == {"budget": 0.3, "k": 180, "n_clusters": 2, "balanced": False}
    printed = {(s["representation"], s["selector"]): s["positions"] for s in report["selections"]}
    assert printed.keys() == selections.keys()
    assert all(printed[cell] == kept.tolist() for cell, kept in selections.items())
    rows = {(s["representation"], s["selector"]): s["data_rows"] for s in report["selections"]}
    assert rows[("loss", "h2l")] == world.split.train_index[selections[("loss", "h2l")]].tolist()
    table = jaccard_table(selections)
    assert report["jaccard"] == {name: row.to_dict() for name, row in table.iterrows()}
    assert report["flipped_train_positions"] == np.flatnonzero(world.split.train.flipped).tolist()


def test_options_reach_the_data_model_and_selection(capsys):
    assert (
        _run(
            [
                "--json",
                "--generator",
                "mixture",
                "--blobs-per-class",
                "3",
                "--model",
                "mlp",
                "--epochs",
                "10",
                "--count",
                "50",
                "--clusters",
                "3",
                "--selectors",
                "kcenter,random",
                "--balanced",
                "--seed",
                "7",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["config"]["generator"] == "mixture" and report["config"]["blobs_per_class"] == 3
    assert report["config"]["model"] == "mlp" and report["config"]["seed"] == 7
    assert report["selection"] == {"budget": 50, "k": 50, "n_clusters": 3, "balanced": True}
    assert sorted({s["selector"] for s in report["selections"]}) == ["kcenter", "random"]
    assert all(len(s["positions"]) == 50 for s in report["selections"])


def test_plain_output_names_every_panel_and_the_chance_level(capsys):
    assert _run([]) == 0
    out = capsys.readouterr().out
    assert "validation accuracy 0.875" in out
    assert "ℓ-Difficulty_h2l" in out and "∇ℓ-Diversity_s2l" in out
    assert "chance for independent random subsets: 0.176" in out


def test_unknown_selector_is_a_usage_error_naming_the_choices():
    with pytest.raises(UsageError, match="unknown nope; expected 'paper', 'all' or names from h2l"):
        _run(["--selectors", "h2l,nope"])


def test_a_generator_option_outside_its_range_is_refused_with_the_field_name():
    with pytest.raises(ValueError, match="1 or 2 blobs per class, found blobs_per_class=4"):
        _run(["--blobs-per-class", "4"])


def test_registered_in_python_m_prune_core(capsys):
    from prune_core.cli import build_parser, main

    choices = next(a for a in build_parser()._subparsers._group_actions).choices
    if "simulate" not in choices:
        pytest.skip("add_simulate is not yet in prune_core.cli.COMMANDS (the lead registers it)")
    assert main(["simulate", "--json", "--selectors", "h2l"]) == 0
    assert json.loads(capsys.readouterr().out)["selections"][0]["selector"] == "h2l"
