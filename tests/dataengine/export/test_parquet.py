"""`--format hf` and `--format instructpix2pix`, read back by `datasets` itself."""

from __future__ import annotations

import io
from collections import Counter

import datasets
import pytest
from PIL import Image

from dataengine.export import export_corpus
from dataengine.export.parquet import ip2p_loss
from dataengine.export.samples import accepted_samples


def load(path, cache, **kwargs):
    return datasets.load_dataset(str(path), cache_dir=str(cache), **kwargs)


def decodes(image) -> bool:
    return isinstance(image, Image.Image) and image.size[0] > 0


@pytest.fixture(scope="module")
def hf(corpus, tmp_path_factory):
    new = tmp_path_factory.mktemp("hf") / "new"
    return export_corpus(corpus, new, "hf"), new


def test_the_hf_export_is_a_dataset_of_every_accepted_sample(hf, accepted, tmp_path):
    done, new = hf
    ds = load(new, tmp_path)
    assert done.lost == Counter()
    assert {split: len(ds[split]) for split in ds} == dict(
        Counter(m["split"] for m in accepted.values())
    )
    for row in ds["train"]:
        meta = accepted[row["key"]]
        assert row["task"] == meta["task"] and row["instruction"] == meta["instruction"]
        assert len(row["frames"]) == len(meta["frames"])
        for frame, entry in zip(row["frames"], meta["frames"], strict=True):
            assert decodes(frame["image"]) and frame["mask_role"] == entry["mask_role"]
            assert (frame["mask"] is None) == (entry["mask"] is None)
        assert decodes(row["target"]) and row["provenance"]["recipe"] == "synthesis"


def test_the_hf_parquet_files_open_with_the_parquet_builder_too(hf, tmp_path):
    _, new = hf
    files = sorted(str(p) for p in (new / "data").glob("train-*.parquet"))
    ds = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(tmp_path))
    assert decodes(ds[0]["target"]) and isinstance(ds.features["target"], datasets.Image)


def test_instructpix2pix_has_its_three_columns_and_counts_what_it_leaves_out(
    corpus, accepted, tmp_path
):
    done = export_corpus(corpus, tmp_path / "new", "instructpix2pix")
    ds = load(tmp_path / "new", tmp_path / "cache")
    lost = Counter(ip2p_loss(s) for s in accepted_samples(corpus))
    written = lost.pop(None)
    assert done.lost == lost and sum(len(ds[s]) for s in ds) == written
    assert set(lost) == {
        "a mask (edit): the format has none",
        "a mask (layer): the format has none",
        "more than one input image",
        "history turns (multi-turn)",
        "no input image (text to image)",
    }
    assert ds["train"].column_names == ["input_image", "edit_prompt", "edited_image"]
    for row in ds["train"]:
        assert decodes(row["input_image"]) and decodes(row["edited_image"])
        assert "{image" not in row["edit_prompt"] and row["edit_prompt"].strip()


def test_strict_stops_before_anything_is_written(corpus, tmp_path):
    from dataengine.params import RecipeError

    with pytest.raises(RecipeError, match="--format instructpix2pix cannot express sample"):
        export_corpus(corpus, tmp_path / "new", "instructpix2pix", strict=True)
    assert not (tmp_path / "new").exists()


def test_image_bytes_are_the_corpus_members_as_they_were(hf, corpus):
    import pyarrow.parquet as pq

    _, new = hf
    table = pq.read_table(next((new / "data").glob("train-*.parquet")), columns=["key", "target"])
    first = table.slice(0, 1).to_pylist()[0]
    sample = next(s for s in accepted_samples(corpus, "train") if s.key == first["key"])
    assert first["target"]["bytes"] == sample.members[sample.meta["target"]]
    assert Image.open(io.BytesIO(first["target"]["bytes"])).size[0] > 0
