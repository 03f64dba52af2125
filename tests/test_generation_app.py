"""A generation run end to end: tiny decoder -> compute --task generation -> select -> maps -> export,
then every dashboard page under AppTest (no exception, no classification-only wording)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.run_fixtures import cli, generation_run  # noqa: F401  (shared session fixture)

HOME = str(__import__("app.navigation", fromlist=["APP_DIR"]).APP_DIR / "Home.py")


@pytest.fixture
def gen_env(generation_run, monkeypatch):  # noqa: F811
    from app import loaders

    monkeypatch.setenv("PRUNESCOPE_RUNS_DIR", str(generation_run.parent))
    loaders.clear()
    yield generation_run
    loaders.clear()


def test_select_skips_class_logit_methods_and_export_writes_prompt_and_response(generation_run, tmp_path):  # noqa: F811
    from prune_core.store import RunStore

    run = RunStore(generation_run.parent).open(generation_run.name)
    assert run.task == "generation"
    stages = run.stages()
    assert "select:less" in stages and "select:el2n" not in stages  # el2n needs class logits
    out = cli(
        "export",
        str(generation_run),
        "--runs-dir",
        str(generation_run.parent),
        "--method",
        "less",
        "--budget",
        "0.3",
        "--output",
        str(tmp_path / "subset.jsonl"),
    )
    written = next(tmp_path.glob("subset*.jsonl"))
    rows = [json.loads(line) for line in written.read_text().splitlines()]
    assert len(rows) == 12 and out
    train = run.examples("train").set_index("uid")
    first = rows[0]
    assert first["text"] == train.loc[first["uid"], "text"]  # the prompt
    assert first["response"] == train.loc[first["uid"], "response"]
    assert first["label_name"] in {"arithmetic", "classify", "qa", "summarize", "uppercase"}  # the source
    manifest = json.loads(Path(str(written) + ".manifest.json").read_text())
    assert manifest["task"] == "generation"


def test_fast_evaluation_scores_subsets_by_response_perplexity(generation_run):  # noqa: F811
    from prune_core.evaluate import evaluations
    from prune_core.store import RunStore

    run = RunStore(generation_run.parent).open(generation_run.name)
    table = evaluations(run)
    assert {"test_perplexity", "test_loss", "validation_perplexity"} <= set(table.columns)
    assert "test_accuracy" not in table.columns
    assert set(table["method"]) == {"less", "random-band", "full-data"}
    rows = table[table["method"] == "less"]
    assert len(rows) == 2  # plain and source-balanced
    np.testing.assert_allclose(rows["test_perplexity"], np.exp(rows["test_loss"]), rtol=1e-6)
    assert (rows["size"] == 12).all()


PAGES = [
    "app_pages/runs.py",
    "app_pages/overview.py",
    "app_pages/grid.py",
    "app_pages/correlations.py",
    "app_pages/overlap.py",
    "app_pages/label_balance.py",
    "app_pages/embedding_map.py",
    "app_pages/data_map.py",
    "app_pages/inspector.py",
    "app_pages/export.py",
    "app_pages/evaluation.py",
    "app_pages/stability.py",
    "app_pages/compare_runs.py",
]


def test_the_inspector_shows_prompt_and_response_cut_with_an_expander(gen_env):
    from prune_core.store import RunStore

    train = RunStore(gen_env.parent).open(gen_env.name).examples("train")
    longest = int(train["text"].str.len().to_numpy().argmax())
    at = AppTest.from_file(HOME, default_timeout=120)
    at.query_params["run"] = gen_env.name
    at.run()
    at.switch_page("app_pages/inspector.py")
    at.run()
    at.text_input(key="inspect_query").input(train["uid"].iloc[longest]).run()
    assert not at.exception, [e.value for e in at.exception]
    captions = [c.value for c in at.caption]
    assert "prompt" in captions and "response" in captions and "source" in captions
    shown = [t.value for t in at.text]
    assert train["response"].iloc[longest] in shown
    assert any(t.startswith(train["text"].iloc[longest][:50]) for t in shown)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_works_for_a_generation_run(gen_env, page):
    at = AppTest.from_file(HOME, default_timeout=120)
    at.query_params["run"] = gen_env.name
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(
        str(getattr(e, "value", "") or getattr(e, "label", "") or "")
        for kind in ("markdown", "caption", "header", "subheader", "title", "metric", "info", "warning")
        for e in getattr(at, kind)
    )
    for word in ("label-balanced", "Label balance", "Labels kept", "accuracy", "per label"):
        assert word not in text, (page, word)


def test_the_sidebar_names_the_balance_page_by_the_runs_group():
    from app.navigation import PAGES

    balance = next(p for p in PAGES if p.script.endswith("label_balance.py"))
    assert balance.title_for("generation") == "Source balance"
    assert balance.title_for("classification") == balance.title_for(None) == "Label balance"
    assert {p.title_for("generation") for p in PAGES if p is not balance} == {
        p.title for p in PAGES if p is not balance
    }
