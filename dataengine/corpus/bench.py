"""`ace data bench DIR --out BENCH`: a frozen benchmark of the samples people verified.

BENCH is a corpus folder (shards, index, stats, run.json, dataset card) holding only the
chosen samples, byte for byte as DIR has them, plus `manifest.json`: every key with the
sha256 of each of its members, who verified it and when, the quota, the recipe and the
engine commit it came from. `ace model eval --bench BENCH` checks the shards against the
manifest first: a changed, missing or extra member is an error, so two evaluations on one
benchmark are evaluations on the same bytes.

Samples are chosen per task in key order (keys are content hashes: a fair draw, the same
every time), up to `per_task` each.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from dataengine.corpus.curation import now_utc, verified_keys
from dataengine.corpus.read import read_run_info
from dataengine.schema import SPLITS, STATUS_OK
from dataengine.sinks.card import write_run_card
from dataengine.sinks.files import atomic_write
from dataengine.sinks.layout import Layout, check_destination
from dataengine.sinks.lock import output_lock
from dataengine.sinks.shard_writer import ShardOrigin, commit_shard
from dataengine.sinks.tars import filtered_tar, tar_samples
from dataengine.storage import as_path, is_local, open_binary, read_parquet

MANIFEST = "manifest.json"
ALL_SPLITS = "all"


@dataclass
class Frozen:
    samples: int
    per_task: Counter
    manifest: Path


def freeze_bench(out: str | Path, new: str | Path, split: str, per_task: int | None) -> Frozen:
    out = as_path(out)
    if split not in (*SPLITS, ALL_SPLITS):
        raise ValueError(f"--split {split!r} is not one of {', '.join((*SPLITS, ALL_SPLITS))}")
    new = check_destination(out, new)
    if new.exists() and any(new.iterdir()):
        raise FileExistsError(f"{new} is not empty; choose a new folder for the benchmark")
    source = Layout(out)
    shards = [
        s for s in source.complete_shards() if split == ALL_SPLITS or s.startswith(f"{split}-")
    ]
    chosen = _choose(source, shards, verified_keys(out), per_task)
    if not chosen:
        where = "any split" if split == ALL_SPLITS else f"the {split} split"
        raise ValueError(
            f"no sample of {where} is verified in {out}; verify some with `ace data review` "
            "or `ace data curate --verify KEY...`"
        )
    with output_lock(new, "bench"):
        return _write(source, Layout(new), chosen, per_task)


def _choose(source: Layout, shards: list[str], verified: dict, per_task: int | None) -> dict:
    """key -> (shard, task, the verify decision), per_task at most per task, in key order."""
    by_task: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for shard in shards:
        rows = read_parquet(source.index(shard), columns=["key", "status", "task"]).to_pylist()
        for row in rows:
            if row["status"] == STATUS_OK and row["key"] in verified:
                by_task[row["task"]].append((row["key"], shard))
    chosen = {}
    for task, found in by_task.items():
        for key, shard in sorted(found)[:per_task]:
            chosen[key] = (shard, task, verified[key])
    return chosen


def _write(source: Layout, target: Layout, chosen: dict, per_task: int | None) -> Frozen:
    samples: dict[str, dict[str, Any]] = {}
    for shard in sorted({shard for shard, _, _ in chosen.values()}):
        with open_binary(source.tar(shard)) as stream:
            tar = filtered_tar(stream, lambda key: key in chosen)
        table = read_parquet(source.index(shard))
        keep = pa.array([key in chosen for key in table.column("key").to_pylist()])
        commit_shard(
            target, ShardOrigin.recorded(source.read_stats(shard)), tar, table.filter(keep)
        )
        for key, hashes in member_hashes(target.tar(shard)).items():
            _, task, decision = chosen[key]
            samples[key] = {
                "task": task,
                "shard": shard,
                "verified_by": decision["by"],
                "verified_at": decision["decided_at"],
                "members": hashes,
            }
    manifest = _manifest(source, samples, per_task)
    path = target.root / MANIFEST
    atomic_write(path, json.dumps(manifest, indent=2, sort_keys=True).encode())
    info = {**_run_info(manifest), "ended": now_utc()}
    atomic_write(target.run_info, json.dumps(info, indent=2, sort_keys=True).encode())
    write_run_card(target.root, info)
    return Frozen(len(samples), Counter(s["task"] for s in samples.values()), path)


def member_hashes(tar_path) -> dict[str, dict[str, str]]:
    """key -> {member name: sha256} for every sample of a tar."""
    with open_binary(tar_path) as stream:
        return _hashes(tar_samples(stream))


def _hashes(samples) -> dict[str, dict[str, str]]:
    hashes = {}
    for sample in samples:
        key = sample.pop("__key__")
        hashes[key] = {name: hashlib.sha256(data).hexdigest() for name, data in sample.items()}
    return hashes


def _manifest(source: Layout, samples: dict, per_task: int | None) -> dict[str, Any]:
    run = read_run_info(source.root)
    return {
        "created": now_utc(),
        "source": str(source.root.resolve() if is_local(source.root) else source.root),
        "recipe": run.get("recipe"),
        "source_run": {k: run.get(k) for k in ("started", "ended", "seed", "versions")},
        "engine_commit": engine_commit(),
        "per_task": per_task,
        "tasks": dict(sorted(Counter(s["task"] for s in samples.values()).items())),
        "samples": samples,
    }


def _run_info(manifest: dict) -> dict[str, Any]:
    return {
        "benchmark_of": manifest["source"],
        "recipe": manifest["recipe"],
        "counts": {
            "by_status": {STATUS_OK: len(manifest["samples"])},
            "by_task": manifest["tasks"],
        },
    }


def engine_commit() -> str | None:
    """The git commit this engine runs from ("+dirty" when its files differ from it), or None
    outside a git checkout (an installed wheel)."""
    here = Path(__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(here), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit and git("status", "--porcelain", "--untracked-files=no"):
        commit += "+dirty"
    return commit


# --------------------------------------------------------------------------------------------
# Checking a benchmark before it is used
# --------------------------------------------------------------------------------------------


def check_bench(bench: str | Path) -> dict[str, Any]:
    """The manifest of `bench`, once every member of every shard matches it; otherwise a
    ValueError naming the first problems."""
    bench = as_path(bench)
    path = bench / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(
            f"{bench} has no {MANIFEST}; build a benchmark with `ace data bench`"
        )
    manifest = json.loads(path.read_text())
    expected = manifest["samples"]
    found: dict[str, dict[str, str]] = {}
    for shard in Layout(bench).complete_shards():
        found.update(member_hashes(Layout(bench).tar(shard)))
    problems = _differences(expected, found)
    if problems:
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        raise ValueError(f"{bench} does not match its manifest: {shown}")
    return manifest


def _differences(expected: dict, found: dict) -> list[str]:
    problems = [f"{key} is missing" for key in sorted(set(expected) - set(found))]
    problems += [f"{key} is not in the manifest" for key in sorted(set(found) - set(expected))]
    for key in sorted(set(expected) & set(found)):
        want, have = expected[key]["members"], found[key]
        for name in sorted(set(want) | set(have)):
            if name not in have:
                problems.append(f"{key}.{name} is missing")
            elif name not in want:
                problems.append(f"{key}.{name} is not in the manifest")
            elif want[name] != have[name]:
                problems.append(
                    f"{key}.{name} changed (sha256 {have[name][:12]}, manifest {want[name][:12]})"
                )
    return problems
