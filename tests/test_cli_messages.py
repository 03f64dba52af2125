"""What the command line prints besides results: no library warnings, no traceback when the reader
closes the pipe (`prunescope info RUN | head`), no internal names in error messages."""

from __future__ import annotations

import os
import subprocess
import sys
import types
import warnings

import numpy as np
import pytest

from prune_core.cli import main
from prune_core.data import DatasetSpec, load_dataset
from prune_core.maps import MapParams, umap_2d
from prune_core.paths import REPO_ROOT
from prune_core.store import RunStore
from prune_core.synthetic import make_synthetic_run


class _RecordingUMAP:
    """Stands in for umap.UMAP (whose import and first fit take a minute on 2 cores): it applies umap's
    own rule, warning when n_jobs != 1 while a random_state is set, and records what it was given."""

    made: list[dict] = []

    def __init__(self, **kwargs):
        self.made.append(kwargs)
        if kwargs.get("n_jobs", -1) != 1 and kwargs.get("random_state") is not None:
            warnings.warn("n_jobs value 1 overridden to 1 by setting random_state", UserWarning, stacklevel=2)

    def fit_transform(self, features):
        return np.zeros((len(features), 2))


def test_umap_maps_raise_no_n_jobs_warning(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", types.SimpleNamespace(UMAP=_RecordingUMAP))
    features = np.random.default_rng(0).normal(size=(60, 6)).astype(np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        coords = umap_2d(features, MapParams(n_neighbors=5), "euclidean")
    assert coords.shape == (60, 2)
    assert _RecordingUMAP.made[-1]["random_state"] is not None  # seeded, so maps are reproducible
    assert not [w for w in caught if "n_jobs" in str(w.message)]


def test_info_into_a_closed_pipe_ends_quietly(tmp_path):
    run = make_synthetic_run(RunStore(tmp_path), n=40, seed=2)
    reader = subprocess.Popen(
        [sys.executable, "-m", "prune_core", "info", str(run.path)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    reader.stdout.close()  # as `head` does once it has what it wants
    err = reader.stderr.read().decode()
    assert reader.wait(timeout=60) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_info_into_an_open_pipe_prints_everything(tmp_path, capsys):
    run = make_synthetic_run(RunStore(tmp_path), n=40, seed=2)
    assert main(["info", str(run.path)]) == 0
    assert "run      synthetic" in capsys.readouterr().out


def test_a_missing_label_column_names_the_flag_not_the_field(tmp_path):
    data = tmp_path / "reviews.csv"
    data.write_text("text,category\ngood film,pos\nbad film,neg\n")
    with pytest.raises(ValueError) as error:
        load_dataset(DatasetSpec(train=str(data)))
    message = str(error.value)
    assert "--label-column" in message and "category" in message
    assert "set label_column" not in message and "(name another with --label-column)" in message


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [({"limit": 0}, "--limit"), ({"limit_validation": -3}, "--limit-validation"), ({"train": ""}, "--data")],
)
def test_dataset_settings_errors_name_the_flag(kwargs, flag):
    with pytest.raises(ValueError) as error:
        DatasetSpec(**{"train": "x.csv", **kwargs})
    assert str(error.value).startswith(flag + ":") and "DatasetSpec" not in str(error.value)


def test_every_subcommand_prints_its_help_without_a_traceback(capsys):
    """argparse %-formats help texts: a bare "30%" in one (the --budget help) made `export --help` and
    `simulate --help` end in a ValueError traceback."""
    from prune_core.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices
    assert {"export", "simulate", "select", "evaluate"} <= set(commands)
    for command in commands:
        with pytest.raises(SystemExit) as done:
            main([command, "--help"])
        assert done.value.code == 0, command
        assert "usage:" in capsys.readouterr().out, command
