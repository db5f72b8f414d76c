"""The accepted samples of a corpus, as exporters read them: every ok sample of its complete
shards that the curation table has not rejected, split by split, shard by shard, one at a
time (memory holds one sample's members)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataengine.corpus.curation import rejected_keys
from dataengine.params import RecipeError
from dataengine.schema import SPLITS
from dataengine.sinks.layout import Layout
from dataengine.sinks.tars import tar_samples
from dataengine.storage import open_binary


@dataclass
class Sample:
    key: str
    split: str
    meta: dict[str, Any]  # the json member
    members: dict[str, bytes]  # member name ("src0.jpg", "tgt.png"...) -> bytes

    def input_frames(self) -> list[dict[str, Any]]:
        return [f for f in self.meta["frames"] if f["role"] == "input"]

    def history_frames(self) -> list[dict[str, Any]]:
        return [f for f in self.meta["frames"] if f["role"] == "history"]


def accepted_samples(out: str | Path, split: str | None = None) -> Iterator[Sample]:
    layout, rejected = Layout(out), rejected_keys(out)
    for shard in layout.complete_shards():
        if split is not None and not shard.startswith(f"{split}-"):
            continue
        with open_binary(layout.tar(shard)) as stream:
            for raw in tar_samples(stream):
                key = raw.pop("__key__")
                if key not in rejected:
                    meta = json.loads(raw.pop("json"))
                    yield Sample(key, meta["split"], meta, raw)


def splits_of(out: str | Path) -> list[str]:
    shards = Layout(out).complete_shards()
    return [s for s in SPLITS if any(name.startswith(f"{s}-") for name in shards)]


class Losses:
    """What a format could not express, counted per reason. A sample with a loss is left
    out of the export (it is never written half); `strict` makes the first one an error."""

    def __init__(self, fmt: str, strict: bool = False):
        self.fmt, self.strict = fmt, strict
        self.by_reason: Counter[str] = Counter()
        self.translated: Counter[str] = Counter()  # kept, with a part said another way

    def add(self, sample: Sample, reason: str) -> None:
        if self.strict:
            raise RecipeError(
                f"--format {self.fmt} cannot express sample {sample.key} ({sample.meta['task']}):"
                f" {reason}; drop --strict to leave such samples out (they are counted)"
            )
        self.by_reason[reason] += 1

    def translate(self, sample: Sample, how: str) -> None:
        self.translated[how] += 1

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())
