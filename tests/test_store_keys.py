"""Storage keys and stage names: built and parsed in one module (``prune_core/store/keys.py``)."""

from __future__ import annotations

import pytest

from prune_core.store import keys


@pytest.mark.parametrize(
    ("key", "text", "parts"),
    [
        (keys.dynamics("p_gold"), "dynamics/train/p_gold", {"split": "train", "name": "p_gold"}),
        (
            keys.outputs("validation", "epoch-2", "logits"),
            "outputs/validation/epoch-2/logits",
            {"split": "validation", "checkpoint": "epoch-2", "name": "logits"},
        ),
        (
            keys.hidden("train", "pretrained", "mean"),
            "hidden/train/pretrained/mean",
            {"split": "train", "checkpoint": "pretrained", "name": "mean"},
        ),
        (keys.head_input("test", "pretrained"), "head_input/test/pretrained", {"checkpoint": "pretrained"}),
        (keys.grads("train", "epoch-3", "adam"), "grads/train/epoch-3/adam", {"name": "adam"}),
        (keys.grad_norms("train", "epoch-3"), "grad_norms/train/epoch-3", {"checkpoint": "epoch-3"}),
        (keys.checkpoint("epoch-1", "weights"), "checkpoints/epoch-1/weights", {"name": "weights"}),
        (keys.scores("el2n"), "scores/el2n", {"method": "el2n"}),
        (keys.ranking("kcenter@hs", True), "rankings/kcenter@hs/balanced", {"variant": "balanced"}),
        (keys.selection("less"), "selections/less/plain", {"method": "less", "variant": "plain"}),
        (
            keys.map_coords("hs-pre", "umap"),
            "maps/hs-pre/umap",
            {"representation": "hs-pre", "method": "umap"},
        ),
        (
            keys.evaluation("fast", "el2n", 0.3, True, 2),
            "evaluation/fast/el2n/0.3-balanced-seed2",
            {"mode": "fast", "method": "el2n", "name": "0.3-balanced-seed2"},
        ),
        (keys.EXAMPLES, "examples", {}),
        (keys.SCORE_TABLE, "scores", {}),
    ],
)
def test_every_key_is_built_and_parsed_back_into_its_parts(key, text, parts):
    assert key == text
    parsed = keys.parse(key)
    assert parsed.kind == text.split("/")[0]
    assert {name: getattr(parsed, name) for name in parts} == parts


@pytest.mark.parametrize("key", ["selections/el2n", "maps//umap", "weights/epoch-1", "hidden/train/epoch-1"])
def test_a_key_outside_the_layout_is_refused_by_name(key):
    with pytest.raises(ValueError, match="not a PruneScope storage key"):
        keys.parse(key)


def test_prefixes_select_one_kind_of_key():
    assert keys.prefix(keys.HIDDEN, "train") == "hidden/train/"
    assert keys.hidden("train", "epoch-1").startswith(keys.prefix(keys.HIDDEN, "train"))
    assert not keys.SCORE_TABLE.startswith(keys.prefix(keys.SCORES))


@pytest.mark.parametrize(
    ("name", "kind", "parts"),
    [
        (keys.represent_stage("epoch-2"), "represent", {"checkpoint": "epoch-2"}),
        (keys.select_stage("less"), "select", {"method": "less", "is_summary": False}),
        (keys.SELECT_SUMMARY, "select", {"is_summary": True}),
        (keys.map_stage("hs", "pca"), "map", {"representation": "hs", "method": "pca"}),
        (keys.evaluate_stage("fast"), "evaluate", {"mode": "fast"}),
        (keys.TRAIN_STAGE, "train", {"checkpoint": None, "method": None}),
    ],
)
def test_stage_names_are_built_and_parsed_back(name, kind, parts):
    parsed = keys.parse_stage(name)
    assert parsed.kind == kind
    assert {p: getattr(parsed, p) for p in parts} == parts
