"""--budget is a fraction (0.3 or 30%), --count a number of examples; a value the two rules would read
differently (--budget 1, --budget 5) is an error that says so (issue: `--budget 1` exported one example)."""

from __future__ import annotations

import json

import pytest

from prune_core.cli import main
from prune_core.select.budget import (
    BudgetError,
    budget_to_k,
    count_to_fraction,
    fraction_text,
    parse_count,
    parse_fraction,
    parse_fractions,
)
from prune_core.store import RunStore
from prune_core.synthetic import make_synthetic_run


@pytest.mark.parametrize(
    ("text", "value"), [("0.3", 0.3), ("30%", 0.3), ("1.0", 1.0), ("100%", 1.0), (".05", 0.05)]
)
def test_fractions_and_percentages_are_read_as_shares(text, value):
    assert parse_fraction(text) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("1", ["ambiguous", "--budget 1.0", "100%", "--count 1"]),
        ("5", ["outside (0, 1]", "500 %", "--count 5", "--budget 5%"]),
        ("500", ["--count 500"]),
        ("1.5", ["outside (0, 1]", "--budget 1.5%"]),
        ("0", ["outside (0, 1]"]),
        ("-0.2", ["outside (0, 1]"]),
        ("abc", ["--budget expects a fraction"]),
        ("150%", ["outside (0 %, 100 %]"]),
    ],
)
def test_a_value_the_two_rules_read_differently_is_refused_with_both_readings(text, says):
    with pytest.raises(BudgetError) as error:
        parse_fraction(text)
    assert all(part in str(error.value) for part in says), str(error.value)


def test_counts_are_whole_numbers_and_a_fraction_points_to_budget():
    assert parse_count("500") == 500
    for bad in ("0.3", "30%", "0", "-2", ""):
        with pytest.raises(BudgetError, match="--count expects a whole number"):
            parse_count(bad)
    with pytest.raises(BudgetError, match="--budget 0.3"):
        parse_count("0.3")


def test_a_list_names_its_flag():
    assert parse_fractions("10%, 0.3") == pytest.approx([0.1, 0.3])
    with pytest.raises(BudgetError, match="--budgets 1 is ambiguous"):
        parse_fractions("0.1,1", "--budgets")


@pytest.mark.parametrize("n", [3, 6, 7, 99, 1000, 12_345])
def test_a_count_becomes_the_fraction_that_keeps_exactly_that_many(n):
    for count in {1, 2, n // 3 or 1, n - 1 or 1, n}:
        assert budget_to_k(count_to_fraction(count, n), n) == count


def test_fraction_text_is_never_the_ambiguous_one():
    assert fraction_text(1.0) == "1.0" and fraction_text(0.3) == "0.3" and fraction_text(0.05) == "0.05"
    assert parse_fraction(fraction_text(1.0)) == 1.0


def test_budget_messages_do_not_name_internal_functions():
    with pytest.raises(BudgetError) as error:
        budget_to_k(1.5, 10)
    assert "budget_to_k" not in str(error.value)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("budget-store"))
    return make_synthetic_run(store, n=200, seed=3)


def _export(run, tmp_path, *flags):
    # A new file per call: export never replaces an existing one (without --overwrite).
    out = tmp_path / f"subset-{len(list(tmp_path.glob('subset-*.txt')))}.txt"
    code = main(
        ["export", str(run.path), "--method", "el2n", *flags, "--format", "txt", "--output", str(out)]
    )
    return code, (out.read_text().split() if out.exists() else None)


def test_export_budget_1_is_an_error_not_one_example(synthetic, tmp_path, capsys):
    code, uids = _export(synthetic, tmp_path, "--budget", "1")
    assert code == 2 and uids is None
    assert "ambiguous" in capsys.readouterr().err


def test_export_fraction_percentage_and_count(synthetic, tmp_path):
    assert _export(synthetic, tmp_path, "--budget", "1.0")[1].__len__() == 200
    assert len(_export(synthetic, tmp_path, "--budget", "30%")[1]) == 60
    assert len(_export(synthetic, tmp_path, "--count", "7")[1]) == 7
    assert len(_export(synthetic, tmp_path, "--count", "1")[1]) == 1


def test_export_count_outside_the_data_names_the_flag(synthetic, tmp_path, capsys):
    code, _ = _export(synthetic, tmp_path, "--count", "201")
    assert code == 2 and "--count 201 is outside 1..200" in capsys.readouterr().err


def test_export_budget_and_count_together_are_refused(synthetic, tmp_path, capsys):
    with pytest.raises(SystemExit):
        _export(synthetic, tmp_path, "--budget", "0.3", "--count", "5")
    assert "not allowed with argument" in capsys.readouterr().err


def test_select_counts_cache_a_selection_of_exactly_that_many(synthetic, capsys):
    assert main(["select", str(synthetic.path), "--methods", "el2n", "--counts", "13", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["el2n"]["status"] == "done"
    from prune_core.results import Results

    results = Results(synthetic.reload())
    assert len(results.selection("el2n", count_to_fraction(13, 200))) == 13


def test_select_budgets_1_is_refused(synthetic, capsys):
    assert main(["select", str(synthetic.path), "--methods", "el2n", "--budgets", "0.5,1"]) == 2
    assert "--budgets 1 is ambiguous" in capsys.readouterr().err


def test_simulate_count(capsys):
    assert main(["simulate", "--json", "--count", "50", "--epochs", "5", "--selectors", "random"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["selection"]["k"] == 50 and all(len(s["positions"]) == 50 for s in report["selections"])
