"""Shared fixtures: where the real datasets are, and a skip with a clear reason when they are absent."""

from __future__ import annotations

import os

import pytest

from prune_core.paths import shared_dataset, shared_dir

# Tests never reach the hub: models come from installed packages, data from ../shared.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` run only where CUDA is available; elsewhere they skip with the reason."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (marker gpu); this machine has none")
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)


def _require_shared(name: str):
    path = shared_dataset(name)
    if not (path / "train.csv").exists():
        pytest.skip(
            f"shared dataset {name!r} not found at {path} (set PRUNESCOPE_SHARED to the folder "
            f"that holds data/{name}; currently {shared_dir()})"
        )
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


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny randomly initialised BERT classifier saved as a local model folder (seconds, not minutes).

    It shares the packaged MiniLM's tokenizer so real text works; only the network is small.
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from prune_core.models import load_tokenizer

    path = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = load_tokenizer(None)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=2,
    )
    BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def minilm_run(sst2_dir, tmp_path_factory):
    """The backend's integration run, computed once per session with the real packaged MiniLM:
    300 SST-2 training and 100 validation examples, 2 epochs. Tests may add to it (select, maps)."""
    from prune_core.cli import main
    from prune_core.store import RunStore

    runs_dir = tmp_path_factory.mktemp("minilm-runs")
    args = [
        "compute",
        "--data",
        str(sst2_dir),
        "--limit",
        "300",
        "--limit-validation",
        "100",
        "--limit-test",
        "200",
        "--epochs",
        "2",
        "--runs-dir",
        str(runs_dir),
        "--quiet",
    ]
    assert main(args) == 0
    return RunStore(runs_dir).runs()[0]
