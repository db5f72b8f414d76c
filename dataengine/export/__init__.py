"""`ace data export DIR --format F --out NEW`: the accepted samples of a corpus (ok, and not
rejected by the curation table) in the layout another reader or trainer takes.

    webdataset.py  --format webdataset: new shards, the same members (the default)
    parquet.py     --format hf: Parquet with Image features; --format instructpix2pix
    scepter.py     --format ace: ACE's CSV folder; --format ace-plus: ACE++'s #;# list
    samples.py     the accepted samples, one at a time; what a format loses, per reason

A sample a format cannot express (several inputs, history, a mask it has no place for) is
left out and counted per reason; with `strict`, the first one stops the export before
anything is written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataengine.export.samples import Losses, accepted_samples
from dataengine.sinks.layout import Layout, check_destination
from dataengine.sinks.lock import output_lock
from dataengine.storage import as_path

FORMATS = ("webdataset", "hf", "instructpix2pix", "ace", "ace-plus")


@dataclass
class Exported:
    format: str
    written: Counter  # samples written, per split
    lost: Counter  # samples left out, per reason
    notes: dict[str, Any] = field(default_factory=dict)  # what the reader must be told

    @property
    def samples(self) -> int:
        return sum(self.written.values())


def export_corpus(out: str | Path, new: str | Path, fmt: str, strict: bool = False) -> Exported:
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    out = as_path(out)
    if fmt == "webdataset":
        return _webdataset(out, new)
    new = check_destination(out, new)
    if not Layout(out).complete_shards():
        raise FileNotFoundError(f"{out} holds no complete shard; nothing to export")
    if new.exists() and any(new.iterdir()):
        raise FileExistsError(f"{new} is not empty; choose a new folder for the export")
    if strict:  # a check first, so that a loss stops the export before any file is written
        _check_expressible(out, fmt)
    with output_lock(new, "export"):
        return _write(out, new, fmt, Losses(fmt))


def _webdataset(out: Path, new) -> Exported:
    from dataengine.export.webdataset import export_accepted

    done = export_accepted(out, new)
    return Exported("webdataset", Counter({"all": done.samples}), Counter(),
                    {"curated_out": done.curated_out})  # fmt: skip


def _write(out: Path, new: Path, fmt: str, losses: Losses) -> Exported:
    from dataengine.export import parquet, scepter

    notes: dict[str, Any] = {}
    if fmt == "hf":
        written = parquet.write_parquet(out, new, parquet.hf_features(), parquet.hf_row, losses,
                                        f"{out.name}: ACE pairs")  # fmt: skip
    elif fmt == "instructpix2pix":
        features = parquet.ip2p_features()
        title = f"{out.name}: InstructPix2Pix pairs"
        written = parquet.write_parquet(out, new, features, parquet.ip2p_row, losses, title)
    elif fmt == "ace":
        written = scepter.write_ace(out, new, losses)
    else:
        written = scepter.write_ace_plus(out, new, losses)
        notes = scepter.ace_plus_config(new)
    if losses.translated:
        notes["translated"] = dict(losses.translated)
    return Exported(fmt, written, losses.by_reason, notes)


def _check_expressible(out: Path, fmt: str) -> None:
    from dataengine.export import parquet, scepter

    loss_of = {
        "hf": lambda sample: None,
        "instructpix2pix": parquet.ip2p_loss,
        "ace": scepter.ace_loss,
        "ace-plus": scepter.ace_plus_loss,
    }[fmt]
    losses = Losses(fmt, strict=True)
    for sample in accepted_samples(out):
        reason = loss_of(sample)
        if reason:
            losses.add(sample, reason)
