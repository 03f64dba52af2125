"""Half-computed and damaged runs: pages say what is missing and which command computes it, and a damaged
cache file gives a clear message, never a traceback."""

from __future__ import annotations

import shlex
import shutil

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.navigation import APP_DIR
from prune_core.cli import main
from prune_core.store import RunStore
from tests.run_fixtures import chart_specs, shown, small_run  # noqa: F401  (shared session fixture)

HOME = str(APP_DIR / "Home.py")


def open_page(script: str) -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=90)
    at.run()
    at.switch_page(script)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def fresh_caches():
    from app import loaders

    loaders.clear()
    yield
    loaders.clear()


@pytest.fixture
def compute_only_store(tmp_path, monkeypatch, fresh_caches):
    """A run with examples and training dynamics but no methods and no maps (select and maps never ran)."""
    run = RunStore(tmp_path).create(
        "half",
        {
            "dataset": {"label_names": ["neg", "pos"], "sizes": {"train": 6}},
            "config": {"dataset": {"train": "/data/reviews.csv"}, "model": "minilm", "train": {"epochs": 3}},
        },
    )
    run.write_table(
        "examples",
        pd.DataFrame(
            {
                "uid": [f"u{i}" for i in range(6)],
                "split": "train",
                "label": [0, 1, 0, 1, 1, 0],
                "text": [f"text {i}" for i in range(6)],
            }
        ),
        stage="data",
    )
    p_gold = np.array(
        [
            [0.9, 0.95, 0.97],
            [0.2, 0.4, 0.8],
            [0.5, 0.5, 0.5],
            [0.1, 0.1, 0.2],
            [0.6, 0.9, 0.7],
            [0.3, 0.7, 0.9],
        ],
        dtype=np.float32,
    )
    run.write_array("dynamics/train/p_gold", p_gold, stage="train")
    run.write_array("dynamics/train/correct", (p_gold > 0.5).astype(np.uint8), stage="train")
    run.begin_stage("select:less")
    run.fail_stage("select:less", "MissingRepresentation: run half has no gradient features")
    monkeypatch.setenv("PRUNESCOPE_RUNS_DIR", str(tmp_path))
    return run


@pytest.fixture
def copied_run(small_run, tmp_path, monkeypatch, fresh_caches):  # noqa: F811
    """A private copy of the small run that a test may damage."""
    target = tmp_path / small_run.name
    shutil.copytree(small_run, target)
    monkeypatch.setenv("PRUNESCOPE_RUNS_DIR", str(tmp_path))
    return RunStore(tmp_path).open(small_run.name)


def damage(run, key: str) -> None:
    """Flip the last byte of a stored file: same size, different checksum."""
    path = run.path / run.file_info(key).path
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def test_pages_needing_methods_name_the_select_command_and_the_failed_stage(compute_only_store):
    at = open_page("app_pages/correlations.py")
    warning = shown(at.warning[0].value)
    assert "scores of at least two score-based methods" in warning
    assert "select:less: MissingRepresentation" in warning
    assert any(
        f"prunescope select half --runs-dir {compute_only_store.path.parent}" in c.value for c in at.code
    )
    for script in (
        "app_pages/overlap.py",
        "app_pages/label_balance.py",
        "app_pages/inspector.py",
        "app_pages/export.py",
    ):
        at = open_page(script)
        assert at.warning and "select half" in at.code[0].value, script


def test_embedding_map_without_maps_or_hidden_states_names_the_maps_command(compute_only_store):
    at = open_page("app_pages/embedding_map.py")
    assert "a 2-D map (UMAP or PCA)" in at.warning[0].value
    assert at.code[0].value.endswith(
        "maps half --runs-dir " + str(compute_only_store.path.parent) + " --method pca"
    )


def test_data_map_and_overview_work_from_compute_alone(compute_only_store):
    at = open_page("app_pages/data_map.py")
    assert "datamap_chart" in chart_specs(at)
    assert at.selectbox(key="datamap_method").options == ["(none)"]
    at = open_page("app_pages/overview.py")
    needs = at.dataframe[1].value.set_index("page")
    assert bool(needs.loc["Data map", "ready"]) and not bool(needs.loc["Score correlations", "ready"])
    assert "select half" in needs.loc["Score correlations", "to compute"]
    assert needs.loc["Data map", "to compute"] == ""


def test_a_damaged_map_file_gives_a_clear_message_and_the_command_that_rewrites_it(copied_run):
    damage(copied_run, "maps/hs/pca")
    at = open_page("app_pages/embedding_map.py")
    assert any("is damaged and was not used" in e.value for e in at.error)
    assert any("maps/hs/pca" in c.value for c in at.code)  # the damage, verbatim under the message
    assert any("--representations hs --method pca" in c.value for c in at.code)


def test_a_damaged_score_table_points_at_select(copied_run):
    damage(copied_run, "scores")
    at = open_page("app_pages/correlations.py")
    assert at.error and any("'scores' is unusable" in c.value for c in at.code)
    assert any(c.value.startswith(f"prunescope select {copied_run.id}") for c in at.code)


def test_an_unreadable_manifest_is_reported_on_every_page(copied_run):
    (copied_run.path / "manifest.json").write_text("{ not json")
    at = open_page("app_pages/runs.py")
    assert "unreadable" in at.dataframe[0].value["dataset"].iloc[0]
    at = open_page("app_pages/overview.py")
    assert at.error and any("not valid JSON" in c.value for c in at.code)


def test_one_damaged_method_leaves_the_others_on_every_comparison_page(copied_run):
    damage(copied_run, "rankings/kcenter/plain")
    for script in ("app_pages/overlap.py", "app_pages/label_balance.py", "app_pages/inspector.py"):
        at = open_page(script)
        assert not at.error, (script, [e.value for e in at.error])
        warning = next(w.value for w in at.warning if "Left out because" in w.value)
        assert "kcenter" in shown(warning), script
        assert any(
            c.value.startswith(f"prunescope select {copied_run.id}") and "--methods kcenter" in c.value
            for c in at.code
        ), script
    at = open_page("app_pages/overlap.py")
    chosen = at.multiselect(key="overlap_methods").value
    assert "kcenter" not in chosen and {"aum", "el2n", "random"} <= set(chosen)
    command = next(c.value for c in at.code if "--methods kcenter" in c.value)
    words = shlex.split(command)
    assert words[0] == "prunescope" and main(words[1:]) == 0  # the named command heals it
    at = open_page("app_pages/overlap.py")
    assert not any("Left out because" in w.value for w in at.warning)
    assert "kcenter" in at.multiselect(key="overlap_methods").value
