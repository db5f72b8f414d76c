"""What the review page asks of a corpus: its index rows, filtered, sorted and paged, with
the decision in force for each; one sample in full; and its members' bytes.

The index is read once (the columns a card or a filter needs, the shard of each row) and
queried with pyarrow, so a query costs the same at 1k and at 100k rows. Decisions are folded
in from the curation table's files as they appear (`DecisionLog`).
"""

from __future__ import annotations

import json
import math
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dataengine.corpus.curation import apply_decisions, decision_files, read_decision_file
from dataengine.schema import STATUS_OK, is_key
from dataengine.sinks.layout import Layout
from dataengine.storage import open_binary, read_parquet, read_parquet_schema

FACETS = ("split", "task", "category", "status", "instruction_source")
UNDECIDED = "undecided"  # the decision filter's value for samples nobody decided about
PAGE_LIMIT = 500


@dataclass
class Query:
    """One page of the grid: equality filters, a score range, a sort, an offset."""

    filters: dict[str, str]  # facet or "decision" -> value
    score: str | None = None  # the score a range and a sort refer to
    low: float | None = None
    high: float | None = None
    sort: str = "key"  # "key", or "score" (ascending) / "-score" (descending)
    offset: int = 0
    limit: int = 60


class DecisionLog:
    """The decision in force per key, and every decision recorded per key, kept up to date by
    reading only the curation files that appeared since the last look (one per decision made
    in the page). A file that changed or appeared out of order (the selection, rewritten by
    `ace data select`) makes it read the table again whole."""

    def __init__(self, out: Path):
        self.out, self.lock = out, threading.Lock()
        self.seen: list[tuple[str, int]] = []
        self.latest: dict[str, dict] = {}
        self.rows: dict[str, list[dict]] = {}

    def current(self) -> dict[str, dict]:
        with self.lock:
            self._catch_up()
            return self.latest

    def history(self, key: str) -> list[dict]:
        """Every decision recorded about `key`, oldest first (the last one is in force)."""
        with self.lock:
            self._catch_up()
            return list(self.rows.get(key, []))

    def _catch_up(self) -> None:
        files = [(p, p.stat().st_mtime_ns) for p in decision_files(self.out)]
        if [(p.name, mtime) for p, mtime in files[: len(self.seen)]] != self.seen:
            self.seen, self.latest, self.rows = [], {}, {}
        for path, mtime in files[len(self.seen) :]:
            rows = read_decision_file(path)
            apply_decisions(self.latest, rows)
            for row in rows:
                self.rows.setdefault(row["key"], []).append(row)
            self.seen.append((path.name, mtime))


class Catalogue:
    def __init__(self, out: Path):
        self.out, self.layout = out, Layout(out)
        self.table = _index_with_shards(self.layout)
        self.scores = sorted(
            n[len("score_") :] for n in self.table.column_names if n.startswith("score_")
        )
        self.decisions = DecisionLog(out)
        self.row_of = {key: i for i, key in enumerate(self.table.column("key").to_pylist())}
        self.members = TarMembers(self.layout)

    # -- the grid -------------------------------------------------------------------------

    def facets(self) -> dict[str, Any]:
        counts = {}
        for name in FACETS:
            values = self.table.column(name).value_counts().to_pylist()
            counts[name] = sorted((v["values"], v["counts"]) for v in values if v["values"])
        ranges = {}
        for name in self.scores:
            low, high = pc.min_max(self.table.column(f"score_{name}")).values()
            if low.is_valid:
                ranges[name] = [low.as_py(), high.as_py()]
        return {"facets": counts, "scores": ranges, "rows": self.table.num_rows}

    def query(self, q: Query) -> dict[str, Any]:
        latest = self.decisions.current()
        table = self.table.filter(self._mask(q, latest))
        table = table.sort_by(_sort_keys(q, self.scores))
        page = table.slice(q.offset, min(q.limit, PAGE_LIMIT)).to_pylist()
        return {
            "total": table.num_rows,
            "offset": q.offset,
            "items": [self._card(row, latest.get(row["key"])) for row in page],
        }

    def _mask(self, q: Query, latest: dict[str, dict]) -> pa.Array:
        mask = pa.array([True] * self.table.num_rows)
        for name, value in q.filters.items():
            if name in FACETS and value:
                mask = pc.and_(mask, pc.equal(self.table.column(name), value))
        wanted = q.filters.get("decision")
        if wanted:
            keys = self.table.column("key").to_pylist()
            decided = [latest[k]["decision"] if k in latest else UNDECIDED for k in keys]
            mask = pc.and_(mask, pc.equal(pa.array(decided), wanted))
        if q.score in self.scores and (q.low is not None or q.high is not None):
            column = self.table.column(f"score_{q.score}")
            if q.low is not None:
                mask = pc.and_(mask, pc.greater_equal(column, q.low))
            if q.high is not None:
                mask = pc.and_(mask, pc.less_equal(column, q.high))
        return pc.fill_null(mask, False)

    def _card(self, row: dict, decision: dict | None) -> dict[str, Any]:
        scores = {
            name: value
            for name in self.scores
            if (value := row.get(f"score_{name}")) is not None and math.isfinite(value)
        }
        return {
            **{name: row[name] for name in ("key", "status", "error", "instruction", *FACETS)},
            "shard": row["shard"],
            "scores": scores,
            "decision": decision,
        }

    # -- one sample -----------------------------------------------------------------------

    def row(self, key: str) -> dict[str, Any] | None:
        i = self.row_of.get(key) if is_key(key) else None
        return None if i is None else self.table.slice(i, 1).to_pylist()[0]

    def sample(self, key: str) -> dict[str, Any] | None:
        row = self.row(key)
        if row is None:
            return None
        card = self._card(row, self.decisions.current().get(key))
        row = _full_row(self.layout, row["shard"], key)
        provenance = {
            name[len("provenance_") :]: value
            for name, value in row.items()
            if name.startswith("provenance_") and value not in (None, "null", [], {})
        }
        return {
            **card,
            "caption": row.get("caption"),
            "frames": json.loads(row["frames"]) if row.get("frames") else [],
            "target": row.get("target"),
            "shard": card["shard"],
            "provenance": provenance,
            "history": self.decisions.history(key),
        }

    def member(self, key: str, name: str) -> bytes | None:
        """A sample's image or mask member; None for anything that is not one."""
        row = self.row(key)
        if row is None or row["status"] != STATUS_OK or name == "json":
            return None
        if name not in json.loads(row.get("member_sizes") or "{}"):
            return None
        return self.members.read(row["shard"], [f"{key}.{name}"])[0]

    def sample_members(self, key: str) -> dict[str, bytes] | None:
        row = self.row(key)
        if row is None or row["status"] != STATUS_OK:
            return None
        names = list(json.loads(row.get("member_sizes") or "{}"))
        found = self.members.read(row["shard"], [f"{key}.{name}" for name in names])
        return dict(zip(names, found, strict=True))


class TarMembers:
    """Random access to tar members: each shard's member offsets are found once (a pass over
    its headers), then a member is one seek and one read."""

    def __init__(self, layout: Layout):
        self.layout, self.lock = layout, threading.Lock()
        self.offsets: dict[str, dict[str, tuple[int, int]]] = {}

    def read(self, shard: str, members: list[str]) -> list[bytes]:
        """The bytes of `members` of one shard, through one open file."""
        offsets = self._offsets(shard)
        missing = [m for m in members if m not in offsets]
        if missing:
            raise KeyError(f"{missing[0]} is not in shard {shard}")
        found = []
        with open_binary(self.layout.tar(shard)) as stream:
            for member in members:
                start, size = offsets[member]
                stream.seek(start)
                found.append(stream.read(size))
        return found

    def _offsets(self, shard: str) -> dict[str, tuple[int, int]]:
        with self.lock:
            if shard not in self.offsets:
                with (
                    open_binary(self.layout.tar(shard)) as stream,
                    tarfile.open(fileobj=stream) as tar,
                ):
                    self.offsets[shard] = {
                        info.name: (info.offset_data, info.size) for info in tar if info.isfile()
                    }
            return self.offsets[shard]


# What a card, a filter or a member read needs of every row; the rest of a row (provenance,
# caption) is read from its shard's index when the one-sample view asks for it.
CARD_COLUMNS = ("key", "status", "error", "instruction", "member_sizes", *FACETS)


def _index_with_shards(layout: Layout) -> pa.Table:
    tables = []
    for shard in layout.complete_shards():
        path = layout.index(shard)
        names = read_parquet_schema(path).names
        columns = [n for n in names if n in CARD_COLUMNS or n.startswith("score_")]
        table = read_parquet(path, columns=columns)
        shards = pa.array([shard] * table.num_rows, pa.string())
        tables.append(table.append_column("shard", shards))
    if not tables:
        raise FileNotFoundError(f"{layout.root} holds no complete shard; run `ace data run` first")
    return pa.concat_tables(tables, promote_options="default")


def _full_row(layout: Layout, shard: str, key: str) -> dict[str, Any]:
    table = read_parquet(layout.index(shard), filters=[("key", "=", key)])
    return table.to_pylist()[0]


def _sort_keys(q: Query, scores: list[str]) -> list[tuple[str, str]]:
    name = q.sort.lstrip("-")
    if name in scores:
        return [
            (f"score_{name}", "descending" if q.sort.startswith("-") else "ascending"),
            ("key", "ascending"),
        ]
    return [("key", "ascending")]
