"""Shared fixtures: where the real datasets are, and a skip with a clear reason when they are absent."""

from __future__ import annotations

import os

import pytest

from prune_core.paths import shared_dataset, shared_dir

# Tests never reach the hub: models come from installed packages, data from ../shared.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _require_shared(name: str):
    path = shared_dataset(name)
    if not (path / "train.csv").exists():
        pytest.skip(f"shared dataset {name!r} not found at {path} (set PRUNESCOPE_SHARED to the folder "
                    f"that holds data/{name}; currently {shared_dir()})")
    return path


@pytest.fixture(scope="session")
def sst2_dir():
    """Directory of the real SST-2 CSVs in ../shared/data/sst2."""
    return _require_shared("sst2")


@pytest.fixture(scope="session")
def trec6_dir():
    return _require_shared("trec6")


@pytest.fixture(scope="session")
def davidson_dir():
    return _require_shared("davidson_hate_offensive")
