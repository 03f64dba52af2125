"""Subset evaluation on synthetic runs (no model): metrics, the probe, jobs, cache keys, reruns, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from prune_core.evaluate import (
    FULL_DATA,
    RANDOM_BAND,
    EvalJob,
    EvaluationError,
    ProbeConfig,
    aggregate,
    classification_metrics,
    evaluate_run,
    evaluations,
    leaderboard,
    plan_jobs,
    probe_predictions,
    result_key,
)
from prune_core.evaluate.plan import baseline_subset, selection_hash
from prune_core.evaluate.schedule import MIN_STEPS, matched_steps
from prune_core.evaluate.summary import (
    grid_table,
    metric_column,
    paired_metrics,
    paired_vs_random,
    result_rows,
)
from prune_core.methods.registry import UnknownMethod
from prune_core.results import Results
from prune_core.select.balance import label_quota
from prune_core.select.budget import BudgetError
from prune_core.store import RunStore
from prune_core.store.archive import ResultArchive
from prune_core.synthetic import make_synthetic_run
from prune_core.train import TrainConfig

QUIET = {"show_progress": False, "log": lambda _m: None}


@pytest.fixture
def run(tmp_path):
    """Three overlapping labels in two dimensions, so the probe is right often but not always."""
    return make_synthetic_run(RunStore(tmp_path), n=150, m=60, num_labels=3, hidden=2, dim=8, seed=3)


def evaluated_files(run) -> dict[str, str]:
    return {k: run.file_info(k).sha256 for k in run.keys("evaluation/")}


# ---------------------------------------------------------------------------------------------- metrics
def test_metrics_are_accuracy_and_macro_f1_on_hand_checked_predictions():
    # label 0: P = R = 1/2 -> F1 0.5; label 1: P = 2/3, R = 1 -> F1 0.8; label 2 never predicted -> F1 0
    scores = classification_metrics([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], num_labels=3)
    assert scores["accuracy"] == pytest.approx(0.6)
    assert scores["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert scores["predicted_counts"] == [2, 3, 0]


def test_predicting_one_class_only_scores_a_low_macro_f1_even_when_accuracy_is_high():
    scores = classification_metrics([1] * 9 + [0], [1] * 10, num_labels=2)
    assert scores["accuracy"] == pytest.approx(0.9)
    assert scores["macro_f1"] == pytest.approx((0.0 + 2 * 0.9 / 1.9) / 2)


def test_metrics_reject_mismatched_or_out_of_range_input():
    with pytest.raises(ValueError, match="as many predictions as labels"):
        classification_metrics([0, 1], [0], num_labels=2)
    with pytest.raises(ValueError, match=r"predictions must lie in 0\.\.1"):
        classification_metrics([0, 1], [0, 2], num_labels=2)


# ---------------------------------------------------------------------------------------------- probe
def test_probe_on_a_single_label_subset_predicts_that_label():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    out = probe_predictions(x, np.full(6, 2), {"validation": x[:4]}, ProbeConfig(), seed=0)
    assert out["validation"].tolist() == [2, 2, 2, 2]


def test_probe_config_refuses_bad_settings():
    with pytest.raises(ValueError, match="positive inverse regularisation"):
        ProbeConfig(C=0)
    with pytest.raises(ValueError, match="pooling"):
        ProbeConfig(pooling="max")


# ---------------------------------------------------------------------------------------------- jobs
def test_a_request_expands_to_methods_random_band_and_full_data():
    jobs = plan_jobs(["el2n", "less"], [0.3, 0.1], [1, 0], "finetune")
    methods = [j for j in jobs if j.method in ("el2n", "less")]
    assert len(methods) == 2 * 2 * 2 * 2  # methods x budgets x plain/balanced x seeds
    band = [j for j in jobs if j.method == RANDOM_BAND]
    assert {(j.budget, j.balanced, j.seed) for j in band} == {
        (b, v, s) for b in (0.1, 0.3) for v in (False, True) for s in (0, 1)
    }
    assert [j for j in jobs if j.method == FULL_DATA] == [
        EvalJob(FULL_DATA, 1.0, False, s, "finetune") for s in (0, 1)
    ]
    assert len(plan_jobs(["el2n"], [0.1], [0], "fast", variants=["plain"], baselines=False)) == 1
    fast = plan_jobs(["el2n", "less"], [0.3, 0.1], [1, 0], "fast")
    assert len([j for j in fast if j.method in ("el2n", "less")]) == 2 * 2 * 2  # deterministic: once
    assert {j.seed for j in fast if j.method == RANDOM_BAND} == {0, 1, 2}  # at least 3 draws
    assert [j for j in fast if j.method == FULL_DATA] == [EvalJob(FULL_DATA, 1.0, False, 0, "fast")]


def test_random_band_draws_with_the_evaluation_seed_and_balanced_keeps_label_shares():
    labels = np.array([0] * 60 + [1] * 30 + [2] * 10)
    plain = [baseline_subset(EvalJob(RANDOM_BAND, 0.2, False, s, "fast"), labels) for s in (0, 1)]
    assert all(len(p) == 20 and len(set(p)) == 20 for p in plain)
    assert set(plain[0]) != set(plain[1])
    balanced = baseline_subset(EvalJob(RANDOM_BAND, 0.2, True, 4, "fast"), labels)
    counts = np.bincount(labels[balanced], minlength=3)
    assert counts.tolist() == [label_quota(labels, 20)[c] for c in range(3)] == [12, 6, 2]
    full = baseline_subset(EvalJob(FULL_DATA, 1.0, False, 0, "fast"), labels)
    assert full.tolist() == list(range(100))


def test_cache_key_covers_everything_that_changes_the_result():
    job = EvalJob("el2n", 0.1, False, 0, "fast")
    settings = {
        "probe": ProbeConfig().to_dict(),
        "features": {"train": "a", "validation": "b"},
        "examples": "e",
    }
    base = json.dumps(result_key(job, "s", settings), sort_keys=True)
    variants = [
        result_key(EvalJob("less", 0.1, False, 0, "fast"), "s", settings),
        result_key(EvalJob("el2n", 0.3, False, 0, "fast"), "s", settings),
        result_key(EvalJob("el2n", 0.1, True, 0, "fast"), "s", settings),
        result_key(EvalJob("el2n", 0.1, False, 1, "fast"), "s", settings),
        result_key(EvalJob("el2n", 0.1, False, 0, "finetune"), "s", settings),
        result_key(job, "another subset", settings),
        result_key(job, "s", {**settings, "probe": ProbeConfig(C=0.5).to_dict()}),
        result_key(job, "s", {**settings, "probe": ProbeConfig(pooling="mean").to_dict()}),
        result_key(job, "s", {**settings, "probe": ProbeConfig(standardize=False).to_dict()}),
        result_key(job, "s", {**settings, "features": {"train": "changed", "validation": "b"}}),
        result_key(job, "s", {**settings, "examples": "changed"}),
        result_key(job, "s", {"model": "minilm", "train": {"lr": 5e-5, "epochs": 3}, "examples": "e"}),
        result_key(job, "s", {"model": "minilm", "train": {"lr": 1e-4, "epochs": 3}, "examples": "e"}),
    ]
    texts = [json.dumps(v, sort_keys=True) for v in variants]
    assert base not in texts and len(set(texts)) == len(texts)


def test_a_subset_is_identified_by_its_uids_not_their_order():
    assert selection_hash(["b", "a", "c"]) == selection_hash(["a", "b", "c"])
    assert selection_hash(["a", "b"]) != selection_hash(["a", "b", "c"])


# ---------------------------------------------------------------------------------------------- the runner
def test_fast_mode_matches_scikit_learn_run_directly_on_the_same_features(run):
    report = evaluate_run(run, ["el2n"], [0.3], [0], mode="fast", variants=["plain"], **QUIET)
    row = report.table[report.table["method"] == "el2n"].iloc[0]
    chosen = np.sort(Results(run).selection("el2n", 0.3))
    x = np.asarray(run.read_array("hidden/train/pretrained/cls"), dtype=np.float32)
    x_val = np.asarray(run.read_array("hidden/validation/pretrained/cls"), dtype=np.float32)
    y = run.examples("train")["label"].to_numpy()
    y_val = run.examples("validation")["label"].to_numpy()
    direct = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)).fit(
        x[chosen], y[chosen]
    )
    predicted = direct.predict(x_val)
    assert 0.4 < row["validation_accuracy"] < 1.0  # a real, imperfect probe
    assert row["validation_accuracy"] == accuracy_score(y_val, predicted)
    assert row["validation_macro_f1"] == f1_score(y_val, predicted, average="macro")
    assert row["size"] == 45 and np.isnan(row["test_accuracy"])  # the synthetic run has no test split
    assert [row[f"count_label-{c}"] for c in range(3)] == np.bincount(y[chosen], minlength=3).tolist()


def test_rerun_computes_nothing_and_rewrites_nothing(run):
    first = evaluate_run(run, ["el2n", "random"], [0.1, 0.3], [0, 1], mode="fast", **QUIET)
    # fast mode: each method once per budget and variant, the random band over 3 draws, the full data once
    assert len(first.computed) == len(first.jobs) == 2 * 2 * 2 * 1 + 2 * 2 * 3 + 1
    files, table_sha = evaluated_files(run), run.file_info("evaluations").sha256
    again = evaluate_run(run.reload(), ["el2n", "random"], [0.1, 0.3], [0, 1], mode="fast", **QUIET)
    assert again.computed == [] and sorted(again.cached) == sorted(first.jobs)
    assert evaluated_files(run.reload()) == files and run.file_info("evaluations").sha256 == table_sha
    pd.testing.assert_frame_equal(again.table, first.table)


def test_a_missing_or_damaged_result_is_the_only_one_recomputed(run):
    first = evaluate_run(run, ["el2n"], [0.3], [0], mode="fast", variants=["plain"], **QUIET)
    lost, damaged = first.jobs[0], first.jobs[1]
    run.forget_files([lost.store_key])
    (run.path / run.file_info(damaged.store_key).path).write_text("{}")
    again = evaluate_run(run.reload(), ["el2n"], [0.3], [0], mode="fast", variants=["plain"], **QUIET)
    assert sorted(again.computed) == sorted([lost, damaged])
    pd.testing.assert_frame_equal(again.table.drop(columns="seconds"), first.table.drop(columns="seconds"))


def test_a_changed_probe_setting_recomputes_the_results(run):
    first = evaluate_run(run, ["el2n"], [0.3], [0], mode="fast", variants=["plain"], **QUIET)
    again = evaluate_run(
        run, ["el2n"], [0.3], [0], mode="fast", variants=["plain"], probe=ProbeConfig(C=0.01), **QUIET
    )
    assert sorted(again.computed) == sorted(first.jobs) and again.cached == []


def test_the_table_summarises_seeds_and_ranks_methods_against_the_random_band(run):
    evaluate_run(run, ["el2n", "less"], [0.1, 0.3], [0, 1, 2], mode="fast", **QUIET)
    table = evaluations(run)
    column = metric_column("validation", "accuracy")
    summary = aggregate(table, column, run.label_names)
    band = table[(table["method"] == RANDOM_BAND) & (table["budget"] == 0.3) & ~table["balanced"]][column]
    row = summary[(summary["series"] == "random band") & (summary["budget"] == 0.3)].iloc[0]
    assert row["mean"] == pytest.approx(band.mean()) and row["std"] == pytest.approx(band.std(ddof=1))
    assert row["seeds"] == 3 and row["size"] == 45
    board = leaderboard(summary, 0.3)
    assert board["mean"].is_monotonic_decreasing and board["rank"].tolist() == list(range(1, len(board) + 1))
    less = board[board["series"] == "less"].iloc[0]
    assert less["vs_random"] == pytest.approx(less["mean"] - row["mean"])
    assert "full data" in set(board["series"])


def test_each_row_reads_the_score_next_to_the_subsets_label_balance():
    record = {
        "job": EvalJob("less", 0.1, False, 0, "fast").to_dict(),
        "size": 4,
        "label_counts": [3, 1],
        "metrics": {"validation": {"accuracy": 0.5, "macro_f1": 1 / 3, "predicted_counts": [0, 6]}},
        "seconds": 0.1,
        "key_hash": "h",
    }
    row = result_rows([record], ["neg", "pos"], full_counts=np.array([10, 10])).iloc[0]
    assert row["count_neg"] == 3 and row["count_pos"] == 1
    assert row["tv_from_full"] == pytest.approx(0.25)  # shares (0.75, 0.25) against (0.5, 0.5)
    assert row["validation_labels_predicted"] == 1  # the model collapsed to one answer
    assert np.isnan(row["test_accuracy"]) and np.isnan(row["test_labels_predicted"])


def test_grid_keeps_the_best_series_of_each_representation_and_objective():
    board = pd.DataFrame(
        {
            "series": ["less (balanced)", "less", "tracin", "semdedup", "random band", "full data"],
            "method": ["less", "less", "tracin", "semdedup", RANDOM_BAND, FULL_DATA],
            "mean": [0.81, 0.70, 0.75, 0.60, 0.78, 0.90],
        }
    )
    methods = {
        "less": {"family": "gradients", "objective": "relevance"},
        "tracin": {"family": "gradients", "objective": "relevance"},
        "semdedup": {"family": "hidden states", "objective": "diversity"},
    }
    grid = grid_table(board, methods)
    assert grid.loc["gradients", "relevance"] == "less (balanced): 0.810"
    assert grid.loc["hidden states", "diversity"] == "semdedup: 0.600"
    assert grid.loc["gradients", "diversity"] == "" and list(grid.index) == ["gradients", "hidden states"]


# ---------------------------------------------------------------------------------------------- bad input
def test_unknown_method_fails_before_any_work(run):
    with pytest.raises(UnknownMethod, match="unknown method 'no-such-method'"):
        evaluate_run(run, ["el2n", "no-such-method"], [0.1], [0], mode="fast", **QUIET)
    assert run.reload().keys("evaluation/") == [] and not run.has("methods")


@pytest.mark.parametrize("budget", [0.0, 1.5, 500, -0.1])
def test_budget_outside_zero_one_is_refused(run, budget):
    with pytest.raises(BudgetError, match=r"outside \(0, 1\]"):
        evaluate_run(run, ["el2n"], [budget], [0], mode="fast", **QUIET)


def test_fast_mode_on_a_run_without_pretrained_hidden_states_names_the_stage(run):
    run.forget_files(["hidden/validation/pretrained/cls"])
    with pytest.raises(EvaluationError, match=r"hidden/validation/pretrained/cls.*represent:pretrained"):
        evaluate_run(run.reload(), ["el2n"], [0.1], [0], mode="fast", **QUIET)


def test_finetune_mode_on_a_run_without_a_training_config_says_so(run):
    with pytest.raises(EvaluationError, match=r"no model or training config"):
        evaluate_run(run, ["el2n"], [0.1], [0], mode="finetune", **QUIET)


def test_a_method_whose_selection_fails_is_reported_with_its_error(run):
    for key in run.keys("grads/"):
        run.forget_files([key])
    with pytest.raises(EvaluationError, match="could not select less"):
        evaluate_run(run.reload(), ["less"], [0.1], [0], mode="fast", **QUIET)


# ---------------------------------------------------------------------------------------------- the command line
@pytest.fixture
def cli(monkeypatch):
    """``python -m prune_core`` with the evaluate command registered (whether or not the lead has yet)."""
    import prune_core.cli as cli_module
    from prune_core.cli.evaluate import add_evaluate

    if add_evaluate not in cli_module.COMMANDS:
        monkeypatch.setattr(cli_module, "COMMANDS", [*cli_module.COMMANDS, add_evaluate])
    return cli_module.main


def test_cli_evaluates_in_fast_mode_and_prints_mean_and_spread(run, cli, capsys):
    args = [
        "evaluate",
        str(run.path),
        "--methods",
        "el2n",
        "--budgets",
        "0.3",
        "--seeds",
        "0,1",
        "--mode",
        "fast",
        "--quiet",
    ]
    assert cli(args) == 0
    out = capsys.readouterr().out
    assert "9 computed, 0 cached; validation split" in out
    assert "el2n (balanced)" in out and "random band" in out and "full data" in out
    assert cli(args) == 0
    assert "0 computed, 9 cached" in capsys.readouterr().out


def test_cli_archive_keeps_the_results_outside_the_run(run, cli, capsys, tmp_path):
    folder = tmp_path / "kept"
    args = ["evaluate", str(run.path), "--methods", "el2n", "--budgets", "0.3", "--mode", "fast"]
    assert cli([*args, "--quiet", "--archive", str(folder)]) == 0
    assert len(list(folder.rglob("*.json"))) == len(run.reload().keys("evaluation/", kind="json")) == 9


@pytest.mark.parametrize(
    "args, message",
    [
        (["--methods", "no-such-method"], "unknown method 'no-such-method'"),
        (["--methods", "el2n", "--budgets", "1.5"], "outside (0, 1]"),
        (["--methods", "el2n", "--budgets", "0.1,x"], "--budgets expects a fraction in (0, 1]"),
        (["--methods", "el2n", "--seeds", "-1"], "seeds must be whole numbers >= 0"),
        (["--methods", "el2n", "--variants", "plain,skewed"], "variants must be a non-empty subset"),
        (["--methods", "el2n", "--mode", "finetune"], "no model or training config"),
    ],
)
def test_cli_bad_input_fails_with_one_clear_line(run, cli, capsys, args, message):
    assert cli(["evaluate", str(run.path), "--mode", "fast", "--quiet", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert run.reload().keys("evaluation/") == []


def test_paired_comparison_subtracts_the_random_band_of_the_same_seed():
    rows = []
    for seed, (method, band) in enumerate([(0.80, 0.70), (0.75, 0.74), (0.60, 0.65)]):
        rows.append(
            {
                "mode": "finetune",
                "method": "el2n",
                "balanced": False,
                "budget": 0.1,
                "seed": seed,
                "acc": method,
            }
        )
        rows.append(
            {
                "mode": "finetune",
                "method": RANDOM_BAND,
                "balanced": False,
                "budget": 0.1,
                "seed": seed,
                "acc": band,
            }
        )
    rows.append(
        {"mode": "finetune", "method": RANDOM_BAND, "balanced": True, "budget": 0.1, "seed": 0, "acc": 0.1}
    )
    fast = [{**r, "mode": "fast"} for r in rows]  # fast mode is deterministic: nothing to pair
    paired = paired_vs_random(pd.DataFrame(rows + fast), "acc")
    assert len(paired) == 1 and set(paired["mode"]) == {"finetune"}
    row = paired.iloc[0]
    diffs = np.array([0.10, 0.01, -0.05])
    assert row["pairs"] == 3 and row["wins"] == 2
    assert row["mean_diff"] == pytest.approx(diffs.mean())
    assert row["std_diff"] == pytest.approx(diffs.std(ddof=1))
    assert 0 < row["p_value"] < 1


def test_matched_steps_is_the_full_data_run_with_a_floor():
    config = TrainConfig(epochs=3, batch_size=32)
    assert matched_steps(2000, config) == 63 * 3
    assert matched_steps(100, config) == MIN_STEPS  # 4 batches x 3 epochs = 12 < the floor


# ---------------------------------------------------------------------------------------------- fast mode
def test_fast_mode_runs_each_method_once_and_only_the_random_band_over_draws(run):
    report = evaluate_run(run, ["el2n"], [0.3], [0, 1, 2], mode="fast", variants=["plain"], **QUIET)
    seeds = {m: sorted(report.table.loc[report.table["method"] == m, "seed"]) for m in ("el2n", RANDOM_BAND)}
    assert seeds == {"el2n": [0], RANDOM_BAND: [0, 1, 2]}
    assert sorted(report.table.loc[report.table["method"] == "full-data", "seed"]) == [0]


def test_fast_mode_with_one_seed_still_draws_a_random_band_with_a_spread(run):
    report = evaluate_run(run, ["el2n"], [0.3], [0], mode="fast", variants=["plain"], **QUIET)
    band = report.table[report.table["method"] == RANDOM_BAND]
    assert sorted(band["seed"]) == [0, 1, 2]


def test_fast_report_prints_one_value_per_method_and_labels_the_band_spread(run, cli, capsys):
    args = ["evaluate", str(run.path), "--methods", "el2n,random", "--budgets", "0.3", "--seeds", "0,1,2"]
    assert cli([*args, "--mode", "fast", "--quiet", "--variants", "plain"]) == 0
    out = capsys.readouterr().out
    lines = {
        line.split()[1]: line
        for line in out.splitlines()
        if line.startswith("fast") and "random band" not in line
    }
    assert "±" not in lines["el2n"] and "1 (deterministic)" in lines["el2n"]
    assert "±" not in lines["random"]  # the method "random": one fixed subset, not the band
    band = next(line for line in out.splitlines() if line.startswith("fast") and "random band" in line)
    assert "±" in band and "3 random draws" in band
    assert "± 0.000" not in out.replace(band, "")
    assert "the random band is the only row with a spread" in out


def test_old_tables_with_a_fast_result_per_seed_count_it_once():
    rows = [
        {"mode": "fast", "method": "el2n", "balanced": False, "budget": 0.3, "seed": s, "size": 3, "x": 0.8}
        for s in (0, 1, 2)
    ]
    rows += [
        {
            "mode": "fast",
            "method": RANDOM_BAND,
            "balanced": False,
            "budget": 0.3,
            "seed": s,
            "size": 3,
            "x": v,
        }
        for s, v in ((0, 0.7), (1, 0.9))
    ]
    for row in rows:
        row.update(tv_from_full=0.0)
    summary = aggregate(pd.DataFrame(rows), "x", [])
    el2n = summary[summary["method"] == "el2n"].iloc[0]
    band = summary[summary["method"] == RANDOM_BAND].iloc[0]
    assert el2n["seeds"] == 1 and el2n["std"] == 0
    assert band["seeds"] == 2 and band["std"] == pytest.approx(np.std([0.7, 0.9], ddof=1))


# ---------------------------------------------------------------------------------------------- archive
def test_an_archive_gives_a_recomputed_run_every_result_and_trains_nothing_again(tmp_path):
    def fresh_run(name):
        return make_synthetic_run(
            RunStore(tmp_path / name), n=150, m=60, num_labels=3, hidden=2, dim=8, seed=3
        )

    archive = ResultArchive(tmp_path / "archive")
    first = evaluate_run(fresh_run("a"), ["el2n"], [0.3], [0], mode="fast", archive=archive, **QUIET)
    assert len(first.computed) == len(first.jobs)
    archived = sorted(p.relative_to(archive.folder).as_posix() for p in archive.folder.rglob("*.json"))
    assert archived == sorted(f"{job.store_key}.json" for job in first.jobs)
    # The same run computed again in another store (a new machine): everything comes from the archive.
    again = evaluate_run(fresh_run("b"), ["el2n"], [0.3], [0], mode="fast", archive=archive, **QUIET)
    assert again.computed == [] and sorted(again.cached) == sorted(first.jobs)
    pd.testing.assert_frame_equal(again.table, first.table)


def test_an_archived_result_under_another_key_is_never_imported(run, tmp_path):
    archive = ResultArchive(tmp_path / "archive")
    first = evaluate_run(run, ["el2n"], [0.3], [0], mode="fast", variants=["plain"], archive=archive, **QUIET)
    for job in first.jobs:
        run.forget_files([job.store_key])
    # Another probe setting is another key: the archived results are stale for it and are recomputed.
    changed = evaluate_run(
        run.reload(),
        ["el2n"],
        [0.3],
        [0],
        mode="fast",
        variants=["plain"],
        probe=ProbeConfig(C=0.01),
        archive=archive,
        **QUIET,
    )
    assert sorted(changed.computed) == sorted(first.jobs)
    # A record whose key was edited after the fact is refused even though its key_hash field matches.
    job = first.jobs[0]
    record = json.loads(archive.path(job.store_key).read_text())
    record["key"]["settings"] = {"edited": True}
    archive.path(job.store_key).write_text(json.dumps(record))
    run.forget_files([job.store_key])
    redone = evaluate_run(
        run.reload(),
        ["el2n"],
        [0.3],
        [0],
        mode="fast",
        variants=["plain"],
        probe=ProbeConfig(C=0.01),
        archive=archive,
        **QUIET,
    )
    assert redone.computed == [job]


def test_paired_wins_count_a_lower_perplexity_as_a_win():
    rows = [
        {"mode": "finetune", "method": m, "balanced": False, "budget": 0.1, "seed": s, "test_perplexity": p}
        for s, (mine, band) in enumerate([(8.0, 9.0), (9.5, 9.0), (7.0, 9.0)])
        for m, p in (("s2l", mine), (RANDOM_BAND, band))
    ]
    row = paired_vs_random(pd.DataFrame(rows), "test_perplexity").iloc[0]
    assert row["wins"] == 2 and row["mean_diff"] == pytest.approx((-1.0 + 0.5 - 2.0) / 3)
    accuracy = [{**r, "test_accuracy": r.pop("test_perplexity")} for r in rows]
    assert paired_vs_random(pd.DataFrame(accuracy), "test_accuracy").iloc[0]["wins"] == 1


def test_classification_runs_pair_accuracy_and_macro_f1_generation_runs_perplexity():
    assert paired_metrics("classification") == ["accuracy", "macro_f1"]
    assert paired_metrics("generation") == ["perplexity"]
