"""The reference model's validation accuracy and macro-F1 per checkpoint: recorded by compute,
printed at its end, shown by `info` (issue: a 22-minute compute said nothing about how well it trained)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from prune_core.cli import main
from prune_core.progress import StageProgress
from prune_core.reference import curve_lines, reference_curve, validation_scores
from prune_core.store import RunStore
from prune_core.synthetic import make_synthetic_run


def test_validation_scores_are_accuracy_macro_f1_and_cross_entropy():
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0], [0.0, 0.5]])
    labels = np.array([0, 1, 1, 1])
    scores = validation_scores(logits, labels, 2)
    assert scores["accuracy"] == 0.75
    assert scores["macro_f1"] == pytest.approx(round((2 / 3 + 0.8) / 2, 4))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert scores["loss"] == pytest.approx(-np.log(p[np.arange(4), labels]).mean(), abs=1e-4)


@pytest.fixture
def run(tmp_path):
    return make_synthetic_run(RunStore(tmp_path), n=80, epochs=2, seed=4)


def test_the_curve_has_every_checkpoint_in_order_and_prefers_the_recorded_scores(run):
    curve = reference_curve(run)
    assert [r["checkpoint"] for r in curve] == ["pretrained", "epoch-1", "epoch-2"]
    labels = run.examples("validation")["label"].to_numpy()
    logits = run.read_array("outputs/validation/epoch-2/logits")
    assert curve[-1]["accuracy"] == validation_scores(logits, labels, len(run.label_names))["accuracy"]
    run.finish_stage("represent:epoch-1", 1.0, validation={"accuracy": 0.5, "macro_f1": 0.4, "loss": 0.7})
    assert reference_curve(run.reload())[1]["accuracy"] == 0.5
    assert curve_lines(curve)[0].startswith("pretrained  validation accuracy")


def test_info_prints_and_returns_the_curve(run, capsys):
    assert main(["info", str(run.path)]) == 0
    out = capsys.readouterr().out
    assert "model    epoch-2     validation accuracy" in out
    assert main(["info", str(run.path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [r["epoch"] for r in info["reference"]] == [0, 1, 2]


def test_stage_progress_writes_epoch_loss_and_eta(run):
    with StageProgress(run, "train", 100, show=False) as bar:
        bar.started -= 10  # 10 s for the first 25 examples: 30 s left
        bar.note(epoch=1, epochs=3, loss=0.6931)
        bar(25)
        bar._write(force=True)
        progress = run.read_progress()
    assert progress["epoch"] == 1 and progress["epochs"] == 3 and progress["loss"] == 0.6931
    assert progress["eta"] == pytest.approx(30, abs=1)
