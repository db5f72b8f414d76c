import json
import tarfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import webdataset as wds

from dataengine.schema import Frame, Pair, Unit
from dataengine.sinks.encode import decode_member
from dataengine.sinks.layout import Layout
from dataengine.sinks.shard_writer import (
    FIXED_MTIME,
    ShardOrigin,
    ShardWriter,
    commit_shard,
    remove_temporaries,
)
from tests.helpers import fresh_python


def _unit() -> Unit:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    mask = np.zeros((24, 32), np.uint8)
    mask[4:10, 5:20] = 255
    good = Pair(
        key="bb" * 16,
        task="inpainting",
        category="repainting",
        split="val",
        frames=[Frame(image=image, mask=mask, lossless=True)],
        target=image,
        target_lossless=True,
        instruction="fill in {image}",
        scores={"l1": 0.25},
        provenance={"recipe": "t", "source_ids": ["s1"], "params": {"kind": "rect"}},
    )
    first = Pair(
        key="aa" * 16,
        task="grayscale",
        category="low_level_analysis",
        split="val",
        frames=[Frame(image=image)],
        target=image,
        instruction="grey {image}",
    )
    broken = Pair(key="cc" * 16, task="grayscale", category="low_level_analysis", split="val").fail(
        "truncated_image", "file ends early"
    )
    return Unit(id="u1", split="val", index=3, refs=["s1", "s2", "s3"], pairs=[good, broken, first])


def test_round_trip_through_webdataset(tmp_path):
    stats = ShardWriter(tmp_path).write(_unit())
    assert stats["samples"] == 2 and stats["rows"] == 3
    tar = Layout(tmp_path).tar("val-000003")
    samples = list(wds.WebDataset(str(tar), shardshuffle=False))
    assert [s["__key__"] for s in samples] == ["aa" * 16, "bb" * 16]  # sorted by key
    good = samples[1]
    assert set(good) - {"__key__", "__url__", "__local_path__"} == {
        "json",
        "src0.png",
        "mask0.png",
        "tgt.png",
    }
    unit = _unit()
    assert np.array_equal(decode_member(good["src0.png"]), unit.pairs[0].frames[0].image)
    assert np.array_equal(decode_member(good["mask0.png"]), unit.pairs[0].frames[0].mask)
    meta = json.loads(good["json"])
    assert meta["instruction"] == "fill in {image}" and meta["scores"] == {"l1": 0.25}
    assert meta["frames"][0]["mask"] == "mask0.png"


def test_tar_members_are_sorted_with_fixed_mtime(tmp_path):
    ShardWriter(tmp_path).write(_unit())
    with tarfile.open(Layout(tmp_path).tar("val-000003")) as tar:
        infos = tar.getmembers()
    names = [i.name for i in infos]
    assert names[:2] == ["aa" * 16 + ".json", "aa" * 16 + ".src0.jpg"]
    assert {i.mtime for i in infos} == {FIXED_MTIME}


def test_index_keeps_failed_rows(tmp_path):
    ShardWriter(tmp_path).write(_unit())
    rows = pq.read_table(Layout(tmp_path).index("val-000003")).to_pylist()
    by_key = {r["key"]: r for r in rows}
    assert by_key["cc" * 16]["status"] == "truncated_image"
    assert by_key["cc" * 16]["error"] == "file ends early"
    assert by_key["bb" * 16]["score_l1"] == 0.25
    assert by_key["aa" * 16]["score_l1"] is None
    assert json.loads(by_key["bb" * 16]["member_sizes"])["mask0.png"] > 0


def test_writes_are_byte_identical_and_completion_needs_stats(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    ShardWriter(a).write(_unit())
    ShardWriter(b).write(_unit())
    for part in ("shards/val-000003.tar", "index/val-000003.parquet", "stats/val-000003.json"):
        assert (a / part).read_bytes() == (b / part).read_bytes(), part
    writer = ShardWriter(a)
    assert writer.is_complete(_unit())
    (a / "stats/val-000003.json").unlink()
    assert not writer.is_complete(_unit())


def test_stats_count_the_committed_index(tmp_path):
    stats = ShardWriter(tmp_path).write(_unit())
    assert stats["by_status"] == {"ok": 2, "truncated_image": 1}
    assert stats["by_task"] == {"grayscale": 1, "inpainting": 1}  # samples only
    assert (stats["shard"], stats["unit"], stats["split"], stats["sources"]) == (
        "val-000003",
        "u1",
        "val",
        3,
    )
    assert ShardOrigin.recorded(stats) == ShardOrigin.of(_unit())
    assert json.loads(Layout(tmp_path).stats("val-000003").read_text()) == stats


def test_commit_writes_the_stats_file_last(tmp_path, monkeypatch):
    """A shard is complete when its stats file exists: nothing may land after it."""
    import dataengine.sinks.shard_writer as shard_writer

    source, copy, name = Layout(tmp_path / "a"), Layout(tmp_path / "b"), "val-000003"
    stats = ShardWriter(source.root).write(_unit())
    tar, index = source.tar(name).read_bytes(), pq.read_table(source.index(name))
    written, real = [], shard_writer.atomic_write
    monkeypatch.setattr(
        shard_writer, "atomic_write", lambda path, data: (written.append(path), real(path, data))
    )
    assert commit_shard(copy, ShardOrigin.recorded(stats), tar, index) == stats
    assert written == [copy.tar(name), copy.index(name), copy.stats(name)]
    assert copy.tar(name).read_bytes() == tar
    assert pq.read_table(copy.index(name)).equals(index)
    assert copy.stats(name).read_bytes() == source.stats(name).read_bytes()


def test_leftover_temporaries_are_removed(tmp_path):
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / ".train-000000.tar.tmp-123").write_bytes(b"half")
    assert remove_temporaries(tmp_path) == 1
    assert not list((tmp_path / "shards").iterdir())


def test_index_table_is_the_table_from_pylist_would_build():
    import pyarrow as pa

    from dataengine.sinks.shard_writer import index_table

    schema = pa.schema(
        [
            ("key", pa.string()),
            ("n_frames", pa.int32()),
            ("provenance_seed", pa.int64()),
            ("provenance_parents", pa.list_(pa.string())),
            ("score_a", pa.float64()),
        ]
    )
    rows = [
        {"key": 'é "quoted"\n', "n_frames": 2, "provenance_seed": 2**62, "score_a": 0.1},
        {"key": None, "n_frames": None, "provenance_parents": [], "score_a": float("nan")},
        {"key": "", "provenance_parents": ["a", "ü 🙂"], "score_a": np.float32(1 / 3)},
        {"key": "k", "n_frames": np.int64(3), "score_a": 1e-300},
    ]
    built = index_table(rows, schema)
    expected = pa.Table.from_pylist(rows, schema=schema)
    assert built.schema == schema

    def nan_named(table):  # NaN != NaN: compare it by name
        return [{k: "nan" if v != v else v for k, v in row.items()} for row in table.to_pylist()]

    assert nan_named(built) == nan_named(expected)
    assert nan_named(built)[1]["score_a"] == "nan"
    assert index_table([], schema).num_rows == 0


def test_index_table_refuses_a_column_outside_the_schema():
    import pyarrow as pa
    import pytest

    from dataengine.sinks.shard_writer import index_table

    with pytest.raises(pa.ArrowInvalid, match="unexpected field"):
        index_table([{"key": "k", "stray": 1}], pa.schema([("key", pa.string())]))


def test_writing_a_shard_imports_no_pandas(tmp_path):
    """pyarrow imports pandas (0.35 s) when it builds arrays from Python objects; a worker
    process that only writes shards should never pay for it."""
    script = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        "from test_shard_writer import _unit; "
        "from dataengine.sinks.shard_writer import ShardWriter; "
        f"ShardWriter({str(tmp_path)!r}).write(_unit()); "
        "print('pandas' in sys.modules)"
    )
    stdout = fresh_python(script)
    assert stdout.strip() == "False"
    assert Layout(tmp_path).index("val-000003").exists()


def test_a_row_of_megabytes_and_odd_names_still_make_an_index(tmp_path):
    """pyarrow's JSON reader parses in blocks of 1 MB: a row longer than a block, or text
    with a lone surrogate, failed the whole unit before."""
    unit = _unit()
    unit.pairs[0].caption = "y" * 3_000_000  # one 3 MB token: no place to cut a block
    unit.pairs[1].provenance["source_ids"] = [b"caf\xe9".decode("utf-8", "surrogateescape")]
    ShardWriter(tmp_path).write(unit)
    rows = pq.read_table(Layout(tmp_path).index(unit.shard_name)).to_pylist()
    assert {len(r["caption"] or "") for r in rows} >= {3_000_000}
    assert ["caf\\xe9"] in [r["provenance_source_ids"] for r in rows]


def test_a_failed_write_leaves_no_temporary(tmp_path, monkeypatch):
    """A full disk (or a kill turned exception) mid-write: the temporary goes with it."""
    import os

    from dataengine.sinks import files

    def full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        files.atomic_write(tmp_path / "index" / "x.parquet", b"data")
    assert list((tmp_path / "index").iterdir()) == []
