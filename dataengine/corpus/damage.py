"""`ace data damage DIR --out NEW`: a copy of a corpus whose training samples are made wrong on
purpose, for ablations: an evaluation that cannot tell it from the original cannot tell good
data from bad.

- `swap_targets`: each train sample of a task gets the target of another sample of the
  same task (a derangement per task; a task with one train sample keeps its own): the
  instruction and the inputs no longer say how the target came about.
- `shuffle_instructions` (a fraction): that share of train samples get the instruction of
  a sample of another task.

Only the train split is damaged: val and bench are copied byte for byte, so models trained
on the original and on the copy are judged on the same frozen bench. Keys stay; a damaged
sample's json records what it took from which sample (`provenance.damaged`), and its index
row follows its new instruction, target and sizes; the copy validates.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from dataengine.schema import canonical_json, image_refs, rng_for
from dataengine.sinks.files import atomic_write
from dataengine.sinks.layout import Layout, check_destination
from dataengine.sinks.shard_writer import ShardOrigin, commit_shard, tar_bytes
from dataengine.sinks.tars import tar_samples
from dataengine.storage import open_binary, read_parquet


@dataclass(frozen=True)
class Damage:
    swap_targets: bool = False
    shuffle_instructions: float = 0.0
    seed: int = 0

    def check(self) -> None:
        if not 0 <= self.shuffle_instructions <= 1:
            raise ValueError(
                f"--shuffle-instructions is {self.shuffle_instructions}; give a fraction in [0, 1]"
            )
        if not self.swap_targets and not self.shuffle_instructions:
            raise ValueError("no damage asked: give --swap-targets or --shuffle-instructions F")


def damage_corpus(out: str | Path, new: str | Path, damage: Damage) -> dict[str, int]:
    """Write the damaged copy; -> how many train samples each damage touched."""
    damage.check()
    source, target = Layout(out), Layout(check_destination(out, new))
    if not source.complete_shards():
        raise FileNotFoundError(f"{out} holds no complete shard; nothing to copy")
    plan = _plan(source, damage)
    targets = _targets_needed(source, plan)
    for shard in source.complete_shards():
        _copy_shard(source, target, shard, plan, targets)
    for name in ("run.json", "README.md"):
        if (source.root / name).exists():
            atomic_write(target.root / name, (source.root / name).read_bytes())
    return {kind: sum(kind in c for c in plan.values()) for kind in ("target", "instruction")}


def _plan(layout: Layout, damage: Damage) -> dict[str, dict[str, Any]]:
    """key -> what it takes from another train sample: {"target": key, "instruction": text}."""
    by_task, instructions = defaultdict(list), []
    for shard in layout.complete_shards():
        if not shard.startswith("train-"):
            continue
        for sample in _samples(layout, shard):
            meta = json.loads(sample["json"])
            by_task[meta["task"]].append(sample["__key__"])
            inputs = sum(frame["role"] == "input" for frame in meta["frames"])
            instructions.append((sample["__key__"], meta["task"], meta["instruction"], inputs))
    plan: dict[str, dict[str, Any]] = defaultdict(dict)
    if damage.swap_targets:
        for task, keys in sorted(by_task.items()):
            if len(keys) < 2:  # a task's only train sample has no other target to take
                continue
            keys = sorted(keys)
            for key, other in zip(keys, _derangement(keys, damage.seed, task), strict=True):
                plan[key]["target"] = other
    if damage.shuffle_instructions:
        _shuffle(instructions, damage, plan)
    return dict(plan)


def _derangement(keys: list[str], seed: int, task: str) -> list[str]:
    """Each key's partner: a rotation of a seeded order, so no sample keeps its own."""
    order = [keys[i] for i in rng_for(seed, "swap", task).permutation(len(keys))]
    partner = dict(zip(order, order[1:] + order[:1], strict=True))
    return [partner[k] for k in keys]


def _shuffle(instructions: list, damage: Damage, plan: dict) -> None:
    """Another task's instruction that names no more frames than the sample has inputs."""
    rng = rng_for(damage.seed, "instructions")
    chosen = rng.random(len(instructions)) < damage.shuffle_instructions
    for (key, task, _, inputs), take in zip(instructions, chosen, strict=True):
        if not take:
            continue
        others = [
            text
            for _, other, text, _ in instructions
            if other != task and max(image_refs(text), default=-1) < inputs
        ]
        if others:
            plan[key]["instruction"] = others[int(rng.integers(len(others)))]


def _samples(layout: Layout, shard: str):
    with open_binary(layout.tar(shard)) as stream:
        yield from tar_samples(stream)


def _copy_shard(source: Layout, target: Layout, shard: str, plan: dict, targets: dict) -> None:
    if not shard.startswith("train-"):
        _copy_bytes(source, target, shard)
        return
    samples = {}
    for sample in _samples(source, shard):
        key = sample.pop("__key__")
        samples[key] = _damaged(sample, plan.get(key, {}), targets)
    table = read_parquet(source.index(shard))
    rows = [_row(row, samples.get(row["key"])) for row in table.to_pylist()]
    index = pa.Table.from_pylist(rows, schema=table.schema)
    tar = tar_bytes(sorted(samples.items()))
    commit_shard(target, ShardOrigin.recorded(source.read_stats(shard)), tar, index)


def _targets_needed(source: Layout, plan: dict) -> dict[str, tuple[str, bytes]]:
    """key -> (its target member's name, bytes), for the keys another sample takes from."""
    wanted = {changes["target"] for changes in plan.values() if "target" in changes}
    found = {}
    for shard in source.complete_shards():
        if shard.startswith("train-"):
            for sample in _samples(source, shard):
                if sample["__key__"] in wanted:
                    name = json.loads(sample["json"])["target"]
                    found[sample["__key__"]] = (name, sample[name])
    return found


def _damaged(members: dict[str, bytes], changes: dict, targets: dict) -> dict:
    if not changes:
        return members
    meta = json.loads(members["json"])
    members = dict(members)
    if "target" in changes:
        name, data = targets[changes["target"]]
        members.pop(meta["target"])
        members[name], meta["target"] = data, name
    if "instruction" in changes:
        meta["instruction"] = changes["instruction"]
    meta["provenance"]["damaged"] = changes
    members["json"] = canonical_json(meta).encode()
    return members


def _row(row: dict, members: dict | None) -> dict:
    """An ok row follows its sample as the copy holds it (instruction, target, sizes)."""
    if members is None:
        return row
    meta = json.loads(members["json"])
    sizes = {name: len(data) for name, data in members.items()}
    return {**row, "instruction": meta["instruction"], "target": meta["target"],
            "member_sizes": canonical_json(sizes), "bytes": sum(sizes.values())}  # fmt: skip


def _copy_bytes(source: Layout, target: Layout, shard: str) -> None:
    """A shard of another split, as it is: its stats file last."""
    for kind in ("tar", "index", "stats"):
        path = getattr(source, kind)(shard)
        atomic_write(getattr(target, kind)(shard), path.read_bytes())
