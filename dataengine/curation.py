"""The curation table: people's accept/reject decisions about samples, kept beside the shards.

Shards are never rewritten to curate: decisions are appended as Parquet files under
`DIR/curation/` (columns key, decision "accept" | "reject", reason, decided_at, by), and the
latest decision per key wins. Readers (the trainer, `ace data export`, the audit report)
ask `rejected_keys(DIR)`.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

DECISIONS = ("accept", "reject")
CURATION_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("decision", pa.string()),
        ("reason", pa.string()),
        ("decided_at", pa.string()),  # ISO 8601, UTC
        ("by", pa.string()),
    ]
)


def curation_dir(out: str | Path) -> Path:
    return Path(out) / "curation"


def read_decisions(out: str | Path) -> dict[str, dict]:
    """The latest decision per key (files in name order, rows in file order)."""
    latest: dict[str, dict] = {}
    for path in sorted(curation_dir(out).glob("*.parquet")):
        for row in pq.read_table(path, schema=CURATION_SCHEMA).to_pylist():
            latest[row["key"]] = row
    return latest


def rejected_keys(out: str | Path) -> set[str]:
    return {key for key, row in read_decisions(out).items() if row["decision"] == "reject"}
