"""`ace data export DIR --out NEW` (`--format webdataset`, the default): new shards holding
only the accepted samples.

Accepted = status ok and not rejected in the curation table. Tar members are copied as they
are (no re-encoding), so an exported sample is byte-identical to the original. Each shard's
index keeps every row, the curated-out ones turned into status "rejected" with the curation
reason, so NEW still says what happened to every sample; NEW has the same layout and passes
`ace data validate`, and its dataset card makes it a Hugging Face dataset like the corpus.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from dataengine.corpus.curation import now_utc, read_decisions
from dataengine.schema import STATUS_OK, STATUS_REJECTED, canonical_json
from dataengine.sinks.card import write_run_card
from dataengine.sinks.files import atomic_write
from dataengine.sinks.layout import Layout, check_destination
from dataengine.sinks.lock import output_lock
from dataengine.sinks.shard_writer import ShardOrigin, commit_shard
from dataengine.sinks.tars import filtered_tar
from dataengine.storage import is_local, open_binary, read_parquet


@dataclass
class ExportSummary:
    shards: int
    samples: int
    curated_out: int


def export_accepted(out: str | Path, new: str | Path) -> ExportSummary:
    new = check_destination(out, new)
    source, target = Layout(out), Layout(new)
    if not source.complete_shards():
        raise FileNotFoundError(f"{out} holds no complete shard; nothing to export")
    if target.complete_shards():
        raise FileExistsError(f"{new} already holds shards; choose an empty --out")
    with output_lock(new, "export"):
        return _export(source, target, out)


def _export(source: Layout, target: Layout, out: str | Path) -> ExportSummary:
    rejected = {k: r for k, r in read_decisions(out).items() if r["decision"] == "reject"}
    totals, tasks, curated_out = Counter(), Counter(), 0
    for shard in source.complete_shards():
        stats, curated = _export_shard(source, target, shard, rejected)
        totals.update(stats["by_status"])
        tasks.update(stats["by_task"])
        curated_out += curated
    info = _write_run_info(source, target, totals, tasks, len(rejected))
    write_run_card(target.root, info)
    return ExportSummary(len(source.complete_shards()), totals[STATUS_OK], curated_out)


def _export_shard(source: Layout, target: Layout, shard: str, rejected: dict) -> tuple[dict, int]:
    """Write one shard of the export; return its stats and how many samples it lost."""
    tar = _kept_members(source.tar(shard), rejected)
    table = read_parquet(source.index(shard))
    originals = table.to_pylist()
    rows = [_curate_row(row, rejected.get(row["key"])) for row in originals]
    index = pa.Table.from_pylist(rows, schema=table.schema)  # the source's columns, scores too
    origin = ShardOrigin.recorded(source.read_stats(shard))
    stats = commit_shard(target, origin, tar, index)
    return stats, sum(a is not b for a, b in zip(originals, rows, strict=True))


def _kept_members(tar_path: Path, rejected: dict) -> bytes:
    """The tar without the rejected samples' members; headers and bytes as they were."""
    with open_binary(tar_path) as stream:
        return filtered_tar(stream, lambda key: key not in rejected)


def _curate_row(row: dict, decision: dict | None) -> dict:
    if decision is None or row["status"] != STATUS_OK:
        return row
    reason = f"curation: {decision['reason'] or 'rejected'} (by {decision['by']})"
    return {
        **row,
        "status": STATUS_REJECTED,
        "error": reason,
        "n_frames": 0,
        "frames": None,
        "target": None,
        "member_sizes": canonical_json({}),
        "bytes": 0,
    }


def _write_run_info(
    source: Layout, target: Layout, totals: Counter, tasks: Counter, decisions: int
) -> dict:
    original = json.loads(source.run_info.read_text()) if source.run_info.exists() else {}
    info = {
        "exported_from": str(source.root.resolve() if is_local(source.root) else source.root),
        "recipe": original.get("recipe"),
        "seed": original.get("seed"),
        "source_run_ended": original.get("ended"),
        "ended": now_utc(),
        "curation_decisions_applied": decisions,
        "counts": {
            "by_status": dict(sorted(totals.items())),
            "by_task": dict(sorted(tasks.items())),
        },
    }
    atomic_write(target.run_info, json.dumps(info, indent=2, sort_keys=True).encode())
    return info
