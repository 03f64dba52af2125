"""The app's plain rules (no Streamlit): method order, budgets, stage tables, search, ranks, selections,
the map-selection export, and what each page needs from a run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from app import needs as page_needs
from app.navigation import PAGES, sections
from app.views import (
    budget_text,
    clicked_cell,
    common_budgets,
    default_budget,
    label_counts,
    map_choices,
    order_methods,
    rank_profile,
    search_examples,
    selected_rows,
    selection_export,
    selection_frame,
    spread,
    stage_summary,
    stage_table,
)
from prune_core.export import build_export, render
from prune_core.results import Results
from prune_core.store import RunStore, StageRecord
from tests.run_fixtures import small_run  # noqa: F401  (shared session fixture)

METHODS = {
    "less": {"family": "gradients", "representation": "grad", "objective": "relevance", "title": "LESS"},
    "random": {"family": "baseline", "representation": "none", "objective": "baseline"},
    "aum": {"family": "training dynamics", "representation": "dyn", "objective": "difficulty"},
    "s2l": {"family": "training dynamics", "representation": "dyn", "objective": "diversity"},
    "el2n": {"family": "training dynamics", "representation": "outputs", "objective": "difficulty"},
    "kcenter": {"family": "hidden states", "representation": "hs", "objective": "diversity"},
    "moderate": {"family": "hidden states", "representation": "hs", "objective": "difficulty"},
}
TRAIN = pd.DataFrame(
    {
        "uid": ["u0", "u1", "u2", "u3"],
        "label": [0, 1, 1, 0],
        "text": ["A good film", "bad plot", "GOOD acting, bad u0", "fine"],
    }
)


def test_methods_are_ordered_by_family_then_representation_then_objective():
    assert order_methods(METHODS) == ["aum", "s2l", "el2n", "moderate", "kcenter", "less", "random"]
    assert order_methods(METHODS, ["random", "less", "aum"]) == ["aum", "less", "random"]


def test_spread_picks_across_families_before_repeating_one():
    ids = order_methods(METHODS)
    assert spread(ids, METHODS, 4) == ["aum", "moderate", "less", "random"]
    assert spread(ids, METHODS, 5) == ["aum", "moderate", "less", "random", "s2l"]
    assert spread(["aum"], METHODS, 4) == ["aum"]


def test_budget_text_reads_fractions_as_percent_and_counts_as_examples():
    assert budget_text(0.1) == "10 %" and budget_text(0.05) == "5 %" and budget_text(1.0) == "100 %"
    assert budget_text(500) == "500 examples"


def test_common_budgets_are_those_every_method_cached_and_the_default_is_nearest_30_percent():
    assert common_budgets([[0.1, 0.3, 0.5], [0.3, 0.5, 1.0], [0.30000000001, 0.5]]) == [0.3, 0.5]
    assert common_budgets([]) == []
    assert default_budget([0.1, 0.25, 0.5]) == 0.25
    with pytest.raises(ValueError, match="at least one"):
        default_budget([])


def stage_records(fields_by_name: dict) -> dict[str, StageRecord]:
    return {name: StageRecord(name, **fields) for name, fields in fields_by_name.items()}


def test_stage_table_lists_stages_in_pipeline_order_with_checkpoints_by_epoch():
    stages = stage_records(
        {
            "select:aum": {"status": "done", "seconds": 1.0},
            "represent:epoch-10": {"status": "done"},
            "map:hs:pca": {"status": "failed", "error": "boom"},
            "train": {"status": "done", "seconds": 9.0},
            "represent:epoch-2": {"status": "running"},
            "represent:pretrained": {"status": "done"},
            "data": {"status": "done"},
        }
    )
    table = stage_table(stages)
    assert table["stage"].tolist() == [
        "data",
        "train",
        "represent:pretrained",
        "represent:epoch-2",
        "represent:epoch-10",
        "select:aum",
        "map:hs:pca",
    ]
    assert table.loc[6, "error"] == "boom"


def test_stage_summary_folds_methods_and_maps_into_one_row_each_with_the_worst_status():
    table = stage_table(
        stage_records(
            {
                "train": {"status": "done", "seconds": 5.0},
                "select:a": {"status": "done", "seconds": 1.0},
                "select:b": {"status": "failed", "seconds": 2.0},
                "map:hs:pca": {"status": "done", "seconds": 0.5},
            }
        )
    )
    summary = stage_summary(table)
    assert summary.to_dict("records") == [
        {"stage": "train", "status": "done", "seconds": 5.0},
        {"stage": "select (2 methods)", "status": "failed", "seconds": 3.0},
        {"stage": "maps (1 maps)", "status": "done", "seconds": 0.5},
    ]


def test_label_counts_cross_labels_with_splits_in_order():
    examples = pd.DataFrame(
        {"label": [0, 1, 1, 0, 1], "split": ["test", "train", "train", "validation", "train"]}
    )
    table = label_counts(examples, ["neg", "pos"])
    assert table.columns.tolist() == ["train", "validation", "test"]
    assert table.loc["pos"].tolist() == [3, 0, 0] and table.loc["neg"].tolist() == [0, 1, 1]


def test_search_puts_an_exact_uid_first_then_text_matches_case_insensitively():
    found = search_examples(TRAIN, "u0")
    assert found["uid"].tolist() == ["u0", "u2"]  # u2 mentions "u0" in its text
    assert found["row"].tolist() == [0, 2]
    assert search_examples(TRAIN, "good")["uid"].tolist() == ["u0", "u2"]
    assert search_examples(TRAIN, "bad", limit=1)["uid"].tolist() == ["u1"]
    assert search_examples(TRAIN, "   ").empty and search_examples(TRAIN, "nothing like it").empty


def test_rank_profile_gives_rank_percentile_score_and_membership_per_method():
    rank_of = {"aum": np.array([3, 0, 1, 2]), "kcenter": np.array([0, 3, 2, 1])}
    kept = {"aum": np.array([False, True, True, False]), "kcenter": np.array([True, False, False, True])}
    profile = rank_profile(0, rank_of, {"aum": 0.7}, kept, METHODS)
    assert profile.index.tolist() == ["aum", "kcenter"]
    assert profile["rank"].tolist() == [4, 1]
    assert profile["percentile"].tolist() == [25.0, 100.0]  # 100 (n + 1 - rank) / n with n = 4
    assert profile.loc["aum", "score"] == 0.7 and np.isnan(profile.loc["kcenter", "score"])
    assert profile["kept"].tolist() == [False, True]


def test_a_clicked_heatmap_cell_gives_its_row_and_column_methods():
    event = {"selection": {"points": [{"x": "el2n", "y": "aum", "z": 0.4}], "point_indices": []}}
    assert clicked_cell(event) == ("aum", "el2n")
    assert clicked_cell({"selection": {"points": []}}) is None and clicked_cell(None) is None


def test_selected_points_map_back_to_rows_through_the_drawing_order_of_trace_zero():
    positions = np.array([4, 2, 0, 3, 1])
    event = {
        "selection": {
            "points": [
                {"curve_number": 0, "point_index": 0},
                {"curve_number": 0, "point_index": 3},
                {"curve_number": 1, "point_index": 1},
            ],
            "point_indices": [0, 3, 1],
        }
    }
    assert selected_rows(event, positions).tolist() == [3, 4]
    assert selected_rows({"selection": {"points": [], "point_indices": [1, 2, 9]}}, positions).tolist() == [
        0,
        2,
    ]
    assert selected_rows({"selection": {"points": [], "point_indices": []}}, positions).size == 0


def test_selection_frame_shows_uid_label_name_text_and_extra_columns_in_row_order():
    frame = selection_frame(
        TRAIN, np.array([2, 0]), ["neg", "pos"], {"score": np.array([0.1, 0.2, 0.3, 0.4])}
    )
    assert frame.to_dict("records") == [
        {"uid": "u2", "label": "pos", "text": "GOOD acting, bad u0", "score": 0.3},
        {"uid": "u0", "label": "neg", "text": "A good film", "score": 0.1},
    ]


def test_map_choices_put_umap_first_then_pca_in_representation_order_then_live_pca(tmp_path):
    run = RunStore(tmp_path).create("maps")
    for key in [
        "maps/dyn/pca",
        "maps/hs/pca",
        "maps/hs/umap",
        "hidden/train/epoch-1/cls",
        "hidden/train/epoch-1/mean",
        "hidden/train/pretrained/cls",
    ]:
        run.write_array(key, np.zeros((3, 2), np.float32), stage="s")
    choices = map_choices(Results(run).map_sources(), {"hs": "hidden states", "dyn": "losses"})
    assert [(s.kind, s.key) for s in choices.values()] == [
        ("cached", "maps/hs/umap"),
        ("cached", "maps/hs/pca"),
        ("cached", "maps/dyn/pca"),
        ("live", "hidden/train/epoch-1/cls"),
        ("live", "hidden/train/pretrained/cls"),
    ]
    assert next(iter(choices)) == "UMAP · hidden states (hs)"


def test_pages_are_one_line_each_with_known_needs_and_existing_scripts():
    assert sum(p.default for p in PAGES) == 1
    assert all(p.path.is_file() for p in PAGES), [p.script for p in PAGES if not p.path.is_file()]
    assert all(n in page_needs.NEEDS for p in PAGES for n in p.needs)
    assert list(sections()) == ["Run", "Compare methods", "Explore examples", "Export"]


def _bare_run(tmp_path):
    """A run that holds only its examples (what `compute` writes first)."""
    run = RunStore(tmp_path).create(
        "bare",
        {
            "dataset": {"label_names": ["neg", "pos"]},
            "config": {
                "dataset": {"train": "/data/x.csv", "limit": 50},
                "model": "minilm",
                "train": {"epochs": 2},
            },
        },
    )
    run.write_table("examples", TRAIN.assign(split="train"), stage="data")
    return run


def test_a_run_with_examples_only_lacks_scores_selections_and_maps_with_the_commands_to_compute_them(
    tmp_path,
):
    run = _bare_run(tmp_path)
    lacking = page_needs.missing(run, ("examples", "scores", "selections", "maps", "dynamics"))
    assert [n.key for n in lacking] == ["scores", "selections", "maps", "dynamics"]
    assert (
        page_needs.command_for(page_needs.NEEDS["scores"], run)
        == f"prunescope select bare --runs-dir {tmp_path.resolve()}"
    )
    assert page_needs.command_for(page_needs.NEEDS["maps"], run).endswith("--method pca")
    assert (
        page_needs.command_for(page_needs.NEEDS["dynamics"], run)
        == f"prunescope compute --data /data/x.csv --model minilm --epochs 2 --limit 50 "
        f"--runs-dir {tmp_path.resolve()}"
    )
    with pytest.raises(KeyError, match="unknown page needs"):
        page_needs.missing(run, ("colour",))


def test_stage_notes_explain_a_gap_by_running_and_failed_stages(tmp_path):
    run = _bare_run(tmp_path)
    run.begin_stage("select:aum")
    run.fail_stage("select:less", "MissingRepresentation: no gradients")
    note = page_needs.stage_note(page_needs.NEEDS["scores"], run)
    assert note == "running now: select:aum; 1 failed (e.g. select:less: MissingRepresentation: no gradients)"


def test_a_damaged_file_is_recomputed_by_the_command_of_the_stage_that_wrote_it(tmp_path):
    run = _bare_run(tmp_path)
    assert page_needs.recompute_command(run, "map:hs:umap").endswith("--representations hs --method umap")
    assert page_needs.recompute_command(run, "select:aum").startswith("prunescope select bare")
    assert page_needs.recompute_command(run, "train").startswith("prunescope compute --data /data/x.csv")


def test_a_map_selection_exports_the_same_columns_and_manifest_keys_as_a_method_export(small_run):  # noqa: F811
    results = Results(RunStore(small_run.parent).open(small_run.name))
    method_export = build_export(results, "aum", 0.1)
    rows = np.array([5, 1, 42])
    export = selection_export(
        results.train,
        rows,
        results.label_names,
        run_id=results.run.id,
        fingerprint="abc",
        source={"map": "maps/hs/pca", "representation": "hs", "box": [{"x": [0, 1], "y": [0, 1]}]},
    )
    assert export.frame.columns.tolist() == method_export.frame.columns.tolist()
    assert set(export.manifest) == set(method_export.manifest)
    assert export.manifest["method"] == "manual-selection" and export.manifest["size"] == 3
    assert export.manifest["parameters"]["map"] == "maps/hs/pca"
    uids = results.train["uid"].to_numpy()[rows].tolist()
    assert render(export, "txt").decode().split() == uids
    assert json.loads(render(export, "json")) == uids
    assert sum(export.manifest["label_histogram"].values()) == 3


def test_tie_note_names_the_block_a_budget_cut_splits():
    from app.views import tie_note

    counts = np.array([2.0, 1.0, 1.0, 1.0, 0.0])
    assert "block of 3 examples" in tie_note(counts, 3) and "2 of them" in tie_note(counts, 3)
    assert tie_note(counts, 4) is None


def test_gradient_checkpoints_used_counts_the_checkpoints_with_gradients():
    from app.views import gradient_checkpoints_used

    checkpoints = [
        {"id": "pretrained"},
        {"id": "epoch-1", "gradients": True},
        {"id": "epoch-2", "gradients": True},
    ]
    assert gradient_checkpoints_used("less", {"representation": "grad"}, checkpoints) == 2
    assert gradient_checkpoints_used("grand", {"representation": "grad-sgd"}, checkpoints) == 1
    assert gradient_checkpoints_used("influence", {"representation": "head"}, checkpoints) == 1
    assert gradient_checkpoints_used("el2n", {"representation": "outputs"}, checkpoints) is None


def test_gradient_capture_text_names_the_capture_and_its_epochs():
    from app.views import gradient_capture_text

    assert gradient_capture_text("step", [1, 2, 3]).startswith("step capture: taken at the training step")
    assert gradient_capture_text("step", [1, 2, 3]).endswith("epochs 1, 2, 3")
    assert "end-of-epoch checkpoint" in gradient_capture_text("checkpoint", [2])
    assert gradient_capture_text("checkpoint", []) is None and gradient_capture_text(None, [1]) is None


def test_rows_in_selection_takes_every_point_inside_a_box_or_a_lasso_from_the_geometry_alone():
    from app.views import page_slice, rows_in_range, rows_in_selection

    rng = np.random.default_rng(0)
    coords = rng.random((5000, 2)).astype(np.float32)
    box = {"selection": {"points": [], "box": [{"x": [0.6, 0.2], "y": [0.1, 0.3]}], "lasso": []}}
    x, y = coords[:, 0], coords[:, 1]
    expected = np.flatnonzero((x >= 0.2) & (x <= 0.6) & (y >= 0.1) & (y <= 0.3))
    assert rows_in_selection(coords, box).tolist() == expected.tolist()
    # a triangle lasso (0,0)-(1,0)-(0,1): inside when x + y < 1
    lasso = {"selection": {"points": [], "box": [], "lasso": [{"x": [0, 1, 0], "y": [0, 0, 1]}]}}
    assert rows_in_selection(coords, lasso).tolist() == np.flatnonzero(x + y < 1).tolist()
    # a non-convex lasso (an L shape) keeps its notch out
    l_shape = {"x": [0, 1, 1, 0.5, 0.5, 0], "y": [0, 0, 0.5, 0.5, 1, 1]}
    notch = (x > 0.5) & (y > 0.5)
    both = {"selection": {"box": [], "lasso": [l_shape], "points": []}}
    assert rows_in_selection(coords, both).tolist() == np.flatnonzero(~notch).tolist()
    view = rows_in_range(coords, (0.0, 0.5), (0.0, 0.5))
    assert rows_in_selection(coords, lasso, view).tolist() == view[(x[view] + y[view]) < 1].tolist()
    assert rows_in_selection(coords, None).size == 0
    assert page_slice(250, 3, 100) == slice(200, 250) and page_slice(250, 9, 100) == slice(200, 250)
    assert page_slice(0, 1, 100) == slice(0, 0)
