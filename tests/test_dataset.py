"""Datasets on disk: layout, splits, determinism, resuming, reading, damaged files, CSV import,
CLI."""

import csv
import json
import os
import re
import shutil
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lagnb import cli
from lagnb.data.build import SampleParams, build_dataset, ensure_dataset
from lagnb.data.features import FEATURE_COLUMNS, features
from lagnb.data.importing import import_bart_l_csv, recognise_columns
from lagnb.data.reader import (
    DESCRIPTOR_COLUMNS,
    SCHEMA,
    SPLITS,
    load_frame,
    load_rows,
    load_split,
    read_meta,
)
from lagnb.data.sampling import content_key
from lagnb.data.writer import ShardStore, split_of
from lagnb.errors import LagnbError
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import Field, fields_tokens, parse_fields

SMALL = dict(n=40, seed=3, max_fields=2, reps="bart-l", max_target_len=400, shard_size=16)


def rows(out, split=None):
    return load_rows(out, [split] if split else SPLITS)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("data") / "small"
    return build_dataset(out, workers=1, progress=False, **SMALL)


def test_layout_counts_and_columns(small):
    meta = read_meta(small)
    assert meta["format"] == 1 and meta["kind"] == "sampled" and meta["lagnb_version"]
    counts = meta["counts"]
    assert counts["train"] + counts["valid"] + counts["test"] == 40
    assert counts["ood"] == 2  # 5 % of n
    for split in SPLITS:
        ds = load_split(small, split)
        assert len(ds) == counts[split]
        assert ds.column_names == SCHEMA.names
    for p in small.rglob("*"):
        assert not p.name.startswith(".") or p.name == ".lock", p  # no temporary/state files
    assert sorted(p.name for p in (small / "train").iterdir())[0] == "part-00000.parquet"


def test_rows_are_exact_and_consistent(small):
    for r in rows(small):
        fields = parse_fields(r["input"])
        assert r["input"] == fields_tokens(fields)
        lag = lagrangian(fields)
        assert r["target"] == lag.tokens()
        assert r["n_terms"] == len(lag.term_tokens())
        assert r["target_len"] == len(r["target"].split()) <= 800
        assert r["input_len"] == len(r["input"].split())
        assert r["n_fields"] == len(fields)
        assert r["content_key"] == content_key(fields)
        assert {c: r[c] for c in FEATURE_COLUMNS} == features(lag).as_columns()
        if r["split"] != "ood":
            assert 1 <= r["n_fields"] <= 2 and r["target_len"] <= 400
        else:
            assert 3 <= r["n_fields"] <= 4


def test_contents_are_unique_and_splits_disjoint(small):
    keys = [(r["content_key"], r["split"]) for r in rows(small)]
    assert len({k for k, _ in keys}) == len(keys)
    for key, split in keys:
        if split != "ood":
            assert split == split_of(key, 0.05, 0.05)


def test_split_of_is_a_stable_hash():
    assert split_of("FIELD SPIN 0", 0.05, 0.05) == split_of("FIELD SPIN 0", 0.05, 0.05)
    assert split_of("FIELD SPIN 0", 1.0, 0.0) == "valid"
    assert split_of("FIELD SPIN 0", 0.0, 1.0) == "test"
    assert split_of("FIELD SPIN 0", 0.0, 0.0) == "train"


def test_result_does_not_depend_on_worker_count(small, tmp_path):
    other = build_dataset(tmp_path / "w2", workers=2, progress=False, **SMALL)
    assert rows(other) == rows(small)
    assert read_meta(other)["phases"] == read_meta(small)["phases"]


def test_shuffle_and_canonical_order(tmp_path):
    params = {**SMALL, "n": 12, "n_ood": 0, "shuffle": False}
    out = build_dataset(tmp_path / "canon", workers=1, progress=False, **params)
    for r in rows(out):
        assert r["input"] == fields_tokens(parse_fields(r["content_key"]))


def test_enriched_strategy_reaches_its_targets(tmp_path):
    targets = {"trilinear": 0.3, "yukawa": 0.3, "singlet": 0.2}
    out = build_dataset(
        tmp_path / "enriched",
        workers=1,
        progress=False,
        **{**SMALL, "n": 60, "strategy": "enriched", "targets": targets},
    )
    meta = read_meta(out)
    main = [r for r in rows(out) if r["split"] != "ood"]
    assert meta["targets"] == targets
    for feature, target in targets.items():
        achieved = sum(r[f"has_{feature}"] for r in main) / len(main)
        assert achieved >= target
        assert meta["achieved"][feature] == pytest.approx(achieved)
    assert sum(meta["phases"]["main"]["proposals"].values()) == 60
    assert set(meta["phases"]["main"]["proposals"]) - {"uniform"}


def test_interrupted_build_resumes_to_the_same_dataset(small, tmp_path):
    out = tmp_path / "resumed"
    build_dataset(out, workers=1, progress=False, max_shards=2, **SMALL)
    assert not (out / "meta.json").exists()
    state = json.loads((out / ".state.json").read_text())
    assert state["next_shard"] == 2
    with pytest.raises(LagnbError, match="no complete dataset"):
        load_split(out, "train")
    build_dataset(out, workers=1, progress=False, **SMALL)
    assert rows(out) == rows(small)
    assert not (out / ".state.json").exists()


def test_crash_mid_run_leaves_a_resumable_folder(small, tmp_path, monkeypatch):
    out = tmp_path / "crashed"
    real = ShardStore.write_shard
    calls = {"n": 0}

    def flaky(self, shard_rows):
        calls["n"] += 1
        if calls["n"] == 3:
            # half-written shard: a part file appears, then the process dies
            (out / "train").mkdir(exist_ok=True)
            (out / "train" / f"part-{self.state['next_shard']:05d}.parquet").write_text("junk")
            raise KeyboardInterrupt
        return real(self, shard_rows)

    monkeypatch.setattr(ShardStore, "write_shard", flaky)
    with pytest.raises(KeyboardInterrupt):
        build_dataset(out, workers=1, progress=False, **SMALL)
    monkeypatch.setattr(ShardStore, "write_shard", real)
    build_dataset(out, workers=1, progress=False, **SMALL)
    assert rows(out) == rows(small)


def test_concurrent_builds_of_one_folder_take_turns(small, tmp_path):
    out = tmp_path / "shared"
    with ThreadPoolExecutor(2) as pool:
        jobs = [
            pool.submit(build_dataset, out, workers=1, progress=False, **SMALL) for _ in range(2)
        ]
        assert [j.result() for j in jobs] == [out, out]
    assert rows(out) == rows(small)


def test_existing_dataset_with_other_parameters(small, tmp_path):
    before = (small / "meta.json").stat().st_mtime_ns
    assert build_dataset(small, workers=1, progress=False, **SMALL) == small
    assert (small / "meta.json").stat().st_mtime_ns == before  # same parameters: kept
    with pytest.raises(LagnbError, match="other parameters"):
        build_dataset(small, workers=1, progress=False, **{**SMALL, "seed": 4})
    partial = tmp_path / "partial"
    build_dataset(partial, workers=1, progress=False, max_shards=1, **SMALL)
    with pytest.raises(LagnbError, match="partial dataset built with other parameters"):
        build_dataset(partial, workers=1, progress=False, **{**SMALL, "seed": 4})
    build_dataset(partial, workers=1, progress=False, overwrite=True, **{**SMALL, "n": 10})
    assert read_meta(partial)["params"]["n"] == 10


def test_ensure_dataset_builds_once_then_reuses(small, tmp_path):
    out = ensure_dataset(tmp_path / "e", workers=1, progress=False, **{**SMALL, "n": 8})
    assert read_meta(out)["params"]["n"] == 8
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ensure_dataset(small, progress=False, **SMALL) == small
    with pytest.warns(UserWarning, match="built with other parameters"):
        assert ensure_dataset(small, progress=False, **{**SMALL, "seed": 9}) == small


def test_bad_parameters_are_named():
    with pytest.raises(LagnbError, match=r"unknown sampling parameter.*sizes"):
        SampleParams.from_kwargs(sizes=3)
    with pytest.raises(LagnbError, match="strategy must be one of"):
        SampleParams(strategy="clever")
    with pytest.raises(LagnbError, match=r"ood_min_fields \(3\) must exceed max_fields \(3\)"):
        SampleParams(max_fields=3, ood_min_fields=3)
    with pytest.raises(LagnbError, match="valid_fraction"):
        SampleParams(valid_fraction=2)
    with pytest.raises(LagnbError, match="main field distribution: su3_weights"):
        SampleParams(su3_weights=[2])


def test_too_long_targets_are_dropped_and_counted(tmp_path):
    out = build_dataset(
        tmp_path / "short",
        workers=1,
        progress=False,
        **{**SMALL, "n": 20, "max_target_len": 200, "n_ood": 0},
    )
    meta = read_meta(out)
    assert all(r["target_len"] <= 200 for r in rows(out))
    dropped = meta["phases"]["main"]["too_long"]
    assert dropped > 0 and sum(meta["phases"]["main"]["too_long_by_n_fields"].values()) == dropped


def test_shortfall_is_reported(tmp_path):
    # only 3 single-field contents exist: the phase runs out of candidates
    params = dict(
        n=5, max_fields=1, su3_weights=[1], su2_weights=[1], hypercharges=["0"], n_ood=0,
        max_candidates=50, shard_size=10,
    )  # fmt: skip
    with pytest.warns(UserWarning, match="only 3 of 5"):
        out = build_dataset(tmp_path / "few", workers=1, progress=False, **params)
    assert read_meta(out)["phases"]["main"]["shortfall"] == 2


def test_load_split_errors(small, tmp_path):
    with pytest.raises(LagnbError, match="unknown split 'training'"):
        load_split(small, "training")
    with pytest.raises(LagnbError, match="no complete dataset"):
        load_split(tmp_path / "nothing", "train")
    empty = build_dataset(tmp_path / "no_ood", workers=1, progress=False, **{**SMALL, "n_ood": 0})
    ds = load_split(empty, "ood")
    assert len(ds) == 0 and ds.column_names == SCHEMA.names


def test_the_reader_views_agree(small):
    table = rows(small, "test")
    assert load_rows(small, ["test"], ["input"], limit=2) == [
        {"input": r["input"], "split": "test"} for r in table[:2]
    ]
    # one split by name is the list of that split, not its letters
    assert load_rows(small, "test", ["input"]) == load_rows(small, ["test"], ["input"])
    frame = load_frame(small)
    assert list(frame.columns) == [*DESCRIPTOR_COLUMNS, "split"]
    assert len(frame) == sum(read_meta(small)["counts"][s] for s in ("train", "valid", "test"))
    with pytest.raises(LagnbError, match=r"unknown dataset column.*tokens"):
        load_rows(small, ["test"], ["tokens"])


# -- damaged datasets: one-line errors naming the file and the fix --------------------------------
REBUILD = "and rerun `lagnb sample` with the same arguments to rebuild it"


def one_line_error(call, *patterns):
    """The message of the LagnbError that ``call()`` raises: one line, matching ``patterns``."""
    with pytest.raises(LagnbError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, message
    for pattern in patterns:
        assert re.search(pattern, message), (pattern, message)
    return message


@pytest.fixture
def copy(small, tmp_path):
    """A copy of the small dataset, to damage."""
    return Path(shutil.copytree(small, tmp_path / "copy"))


def damage(path, how):
    data = path.read_bytes()
    path.write_bytes(
        {"truncated": data[: len(data) // 2], "garbage": b"not parquet " * 50, "empty": b""}[how]
    )


@pytest.mark.parametrize("how", ["truncated", "garbage", "empty"])
def test_a_corrupt_shard_is_named(copy, how):
    shard = copy / "train" / "part-00000.parquet"
    damage(shard, how)
    for call in (
        lambda: load_split(copy, "train"),
        lambda: load_rows(copy),
        lambda: load_frame(copy),
    ):
        one_line_error(
            call,
            re.escape(f"{shard} is not a readable parquet file"),
            re.escape(f"delete {copy} {REBUILD}"),
        )
    assert len(load_split(copy, "ood")) == read_meta(copy)["counts"]["ood"]  # others still read


def test_a_shard_with_other_columns_is_named(copy):
    shard = copy / "valid" / "part-00000.parquet"
    table = pq.read_table(shard)
    pq.write_table(table.drop_columns(["target"]), shard)
    one_line_error(
        lambda: load_split(copy, "valid"),
        re.escape(f"{shard} is not a part file of a lagnb dataset (missing column(s) target)"),
    )
    pq.write_table(table.set_column(2, "n_fields", pa.array(["x"] * len(table))), shard)
    one_line_error(lambda: load_split(copy, "valid"), "n_fields is string, not int32")


def test_a_corrupt_shard_stops_a_resumed_build(tmp_path):
    out = tmp_path / "partial"
    build_dataset(out, workers=1, progress=False, max_shards=2, **SMALL)
    shard = min(out.glob("*/part-00000.parquet"))
    damage(shard, "garbage")
    one_line_error(
        lambda: build_dataset(out, workers=1, progress=False, **SMALL),
        re.escape(f"{shard} is not a readable parquet file"),
        re.escape(REBUILD),
    )
    (out / ".state.json").write_text("{")
    one_line_error(
        lambda: build_dataset(out, workers=1, progress=False, **SMALL),
        re.escape(f"{out / '.state.json'} (the state of an unfinished build) is damaged"),
    )


def test_missing_meta_says_why_and_what_to_do(copy, tmp_path):
    partial = tmp_path / "partial"
    build_dataset(partial, workers=1, progress=False, max_shards=1, **SMALL)
    one_line_error(
        lambda: load_split(partial, "train"),
        "no complete dataset",
        "shows a build that stopped part-way; rerun `lagnb sample`.* to finish it",
    )
    (copy / "meta.json").unlink()
    one_line_error(
        lambda: load_split(copy, "train"),
        re.escape(f"{copy / 'meta.json'} is missing"),
        re.escape(f"delete {copy} and rerun `lagnb sample` (or `lagnb import-csv`) with the same"),
    )
    one_line_error(lambda: read_meta(tmp_path / "nowhere"), "the folder does not exist")
    (tmp_path / "bare").mkdir()
    one_line_error(lambda: load_rows(tmp_path / "bare"), "no complete dataset", "no split folders")


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ('{"format": 1, "counts": ', r"meta\.json is not valid JSON \(Expecting value at line 1\)"),
        ("[1, 2]", r"meta\.json is not a lagnb dataset description"),
        ('{"format": 99, "counts": {}}', r"meta\.json: dataset format 99, but this lagnb reads"),
        ('{"format": 1, "counts": {"train": -1}}', r"meta\.json: 'counts' has bad entries"),
        (b"\xff\xfe{}", r"meta\.json cannot be read"),
    ],
)
def test_a_garbled_meta_is_named(copy, text, pattern):
    path = copy / "meta.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    for call in (
        lambda: load_split(copy, "train"),
        lambda: build_dataset(copy, workers=1, progress=False, **SMALL),
    ):
        one_line_error(
            call, re.escape(str(copy)) + "/" + pattern, f"delete {re.escape(str(copy))} and rerun"
        )


def test_a_folder_without_its_splits(copy):
    counts = read_meta(copy)["counts"]
    shutil.rmtree(copy / "ood")
    one_line_error(
        lambda: load_split(copy, "ood"),
        re.escape(f"{copy / 'ood'} has no part files, but meta.json records {counts['ood']} rows"),
        re.escape(REBUILD),
    )
    assert len(load_split(copy, "train")) == counts["train"]
    for split in SPLITS:
        shutil.rmtree(copy / split, ignore_errors=True)
    one_line_error(lambda: load_rows(copy), re.escape(f"{copy} has meta.json but no split folders"))


def test_a_missing_shard_is_noticed(copy):
    shards = sorted((copy / "train").glob("part-*.parquet"))
    assert len(shards) > 1
    lost = pq.ParquetFile(shards[-1]).metadata.num_rows
    shards[-1].unlink()
    counts = read_meta(copy)["counts"]
    one_line_error(
        lambda: load_split(copy, "train"),
        re.escape(
            f"{copy / 'train'} holds {counts['train'] - lost} rows, but meta.json records "
            f"{counts['train']}"
        ),
    )


def test_cli_stats_on_a_corrupt_dataset_prints_one_line(copy, capsys):
    damage(copy / "train" / "part-00000.parquet", "truncated")
    assert cli.main(["stats", str(copy)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "part-00000.parquet" in err and REBUILD in err


# -- CSV import ------------------------------------------------------------------------------------
def write_csv(path: Path, header, records):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(records)


def bart_l_row(fields, split):
    # their layout: compact numbers in the input, [SOS]/[EOS] around it
    text = fields_tokens(fields).replace("1 / 2", "1/2").replace("- 1/2", "-1/2")
    return [text, lagrangian(fields).tokens(), split]


def test_import_bart_l_csv(tmp_path):
    higgs = [Field.scalar(1, 2, 1)]
    contents = [
        (higgs, "train"),
        ([Field.right(1, 1, 0)], "train"),
        ([Field.left(1, 2, -1), Field.scalar(1, 2, 1)], "eval"),
        (list(reversed([Field.left(1, 2, -1), Field.scalar(1, 2, 1)])), "train"),  # duplicate
        ([Field.scalar()], "eval"),
    ]
    path = tmp_path / "sampled.csv"
    write_csv(path, ["fields", "Lagrangian", "train/eval"], [bart_l_row(f, s) for f, s in contents])
    out = import_bart_l_csv(path, tmp_path / "imported", workers=1, progress=False, chunk_rows=2)
    meta = read_meta(out)
    assert meta["kind"] == "imported"
    assert meta["phases"]["main"]["duplicates"] == 1
    assert meta["phases"]["main"]["cross_split_duplicates"] == 1
    assert meta["counts"]["test"] == 2 and meta["counts"]["train"] + meta["counts"]["valid"] == 2
    for r in rows(out):
        fields = parse_fields(r["input"])
        assert r["input"] == fields_tokens(fields)  # normalised: SPIN 1 / 2
        assert r["target"] == lagrangian(fields).tokens()
        assert {c: r[c] for c in FEATURE_COLUMNS} == features(lagrangian(fields)).as_columns()
        assert r["n_terms"] == len(lagrangian(fields).term_tokens())


def test_an_interrupted_import_resumes_to_the_same_dataset(tmp_path, monkeypatch):
    contents = [[Field.scalar(1, 2, 1)], [Field.right(1, 1, 0)], [Field.scalar()], [Field.left()]]
    path = tmp_path / "four.csv"
    write_csv(path, ["fields", "Lagrangian"], [bart_l_row(f, "train") for f in contents])
    args = dict(workers=1, progress=False, chunk_rows=1)
    whole = import_bart_l_csv(path, tmp_path / "whole", **args)
    real = ShardStore.write_shard
    calls = {"n": 0}

    def flaky(self, shard_rows):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, shard_rows)

    monkeypatch.setattr(ShardStore, "write_shard", flaky)
    with pytest.raises(KeyboardInterrupt):
        import_bart_l_csv(path, tmp_path / "resumed", **args)
    monkeypatch.setattr(ShardStore, "write_shard", real)
    assert not (tmp_path / "resumed" / "meta.json").exists()
    resumed = import_bart_l_csv(path, tmp_path / "resumed", **args)
    assert rows(resumed) == rows(whole) and len(rows(whole)) == 4
    assert read_meta(resumed)["counts"] == read_meta(whole)["counts"]


def test_import_recognises_columns_or_says_what_it_found(tmp_path):
    assert recognise_columns(["Unnamed: 0", "Fields", "Lagrangian", "train/eval"]) == {
        "fields": "Fields",
        "lagrangian": "Lagrangian",
        "split": "train/eval",
    }
    path = tmp_path / "bad.csv"
    write_csv(path, ["input_text", "output_text"], [["a", "b"]])
    one_line_error(
        lambda: import_bart_l_csv(path, tmp_path / "x", progress=False),
        re.escape(f"{path}: not a BART-L CSV: no column for fields and lagrangian"),
        "input_text",
    )
    with pytest.raises(LagnbError, match="no such CSV file"):
        import_bart_l_csv(tmp_path / "missing.csv", tmp_path / "x", progress=False)


def test_import_names_a_bad_row_or_skips_it(tmp_path):
    path = tmp_path / "rows.csv"
    good = bart_l_row([Field.scalar(1, 2, 1)], "train")
    write_csv(path, ["fields", "Lagrangian"], [good, ["FIELD SPIN 0 SU3 5", "+ x"]])
    with pytest.raises(LagnbError, match="row 3: field 1"):
        import_bart_l_csv(path, tmp_path / "a", workers=1, progress=False)
    out = import_bart_l_csv(path, tmp_path / "b", workers=1, progress=False, on_error="skip")
    assert read_meta(out)["phases"]["main"]["errors"] == 1
    assert sum(read_meta(out)["counts"].values()) == 1


def test_import_bad_files_are_named(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    one_line_error(
        lambda: import_bart_l_csv(empty, tmp_path / "e", progress=False),
        re.escape(f"{empty} is empty"),
        "a header line naming the columns fields, Lagrangian and train/eval",
    )
    header_only = tmp_path / "header.csv"
    write_csv(header_only, ["fields", "Lagrangian", "train/eval"], [])
    one_line_error(
        lambda: import_bart_l_csv(header_only, tmp_path / "h", workers=1, progress=False),
        re.escape(f"{header_only}: nothing to import (no data rows)"),
    )
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    one_line_error(
        lambda: import_bart_l_csv(binary, tmp_path / "b", progress=False),
        re.escape(f"{binary}: not a BART-L CSV: no column for fields and lagrangian"),
    )
    unclosed = tmp_path / "unclosed.csv"
    good = bart_l_row([Field.scalar(1, 2, 1)], "train")
    write_csv(unclosed, ["fields", "Lagrangian", "train/eval"], [good])
    with open(unclosed, "a") as fh:
        fh.write('"FIELD SPIN 0,+ FIELD,train\n')
    one_line_error(
        lambda: import_bart_l_csv(unclosed, tmp_path / "u", workers=1, progress=False),
        re.escape(f"{unclosed}: the CSV parser stopped (Error tokenizing data"),
        "fix or remove that line",
    )


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (["", "+ FIELD SPIN 0 ID0", "train"], "row 3: empty 'fields' cell"),
        ([None, "", "train"], "row 3: empty 'Lagrangian' cell"),
        ([None, "+ FIELD SPIN 0 ID0 x_1", "train"], "row 3: the Lagrangian has the token 'x_1'"),
        ([b"FIELD SPIN 0 SU2 \xff", "+ FIELD", "train"], "row 3: the 'fields' cell is not UTF-8"),
        ([None, "+ FIELD SPIN 0 ID0", "dev"], "row 3: unknown 'train/eval' value 'dev'"),
    ],
)
def test_import_names_an_undecodable_row(tmp_path, record, message):
    good = bart_l_row([Field.scalar(1, 2, 1)], "train")
    fields = record[0] if record[0] is not None else bart_l_row([Field.scalar()], "train")[0]
    path = tmp_path / "rows.csv"
    write_csv(path, ["fields", "Lagrangian", "train/eval"], [good])
    with open(path, "ab") as fh:
        cells = [c if isinstance(c, bytes) else c.encode() for c in (fields, *record[1:])]
        fh.write(b",".join(cells) + b"\n")
    one_line_error(
        lambda: import_bart_l_csv(path, tmp_path / "a", workers=1, progress=False),
        re.escape(f"{path}: {message}"),
    )
    if "train/eval" not in message:  # a bad cell is skipped and counted on request
        out = import_bart_l_csv(path, tmp_path / "b", workers=1, progress=False, on_error="skip")
        assert read_meta(out)["phases"]["main"]["errors"] == 1
        assert sum(read_meta(out)["counts"].values()) == 1


# -- CLI -------------------------------------------------------------------------------------------
def test_cli_sample_prints_achieved_fractions(tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["sample", "--n", "12", "--seed", "1", "--strategy", "enriched", "--out", str(out)]
    args += ["--max-fields", "2", "--reps", "bart-l", "--max-target-len", "400", "--workers", "1"]
    args += ["--target", "trilinear=0.25", "--no-progress"]
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    assert "trilinear" in text and "25.0%" in text and "achieved" in text
    assert read_meta(out)["targets"] == {"trilinear": 0.25}
    assert cli.main(["stats", str(out), "--png", str(tmp_path / "o.png")]) == 0
    assert (tmp_path / "o.png").stat().st_size > 10_000
    assert cli.main(["sample", "--n", "5", "--out", str(out), "--no-progress"]) == 2
    assert "other parameters" in capsys.readouterr().err


def test_parquet_files_have_the_schema(small):
    for p in (small / "train").glob("part-*.parquet"):
        assert pq.read_schema(p).names == SCHEMA.names
    assert os.path.isfile(small / "meta.json")


def test_named_models_are_never_sampled(tmp_path):
    # scalar doublets with Y = 1 only: the contents are H and H H, and H H is the 2HDM, which is
    # held out of every split (the named models are what every model is scored on)
    params = dict(
        n=2, max_fields=2, spin_weights=["scalar"], su3_weights=[1], su2_weights=[2],
        hypercharges=["1"], n_ood=0, max_candidates=40, shard_size=10,
    )  # fmt: skip
    with pytest.warns(UserWarning, match="only 1 of 2"):
        out = build_dataset(tmp_path / "named", workers=1, progress=False, **params)
    keys = [r["content_key"] for r in rows(out)]
    assert keys == [content_key([Field.scalar(1, 2, 1)])]
    assert read_meta(out)["phases"]["main"]["held_out"] > 0
