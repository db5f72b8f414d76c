"""A corpus in object storage: runs, readers and writers on `s3://` URLs against a real
S3-compatible server on loopback (the `s3_server` fixture), through s3fs."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import s3fs

from dataengine.corpus.read import read_index
from dataengine.corpus.selection import select_corpus
from dataengine.corpus.stats import corpus_stats
from dataengine.corpus.validate import validate_output
from dataengine.executors import InProcess, Processes
from dataengine.export import export_corpus
from dataengine.recipe import build_recipe
from dataengine.runner import run_recipe
from dataengine.storage import as_path, write_bytes
from tests.builders import TINY_RECIPE
from tests.helpers import shard_bytes


def ace(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ace_cli", "-q", *argv], capture_output=True,
                          text=True, timeout=600)  # fmt: skip


def test_a_run_into_a_bucket_equals_a_local_run_and_validates(reference, bucket, tmp_path):
    out = f"{bucket}/run"
    summary = run_recipe(build_recipe(copy.deepcopy(TINY_RECIPE)), out, Processes(2),
                         progress=False)  # fmt: skip
    assert summary.samples > 0
    assert shard_bytes(out) == shard_bytes(reference)
    assert validate_output(out).ok
    assert corpus_stats(out)["samples"] == summary.samples
    assert read_index(out).num_rows == read_index(reference).num_rows
    assert not (tmp_path / "s3:").exists() and not list(tmp_path.iterdir())  # nothing local
    done = ace("data", "validate", out)
    assert done.returncode == 0 and ": valid:" in done.stdout, done.stderr


def test_resume_in_a_bucket_redoes_what_is_missing_or_cut(reference, bucket):
    out = f"{bucket}/run"
    recipe = build_recipe(copy.deepcopy(TINY_RECIPE))
    run_recipe(recipe, out, InProcess(), progress=False)
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    root = out.removeprefix("s3://")
    fs.rm(f"{root}/stats/train-000001.json")  # an uncommitted shard
    fs.pipe(f"{root}/shards/train-000002.tar", b"cut")  # a committed shard, damaged after
    again = run_recipe(recipe, out, InProcess(), resume=True, progress=False)
    assert again.skipped == again.shards - 2
    assert shard_bytes(out) == shard_bytes(reference)


def test_the_readers_and_writers_of_a_corpus_work_on_a_bucket(reference, bucket, tmp_path):
    out = f"{bucket}/run"
    run_recipe(build_recipe(copy.deepcopy(TINY_RECIPE)), out, InProcess(), progress=False)
    assert select_corpus(out, InProcess()).path.name == "0-selection.parquet"
    assert ace("data", "audit", out).returncode == 0
    assert (as_path(out) / "report" / "index.html").exists()
    exported = export_corpus(out, f"{bucket}/hf", "hf")
    assert exported.samples == corpus_stats(out)["samples"] - corpus_stats(out)["curated_out"]
    copied = export_corpus(out, tmp_path / "local", "webdataset")
    assert validate_output(tmp_path / "local").ok and copied.samples == exported.samples


def test_sources_read_images_and_shards_from_a_bucket(image_folder, reference, bucket, tmp_path):
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.put(str(image_folder), f"{bucket.removeprefix('s3://')}/images", recursive=True)
    for tar in (reference / "shards").glob("*.tar"):
        write_bytes(as_path(f"{bucket}/shards/{tar.name}"), tar.read_bytes())
    stages = [
        {"stage": "decode", "max_side": 96, "min_side": 16},
        {"stage": "pairs", "tasks": {"grayscale": 1.0}},
        {"stage": "template_instructions"},
    ]
    for name, source in [
        ("folder", {"kind": "folder", "path": f"{bucket}/images"}),
        (
            "webdataset",  # our own shards as a pool: their targets are the images
            {
                "kind": "webdataset",
                "paths": [f"{bucket}/shards/train-*.tar"],
                "image_ext": ["tgt.jpg", "tgt.png"],
            },
        ),
    ]:
        recipe = build_recipe({"name": name, "source": source, "stages": stages})
        summary = run_recipe(recipe, tmp_path / name, InProcess(), progress=False)
        # every image read (a grey target can only not be made grey again)
        assert summary.samples > 0 and set(summary.by_status) <= {"ok", "no_eligible_task"}


@pytest.mark.slow
def test_the_trainer_streams_a_corpus_from_a_bucket(reference, bucket):
    from ace_model.data import ShardStream

    out = f"{bucket}/run"
    run_recipe(build_recipe(copy.deepcopy(TINY_RECIPE)), out, InProcess(), progress=False)
    sizes = [(32, 32)]
    remote = ShardStream(out, "train", 4, sizes, seed=0).raw_samples(0)
    local = ShardStream(reference, "train", 4, sizes, seed=0).raw_samples(0)
    assert [s["__key__"] for s in remote] == [s["__key__"] for s in local]


def test_write_stream_is_all_or_nothing(tmp_path):
    from dataengine.storage import write_stream

    path = tmp_path / "list.txt"
    with write_stream(path) as f:
        f.write(b"one\n")
        assert not path.exists()  # not before the block ends
    assert path.read_bytes() == b"one\n"
    with pytest.raises(RuntimeError), write_stream(path) as f:
        f.write(b"half")
        raise RuntimeError("killed")
    assert path.read_bytes() == b"one\n" and list(tmp_path.iterdir()) == [path]


def test_write_stream_to_a_bucket_uploads_on_success_only(bucket):
    from dataengine.storage import as_path, write_stream

    path = as_path(f"{bucket}/lists/list.txt")
    with pytest.raises(RuntimeError), write_stream(path) as f:
        f.write(b"half")
        raise RuntimeError("killed")
    assert not path.exists()
    with write_stream(path) as f:
        f.write(b"one\n")
    assert path.read_bytes() == b"one\n"
