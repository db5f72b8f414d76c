"""Exports for the official ACE trainers (modelscope/scepter), as their dataset classes read:

`--format ace`: the ModelScope-style folder of ACE's `ImageTextPairMSDatasetForACE`:
`train.csv`, `val.csv`, `bench.csv` with the header `Source:FILE,SourceMASK:FILE,
Target:FILE,Prompt`, one row per sample, paths relative to the folder, images under
`images/`. A mask is the region to edit (255; readers take > 128). Prompts keep ACE's
`{image}`.

`--format ace-plus`: ACE++'s `ACEPlusDataset` list, one `<split>.txt` per split, one line per
sample, its fields joined by `#;#` in the order FIELDS (what its config's FIELDS must say),
paths relative to the folder (its PATH_PREFIX). An empty edit_image is a text-to-image
sample; an empty edit_mask edits the whole image; ref_image is a reference taken whole.

Image bytes are copied as they are, but for a layer mask on the edited image, inverted
into the region to edit (counted as translated). A sample the format cannot hold is left
out and counted per reason.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dataengine.export.samples import Losses, Sample, accepted_samples, splits_of
from dataengine.schema import replace_placeholders
from dataengine.sinks.encode import decode_member, encode_png
from dataengine.sinks.files import atomic_write
from dataengine.storage import write_stream

ACE_HEADER = ("Source:FILE", "SourceMASK:FILE", "Target:FILE", "Prompt")
DELIMITER = "#;#"
FIELDS = ("data_type", "edit_image", "edit_mask", "ref_image", "target_image", "prompt")


def common_loss(sample: Sample) -> str | None:
    inputs = sample.input_frames()
    if sample.history_frames():
        return "history turns (multi-turn)"
    if inputs and inputs[0]["mask"] and inputs[0]["mask_role"] == "take":
        return "a take mask on the edited image (the format's mask is the edit)"
    return None


# --------------------------------------------------------------------------------------------
# --format ace
# --------------------------------------------------------------------------------------------


def ace_loss(sample: Sample) -> str | None:
    inputs = sample.input_frames()
    if not inputs:
        return "no source image (text to image)"
    if len(inputs) > 1:
        return "more than one input image"
    return common_loss(sample)


def ace_row(sample: Sample, folder: Path, losses: Losses) -> tuple[str, ...]:
    frame = sample.input_frames()[0]
    source = _copy(sample, frame["image"], folder)
    mask = _edit_mask(sample, frame, folder, losses)
    target = _copy(sample, sample.meta["target"], folder)
    return source, mask, target, _one_line(sample.meta["instruction"])


def write_ace(out: Path, new: Path, losses: Losses) -> Counter:
    written: Counter[str] = Counter()
    for split in splits_of(out):
        with _text_file(new / f"{split}.csv") as text:
            table = csv.writer(text, lineterminator="\n")
            table.writerow(ACE_HEADER)
            for sample in accepted_samples(out, split):
                reason = ace_loss(sample)
                if reason:
                    losses.add(sample, reason)
                else:
                    table.writerow(ace_row(sample, new, losses))
                    written[split] += 1
    return written


@contextlib.contextmanager
def _text_file(path) -> Iterator[io.TextIOWrapper]:
    """A list file written a line at a time (memory stays flat however long), all or
    nothing."""
    with write_stream(path) as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        yield text
        text.flush()
        text.detach()  # the binary file is write_stream's to close


# --------------------------------------------------------------------------------------------
# --format ace-plus
# --------------------------------------------------------------------------------------------


def ace_plus_loss(sample: Sample) -> str | None:
    inputs = sample.input_frames()
    if len(inputs) > 2:
        return "more than two input images"
    if len(inputs) == 2 and inputs[1]["mask"]:
        return f"a {inputs[1]['mask_role']} mask on the reference (ACE++ takes it whole)"
    if DELIMITER in (sample.meta["instruction"] or ""):
        return f"the instruction holds the field delimiter {DELIMITER}"
    return common_loss(sample)


def ace_plus_line(sample: Sample, folder: Path, losses: Losses) -> str:
    inputs = sample.input_frames()
    edit = inputs[0] if inputs else None
    ref = inputs[1] if len(inputs) > 1 else None
    words = {"{image}": "the image", "{image1}": "the reference image"}
    prompt = sample.meta["instruction"]
    for placeholder, word in words.items():
        prompt = prompt.replace(placeholder, word)
    values = {
        "data_type": sample.meta["task"],
        "edit_image": _copy(sample, edit["image"], folder) if edit else "",
        "edit_mask": _edit_mask(sample, edit, folder, losses) if edit else "",
        "ref_image": _copy(sample, ref["image"], folder) if ref else "",
        "target_image": _copy(sample, sample.meta["target"], folder),
        "prompt": _one_line(replace_placeholders(prompt, "the image")),
    }
    return DELIMITER.join(values[name] for name in FIELDS)


def write_ace_plus(out: Path, new: Path, losses: Losses) -> Counter:
    written: Counter[str] = Counter()
    for split in splits_of(out):
        with _text_file(new / f"{split}.txt") as text:
            for sample in accepted_samples(out, split):
                reason = ace_plus_loss(sample)
                if reason:
                    losses.add(sample, reason)
                else:
                    text.write(ace_plus_line(sample, new, losses) + "\n")
                    written[split] += 1
    return written


def ace_plus_config(new: Path) -> dict[str, Any]:
    """What ACEPlusDataset's config must say to read the export."""
    return {"DELIMITER": DELIMITER, "FIELDS": list(FIELDS), "PATH_PREFIX": str(new.resolve())}


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def _edit_mask(sample: Sample, frame: dict, folder: Path, losses: Losses) -> str:
    """The frame's mask as the region to edit: as it is for an edit mask; a layer mask (the
    object to keep, in extract_foreground) inverted, and counted as translated."""
    if not frame["mask"]:
        return ""
    if frame["mask_role"] == "edit":
        return _copy(sample, frame["mask"], folder)
    losses.translate(sample, f"a {frame['mask_role']} mask inverted into the region to edit")
    inverted = encode_png(255 - decode_member(sample.members[frame["mask"]]), compression=3)
    relative = f"images/{sample.key}.edit-{frame['mask']}"
    atomic_write(folder / relative, inverted)
    return relative


def _copy(sample: Sample, member: str, folder: Path) -> str:
    """Write one member as images/<key>.<member>; -> its path relative to the folder."""
    relative = f"images/{sample.key}.{member}"
    atomic_write(folder / relative, sample.members[member])
    return relative


def _one_line(text: str) -> str:
    return " ".join((text or "").split())
