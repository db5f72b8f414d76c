"""WebDatasetSource and ParquetSource on tiny shards in img2dataset's layout."""

from __future__ import annotations

import gzip
import io
import json
import tarfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image
from webdataset import TarWriter

from dataengine.sources import shards
from dataengine.sources.shards import ParquetSource, WebDatasetSource


def jpeg(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG")
    return buffer.getvalue()


def img2dataset_sample(shard: int, index: int) -> dict:
    key = f"{shard:05d}{index:04d}"
    meta = {"url": f"https://example.com/{key}.jpg", "key": key, "status": "success"}
    return {
        "__key__": key,
        "jpg": jpeg(shard * 100 + index),
        "txt": f"photo number {index} of shard {shard}".encode(),
        "json": json.dumps(meta).encode(),
    }


def write_tar(path, samples: list[dict]) -> list[dict]:
    with TarWriter(str(path), encoder=False, mtime=0) as writer:
        for sample in samples:
            writer.write(sample)
    return samples


def wds(*paths: str) -> WebDatasetSource:
    return WebDatasetSource(WebDatasetSource.Params(paths=list(paths)))


# --------------------------------------------------------------------------------------------
# WebDataset
# --------------------------------------------------------------------------------------------


def test_webdataset_round_trip(tmp_path):
    written = write_tar(tmp_path / "00000.tar", [img2dataset_sample(0, i) for i in range(3)])
    source = wds(str(tmp_path / "00000.tar"))
    refs = source.refs()
    assert [r.id for r in refs] == [f"00000/{s['__key__']}" for s in written]
    for ref, sample in zip(refs, written, strict=True):
        loaded = source.load(ref)
        assert loaded.ok and loaded.data == sample["jpg"]
        assert loaded.caption == sample["txt"].decode()
        assert loaded.meta["key"] == sample["__key__"]
        assert loaded.meta["json"] == json.loads(sample["json"])
    assert source.skipped == 0 and source.unreadable_bytes == 0


def test_webdataset_brace_expansion_directory_and_glob_name_the_same_shards(tmp_path):
    for shard in range(2):
        write_tar(tmp_path / f"{shard:05d}.tar", [img2dataset_sample(shard, i) for i in range(2)])
    (tmp_path / "00000_stats.json").write_text("{}")  # img2dataset writes these beside tars
    braces = wds(str(tmp_path / "{00000..00001}.tar")).refs()
    assert [r.id.split("/")[0] for r in braces] == ["00000"] * 2 + ["00001"] * 2
    assert [r.id for r in wds(str(tmp_path)).refs()] == [r.id for r in braces]
    assert [r.id for r in wds(str(tmp_path / "*.tar")).refs()] == [r.id for r in braces]


def test_webdataset_path_that_names_nothing_is_an_error(tmp_path):
    write_tar(tmp_path / "00000.tar", [img2dataset_sample(0, 0)])
    with pytest.raises(ValueError, match=r"00001\.tar.*names no \.tar file.*`paths`"):
        wds(str(tmp_path / "{00000..00001}.tar")).refs()


def member_spans(path) -> dict[str, tuple[int, int]]:
    with tarfile.open(path) as tar:
        return {m.name: (m.offset_data, m.size) for m in tar}


@pytest.mark.parametrize(
    ("cut_in", "whole"),
    [("000000002.jpg", 2), ("000000001.txt", 1), ("000000002.json", 2)],
)
def test_truncated_webdataset_lists_the_whole_samples(tmp_path, cut_in, whole):
    path = tmp_path / "00000.tar"
    written = write_tar(path, [img2dataset_sample(0, i) for i in range(3)])
    offset, size = member_spans(path)[cut_in]
    data = path.read_bytes()
    path.write_bytes(data[: offset + size // 2])
    source = wds(str(path))
    refs = source.refs()
    assert [r.meta["key"] for r in refs] == [s["__key__"] for s in written[:whole]]
    assert source.skipped == 1 and source.unreadable_bytes > 0
    assert [source.load(r).data for r in refs] == [s["jpg"] for s in written[:whole]]


def test_webdataset_cut_inside_a_header(tmp_path):
    path = tmp_path / "00000.tar"
    write_tar(path, [img2dataset_sample(0, i) for i in range(3)])
    spans = member_spans(path)
    header_start = spans["000000002.jpg"][0] - tarfile.BLOCKSIZE
    path.write_bytes(path.read_bytes()[: header_start + 100])
    source = wds(str(path))
    # Whether sample 1 was whole cannot be told from a cut at a header, so it is dropped too.
    assert [r.meta["key"] for r in source.refs()] == ["000000000"]
    offset, size = spans["000000001.txt"]
    assert source.unreadable_bytes == header_start + 100 - (offset + size)


def test_webdataset_samples_without_image_are_skipped_and_counted(tmp_path):
    samples = [img2dataset_sample(0, 0), img2dataset_sample(0, 1)]
    del samples[1]["jpg"]
    samples.append({"__key__": "folder/000000002", "png": b"fake png bytes", "txt": b"nested"})
    write_tar(tmp_path / "00000.tar", samples)
    source = wds(str(tmp_path / "00000.tar"))
    refs = source.refs()
    # Directories inside the tar are part of the key, as in WebDataset.
    assert [r.id for r in refs] == ["00000/000000000", "00000/folder/000000002"]
    assert source.skipped == 1
    assert source.load(refs[1]).data == b"fake png bytes"


def test_webdataset_shard_deleted_after_listing_gives_read_error_rows(tmp_path):
    path = tmp_path / "00000.tar"
    write_tar(path, [img2dataset_sample(0, 0)])
    source = wds(str(path))
    ref = source.refs()[0]
    path.unlink()
    row = source.load(ref)
    assert row.status == "read_error" and "00000.tar" in row.error and row.id == ref.id


def test_compressed_tar_is_a_clear_error(tmp_path):
    plain = tmp_path / "plain.tar"
    write_tar(plain, [img2dataset_sample(0, 0)])
    (tmp_path / "00000.tar").write_bytes(gzip.compress(plain.read_bytes()))
    with pytest.raises(ValueError, match="compressed"):
        wds(str(tmp_path / "00000.tar")).refs()


# --------------------------------------------------------------------------------------------
# Parquet
# --------------------------------------------------------------------------------------------


def write_parquet(path, n: int, null_at: int | None = None) -> pa.Table:
    keys = [f"{i:09d}" for i in range(n)]
    table = pa.table(
        {
            "key": keys,
            "caption": [f"caption {i}" for i in range(n)],
            "url": [f"https://example.com/{k}.jpg" for k in keys],
            "jpg": pa.array([None if i == null_at else jpeg(i) for i in range(n)], pa.binary()),
            "status": ["failed_to_download" if i == null_at else "success" for i in range(n)],
        }
    )
    pq.write_table(table, path, row_group_size=2)  # several row groups, as in big files
    return table


def parquet(path, **params) -> ParquetSource:
    return ParquetSource(ParquetSource.Params(paths=[str(path)], **params))


def test_parquet_round_trip_reads_each_row_group_once(tmp_path):
    table = write_parquet(tmp_path / "00000.parquet", 5)
    source = parquet(tmp_path)
    refs = source.refs()
    assert [r.id for r in refs] == [f"00000/{k}" for k in table.column("key").to_pylist()]
    shards._image_column.cache_clear()
    loaded = [source.load(r) for r in refs]
    assert [x.data for x in loaded] == table.column("jpg").to_pylist()
    assert [x.caption for x in loaded] == table.column("caption").to_pylist()
    assert shards._image_column.cache_info().misses == 3  # row groups of 2, 2 and 1 rows


def test_parquet_null_image_is_a_missing_image_row(tmp_path):
    write_parquet(tmp_path / "00000.parquet", 3, null_at=1)
    source = parquet(tmp_path / "00000.parquet")
    rows = [source.load(r) for r in source.refs()]
    assert [x.status for x in rows] == ["ok", "missing_image", "ok"]
    assert "'jpg'" in rows[1].error and rows[1].caption == "caption 1"


def test_parquet_missing_column_names_column_file_columns_and_param(tmp_path):
    write_parquet(tmp_path / "00000.parquet", 2)
    with pytest.raises(ValueError) as error:
        parquet(tmp_path / "00000.parquet", image_column="image").refs()
    message = str(error.value)
    assert "'image'" in message and "00000.parquet" in message
    assert "key, caption, url, jpg, status" in message and "`image_column`" in message


def test_parquet_without_captions(tmp_path):
    write_parquet(tmp_path / "00000.parquet", 2)
    refs = parquet(tmp_path / "00000.parquet", caption_column="").refs()
    assert [r.caption for r in refs] == [None, None]


def test_parquet_repeated_ids_are_an_error(tmp_path):
    write_parquet(tmp_path / "00000.parquet", 3)
    with pytest.raises(ValueError, match=r"repeat in column 'status'.*`id_column`"):
        parquet(tmp_path / "00000.parquet", id_column="status").refs()


def test_parquet_file_deleted_after_listing_gives_read_error_rows(tmp_path):
    path = tmp_path / "00000.parquet"
    write_parquet(path, 2)
    source = parquet(path)
    refs = source.refs()
    path.unlink()
    row = source.load(refs[0])
    assert row.status == "read_error" and "00000.parquet" in row.error


def test_parquet_cut_file_is_skipped_and_reported(tmp_path):
    write_parquet(tmp_path / "00000.parquet", 2)
    cut = tmp_path / "00001.parquet"
    write_parquet(cut, 2)
    cut.write_bytes(cut.read_bytes()[:100])
    source = parquet(tmp_path)
    assert [r.id.split("/")[0] for r in source.refs()] == ["00000", "00000"]
    assert source.unreadable == [str(cut)]
