"""Reading a corpus back: WebDataset tars read with the standard library, as the webdataset
library reads them, without importing torch."""

from __future__ import annotations

import io
import tarfile

import pytest
import webdataset as wds

from dataengine.corpus.read import iter_samples, shard_paths
from dataengine.sinks.tars import tar_samples
from tests.helpers import fresh_python


def test_tar_samples_are_the_samples_webdataset_reads(reference):
    for path in shard_paths(reference):
        library = [
            {k: v for k, v in sample.items() if k not in ("__url__", "__local_path__")}
            for sample in wds.WebDataset(path, shardshuffle=False, empty_check=False)
        ]
        with open(path, "rb") as stream:
            ours = list(tar_samples(stream))
        assert ours == library and len(ours) > 0


def test_a_repeated_member_in_a_sample_names_it():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in ("k1.json", "k1.jpg", "k1.jpg"):
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"{}"))
    buffer.seek(0)
    with pytest.raises(ValueError, match=r"k1\.jpg: a second 'jpg' member for k1"):
        list(tar_samples(buffer))


def test_reading_samples_and_hashing_a_shard_do_not_load_torch(reference):
    # A fresh interpreter: this one has imported torch already.
    script = (
        "import sys\n"
        "from dataengine.corpus.read import iter_samples, shard_paths\n"
        "from dataengine.quality.phash import hash_shard\n"
        f"assert sum(1 for _ in iter_samples({str(reference)!r})) > 0\n"
        f"assert hash_shard(shard_paths({str(reference)!r})[0]).num_rows > 0\n"
        "print('torch' in sys.modules)\n"
    )
    stdout = fresh_python(script)
    assert stdout.split() == ["False"]


def test_iter_samples_parses_the_json_which_names_the_members(reference):
    for sample in iter_samples(reference):
        assert sample["json"]["target"] in sample
        assert all(frame["image"] in sample for frame in sample["json"]["frames"])
