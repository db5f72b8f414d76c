"""The corpus-wide pass: near duplicates across shards, quotas, and the curation table."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from dataengine.corpus.curation import (
    SELECTION_FILE,
    decision_rows,
    read_decisions,
    record_decisions,
    rejected_keys,
)
from dataengine.corpus.selection import params_from_run, select_corpus
from dataengine.executors import InProcess, Processes
from dataengine.quality.select import SelectParams
from dataengine.sinks.shard_writer import ShardWriter
from tests.dataengine.quality.crafted import pair, scene, unit


def key(i: int) -> str:
    return f"{i:032x}"


def cropped(image: np.ndarray, by: int) -> np.ndarray:
    """The picture with `by` px cut from each side, scaled back: a few pHash bits off."""
    h, w = image.shape[:2]
    return cv2.resize(image[by:-by, by:-by], (w, h), interpolation=cv2.INTER_AREA)


@pytest.fixture
def corpus(tmp_path):
    """Two train shards and a val shard. key(2) is key(1) again, slightly cropped; key(4)
    shows the same pictures as key(1) for another task; key(3) is another picture; key(5)
    is key(1) exactly, in val (a leak between splits: val keeps it)."""
    a, b, c = scene(1), scene(2), scene(3)
    writer = ShardWriter(tmp_path)
    writer.write(unit([pair(key(1), a, b), pair(key(3), c, a)], index=0))
    writer.write(
        unit(
            [pair(key(2), cropped(a, 4), cropped(b, 4)), pair(key(4), a, b, task="outpainting")],
            index=1,
        )
    )
    writer.write(unit([pair(key(5), a, b, split="val")], split="val"))
    return tmp_path


def test_a_near_duplicate_in_another_shard_is_rejected_naming_the_one_kept(corpus):
    done = select_corpus(corpus, InProcess(), SelectParams())
    decisions = read_decisions(corpus)
    assert done.near_duplicates == 2
    assert set(decisions) == {key(1), key(2)}
    assert decisions[key(1)]["reason"] == f"near_duplicate: 0 bits from {key(5)}"
    assert decisions[key(2)]["reason"].startswith("near_duplicate: ")
    assert decisions[key(2)]["reason"].endswith(f"bits from {key(5)}")
    assert decisions[key(2)]["by"] == "selection"
    assert rejected_keys(corpus) == {key(1), key(2)}


def test_dedup_distance_zero_keeps_an_altered_copy(corpus):
    select_corpus(corpus, InProcess(), SelectParams(dedup_distance=0))
    assert rejected_keys(corpus) == {key(1)}


def test_hashes_are_cached_per_shard(corpus):
    assert select_corpus(corpus, InProcess(), SelectParams()).hashed_shards == 3
    assert select_corpus(corpus, InProcess(), SelectParams()).hashed_shards == 0
    ShardWriter(corpus).write(unit([pair(key(5), scene(4), scene(5), split="val")], split="val"))
    assert select_corpus(corpus, InProcess(), SelectParams()).hashed_shards == 1


def test_quotas_keep_the_best_ranked_per_task_and_split(tmp_path):
    writer = ShardWriter(tmp_path)
    pairs = [pair(key(i), scene(i), scene(i + 10)) for i in range(1, 6)]
    for i, p in enumerate(pairs, 1):
        p.scores = {"sharpness": float(i)}
    writer.write(unit(pairs))
    writer.write(unit([pair(key(9), scene(9), scene(19), split="val")], split="val"))
    params = SelectParams(max_per_task=2, rank_by="sharpness", dedup=False)
    done = select_corpus(tmp_path, InProcess(), params)
    assert done.over_quota == 3
    assert rejected_keys(tmp_path) == {key(1), key(2), key(3)}  # the least sharp go
    reason = read_decisions(tmp_path)[key(1)]["reason"]
    assert reason == "quota: inpainting in train keeps 2 of 5 (max_per_task)"
    assert key(9) not in rejected_keys(tmp_path)  # val is not trimmed


def test_a_task_quota_overrides_max_per_task_and_people_count_first(tmp_path):
    writer = ShardWriter(tmp_path)
    writer.write(unit([pair(key(i), scene(i), scene(i + 10)) for i in range(1, 5)]))
    rows = decision_rows([key(1)], "reject", "blurry", "ana")
    record_decisions(tmp_path, rows, "ana")
    params = SelectParams(max_per_task=1, quotas={"inpainting": 2}, dedup=False)
    select_corpus(tmp_path, InProcess(), params)
    # ana's reject is not counted in the quota: key(2) and key(3) stay, key(4) goes.
    assert rejected_keys(tmp_path) == {key(1), key(4)}
    record_decisions(tmp_path, decision_rows([key(4)], "accept", "fine", "ana"), "ana")
    assert rejected_keys(tmp_path) == {key(1)}  # a person's later decision wins
    select_corpus(tmp_path, InProcess(), params)
    assert rejected_keys(tmp_path) == {key(1)}  # and keeps winning over a new pass


def test_a_pass_over_the_same_run_writes_the_same_file(corpus):
    (corpus / "run.json").write_text(json.dumps({"recipe": {"stages": []}, "ended": "E"}))
    select_corpus(corpus, InProcess(), SelectParams())
    first = (corpus / "curation" / SELECTION_FILE).read_bytes()
    select_corpus(corpus, InProcess(), SelectParams())
    assert (corpus / "curation" / SELECTION_FILE).read_bytes() == first
    assert read_decisions(corpus)[key(1)]["decided_at"] == "E"


def test_hashing_on_worker_processes_writes_the_same_file(corpus, tmp_path_factory):
    import dataclasses
    import shutil

    (corpus / "run.json").write_text(json.dumps({"recipe": {"stages": []}, "ended": "E"}))
    twin = tmp_path_factory.mktemp("twin") / "corpus"
    shutil.copytree(corpus, twin)
    alone = select_corpus(corpus, InProcess(), SelectParams())
    pooled = select_corpus(twin, Processes(2), SelectParams())
    assert dataclasses.replace(pooled, path=alone.path) == alone
    assert alone.hashed_shards == 3 and alone.near_duplicates > 0
    selection = (corpus / "curation" / SELECTION_FILE).read_bytes()
    assert (twin / "curation" / SELECTION_FILE).read_bytes() == selection


def test_parameters_come_from_the_recipe_in_run_json(corpus):
    stages = [{"stage": "decode"}, {"stage": "select", "max_per_task": 7, "dedup_distance": 3}]
    (corpus / "run.json").write_text(json.dumps({"recipe": {"stages": stages}}))
    params = params_from_run(corpus)
    assert (params.max_per_task, params.dedup_distance, params.dedup) == (7, 3, True)
    (corpus / "run.json").write_text(json.dumps({"recipe": {"stages": [{"stage": "decode"}]}}))
    assert params_from_run(corpus) == SelectParams()


def test_a_directory_without_a_run_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no run\.json"):
        params_from_run(tmp_path)
