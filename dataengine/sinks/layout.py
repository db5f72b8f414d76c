"""Where things live in an output directory. Readers (validate, stats, audit, the trainer)
and the writers share these paths."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def check_destination(source: Path, destination: str | Path, flag: str = "--out") -> Path:
    """A writer's destination folder, refused where writing would harm its source: the
    source itself, a folder inside it, an empty name (the current folder), or a file."""
    if str(destination).strip() in ("", "."):
        raise ValueError(f"{flag} is empty; give a new folder to write to")
    destination = Path(destination)
    here, there = Path(source).resolve(), destination.resolve()
    if there == here or here in there.parents:
        raise ValueError(
            f"{flag} {destination} is inside the corpus {source}; writing there would change "
            "it: give a folder outside it"
        )
    if destination.exists() and not destination.is_dir():
        raise ValueError(f"{flag} {destination} is a file; give a folder")
    return destination


@dataclass(frozen=True)
class Layout:
    root: Path

    def tar(self, shard: str) -> Path:
        return self.root / "shards" / f"{shard}.tar"

    def index(self, shard: str) -> Path:
        return self.root / "index" / f"{shard}.parquet"

    def stats(self, shard: str) -> Path:
        return self.root / "stats" / f"{shard}.json"

    @property
    def run_info(self) -> Path:
        return self.root / "run.json"

    def complete_shards(self) -> list[str]:
        """Shards whose stats file exists: the only ones a reader may trust."""
        return sorted(p.stem for p in (self.root / "stats").glob("*.json"))

    def incomplete_shards(self) -> list[str]:
        done = set(self.complete_shards())
        tars = {p.stem for p in (self.root / "shards").glob("*.tar")}
        return sorted(tars - done)

    def read_stats(self, shard: str) -> dict[str, Any]:
        return json.loads(self.stats(shard).read_text())
