"""Subset evaluation end to end: fast mode on the real MiniLM SST-2 run, fine-tune mode on a tiny model."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from prune_core.evaluate import FULL_DATA, RANDOM_BAND, EvalJob, classification_metrics, evaluate_run
from prune_core.models import load_classifier
from prune_core.represent.features import forward_features
from prune_core.results import Results
from prune_core.store import RunStore
from prune_core.tokenize import encode
from prune_core.train import TrainConfig, train_reference
from tests.run_fixtures import small_run  # noqa: F401  (the shared tiny-model run)

QUIET = {"show_progress": False, "log": lambda _m: None}
METHODS = ["el2n", "semdedup", "less"]


@pytest.fixture(scope="module")
def fast_evaluated(minilm_run):
    report = evaluate_run(minilm_run, METHODS, [0.1, 0.3], [0, 1], mode="fast", **QUIET)
    return minilm_run.reload(), report


@pytest.mark.slow
def test_three_methods_at_two_budgets_on_the_small_sst2_run(fast_evaluated):
    run, report = fast_evaluated
    table = report.table
    # Fast mode: the probe is deterministic, so each method is one row per budget and variant whatever
    # the seeds; the random band takes at least three draws; the full-data probe is one row.
    assert len(report.jobs) == len(table) == 3 * 2 * 2 + 3 * 2 * 2 + 1
    assert (table.groupby("method").size().drop([RANDOM_BAND, FULL_DATA]) == 2 * 2).all()
    assert (table["method"] == RANDOM_BAND).sum() == 3 * 2 * 2
    assert set(table["method"]) == {*METHODS, RANDOM_BAND, FULL_DATA}
    assert set(table.loc[table["method"] != FULL_DATA, "size"]) == {30, 90}
    assert set(table.loc[table["method"] == FULL_DATA, "size"]) == {300}
    for column in ("validation_accuracy", "validation_macro_f1", "test_accuracy", "test_macro_f1"):
        assert table[column].between(0, 1).all(), column
    full = table.loc[table["method"] == FULL_DATA, "test_accuracy"]
    assert (
        full.nunique() == 1 and full.iloc[0] > 0.55
    )  # above chance (0.5) with 300 examples and a linear probe
    assert not report.cached
    assert evaluate_run(run, METHODS, [0.1, 0.3], [0, 1], mode="fast", **QUIET).computed == []


@pytest.mark.slow
def test_fast_numbers_on_the_test_split_match_scikit_learn_directly(fast_evaluated):
    run, report = fast_evaluated
    chosen = np.sort(Results(run).selection("less", 0.1, balanced=True))
    x = np.asarray(run.read_array("hidden/train/pretrained/cls"), dtype=np.float32)
    x_test = np.asarray(run.read_array("hidden/test/pretrained/cls"), dtype=np.float32)
    y = run.examples("train")["label"].to_numpy()
    y_test = run.examples("test")["label"].to_numpy()
    predicted = (
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        .fit(x[chosen], y[chosen])
        .predict(x_test)
    )
    row = report.table.query("method == 'less' and budget == 0.1 and balanced").iloc[0]
    assert row["test_accuracy"] == accuracy_score(y_test, predicted)
    assert row["test_macro_f1"] == f1_score(y_test, predicted, average="macro")


@pytest.fixture(scope="module")
def tiny_run(small_run, tmp_path_factory):  # noqa: F811
    """A private copy of the app tests' small run (tiny random BERT, 300 SST-2 examples, 2 epochs)."""
    root = tmp_path_factory.mktemp("tiny-eval-store")
    shutil.copytree(small_run, root / small_run.name)
    return RunStore(root).open(small_run.name)


def plain_fine_tune_metrics(run, seed: int) -> dict[str, dict]:
    """The reference recipe by hand: fresh classifier seeded by ``seed``, train_reference, predict."""
    config = replace(TrainConfig(**run.config["train"]), seed=seed)
    loaded = load_classifier(run.config["model"], len(run.label_names), seed=seed)
    train = run.examples("train")
    encoded = encode(loaded.tokenizer, train["text"].tolist(), None, config.max_length)
    train_reference(loaded.model, encoded, train["label"].to_numpy(), config, torch.device("cpu"))
    scores = {}
    for split in ("validation", "test"):
        frame = run.examples(split)
        logits = forward_features(
            loaded.model,
            encode(loaded.tokenizer, frame["text"].tolist(), None, config.max_length),
            frame["label"].to_numpy(),
            torch.device("cpu"),
        )["logits"]
        scores[split] = classification_metrics(
            frame["label"].to_numpy(), logits.argmax(axis=1), len(run.label_names)
        )
    return scores


def test_full_data_fine_tune_equals_a_plain_fine_tune_with_the_same_seed(tiny_run):
    report = evaluate_run(
        tiny_run,
        [FULL_DATA, "el2n"],
        [0.5],
        [3],
        mode="finetune",
        variants=["plain"],
        baselines=False,
        device="cpu",
        **QUIET,
    )
    assert sorted(report.computed) == [
        EvalJob("el2n", 0.5, False, 3, "finetune"),
        EvalJob(FULL_DATA, 1.0, False, 3, "finetune"),
    ]
    stored = tiny_run.read_json(EvalJob(FULL_DATA, 1.0, False, 3, "finetune").store_key)
    assert stored["size"] == 300 and stored["key"]["settings"]["train"]["epochs"] == 2
    assert stored["metrics"] == plain_fine_tune_metrics(tiny_run, seed=3)
    assert report.table.query("method == 'el2n'")["size"].tolist() == [150]
    again = evaluate_run(
        tiny_run,
        [FULL_DATA, "el2n"],
        [0.5],
        [3],
        mode="finetune",
        variants=["plain"],
        baselines=False,
        device="cpu",
        **QUIET,
    )
    assert again.computed == [] and len(again.cached) == 2


def test_steps_matched_fine_tune_gives_a_10_percent_subset_the_full_datas_optimizer_steps(tiny_run):
    # 300 examples, batch 32, 2 epochs: the full data takes 10 x 2 = 20 steps; the 30-example subset
    # (1 batch per epoch) repeats its epoch 20 times under the default steps-matched schedule.
    report = evaluate_run(
        tiny_run,
        ["el2n"],
        [0.1],
        [0],
        mode="finetune",
        variants=["plain"],
        device="cpu",
        **QUIET,
    )
    steps = report.table.set_index("method")["steps"]
    assert steps[FULL_DATA] == steps["el2n"] == steps[RANDOM_BAND] == 20
    epochs = evaluate_run(
        tiny_run,
        ["el2n"],
        [0.1],
        [0],
        mode="finetune",
        variants=["plain"],
        baselines=False,
        device="cpu",
        schedule="epochs",
        **QUIET,
    )
    assert epochs.table.set_index("method")["steps"]["el2n"] == 2  # 1 batch x 2 epochs


def test_cli_pairs_both_accuracy_and_macro_f1_with_the_random_band(tiny_run, capsys):
    # Accuracy alone misreads an imbalanced set (Davidson is 77 % one label): the report pairs both.
    from prune_core.cli import main

    args = ["evaluate", str(tiny_run.path), "--methods", "el2n", "--budgets", "0.1", "--seeds", "0"]
    assert main([*args, "--variants", "plain", "--device", "cpu", "--quiet"]) == 0
    out = capsys.readouterr().out
    table = evaluate_run(
        tiny_run, ["el2n"], [0.1], [0], mode="finetune", variants=["plain"], device="cpu", **QUIET
    ).table
    by_method = table.set_index("method")
    for column, title in (("test_accuracy", "accuracy"), ("test_macro_f1", "macro-F1")):
        heading = f"paired with the random band of the same seed, budget and variant (test {title}):"
        assert heading in out
        row = out.split(heading)[1].splitlines()[2].split()  # the header row, then el2n's row
        diff = by_method.loc["el2n", column] - by_method.loc[RANDOM_BAND, column]
        assert row[:4] == ["finetune", "el2n", "0.1", f"{diff:+.3f}"]
        assert row[-2] == ("1/1" if diff > 0 else "0/1")  # one seed paired
