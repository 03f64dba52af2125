"""Loading labelled text datasets: real shared data, sampling, uids, formats, and one test per bad input."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from prune_core.data import DataError, DatasetSpec, load_dataset, read_table, stratified_counts

# ---------------------------------------------------------------- helpers


def write_csv(path: Path, header: list[str], rows: list[list[object]], delimiter: str = ",") -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def assert_points_at(
    err: DataError, path: Path | str, row: int | None, column: str | None, line: int | None = None
) -> str:
    """The error names the file, the row (and line) and the column, as attributes and in its message."""
    message = str(err)
    assert err.path == str(path) and str(path) in message
    assert err.row == row and err.column == column
    if row is not None:
        assert f"row {row}" in message
    if line is not None:
        assert err.line == line and f"line {line}" in message
    if column is not None:
        assert repr(column) in message
    return message


TINY = [["a1", "a fine film", 1], ["a2", "a dull film", 0], ["a3", "loved it", 1], ["a4", "hated it", 0]]

# ---------------------------------------------------------------- the real shared datasets


@pytest.fixture(scope="module")
def sst2(sst2_dir):
    return load_dataset(DatasetSpec(str(sst2_dir)))


@pytest.fixture(scope="module")
def sst2_small(sst2_dir):
    return load_dataset(DatasetSpec(str(sst2_dir), limit=300, limit_validation=100))


def test_sst2_directory_gives_three_splits_with_readme_sizes_and_label_names(sst2, sst2_dir):
    assert sst2.sizes == {"train": 67349, "validation": 872, "test": 1821}
    assert sst2.label_names == ["negative", "positive"]
    assert list(sst2.examples.columns) == ["uid", "split", "label", "text", "length"]
    assert sst2.examples["label"].dtype == np.int64 and sst2.examples["length"].dtype == np.int64
    assert sst2.examples["split"].tolist() == ["train"] * 67349 + ["validation"] * 872 + ["test"] * 1821
    assert sst2.sources == {s: str(sst2_dir / f"{s}.csv") for s in ("train", "validation", "test")}
    # README: 29,780 negative / 37,569 positive in train; ids are the file's own id column
    assert np.bincount(sst2.split("train")["label"]).tolist() == [29780, 37569]
    first = sst2.examples.iloc[0]
    assert (first["uid"], first["text"], first["length"]) == (
        "sst2-train-00000",
        "hide new secretions from the parental units",
        7,
    )
    assert len(sst2.fingerprint) == 64


def test_limit_takes_exactly_n_and_keeps_each_label_share_within_one_example(sst2, sst2_small):
    assert sst2_small.sizes == {"train": 300, "validation": 100, "test": 1821}
    for split, n in (("train", 300), ("validation", 100)):
        full = np.bincount(sst2.split(split)["label"], minlength=2)
        sample = np.bincount(sst2_small.split(split)["label"], minlength=2)
        assert np.all(np.abs(sample - n * full / full.sum()) < 1)


def test_limited_sample_is_a_subset_in_original_file_order(sst2, sst2_small):
    position = {uid: i for i, uid in enumerate(sst2.split("train")["uid"])}
    kept = [position[uid] for uid in sst2_small.split("train")["uid"]]
    assert kept == sorted(kept)
    assert sst2_small.split("test")["uid"].tolist() == sst2.split("test")["uid"].tolist()


def test_limit_is_the_same_for_the_same_seed_and_differs_for_another(sst2_dir, sst2_small):
    again = load_dataset(DatasetSpec(str(sst2_dir), limit=300, limit_validation=100))
    other = load_dataset(DatasetSpec(str(sst2_dir), limit=300, limit_validation=100, seed=1))
    assert again.examples["uid"].tolist() == sst2_small.examples["uid"].tolist()
    assert again.fingerprint == sst2_small.fingerprint
    assert set(other.split("train")["uid"]) != set(sst2_small.split("train")["uid"])
    assert other.fingerprint != sst2_small.fingerprint


def test_trec6_has_six_named_labels_and_a_small_limit_keeps_the_rare_class(trec6_dir):
    full = load_dataset(DatasetSpec(str(trec6_dir)))
    assert full.sizes == {"train": 4909, "validation": 543, "test": 500}
    assert full.label_names == ["ABBR", "ENTY", "DESC", "HUM", "LOC", "NUM"]
    assert np.bincount(full.split("train")["label"]).tolist() == [77, 1124, 1047, 1100, 753, 808]
    # 60 * counts / 4909 = 0.94, 13.74, 12.80, 13.45, 9.20, 9.88: floors 0,13,12,13,9,9; ABBR lifted to 1,
    # the 3 left over go to the largest remainders (NUM .88, DESC .80, ENTY .74).
    small = load_dataset(DatasetSpec(str(trec6_dir), limit=60))
    assert np.bincount(small.split("train")["label"]).tolist() == [1, 14, 13, 13, 9, 10]


def test_sentence_pair_file_adds_text_pair_and_counts_both_texts_in_length(tmp_path):
    pairs = [
        ("A man plays a guitar .", "A person makes music .", "entailment"),
        ("A dog runs .", "A cat sleeps .", "contradiction"),
        ("Kids play outside .", "It is sunny .", "neutral"),
        ("A woman reads .", "Someone is reading .", "entailment"),
    ]
    train = write_jsonl(
        tmp_path / "nli.jsonl", [{"premise": p, "hypothesis": h, "label": y} for p, h, y in pairs]
    )
    validation = write_jsonl(
        tmp_path / "nli_dev.jsonl",
        [{"premise": "A man sings .", "hypothesis": "A man is silent .", "label": "contradiction"}],
    )
    ds = load_dataset(
        DatasetSpec(
            str(train), text_column="premise", text_pair_column="hypothesis", validation=str(validation)
        )
    )
    assert list(ds.examples.columns) == ["uid", "split", "label", "text", "text_pair", "length"]
    assert ds.label_names == ["contradiction", "entailment", "neutral"]  # sorted names, no labels.json
    train_rows = ds.split("train")
    assert train_rows["label"].tolist() == [1, 0, 2, 1]
    assert train_rows["length"].tolist() == [6 + 5, 4 + 4, 4 + 4, 4 + 4]
    assert train_rows["text_pair"].tolist() == [h for _, h, _ in pairs]


def test_same_rows_as_csv_tsv_jsonl_json_array_and_parquet_give_one_fingerprint(tmp_path):
    rows = pd.DataFrame(
        {
            "id": ["r1", "r2", "r3", "r4", "r5", "r6"],
            "text": ["NA", "007", "null", "crème brûlée , “quoted” ", 'a "comma, quote"\nnewline', "fine"],
            "label": [0, 1, 0, 1, 0, 1],
        }
    )
    rows.to_csv(tmp_path / "t.csv", index=False)
    rows.to_csv(tmp_path / "t.tsv", index=False, sep="\t")
    rows.to_json(tmp_path / "t.jsonl", orient="records", lines=True, force_ascii=False)
    rows.to_json(tmp_path / "t.json", orient="records")
    rows.to_parquet(tmp_path / "t.parquet")
    loaded = [
        load_dataset(DatasetSpec(str(tmp_path / f"t.{ext}"), validation_fraction=0.5))
        for ext in ("csv", "tsv", "jsonl", "json", "parquet")
    ]
    assert len({ds.fingerprint for ds in loaded}) == 1
    for ds in loaded:  # texts exactly as written: no NA guessing, no number parsing, whitespace kept
        assert sorted(ds.examples["text"]) == sorted(rows["text"])
        assert ds.sizes == {"train": 3, "validation": 3}


def test_read_table_keeps_csv_cells_as_written_text(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["id", "text", "label"], [["007", "NA", "1"], ["8", "", "0"]])
    table = read_table(path)
    assert table["id"].tolist() == ["007", "8"] and table["text"].tolist() == ["NA", ""]


def test_hashed_uids_are_content_hashes_with_a_suffix_per_repeat(tmp_path):
    header = ["text", "label"]
    train = write_csv(
        tmp_path / "train.csv",
        header,
        [["good film", 1], ["bad film", 0], ["good film", 1], ["good film", 1], ["good film", 0]],
    )
    validation = write_csv(tmp_path / "validation.csv", header, [["good film", 1], ["bad film", 0]])
    spec = DatasetSpec(str(tmp_path))
    ds = load_dataset(spec)
    good1 = hashlib.sha1(b"good film\x1f1").hexdigest()[:16]
    bad0 = hashlib.sha1(b"bad film\x1f0").hexdigest()[:16]
    good0 = hashlib.sha1(b"good film\x1f0").hexdigest()[:16]
    assert ds.split("train")["uid"].tolist() == [good1, bad0, f"{good1}-1", f"{good1}-2", good0]
    assert ds.split("validation")["uid"].tolist() == [f"{good1}-3", f"{bad0}-1"]
    assert load_dataset(spec).examples["uid"].tolist() == ds.examples["uid"].tolist()
    assert ds.examples["uid"].is_unique and ds.sources["train"] == str(train)
    assert ds.sources["validation"] == str(validation)


def test_string_labels_follow_labels_json_order_when_it_names_them(tmp_path):
    write_csv(
        tmp_path / "train.csv",
        ["text", "label"],
        [["so good", "positive"], ["so bad", "negative"], ["fine", "positive"]],
    )
    (tmp_path / "labels.json").write_text('{"0": "positive", "1": "negative"}', encoding="utf-8")
    ds = load_dataset(DatasetSpec(str(tmp_path), validation_fraction=0.3))
    assert ds.label_names == ["positive", "negative"]
    assert ds.examples.set_index("text").loc[["so good", "so bad", "fine"], "label"].tolist() == [0, 1, 0]


def test_dev_file_in_a_directory_is_the_validation_split(tmp_path):
    write_csv(tmp_path / "train.csv", ["id", "text", "label"], TINY)
    dev = write_csv(tmp_path / "dev.csv", ["id", "text", "label"], [["d1", "meh", 0]])
    ds = load_dataset(DatasetSpec(str(tmp_path)))
    assert ds.sizes == {"train": 4, "validation": 1} and ds.sources["validation"] == str(dev)
    assert ds.label_names == ["0", "1"]


def test_without_a_validation_file_a_stratified_fraction_of_train_is_held_out(tmp_path):
    rows = [[f"r{i}", f"text number {i}", int(i % 10 < 3)] for i in range(100)]  # 70 zeros, 30 ones
    train = write_csv(tmp_path / "all.csv", ["id", "text", "label"], rows)
    ds = load_dataset(DatasetSpec(str(train)))
    validation, rest = ds.split("validation"), ds.split("train")
    assert ds.sizes == {"train": 90, "validation": 10}
    assert np.bincount(validation["label"]).tolist() == [7, 3]
    assert sorted(set(validation["uid"]) | set(rest["uid"])) == sorted(r[0] for r in rows)
    assert rest["uid"].tolist() == [r[0] for r in rows if r[0] not in set(validation["uid"])]
    assert ds.sources["validation"] == str(train)
    assert load_dataset(DatasetSpec(str(train))).fingerprint == ds.fingerprint
    assert load_dataset(DatasetSpec(str(train), seed=3)).fingerprint != ds.fingerprint


def test_limit_larger_than_the_split_keeps_every_row(tmp_path):
    write_csv(tmp_path / "train.csv", ["id", "text", "label"], TINY)
    validation = write_csv(
        tmp_path / "validation.csv", ["id", "text", "label"], [["v1", "ok", 1], ["v2", "no", 0]]
    )
    ds = load_dataset(DatasetSpec(str(tmp_path), limit=50, limit_validation=2))
    assert ds.sizes == {"train": 4, "validation": 2}
    assert ds.examples["uid"].tolist() == ["a1", "a2", "a3", "a4", "v1", "v2"]
    assert ds.sources["validation"] == str(validation)


def test_spec_to_dict_is_json_and_rejects_bad_settings():
    spec = DatasetSpec(Path("data/x"), limit=10)
    assert json.loads(json.dumps(spec.to_dict()))["train"] == "data/x"
    with pytest.raises(ValueError, match="limit"):
        DatasetSpec("x", limit=0)
    with pytest.raises(ValueError, match="--validation-fraction"):
        DatasetSpec("x", validation_fraction=1.0)


# ---------------------------------------------------------------- largest-remainder allocation


def test_stratified_counts_uses_largest_remainders():
    # quotas 2.5, 1.5, 1.0: floors 2, 1, 1, the one left over goes to the first of the tied remainders
    assert stratified_counts(np.array([5, 3, 2]), 5).tolist() == [3, 1, 1]
    # quotas 9.7, 0.2, 0.1: every label gets one, so the big label gives one back
    assert stratified_counts(np.array([97, 2, 1]), 10).tolist() == [8, 1, 1]
    # fewer slots than labels: no minimum, the largest quotas win
    assert stratified_counts(np.array([50, 30, 20]), 2).tolist() == [1, 1, 0]
    assert stratified_counts(np.array([4, 2]), 9).tolist() == [4, 2]
    assert stratified_counts(np.array([4, 2]), 3, caps=np.array([3, 1])).tolist() == [2, 1]


@given(st.lists(st.integers(1, 500), min_size=1, max_size=8), st.integers(0, 2000))
def test_stratified_counts_sums_to_n_within_bounds(counts, n):
    counts = np.array(counts)
    take = stratified_counts(counts, n)
    assert take.sum() == min(n, counts.sum())
    assert np.all((take >= 0) & (take <= counts))
    if n >= len(counts):
        assert np.all(take >= 1)
    quota = min(n, counts.sum()) * counts / counts.sum()
    if np.all(quota >= 1):  # no label needed lifting: plain largest remainder, within one of its quota
        assert np.all(np.abs(take - quota) < 1)


# ---------------------------------------------------------------- Hugging Face hub ids (no network)


def test_hub_dataset_uses_its_splits_and_class_label_names(monkeypatch):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features(
        {"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])}
    )

    def split(texts, labels):
        return datasets.Dataset.from_dict({"sentence": texts, "label": labels}, features=features)

    calls = []

    def fake_load_dataset(name, config=None):
        calls.append((name, config))
        return datasets.DatasetDict(
            {
                "train": split(["good", "bad", "great", "awful"], [1, 0, 1, 0]),
                "validation": split(["fine", "poor"], [1, 0]),
                "test": split(["hidden a", "hidden b"], [-1, -1]),
            }
        )

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    ds = load_dataset(DatasetSpec("hf:glue:sst2", text_column="sentence"))
    assert calls == [("glue", "sst2")]
    assert ds.label_names == ["neg", "pos"]
    assert ds.sizes == {"train": 4, "validation": 2}  # all -1 labels: the hub's unlabelled test split
    assert ds.sources == {"train": "hf:glue:sst2", "validation": "hf:glue:sst2"}
    assert ds.split("validation")["text"].tolist() == ["fine", "poor"]


def test_unreachable_hub_dataset_is_a_data_error_naming_the_id(monkeypatch):
    datasets = pytest.importorskip("datasets")

    def offline(name, config=None):
        raise ConnectionError("Couldn't reach the Hugging Face Hub")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataError, match="could not load Hugging Face dataset 'no/such'.*ConnectionError"):
        load_dataset(DatasetSpec("hf:no/such"))


# ---------------------------------------------------------------- bad input: one test per case


def test_missing_column_lists_the_columns_found(tmp_path):
    path = write_csv(tmp_path / "train.csv", ["id", "sentence", "label"], TINY)
    with pytest.raises(DataError) as caught:
        load_dataset(DatasetSpec(str(path)))
    message = assert_points_at(caught.value, path, None, "text", line=1)
    assert "found columns id, sentence, label" in message and "--text-column" in message


def test_empty_text_names_file_row_line_and_column(tmp_path):
    path = write_csv(tmp_path / "train.csv", ["id", "text", "label"], [*TINY[:2], ["x", "", 1]])
    with pytest.raises(DataError, match="empty text") as caught:
        load_dataset(DatasetSpec(str(path)))
    assert_points_at(caught.value, path, 3, "text", line=4)


def test_whitespace_only_text_is_rejected(tmp_path):
    path = write_csv(tmp_path / "train.csv", ["id", "text", "label"], [["x", " \t ", 1], *TINY])
    with pytest.raises(DataError, match="only whitespace") as caught:
        load_dataset(DatasetSpec(str(path)))
    assert_points_at(caught.value, path, 1, "text", line=2)


def test_number_where_text_should_be_in_jsonl_is_rejected(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(
        '{"text": "fine", "label": 1}\n\n{"text": "poor", "label": 0}\n{"text": 42, "label": 1}\n',
        encoding="utf-8",
    )
    with pytest.raises(DataError, match="expected text, found int 42") as caught:
        load_dataset(DatasetSpec(str(path)))
    assert_points_at(caught.value, path, 3, "text", line=4)  # the blank line 2 is not a row


def test_missing_label_names_the_row(tmp_path):
    path = write_jsonl(
        tmp_path / "train.jsonl", [{"text": "fine", "label": 1}, {"text": "poor", "label": None}]
    )
    with pytest.raises(DataError, match="missing label") as caught:
        load_dataset(DatasetSpec(str(path)))
    assert_points_at(caught.value, path, 2, "label", line=2)


def test_duplicate_id_within_a_file_names_both_rows(tmp_path):
    path = write_csv(tmp_path / "train.csv", ["id", "text", "label"], [*TINY, ["a2", "again", 1]])
    with pytest.raises(DataError) as caught:
        load_dataset(DatasetSpec(str(path)))
    message = assert_points_at(caught.value, path, 5, "id", line=6)
    assert f"duplicate id 'a2', also at {path} row 2 (line 3)" in message


def test_duplicate_id_across_splits_names_both_files(tmp_path):
    train = write_csv(tmp_path / "train.csv", ["id", "text", "label"], TINY)
    test = write_csv(tmp_path / "test.csv", ["id", "text", "label"], [["t1", "ok", 0], ["a4", "hm", 1]])
    with pytest.raises(DataError) as caught:
        load_dataset(DatasetSpec(str(train), test=str(test)))
    message = assert_points_at(caught.value, test, 2, "id", line=3)
    assert f"{train} row 4 (line 5)" in message


def test_validation_label_never_seen_in_training_is_rejected(tmp_path):
    train = write_csv(tmp_path / "train.csv", ["id", "text", "label"], TINY)
    validation = write_csv(
        tmp_path / "validation.csv", ["id", "text", "label"], [["v1", "ok", 1], ["v2", "?", 2]]
    )
    with pytest.raises(DataError, match="label '2' never occurs in the training data") as caught:
        load_dataset(DatasetSpec(str(tmp_path)))
    assert_points_at(caught.value, validation, 2, "label", line=3)
    assert str(train) in str(caught.value)


def test_missing_file_is_named(tmp_path):
    path = tmp_path / "nowhere.csv"
    with pytest.raises(DataError, match="file not found") as caught:
        load_dataset(DatasetSpec(str(path)))
    assert_points_at(caught.value, path, None, None)


def test_directory_where_a_file_is_expected_is_named(tmp_path):
    train = write_csv(tmp_path / "train.csv", ["id", "text", "label"], TINY)
    (tmp_path / "val.csv").mkdir()
    with pytest.raises(DataError, match="expected a file, found a directory"):
        load_dataset(DatasetSpec(str(train), validation=str(tmp_path / "val.csv")))


def test_malformed_json_line_names_row_and_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "fine", "label": 1}\n{"text": "poor", "label": 0\n', encoding="utf-8")
    with pytest.raises(DataError, match="malformed JSON") as caught:
        read_table(path)
    assert_points_at(caught.value, path, 2, None, line=2)


def test_malformed_csv_row_with_extra_fields_names_row_and_line(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text('id,text,label\na1,"multi\nline",1\na2,one,two,0\n', encoding="utf-8")
    with pytest.raises(DataError, match="expected 3 fields.*found 4") as caught:
        read_table(path)
    assert_points_at(caught.value, path, 2, None, line=4)


def test_unclosed_quote_in_a_csv_names_the_row_where_it_opens(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text('id,text,label\na1,"two\n\nlines",1\n\na2,"never closed,0\na3,x,1\n', encoding="utf-8")
    with pytest.raises(DataError, match="quoted field is never closed") as caught:
        read_table(path)
    assert_points_at(caught.value, path, 2, None, line=6)


def test_latin1_bytes_in_a_csv_are_reported_as_not_utf8_with_row_and_column(tmp_path):
    path = tmp_path / "train.csv"
    path.write_bytes("id,text,label\na1,fine,1\na2,crème brûlée,0\n".encode("latin-1"))
    with pytest.raises(DataError, match="not valid UTF-8: byte 0xe8") as caught:
        read_table(path)
    assert_points_at(caught.value, path, 2, "text", line=3)


def test_a_single_training_class_is_rejected(tmp_path):
    path = write_csv(
        tmp_path / "train.csv", ["id", "text", "label"], [["a", "x", 1], ["b", "y", 1], ["c", "z", 1]]
    )
    with pytest.raises(DataError, match="a single class: all 3 rows \\(rows 1-3\\) have label '1'") as caught:
        load_dataset(DatasetSpec(str(path)))
    assert_points_at(caught.value, path, None, "label")


def test_unsupported_extension_lists_the_supported_ones(tmp_path):
    path = tmp_path / "train.xlsx"
    path.write_bytes(b"not a table")
    with pytest.raises(DataError, match=r"unsupported file type '\.xlsx'; expected one of \.csv, \.tsv"):
        read_table(path)


# ---------------------------------------------------------------- labels: one type per column, no silent NaN


@pytest.mark.parametrize("token", ["NaN", "nan", "null", "None", "NONE", ""])
def test_a_missing_label_token_in_csv_is_an_error_not_a_class(tmp_path, token):
    rows = [["a1", "fine", "1"], ["a2", "poor", "0"], ["a3", "meh", token], ["a4", "ok", "1"]]
    path = write_csv(tmp_path / "train.csv", ["id", "text", "label"], rows)
    with pytest.raises(DataError, match="missing label") as caught:
        load_dataset(DatasetSpec(str(path)))
    assert_points_at(caught.value, path, 3, "label", line=4)


def test_a_missing_label_token_is_a_class_when_labels_json_names_it(tmp_path):
    rows = [["a1", "fine", "none"], ["a2", "poor", "some"], ["a3", "meh", "none"], ["a4", "ok", "some"]]
    write_csv(tmp_path / "train.csv", ["id", "text", "label"], rows)
    (tmp_path / "labels.json").write_text('["none", "some"]', encoding="utf-8")
    ds = load_dataset(DatasetSpec(str(tmp_path / "train.csv"), validation_fraction=0.5))
    assert ds.label_names == ["none", "some"]


def test_ints_and_strings_in_one_jsonl_label_column_name_the_first_row_of_each(tmp_path):
    records = [
        {"text": "a", "label": "negative"},
        {"text": "b", "label": 0},
        {"text": "c", "label": "positive"},
        {"text": "d", "label": 1},
    ]
    path = write_jsonl(tmp_path / "train.jsonl", records)
    with pytest.raises(DataError, match="mixed label types") as caught:
        load_dataset(DatasetSpec(str(path)))
    message = assert_points_at(caught.value, path, 2, "label", line=2)
    assert "row 2 has the class index '0'" in message and "row 1 the label name 'negative'" in message


def test_a_csv_with_a_name_and_an_index_is_an_error(tmp_path):
    rows = [["a1", "fine", "negative"], ["a2", "poor", "1"], ["a3", "meh", "negative"], ["a4", "ok", "1"]]
    path = write_csv(tmp_path / "train.csv", ["id", "text", "label"], rows)
    with pytest.raises(DataError, match="mixed label types"):
        load_dataset(DatasetSpec(str(path)))


def test_labels_json_maps_mixed_indices_and_names_to_one_class_list(tmp_path):
    records = [
        {"text": "a", "label": "negative"},
        {"text": "b", "label": 1},
        {"text": "c", "label": 0},
        {"text": "d", "label": "positive"},
        {"text": "e", "label": "negative"},
        {"text": "f", "label": 1},
    ]
    write_jsonl(tmp_path / "train.jsonl", records)
    (tmp_path / "labels.json").write_text('{"0": "negative", "1": "positive"}', encoding="utf-8")
    ds = load_dataset(DatasetSpec(str(tmp_path / "train.jsonl"), validation_fraction=0.34))
    assert ds.label_names == ["negative", "positive"]
    by_text = dict(zip(ds.examples["text"], ds.examples["label"]))
    assert by_text == {"a": 0, "b": 1, "c": 0, "d": 1, "e": 0, "f": 1}
