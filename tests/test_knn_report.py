"""How approximate a selection's neighbour graph was: recorded by the select stage, shown by select and info."""

from __future__ import annotations

import numpy as np

import prune_core.select.graph as graph
from prune_core.cli import main
from prune_core.methods.select_stage import select_methods
from prune_core.select.graph import graphs_summary, knn_graph, recording_graphs
from prune_core.store import RunStore, keys
from prune_core.synthetic import make_synthetic_run


def planted(n: int = 600, d: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((12, d)) * 6
    return (centres[rng.integers(0, 12, n)] + rng.standard_normal((n, d))).astype(np.float32)


def test_graphs_built_inside_the_block_are_recorded_with_their_path_and_recall():
    x = planted()
    assert knn_graph(x, 5)[0].shape == (600, 5)  # outside a block: nothing recorded, nothing fails
    with recording_graphs() as graphs:
        knn_graph(x, 5, precision="approximate")
        knn_graph(x, 5, precision="float32")
    approximate, exact = graphs
    assert approximate["path"] == "approximate (faiss)" and approximate["recall"] >= 0.95
    assert (approximate["n"], approximate["k"]) == (600, 5)
    assert exact == {"path": "exact (float32 screening)", "recall": 1.0, "n": 600, "k": 5}
    assert graphs_summary(graphs) == (
        f"1 of 2 kNN graphs approximate (faiss), 600 rows each: recall min {approximate['recall']:.3f}, "
        f"mean {approximate['recall']:.3f} (exact search on up to 512 sampled rows)"
    )
    assert graphs_summary([exact]) is None  # nothing approximate: nothing to say
    with recording_graphs() as again:
        pass
    assert again == []  # each block starts empty


def test_select_records_and_prints_the_recall_of_an_approximate_graph(tmp_path, monkeypatch, capsys):
    store = RunStore(tmp_path)
    run = make_synthetic_run(store, n=160, m=40, num_labels=3, seed=7)
    lines: list[str] = []
    monkeypatch.setattr(graph, "EXACT_MAX_N", 50)  # 160 rows: D2's graph takes the faiss path
    select_methods(run, ["d2"], log=lines.append)
    record = run.stage_record(keys.select_stage("d2"))
    entries = record.extra["knn_graphs"]  # D2 builds one graph per class: classes over 50 rows go to faiss
    approximate = [e for e in entries if e["path"] == "approximate (faiss)"]
    assert approximate and all(0.0 <= e["recall"] <= 1.0 and e["n"] > 50 for e in approximate)
    assert all(e["path"] == "exact (float32 screening)" for e in entries if e["n"] <= 50)
    (line,) = [line for line in lines if "kNN graphs approximate" in line]
    assert line.startswith("[select:d2] ") and "recall min" in line
    assert main(["info", run.id, "--runs-dir", str(tmp_path)]) == 0
    assert line.removeprefix("[select:d2] ") in capsys.readouterr().out


def test_exact_graphs_leave_the_stage_record_as_before(tmp_path):
    store = RunStore(tmp_path)
    run = make_synthetic_run(store, n=160, m=40, num_labels=3, seed=7)
    select_methods(run, ["d2"], log=lambda _m: None)
    assert "knn_graphs" not in run.stage_record(keys.select_stage("d2")).extra
