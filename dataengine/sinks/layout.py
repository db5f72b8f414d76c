"""Where things live in an output directory, local or in object storage. Readers (validate,
stats, audit, the trainer) and the writers share these paths."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataengine.storage import as_path, is_local, listing


def check_destination(source: Path, destination: str | Path, flag: str = "--out") -> Path:
    """A writer's destination folder, refused where writing would harm its source: the
    source itself, a folder inside it, an empty name (the current folder), or a file."""
    if str(destination).strip() in ("", "."):
        raise ValueError(f"{flag} is empty; give a new folder to write to")
    destination = as_path(destination)
    here, there = _absolute(as_path(source)), _absolute(destination)
    if there == here or there.startswith(here.rstrip("/") + "/"):
        raise ValueError(
            f"{flag} {destination} is inside the corpus {source}; writing there would change "
            "it: give a folder outside it"
        )
    if destination.exists() and not destination.is_dir():
        raise ValueError(f"{flag} {destination} is a file; give a folder")
    return destination


def _absolute(path: Any) -> str:
    return str(path.resolve()) if is_local(path) else str(path).rstrip("/")


@dataclass(frozen=True)
class Layout:
    root: Any  # a UPath: a local Path, or an fsspec URL's path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", as_path(self.root))

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
        return sorted(p.stem for p in listing(self.root / "stats", "*.json"))

    def incomplete_shards(self) -> list[str]:
        done = set(self.complete_shards())
        tars = {p.stem for p in listing(self.root / "shards", "*.tar")}
        return sorted(tars - done)

    def read_stats(self, shard: str) -> dict[str, Any]:
        return json.loads(self.stats(shard).read_text())
