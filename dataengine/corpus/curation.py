"""The curation table: accept/reject decisions about samples, kept beside the shards.

Shards are never rewritten to curate: decisions are appended as Parquet files under
`DIR/curation/` (columns key, decision, reason, decided_at, by), and the latest decision per
key wins, reading files in name order; earlier ones stay, so every reviewer's decision on a
sample is kept. Readers (the trainer, `ace data export`, the audit report) ask
`rejected_keys(DIR)`; `ace data bench` asks `verified_keys(DIR)`.

Decisions:
    accept    the sample is in (again)
    reject    the sample is out
    verify    a person checked it: in, and eligible for a frozen benchmark (`ace data bench`)
    clear     no decision from here on: what an undo of a first decision records

Two kinds of file:
    0-selection.parquet             the corpus-wide selection (near duplicates, quotas), by
                                    `ace data select`; rewritten whole on every pass
    <UTC time>-<by>.parquet          one per `ace data curate` call, never rewritten
The selection's name sorts first, so a person's decision overrides it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dataengine.sinks.files import atomic_write_table
from dataengine.storage import as_path, read_parquet

DECISIONS = ("accept", "reject", "verify", "clear")
CURATION_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("decision", pa.string()),
        ("reason", pa.string()),
        ("decided_at", pa.string()),  # ISO 8601, UTC
        ("by", pa.string()),
    ]
)
SELECTION_FILE = "0-selection.parquet"
SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def curation_dir(out: str | Path) -> Path:
    return as_path(out) / "curation"


def read_decisions(out: str | Path, exclude: tuple[str, ...] = ()) -> dict[str, dict]:
    """The latest decision per key (files in name order, rows in file order); files named in
    `exclude` are left out."""
    latest: dict[str, dict] = {}
    for path in decision_files(out):
        if path.name in exclude:
            continue
        apply_decisions(latest, read_decision_file(path))
    return latest


def decision_files(out: str | Path) -> list[Path]:
    """The curation table's files, in the order their decisions apply."""
    return sorted(curation_dir(out).glob("*.parquet"))


def read_decision_file(path: Path) -> list[dict]:
    return read_parquet(path, schema=CURATION_SCHEMA).to_pylist()


def apply_decisions(latest: dict[str, dict], rows: list[dict]) -> None:
    """Fold later rows into `latest` (key -> the decision in force)."""
    for row in rows:
        if row["decision"] == "clear":
            latest.pop(row["key"], None)
        else:
            latest[row["key"]] = row


def rejected_keys(out: str | Path) -> set[str]:
    return {key for key, row in read_decisions(out).items() if row["decision"] == "reject"}


def verified_keys(out: str | Path) -> dict[str, dict]:
    """key -> its decision row, for the samples whose decision in force is `verify`."""
    return {key: row for key, row in read_decisions(out).items() if row["decision"] == "verify"}


def now_utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def decision_rows(
    keys: list[str], decision: str, reason: str, by: str, at: str | None = None
) -> list[dict]:
    if decision not in DECISIONS:
        raise ValueError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
    at = at or now_utc()
    return [
        {"key": k, "decision": decision, "reason": reason, "decided_at": at, "by": by} for k in keys
    ]


def record_decisions(out: str | Path, rows: list[dict], by: str) -> Path:
    """Append one new decisions file, named by the time (so later files win) and by whom."""
    ns = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"
    path = curation_dir(out) / f"{stamp}-{SAFE_NAME.sub('_', by) or 'someone'}.parquet"
    atomic_write_table(path, pa.Table.from_pylist(rows, schema=CURATION_SCHEMA))
    return path


def write_selection(out: str | Path, rows: list[dict]) -> Path:
    """Replace the corpus-wide selection's decisions (sorted by key: the same every pass)."""
    rows = sorted(rows, key=lambda r: r["key"])
    path = curation_dir(out) / SELECTION_FILE
    atomic_write_table(path, pa.Table.from_pylist(rows, schema=CURATION_SCHEMA))
    return path


# --------------------------------------------------------------------------------------------
# Decisions from people: `ace data curate`
# --------------------------------------------------------------------------------------------


def read_keys_file(path: str | Path, decision: str = "reject") -> list[dict]:
    """Decisions from a file: a Parquet or CSV table with a `key` column (and optionally
    `decision` and `reason`), or text with one key per line, a reason after it, # comments."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--from {path}: no such file")
    if path.suffix in (".parquet", ".csv"):
        return _table_decisions(path, decision)
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split("#", 1)[0].split(None, 1)
        if fields:
            reason = fields[1].strip() if len(fields) > 1 else None
            rows.append({"key": fields[0], "decision": decision, "reason": reason})
    return rows


def _table_decisions(path: Path, decision: str) -> list[dict]:
    if path.suffix == ".csv":
        import pyarrow.csv as pcsv

        table = pcsv.read_csv(path)
    else:
        table = pq.read_table(path)
    if "key" not in table.column_names:
        raise ValueError(f"--from {path}: no `key` column (columns: {table.column_names})")
    rows = []
    for row in table.to_pylist():
        rows.append(
            {
                "key": str(row["key"]),
                "decision": row.get("decision") or decision,
                "reason": row.get("reason"),
                "by": row.get("by"),
            }
        )
    return rows


def check_decisions(out: str | Path, rows: list[dict]) -> list[str]:
    """Problems that stop a curate call before anything is written: unknown keys, unknown
    decisions, and keys that are no sample in the shards (failed or rejected while built)."""
    from dataengine.corpus.read import read_index

    index = read_index(out, columns=["key", "status", "error"]).to_pylist()
    status = {r["key"]: (r["status"], r["error"]) for r in index}
    problems = [
        f"{r['key']}: decision {r['decision']!r} is not one of {', '.join(DECISIONS)}"
        for r in rows
        if r["decision"] not in DECISIONS
    ]
    unknown = [r["key"] for r in rows if r["key"] not in status]
    if unknown:
        shown = ", ".join(unknown[:5]) + (
            f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        )
        problems.append(f"{len(unknown)} keys are not in {out}'s index: {shown}")
    for r in rows:
        kind, error = status.get(r["key"], ("ok", None))
        if kind != "ok":
            problems.append(
                f"{r['key']}: not a sample in the shards (status {kind}: {error}); a decision "
                "cannot bring it back: change the recipe's thresholds and rebuild"
            )
    return problems
