"""`--format ace` and `--format ace-plus`, read back the way scepter's dataset classes read
them (their documented conventions, since scepter does not install here):

- ACE (`ImageTextPairMSDatasetForACE`, a ModelScope folder): `<split>.csv` with the header
  `Source:FILE,SourceMASK:FILE,Target:FILE,Prompt`, paths relative to the folder, a mask
  read as grey where > 128 is the region to edit;
- ACE++ (`ACEPlusDataset`): one line per sample, fields split on `#;#` in its FIELDS order,
  paths joined to PATH_PREFIX, edit_mask read as grey (255 = edit), an empty edit_image for
  text to image.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dataengine.export import export_corpus
from dataengine.export.samples import accepted_samples
from dataengine.export.scepter import ACE_HEADER, FIELDS, ace_loss, ace_plus_loss


def image(folder: Path, relative: str, mode: str) -> np.ndarray:
    assert relative and not relative.startswith("/")  # relative to the folder
    with Image.open(folder / relative) as im:
        return np.asarray(im.convert(mode))


def read_ace(folder: Path, split: str) -> list[dict]:
    with open(folder / f"{split}.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == ACE_HEADER
        return list(reader)


def read_ace_plus(folder: Path, split: str, config: dict) -> list[dict]:
    assert config["FIELDS"] == list(FIELDS) and config["DELIMITER"] == "#;#"
    lines = (folder / f"{split}.txt").read_text().strip().split("\n")
    rows = [
        dict(zip(config["FIELDS"], line.split(config["DELIMITER"]), strict=True)) for line in lines
    ]
    return rows


def expected_losses(corpus, loss) -> tuple[Counter, Counter]:
    lost, kept = Counter(), Counter()
    for sample in accepted_samples(corpus):
        reason = loss(sample)
        if reason:
            lost[reason] += 1
        else:
            kept[sample.split] += 1
    return lost, kept


def test_the_ace_folder_reads_as_scepter_reads_it(corpus, accepted, tmp_path):
    done = export_corpus(corpus, tmp_path / "ace", "ace")
    lost, kept = expected_losses(corpus, ace_loss)
    assert done.lost == lost and done.written == kept
    layered = sum(
        not ace_loss(s) and s.input_frames()[0]["mask_role"] == "layer"
        for s in accepted_samples(corpus)
    )
    assert layered and done.notes["translated"] == {
        "a layer mask inverted into the region to edit": layered
    }
    for split in kept:
        rows = read_ace(tmp_path / "ace", split)
        assert len(rows) == kept[split]
        for row in rows:
            source = image(tmp_path / "ace", row["Source:FILE"], "RGB")
            target = image(tmp_path / "ace", row["Target:FILE"], "RGB")
            key = Path(row["Target:FILE"]).name.split(".")[0]
            assert source.size and target.size  # ACE's prompts keep its {image}:
            assert row["Prompt"] == " ".join(accepted[key]["instruction"].split())
            if row["SourceMASK:FILE"]:
                mask = image(tmp_path / "ace", row["SourceMASK:FILE"], "L")
                assert mask.shape == source.shape[:2] and (mask > 128).any()


def test_a_layer_mask_is_inverted_into_the_region_to_edit(corpus, tmp_path):
    export_corpus(corpus, tmp_path / "ace", "ace")
    layer = next(
        s
        for s in accepted_samples(corpus)
        if s.input_frames()[0]["mask_role"] == "layer"
        if s.input_frames()
    )
    row = next(r for r in read_ace(tmp_path / "ace", layer.split) if layer.key in r["Target:FILE"])
    from dataengine.sinks.encode import decode_member

    original = decode_member(layer.members[layer.input_frames()[0]["mask"]])
    assert np.array_equal(image(tmp_path / "ace", row["SourceMASK:FILE"], "L"), 255 - original)


def test_the_ace_plus_list_reads_as_acepluscdataset_reads_it(corpus, tmp_path):
    done = export_corpus(corpus, tmp_path / "plus", "ace-plus")
    lost, kept = expected_losses(corpus, ace_plus_loss)
    assert done.lost == lost and done.written == kept
    prefix = Path(done.notes["PATH_PREFIX"])
    tasks = Counter()
    for split in kept:
        rows = read_ace_plus(tmp_path / "plus", split, done.notes)
        assert len(rows) == kept[split]
        for row in rows:
            tasks[row["data_type"]] += 1
            target = image(prefix, row["target_image"], "RGB")
            if row["edit_image"]:
                assert image(prefix, row["edit_image"], "RGB").size
            else:  # text to image: ACE++ paints a blank canvas whole
                assert row["data_type"] == "text_to_image" and not row["edit_mask"]
            if row["edit_mask"]:
                assert (image(prefix, row["edit_mask"], "L") > 128).any()
            if row["ref_image"]:
                assert image(prefix, row["ref_image"], "RGB").size
            assert target.size and "{image" not in row["prompt"] and "\n" not in row["prompt"]
    assert "text_to_image" in tasks and "style_reference" in tasks  # none and a reference


@pytest.mark.parametrize("fmt", ["ace", "ace-plus", "hf", "instructpix2pix"])
def test_an_export_refuses_a_folder_that_is_not_empty(corpus, tmp_path, fmt):
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="is not empty"):
        export_corpus(corpus, tmp_path / "new", fmt)
    assert (tmp_path / "new" / "mine.txt").read_text() == "keep me"
