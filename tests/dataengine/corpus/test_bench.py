"""`ace data bench`: verified samples frozen with a manifest; a changed member is caught."""

from __future__ import annotations

import json
import shutil
import tarfile
from collections import Counter

import pytest

from dataengine.corpus.bench import MANIFEST, check_bench, freeze_bench, member_hashes
from dataengine.corpus.curation import decision_rows, record_decisions
from dataengine.corpus.read import iter_samples, read_index
from dataengine.corpus.validate import validate_output
from dataengine.sinks.layout import Layout


@pytest.fixture
def corpus(reviewable, tmp_path):
    out = tmp_path / "corpus"
    shutil.copytree(reviewable, out)
    return out


def bench_rows(out) -> list[dict]:
    rows = read_index(out, columns=["key", "status", "split", "task"]).to_pylist()
    return sorted(
        (r for r in rows if r["status"] == "ok" and r["split"] == "bench"),
        key=lambda r: r["key"],
    )


def verify(out, keys, by="ana"):
    record_decisions(out, decision_rows(keys, "verify", None, by), by)


def test_verified_samples_are_frozen_byte_for_byte_with_quota(corpus, tmp_path):
    rows = bench_rows(corpus)
    grayscale = [r["key"] for r in rows if r["task"] == "grayscale"]
    canny = [r["key"] for r in rows if r["task"] == "canny_extraction"]
    train_key = next(r["key"] for r in read_index(corpus).to_pylist()
                     if r["split"] == "train" and r["status"] == "ok")  # fmt: skip
    verify(corpus, grayscale[:4] + canny[:1] + [train_key])
    record_decisions(corpus, decision_rows(grayscale[3:4], "reject", "no", "bo"), "bo")

    done = freeze_bench(corpus, tmp_path / "bench", "bench", per_task=2)

    assert done.per_task == Counter({"grayscale": 2, "canny_extraction": 1})
    frozen = {s["__key__"]: s for s in iter_samples(tmp_path / "bench")}
    assert set(frozen) == {*grayscale[:2], canny[0]}  # the quota takes keys in order
    originals = {s["__key__"]: s for s in iter_samples(corpus) if s["__key__"] in frozen}
    assert frozen == originals
    manifest = json.loads((tmp_path / "bench" / MANIFEST).read_text())
    assert manifest["samples"][canny[0]]["verified_by"] == "ana"
    assert manifest["recipe"]["name"] == "tiny" and manifest["per_task"] == 2
    assert manifest["engine_commit"]  # the tests run from a git checkout
    assert validate_output(tmp_path / "bench").ok
    assert check_bench(tmp_path / "bench")["tasks"] == {"grayscale": 2, "canny_extraction": 1}


def test_a_changed_or_missing_member_is_an_error(corpus, tmp_path):
    verify(corpus, [r["key"] for r in bench_rows(corpus)][:3])
    bench = tmp_path / "bench"
    freeze_bench(corpus, bench, "bench", None)
    layout = Layout(bench)
    shard = layout.complete_shards()[0]
    key, members = next(iter(member_hashes(layout.tar(shard)).items()))
    name = sorted(members)[0]
    _rewrite_member(layout.tar(shard), f"{key}.{name}", b"other bytes")
    with pytest.raises(ValueError, match=rf"{key}\.{name} changed"):
        check_bench(bench)
    (bench / MANIFEST).write_text(
        json.dumps({**json.loads((bench / MANIFEST).read_text()), "samples": {}})
    )
    with pytest.raises(ValueError, match="is not in the manifest"):
        check_bench(bench)


def test_nothing_verified_or_a_used_folder_is_refused(corpus, tmp_path):
    with pytest.raises(ValueError, match="no sample of the bench split is verified"):
        freeze_bench(corpus, tmp_path / "bench", "bench", None)
    verify(corpus, [bench_rows(corpus)[0]["key"]])
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x").write_text("x")
    with pytest.raises(FileExistsError, match="is not empty"):
        freeze_bench(corpus, tmp_path / "used", "bench", None)
    with pytest.raises(ValueError, match="inside the corpus"):
        freeze_bench(corpus, corpus / "bench", "bench", None)
    assert not (tmp_path / "bench").exists()


def _rewrite_member(tar_path, name: str, data: bytes) -> None:
    import io

    buffer = io.BytesIO()
    with tarfile.open(tar_path) as tar_in, tarfile.open(fileobj=buffer, mode="w") as tar_out:
        for info in tar_in:
            body = tar_in.extractfile(info).read()
            if info.name == name:
                body, info.size = data, len(data)
            tar_out.addfile(info, io.BytesIO(body))
    tar_path.write_bytes(buffer.getvalue())
