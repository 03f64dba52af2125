"""Export never loses a user's file, writes each format so its ids read back exactly, and picks the format
from the extension (issue 10 item 1 and 4; issue 11 item 2). Synthetic run: no model, seconds."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import stat

import pandas as pd
import pytest

from prune_core.cli import main
from prune_core.export import CSV_ESCAPING, build_export, read_csv_export, render
from prune_core.results import Results
from prune_core.store import RunStore
from prune_core.synthetic import make_synthetic_run

HOSTILE_UIDS = {
    0: "=SUM(A1:A9)",
    1: "+1",
    2: "-2",
    3: "@cmd",
    4: "\tTAB",
    5: "\rCR",
    6: "'quoted",
    7: 'comma, "quote"',
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("export-store")
    make_synthetic_run(RunStore(root), "plain", n=60, m=20, num_labels=2, seed=2)
    assert (
        main(["select", "plain", "--runs-dir", str(root), "--methods", "el2n", "--budgets", "0.3,0.5"]) == 0
    )
    run = make_synthetic_run(RunStore(root), "hostile", n=60, m=20, num_labels=2, seed=2)
    examples = run.read_table("examples")
    for position, uid in HOSTILE_UIDS.items():
        examples.loc[position, "uid"] = uid
    run.write_table("examples", examples, stage="data")
    return root


def export(store, *args: str) -> int:
    return main(["export", "plain", "--runs-dir", str(store), "--method", "el2n", *args])


def test_an_existing_file_is_never_replaced_without_overwrite(store, tmp_path, capsys):
    dataset = tmp_path / "my_dataset.csv"
    dataset.write_text("text,label\nmy only copy,1\n")
    dataset.chmod(0o644)
    assert export(store, "--budget", "0.5", "--output", str(dataset)) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err
    assert dataset.read_text() == "text,label\nmy only copy,1\n"
    assert not (tmp_path / "my_dataset.csv.manifest.json").exists()
    assert export(store, "--budget", "0.5", "--output", str(dataset), "--overwrite") == 0
    assert read_csv_export(dataset)["uid"].tolist()[:3] == pd.read_csv(dataset)["uid"].tolist()[:3]
    assert stat.S_IMODE(dataset.stat().st_mode) == 0o644  # the target keeps its mode
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_an_existing_manifest_also_blocks_the_export(store, tmp_path, capsys):
    (tmp_path / "subset.txt.manifest.json").write_text("{}")
    assert export(store, "--budget", "0.5", "--output", str(tmp_path / "subset.txt")) == 2
    assert "subset.txt.manifest.json already exists" in capsys.readouterr().err
    assert not (tmp_path / "subset.txt").exists()


def test_new_files_follow_the_umask(store, tmp_path):
    old = os.umask(0o027)
    try:
        assert export(store, "--budget", "0.5", "--output", str(tmp_path / "a.txt")) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "a.txt.manifest.json").stat().st_mode) == 0o640


def test_non_regular_targets_are_refused_even_with_overwrite(store, tmp_path, capsys):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    assert export(store, "--budget", "0.5", "--output", str(fifo), "--overwrite") == 2
    assert "FIFO" in capsys.readouterr().err and stat.S_ISFIFO(fifo.stat().st_mode)
    (tmp_path / "folder.txt").mkdir()
    assert export(store, "--budget", "0.5", "--output", str(tmp_path / "folder.txt"), "--overwrite") == 2
    assert "directory" in capsys.readouterr().err
    assert export(store, "--budget", "0.5", "--output", "/dev/null", "--format", "txt", "--overwrite") == 2
    assert "a device" in capsys.readouterr().err
    (tmp_path / "plain").write_text("a file, not a folder")
    assert export(store, "--budget", "0.5", "--output", str(tmp_path / "plain" / "x.txt")) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_symlinked_directories_and_files_follow_one_rule(store, tmp_path, capsys):
    outside, inside = tmp_path / "outside", tmp_path / "work"
    outside.mkdir()
    inside.mkdir()
    (inside / "real").mkdir()
    # pointing out of the directory that holds the link: refused, for a directory as for a file
    (inside / "dirlink").symlink_to(outside, target_is_directory=True)
    assert export(store, "--budget", "0.5", "--output", str(inside / "dirlink" / "x.txt")) == 2
    assert "symlink" in capsys.readouterr().err and not (outside / "x.txt").exists()
    (inside / "filelink.txt").symlink_to(outside / "y.txt")
    assert export(store, "--budget", "0.5", "--output", str(inside / "filelink.txt")) == 2
    assert not (outside / "y.txt").exists()
    # pointing within the same directory: followed, for a directory as for a file
    (inside / "near").symlink_to(inside / "real", target_is_directory=True)
    assert export(store, "--budget", "0.5", "--output", str(inside / "near" / "a.txt")) == 0
    assert (inside / "real" / "a.txt").is_file()
    (inside / "real" / "b.txt").write_text("mine\n")
    (inside / "real" / "b-link.txt").symlink_to("b.txt")
    assert export(store, "--budget", "0.5", "--output", str(inside / "real" / "b-link.txt")) == 2
    assert (inside / "real" / "b.txt").read_text() == "mine\n"
    assert (
        export(store, "--budget", "0.5", "--output", str(inside / "real" / "b-link.txt"), "--overwrite") == 0
    )
    assert (inside / "real" / "b-link.txt").is_symlink()  # the link stays; its target gets the export
    assert (inside / "real" / "b.txt").read_text() != "mine\n"


def test_each_export_has_its_own_manifest(store, tmp_path):
    assert export(store, "--budget", "0.5", "--output", str(tmp_path / "subset.txt")) == 0
    assert export(store, "--budget", "0.3", "--output", str(tmp_path / "subset.csv")) == 0
    txt = json.loads((tmp_path / "subset.txt.manifest.json").read_text())
    csv = json.loads((tmp_path / "subset.csv.manifest.json").read_text())
    assert (txt["format"], txt["budget"], txt["file"]) == ("txt", 0.5, "subset.txt")
    assert (csv["format"], csv["budget"], csv["file"]) == ("csv", 0.3, "subset.csv")
    assert csv["csv_escaping"] == CSV_ESCAPING and "csv_escaping" not in txt


@pytest.mark.parametrize(
    "name, fmt", [("s.csv", "csv"), ("s.json", "json"), ("s.jsonl", "jsonl"), ("s.parquet", "parquet")]
)
def test_format_follows_the_extension(store, tmp_path, name, fmt):
    out = tmp_path / name
    assert export(store, "--budget", "0.5", "--output", str(out)) == 0
    assert json.loads((tmp_path / f"{name}.manifest.json").read_text())["format"] == fmt
    expected = list(Results(RunStore(store).open("plain")).selected_uids("el2n", 0.5))
    if fmt == "csv":
        assert out.read_text().splitlines()[0] == "uid,rank,label,label_name"
        uids = read_csv_export(out)["uid"].tolist()
    elif fmt == "json":
        uids = json.loads(out.read_text())
    elif fmt == "jsonl":
        uids = [json.loads(line)["uid"] for line in out.read_text().splitlines()]
    else:
        uids = pd.read_parquet(out)["uid"].tolist()
    assert uids == expected


def test_format_flag_overrides_an_unknown_extension_and_contradictions_fail(store, tmp_path, capsys):
    assert export(store, "--budget", "0.5", "--output", str(tmp_path / "ids.lst"), "--format", "txt") == 0
    assert export(store, "--budget", "0.5", "--output", str(tmp_path / "ids.lst2")) == 2
    assert "give --format" in capsys.readouterr().err
    assert export(store, "--budget", "0.5", "--output", str(tmp_path / "x.csv"), "--format", "txt") == 2
    assert "contradicts the output's extension '.csv'" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_a_budget_list_on_export_is_an_error(store, tmp_path, capsys):
    assert export(store, "--budget", "0.1,0.2", "--output", str(tmp_path / "x.txt")) == 2
    assert "one value" in capsys.readouterr().err and not (tmp_path / "x.txt").exists()


def test_hostile_ids_round_trip_and_csv_cells_are_escaped(store):
    results = Results(RunStore(store).open("hostile"))
    exp = build_export(results, "random", ranking=True)
    uids = [str(u) for u in exp.frame["uid"]]
    assert set(HOSTILE_UIDS.values()) <= set(uids)
    raw = render(exp, "csv").decode()
    for line in raw.splitlines()[1:]:
        assert not line.startswith(("=", "+", "-", "@", "\t", "\r")), line
    assert '"\'=SUM(A1:A9)"' in raw and '"\'\tTAB"' in raw and '"\'\rCR"' in raw
    assert read_csv_export(io.BytesIO(render(exp, "csv")))["uid"].tolist() == uids
    assert json.loads(render(exp, "json")) == uids
    assert [json.loads(x)["uid"] for x in render(exp, "jsonl").decode().split("\n") if x] == uids
    assert pd.read_parquet(io.BytesIO(render(exp, "parquet")))["uid"].tolist() == uids


def test_ids_a_txt_file_cannot_hold_are_refused_by_name(store, tmp_path, capsys):
    examples = RunStore(store).open("plain").read_table("examples")
    run = make_synthetic_run(RunStore(store), "newline", n=60, m=20, num_labels=2, seed=2)
    examples.loc[0, "uid"] = "real\nfake-id"
    run.write_table("examples", examples, stage="data")
    args = ["export", "newline", "--runs-dir", str(store), "--method", "random", "--ranking"]
    assert main([*args, "--output", str(tmp_path / "ids.txt")]) == 2
    err = capsys.readouterr().err
    assert "'real\\nfake-id'" in err and "use csv, json, jsonl or parquet" in err
    assert not (tmp_path / "ids.txt").exists()
    assert main([*args, "--output", str(tmp_path / "ids.csv")]) == 0
    assert "real\nfake-id" in read_csv_export(tmp_path / "ids.csv")["uid"].tolist()


def test_datasets_filter_keeps_exactly_the_exported_examples(store, tmp_path):
    import datasets

    out = tmp_path / "keep.py"
    assert export(store, "--budget", "0.3", "--output", str(out)) == 0
    spec = importlib.util.spec_from_file_location("keep_filter", out)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    train = Results(RunStore(store).open("plain")).train
    data = datasets.Dataset.from_pandas(train[["uid", "text", "label"]].rename(columns={"uid": "id"}))
    kept = data.filter(module.keep)
    assert sorted(kept["id"]) == sorted(Results(RunStore(store).open("plain")).selected_uids("el2n", 0.3))


def test_datasets_filter_recognises_hashed_uids():
    from prune_core.data import _hashed_uids, _SplitColumns

    texts, labels = ["a", "b", "a"], ["1", "0", "1"]
    uids = _hashed_uids(_SplitColumns(texts, None, labels, None, None), __import__("collections").Counter())
    frame = pd.DataFrame({"uid": [uids[2], uids[1]], "rank": [1, 2], "label": [1, 0], "label_name": "x"})
    from prune_core.export import Export

    source = render(Export(frame, {"run": 'r"""x', "method": "m"}), "datasets").decode()
    namespace: dict = {}
    exec(compile(source, "keep.py", "exec"), namespace)  # noqa: S102 - the file a user would import
    rows = [{"text": t, "label": int(v)} for t, v in zip(texts, labels)]
    assert [namespace["keep"](row) for row in rows] == [False, True, True]
