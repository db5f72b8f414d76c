"""`ace data validate DIR`: check every shard of an output against docs/FORMAT.md.

Reads only; returns the list of problems found (empty = valid). Each problem names the shard
and, where it applies, the sample key.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from dataengine.corpus.latent_check import latent_problems
from dataengine.corpus.read import corpus_folder
from dataengine.schema import (
    CATEGORIES,
    FRAME_FIELDS,
    IMAGE_PLACEHOLDER,
    INDEX_COLUMNS,
    INSTRUCTION_SOURCES,
    MASK_ROLES,
    MAX_FRAMES,
    ROLES,
    SAMPLE_FIELDS,
    SPLITS,
    STATUS_OK,
    frame_number,
    is_key,
)
from dataengine.sinks.encode import decode_member
from dataengine.sinks.layout import Layout
from dataengine.storage import as_path, read_parquet


@dataclass
class Report:
    shards: int = 0
    samples: int = 0
    rows: int = 0
    latent_shards: int = 0  # precomputed latents checked (docs/FORMAT.md)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_output(out: str | Path, decode_images: bool = True) -> Report:
    """Raises FileNotFoundError where `out` is not a folder: there is nothing to check."""
    layout, report = Layout(corpus_folder(out)), Report()
    if not layout.run_info.exists():
        report.problems.append(f"{out}: run.json is missing (the run never finished)")
    for shard in layout.incomplete_shards():
        report.problems.append(f"{shard}: tar without stats file: incomplete, rerun with --resume")
    shards = layout.complete_shards()
    if not shards:
        report.problems.append(f"{out}: no complete shard (no stats/*.json)")
    for shard in shards:
        report.shards += 1
        report.problems.extend(_validate_shard(layout, shard, report, decode_images))
    report.latent_shards, problems = latent_problems(as_path(out))
    report.problems.extend(problems)
    return report


def _validate_shard(layout: Layout, shard: str, report: Report, decode: bool) -> list[str]:
    stats = layout.read_stats(shard)
    tar_path, index_path = layout.tar(shard), layout.index(shard)
    if not tar_path.exists() or not index_path.exists():
        return [f"{shard}: stats file exists but the tar or the index is missing"]
    data = tar_path.read_bytes()
    if hashlib.sha256(data).hexdigest() != stats["tar_sha256"]:
        return [f"{shard}: tar bytes do not match the sha256 in its stats file"]
    samples, problems = _read_tar(data, shard)
    split = shard.rsplit("-", 1)[0]
    for key, members in samples.items():
        problems += [f"{shard}/{key}: {p}" for p in _check_sample(key, members, split, decode)]
    problems += _check_index(index_path, samples, stats, shard)
    report.samples += len(samples)
    report.rows += stats["rows"]
    return problems


def _read_tar(data: bytes, shard: str) -> tuple[dict[str, dict[str, bytes]], list[str]]:
    samples: dict[str, dict[str, bytes]] = defaultdict(dict)
    problems, previous = [], ""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for info in tar:
            key, _, suffix = info.name.partition(".")
            if key != previous and key in samples:
                problems.append(f"{shard}/{key}: members of one sample are not together")
            if key < previous:
                problems.append(f"{shard}/{key}: samples are not sorted by key")
            previous = key
            samples[key][suffix] = tar.extractfile(info).read()
    return dict(samples), problems


def _check_sample(key: str, members: dict[str, bytes], split: str, decode: bool) -> list[str]:
    if not is_key(key):
        return [f"key {key!r} is not a dot-free hex content hash"]
    if "json" not in members:
        return ["no json member"]
    meta = json.loads(members["json"])
    problems = _check_fields(meta, split)
    if problems:
        return problems
    expected = {"json", meta["target"]}
    for frame in meta["frames"]:
        expected |= {frame["image"]} | ({frame["mask"]} if frame["mask"] else set())
    if set(members) != expected:
        return [f"members {sorted(members)} differ from those the json names {sorted(expected)}"]
    return _check_pixels(meta, members) if decode else []


def _check_fields(meta: dict, split: str) -> list[str]:
    problems = []
    if set(meta) != set(SAMPLE_FIELDS):
        problems.append(f"json fields {sorted(meta)} differ from {sorted(SAMPLE_FIELDS)}")
        return problems
    if meta["category"] not in CATEGORIES:
        problems.append(f"category {meta['category']!r} is not one of {CATEGORIES}")
    if meta["split"] != split:
        problems.append(f"split {meta['split']!r} in a {split!r} shard")
    if meta["instruction_source"] not in INSTRUCTION_SOURCES:
        problems.append(f"instruction_source {meta['instruction_source']!r} is unknown")
    frames = meta["frames"]
    odd = [sorted(f) for f in frames if set(f) != set(FRAME_FIELDS)]
    if odd:  # the checks below read these fields
        return [*problems, f"frame fields {odd[0]} differ from {sorted(FRAME_FIELDS)}"]
    least = 0 if meta["category"] == "text_to_image" else 1
    if not least <= len(frames) <= MAX_FRAMES:
        problems.append(
            f"{len(frames)} frames; a {meta['category']} sample has {least} to {MAX_FRAMES}"
        )
    problems += [f"frame role {f['role']!r} is unknown" for f in frames if f["role"] not in ROLES]
    problems += [
        f"mask_role {f['mask_role']!r} is not one of {MASK_ROLES}"
        for f in frames
        if f["mask_role"] not in MASK_ROLES
    ]
    # The current instruction names the current inputs: {image} is the first input frame.
    inputs = sum(f["role"] == "input" for f in frames)
    problems += _check_instruction(meta["instruction"], inputs)
    for f in frames:
        if f["role"] == "history":  # a history turn's instruction names its own frame
            problems += [f"history {p}" for p in _check_instruction(f["instruction"], 1)]
    return problems


def _check_instruction(instruction, n_frames: int) -> list[str]:
    if not isinstance(instruction, str) or not instruction.strip():
        return ["instruction is empty"]
    problems = []
    for match in IMAGE_PLACEHOLDER.finditer(instruction):
        if frame_number(match) >= n_frames:
            problems.append(
                f"instruction names {match.group(0)} but there are {n_frames} input frames"
            )
    return problems


def _check_pixels(meta: dict, members: dict[str, bytes]) -> list[str]:
    problems = []
    try:
        decode_member(members[meta["target"]])
        for frame in meta["frames"]:
            image = decode_member(members[frame["image"]])
            if frame["mask"]:
                mask = decode_member(members[frame["mask"]])
                if mask.ndim != 2 or mask.shape != image.shape[:2]:
                    problems.append(
                        f"{frame['mask']} is {mask.shape}, its frame "
                        f"{image.shape[:2]}: a mask is single-channel, frame-sized"
                    )
    except ValueError as exc:
        problems.append(str(exc))
    return problems


def _check_index(path: Path, samples: dict, stats: dict, shard: str) -> list[str]:
    table = read_parquet(path)
    missing = [c for c in INDEX_COLUMNS if c not in table.column_names]
    if missing:
        return [f"{shard}: index lacks columns {missing}"]
    rows = table.select(["key", "status", "error"]).to_pylist()
    problems = []
    if len(rows) != stats["rows"]:
        problems.append(f"{shard}: index has {len(rows)} rows, stats say {stats['rows']}")
    ok_keys = {r["key"] for r in rows if r["status"] == STATUS_OK}
    differ = len(ok_keys ^ set(samples))
    if differ:
        problems.append(
            f"{shard}: index ok rows and tar samples differ "
            f"({differ} {'key' if differ == 1 else 'keys'})"
        )
    problems += [
        f"{shard}/{r['key']}: failed row without an error message"
        for r in rows
        if r["status"] != STATUS_OK and not r["error"]
    ]
    if shard.rsplit("-", 1)[0] not in SPLITS:
        problems.append(f"{shard}: unknown split in shard name")
    return problems
