"""Model loading, device choice, tokenisation and 2-D maps: the small modules around the pipeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from prune_core import models
from prune_core.maps import MapParams, compute_maps, pca_2d
from prune_core.models import (
    ModelError,
    apply_lora,
    choose_device,
    classification_head,
    load_classifier,
    packaged_minilm_path,
    resolve_model_source,
    resolve_precision,
)
from prune_core.store import RunStore, keys
from prune_core.synthetic import make_synthetic_run
from prune_core.tokenize import collate, encode, length_sorted_batches


def test_default_model_resolves_to_the_packaged_minilm_folder():
    folder = packaged_minilm_path()
    assert (folder / "config.json").exists() and (folder / "model.safetensors").exists()
    assert resolve_model_source(None) == resolve_model_source("minilm") == str(folder)
    assert resolve_model_source("someone/some-model") == "someone/some-model"  # hub ids pass through


def test_packaged_minilm_loads_offline_with_a_fresh_head_of_the_requested_size(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = load_classifier(None, num_labels=3, seed=1)
    assert loaded.model.config.num_labels == 3
    assert classification_head(loaded.model).out_features == 3
    assert sum(p.numel() for p in loaded.model.parameters()) > 22_000_000
    again = load_classifier(None, num_labels=3, seed=1)
    torch.testing.assert_close(
        classification_head(loaded.model).weight, classification_head(again.model).weight
    )


def test_an_unknown_local_model_fails_with_the_source_named(tmp_path):
    with pytest.raises(ModelError, match="could not load model"):
        load_classifier(str(tmp_path), 2)


def test_device_is_cuda_then_mps_then_cpu_and_can_be_overridden(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert choose_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert choose_device("auto").type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert choose_device("auto").type == "cpu"
    assert choose_device("cpu").type == "cpu"
    with pytest.raises(ModelError, match="CUDA is not available"):
        choose_device("cuda:1")


def test_bf16_autocast_only_on_capable_gpus(monkeypatch):
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index=None: (8, 0))
    assert resolve_precision("auto", torch.device("cuda")) == "bf16"
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index=None: (7, 5))
    assert resolve_precision("auto", torch.device("cuda")) == "fp32"
    assert isinstance(models.autocast(torch.device("cpu"), "fp32"), type(models.contextlib.nullcontext()))


def test_lora_keeps_adapters_and_the_trained_head_trainable(tiny_model_dir):
    model = apply_lora(load_classifier(str(tiny_model_dir), 2).model, r=2, alpha=4)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any("lora_A" in n for n in trainable) and any("classifier" in n for n in trainable)
    assert not any("word_embeddings" in n for n in trainable)
    assert classification_head(model).weight.requires_grad


def test_collate_pads_each_batch_to_its_own_longest_member():
    tokenizer = load_classifier(None, 2).tokenizer
    encoded = encode(tokenizer, ["short", "a somewhat longer sentence here", "mid length one"], None, 32)
    batch = collate(encoded, np.array([0, 2]))
    assert batch["input_ids"].shape[1] == max(len(encoded.input_ids[0]), len(encoded.input_ids[2]))
    assert batch["attention_mask"][0].sum() == len(encoded.input_ids[0])
    assert (batch["input_ids"][0, batch["attention_mask"][0] == 0] == encoded.pad_token_id).all()
    order = np.concatenate(length_sorted_batches(encoded, 2))
    assert sorted(order.tolist()) == [0, 1, 2] and order[-1] == 1


def test_sentence_pairs_are_encoded_as_one_sequence_with_segment_ids():
    tokenizer = load_classifier(None, 2).tokenizer
    encoded = encode(tokenizer, ["the premise"], ["a hypothesis"], 32)
    assert set(encoded.token_type_ids[0]) == {0, 1}


def test_pca_map_is_deterministic_and_keeps_the_main_direction():
    rng = np.random.default_rng(0)
    x = np.outer(rng.normal(size=200), [3.0, 0, 0, 0]) + rng.normal(0, 0.1, (200, 4))
    coords = pca_2d(x)
    assert coords.shape == (200, 2) and coords.dtype == np.float32
    np.testing.assert_array_equal(coords, pca_2d(x))
    assert abs(np.corrcoef(coords[:, 0], x[:, 0])[0, 1]) > 0.99


def test_maps_are_cached_per_representation_and_skip_what_the_run_lacks(tmp_path):
    run = make_synthetic_run(RunStore(tmp_path), n=60, m=10)
    report = compute_maps(run, ["hs", "tl", "grad"], MapParams(method="pca"), log=lambda _m: None)
    assert report == {"hs": "done", "tl": "done", "grad": "done"}
    assert run.read_array(keys.map_coords("hs", "pca")).shape == (60, 2)
    again = compute_maps(run, ["hs"], MapParams(method="pca"), log=lambda _m: None)
    assert again == {"hs": "cached"}
