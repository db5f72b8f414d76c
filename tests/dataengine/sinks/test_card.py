"""The dataset card makes a run's folder a Hugging Face dataset as it is: `datasets` reads
every split's shards with the members a sample has, and None for those it lacks."""

from __future__ import annotations

from collections import Counter

import datasets
import yaml

from dataengine.corpus.read import iter_samples
from dataengine.sinks.card import member_features


def test_load_dataset_reads_the_run_folder_as_it_is(reference, tmp_path):
    ds = datasets.load_dataset(str(reference), cache_dir=str(tmp_path))
    samples = {s["__key__"]: s for s in iter_samples(reference)}
    assert {split: len(ds[split]) for split in ds} == dict(
        Counter(s["json"]["split"] for s in samples.values())
    )
    for row in ds["train"]:
        sample = samples[row["__key__"]]
        assert row["json"] == sample["json"]
        for feature in member_features()[3:]:
            name = feature["name"]
            if name in sample:
                assert row[name].size[0] > 0  # decoded
            else:
                assert row[name] is None


def test_streaming_reads_the_same_samples(reference, tmp_path):
    ds = datasets.load_dataset(str(reference), streaming=True, cache_dir=str(tmp_path))
    keys = {row["__key__"] for split in ds for row in ds[split]}
    assert keys == {s["__key__"] for s in iter_samples(reference)}


def test_the_card_says_what_the_corpus_holds(reference):
    text = (reference / "README.md").read_text()
    header = yaml.safe_load(text.split("---")[1])
    assert header["license"] == "other"
    assert header["configs"][0]["data_files"][0]["path"] == "shards/bench-*.tar"
    assert "| canny_extraction |" in text and "## Licence" in text
