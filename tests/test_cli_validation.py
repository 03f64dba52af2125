"""Every CLI argument is checked before any work starts, and errors name the flag (issue 10 item 7)."""

from __future__ import annotations

import pytest

from prune_core.cli import main
from tests.test_data import write_csv


@pytest.fixture
def data(tmp_path):
    rows = [[f"a{i}", f"text {i}", i % 2] for i in range(20)]
    return write_csv(tmp_path / "train.csv", ["id", "text", "label"], rows)


@pytest.mark.parametrize(
    "flags, flag",
    [
        (["--proj-dim", "0"], "--proj-dim"),
        (["--limit", "0"], "--limit"),
        (["--limit-validation", "-3"], "--limit-validation"),
        (["--epochs", "0"], "--epochs"),
        (["--batch-size", "0"], "--batch-size"),
        (["--lr", "-1e-5"], "--lr"),
        (["--validation-fraction", "1.5"], "--validation-fraction"),
        (["--lora-dropout", "1"], "--lora-dropout"),
        (["--max-length", "x"], "--max-length"),
    ],
)
def test_bad_compute_flags_fail_before_any_work_naming_the_flag(data, tmp_path, capsys, flags, flag):
    with pytest.raises(SystemExit) as caught:
        main(["compute", "--data", str(data), "--runs-dir", str(tmp_path / "runs"), *flags])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err and "DatasetSpec" not in err
    assert not (tmp_path / "runs").exists()  # nothing was created: no half-made run


def test_grad_checkpoints_beyond_the_epochs_fail_before_any_work(data, tmp_path, capsys):
    args = ["compute", "--data", str(data), "--runs-dir", str(tmp_path / "runs"), "--epochs", "2"]
    assert main([*args, "--grad-checkpoints", "3"]) == 2
    assert "--grad-checkpoints" in capsys.readouterr().err and not (tmp_path / "runs").exists()


def test_evaluate_checks_its_flags_before_opening_the_run(tmp_path, capsys):
    assert main(["evaluate", "no-such-run", "--runs-dir", str(tmp_path), "--variants", "plain,odd"]) == 2
    assert "--variants" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["evaluate", "no-such-run", "--probe-c", "0"])
    assert "argument --probe-c" in capsys.readouterr().err


def test_serve_rejects_a_port_out_of_range(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--port", "70000"])
    assert "argument --port" in capsys.readouterr().err


@pytest.mark.parametrize("delimiter, name", [(";", "semicolons"), ("\t", "tabs")])
def test_a_csv_split_by_another_delimiter_says_so(tmp_path, capsys, delimiter, name):
    path = tmp_path / "train.csv"
    write_csv(path, ["id", "text", "label"], [["a", "x", 1], ["b", "y", 0]], delimiter=delimiter)
    assert main(["compute", "--data", str(path), "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert f"one column split by {name}" in err and "comma-separated" in err
