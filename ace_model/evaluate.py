"""Evaluation on the bench split: per task, L1 / PSNR / SSIM of the model against the target
beside the identity baseline and a classical one, the shapes world's edit-correctness, CLIP
metrics when a CLIP folder is given; a report (markdown + JSON) and a strip of examples.

Whole-image metrics reward copying the input on edits that change little, so each sample is
also measured edit-aware: inside the changed region (the edit mask, or where the target
differs from the edited image, the input the instruction calls {image}) and in the kept
region (the rest). The headline counts the tasks where the model beats the identity inside
the changed region while keeping the kept region within KEPT_TOLERANCE. The model is judged
on what `ace model edit` returns: with an edit mask, its pixels inside it only.

REPORT/report.md, REPORT/report.json, REPORT/samples.jsonl (one line per sample),
REPORT/examples.png (per row: the inputs, the model's output, the target).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ace_model import baselines
from ace_model.conditioning import LCU
from ace_model.data import decode_batch, ordered_batches, tensor_rgb
from ace_model.metrics import (
    MIN_REGION,
    changed_region,
    edit_aware,
    edit_correctness,
    image_metrics,
)
from ace_model.report import Example, write_report
from ace_model.sample import Sampler, keep_outside_mask
from dataengine.corpus.read import corpus_folder
from dataengine.schema import SPLITS
from dataengine.sinks.layout import Layout

log = logging.getLogger(__name__)
METRICS = ("l1", "psnr", "ssim")
HIGHER_IS_BETTER = {"l1": False, "psnr": True, "ssim": True}
KEPT_TOLERANCE = 0.05  # mean L1 (0..1) the kept region may move: about 13 of 255 levels
WHO = ("model", "identity", "classical")


@dataclass(frozen=True)
class EvalSettings:
    split: str | None = "bench"  # None: every split (a frozen benchmark's shards)
    steps: int = 20
    guidance: float = 1.0
    seed: int = 0
    batch_size: int = 16
    examples: int = 12  # rows in examples.png, one task each first
    clip: str | None = None

    def __post_init__(self):
        if self.steps < 1:  # checked before a model loads (euler_sample checks it too)
            raise ValueError(f"steps is {self.steps}; give at least 1 Euler step")


class SampleArrays(NamedTuple):
    """A sample's current inputs and their masks (uint8), and its target, at the model's
    size."""

    frames: list[np.ndarray]
    masks: list[np.ndarray | None]
    target: np.ndarray


def lcu_arrays(lcu: LCU) -> SampleArrays:
    inputs = [f for f, role in enumerate(lcu.roles) if role == "input"]
    frames = [tensor_rgb(lcu.images[f]) for f in inputs]
    masks = [
        None
        if lcu.meta["frames"][f]["mask"] is None
        else (lcu.masks[f][0].numpy() * 255).round().astype(np.uint8)
        for f in inputs
    ]
    return SampleArrays(frames, masks, tensor_rgb(lcu.target))


def score_sample(lcu: LCU, arrays: SampleArrays, output: np.ndarray, clip) -> dict[str, Any]:
    """Every number for one sample: model, identity, classical, shapes, CLIP.

    The shapes-world score is kept where the target scene is known and the reader gets
    every cell of the target itself right: edge maps, grey or restyled targets are not the
    scene in its own colours, so there is nothing to read back there."""
    frames, masks, target = arrays
    task = lcu.meta["task"]
    row: dict[str, Any] = {"key": lcu.key, "task": task, "category": lcu.meta["category"]}
    row["model"] = image_metrics(output, target)
    same = baselines.identity(frames, masks)
    row["identity"] = image_metrics(same, target) if same is not None else None
    name, classic = baselines.classical(task, frames, masks)
    row["classical"] = image_metrics(classic, target) if classic is not None else None
    row["classical_method"] = name or None
    row["edit"] = edit_row(lcu, frames, masks, target, {"model": output, "identity": same,
                                                       "classical": classic})  # fmt: skip
    scene = ((lcu.meta.get("provenance") or {}).get("scenes") or {}).get("target")
    if scene and edit_correctness(target, scene) == 1.0:
        row["shapes"] = {
            "model": edit_correctness(output, scene),
            "identity": edit_correctness(same, scene) if same is not None else None,
        }
    if clip is not None:
        row["clip"] = clip.scores(output, target, same, lcu.meta.get("caption"))
    return row


def edited_mask_role(lcu: LCU) -> str:
    """What the edited image's mask marks (schema.MASK_ROLES); "edit" without an input. The
    edited image is the first current input, the one the instruction calls {image}."""
    inputs = [f for f in lcu.meta["frames"] if f["role"] == "input"]
    return inputs[0].get("mask_role", "edit") if inputs else "edit"


def edit_row(lcu: LCU, frames, masks, target, outputs: dict) -> dict[str, Any] | None:
    """The changed and kept regions' metrics of each output (None for a sample with no input
    to compare with, or no change large enough to measure)."""
    role = edited_mask_role(lcu)
    region = changed_region(frames[0] if frames else None, masks[0] if masks else None,
                            role, target)  # fmt: skip
    if region is None or region.mean() < MIN_REGION:
        return None
    row: dict[str, Any] = {"changed_fraction": float(region.mean())}
    for who, image in outputs.items():
        row[who] = edit_aware(image, target, region) if image is not None else None
    return row


def evaluate(
    ckpt: str | Path,
    data: str | Path,
    out: str | Path,
    settings: EvalSettings = EvalSettings(),
    device: str | None = None,
    benchmark: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Evaluate a checkpoint on a split of `data` (or every split: settings.split None);
    `benchmark`, what the frozen benchmark's manifest says, goes into the report as is."""
    out = Path(out)
    check_split(data, settings.split)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} is a file; choose a folder for the report")
    sampler = Sampler(ckpt, device)
    clip = None
    if settings.clip:
        from ace_model.clip_metrics import ClipScorer

        clip = ClipScorer(settings.clip, sampler.device)
    out.mkdir(parents=True, exist_ok=True)
    rows, strips, skipped = [], {}, 0
    with (out / "samples.jsonl").open("w") as lines:
        for size, raws in ordered_batches(data, settings.split, settings.batch_size, sampler.sizes):
            lcus, failed = decode_batch(raws, size)
            skipped += len(failed)
            if not lcus:
                continue
            images = sampler.generate(lcus, size, settings.steps, settings.guidance, settings.seed)
            for lcu, image in zip(lcus, images, strict=True):
                arrays = lcu_arrays(lcu)
                # judged as `edit` returns it: an edit mask keeps the input outside it
                keep = edited_mask_role(lcu) == "edit"
                output = keep_outside_mask(tensor_rgb(image), arrays.frames, arrays.masks, keep)
                row = score_sample(lcu, arrays, output, clip)
                lines.write(json.dumps(row) + "\n")
                rows.append(_summary_row(row))
                _keep_example(strips, lcu, output, settings.examples)
    if not rows:
        raise FileNotFoundError(f"{data} has no {settings.split or ''} sample to evaluate")
    report = summarize(rows, skipped)
    report["checkpoint"] = {"path": sampler.path, "step": sampler.step}
    report["settings"] = dataclasses.asdict(settings)
    if benchmark is not None:
        report["benchmark"] = benchmark
    write_report(report, strips, out)
    return report


def check_split(data: str | Path, split: str | None) -> None:
    """Refuse a corpus without complete shards of `split` (None: of any split) before a
    model loads or a file is written, naming the splits it has."""
    shards = Layout(corpus_folder(data)).complete_shards()
    if not shards:
        raise FileNotFoundError(f"{data} holds no complete shard; build one with `ace data run`")
    if split is None:
        return
    found = {shard.rsplit("-", 1)[0] for shard in shards}
    if split not in found:
        splits = ", ".join(s for s in SPLITS if s in found)
        raise FileNotFoundError(
            f"{data} has no {split} split (it has {splits}); evaluate one of them with --split"
        )


def _summary_row(row: dict) -> dict:
    """What the per-task table needs of a sample (the full row went to samples.jsonl)."""
    return {
        k: row.get(k)
        for k in ("task", "model", "identity", "classical", "classical_method", "shapes", "clip",
                  "edit")
    }  # fmt: skip


def _keep_example(strips: dict, lcu: LCU, output: np.ndarray, limit: int) -> None:
    task = lcu.meta["task"]
    if task not in strips and len(strips) < limit:
        frames = [tensor_rgb(image) for image in lcu.images]
        strips[task] = Example(
            frames, list(lcu.roles), output, tensor_rgb(lcu.target), lcu.instruction
        )


# ============================================================================================
# Aggregation
# ============================================================================================


def mean_metrics(rows: list[dict], who: str) -> dict[str, float] | None:
    values = [r[who] for r in rows if r.get(who)]
    if not values:
        return None
    return {m: float(np.mean([v[m] for v in values])) for m in METRICS}


def beats(model: dict, baseline: dict | None) -> bool | None:
    """Better on at least two of L1, PSNR and SSIM."""
    if baseline is None:
        return None
    wins = sum(
        (model[m] > baseline[m]) if HIGHER_IS_BETTER[m] else (model[m] < baseline[m])
        for m in METRICS
    )
    return wins >= 2


def region_means(rows: list[dict], who: str, region: str) -> dict[str, float] | None:
    values = [r["edit"][who][region] for r in rows
              if r.get("edit") and r["edit"].get(who) and r["edit"][who][region]]  # fmt: skip
    if not values:
        return None
    return {m: float(np.mean([v[m] for v in values])) for m in METRICS}


def edit_summary(rows: list[dict]) -> dict[str, Any] | None:
    """Per who, the changed and kept regions' means; and the verdict: the model nearer the
    target than the identity inside the edit, with the kept region within tolerance."""
    edited = [r for r in rows if r.get("edit")]
    if not edited:
        return None
    fractions = [r["edit"]["changed_fraction"] for r in edited]
    summary: dict[str, Any] = {"n": len(edited), "changed_fraction": float(np.mean(fractions))}
    for who in WHO:
        summary[who] = {region: region_means(edited, who, region) for region in ("changed", "kept")}
    model, same = summary["model"], summary["identity"]
    if model["changed"] and same["changed"]:
        kept = model["kept"]["l1"] if model["kept"] else 0.0
        summary["beats_identity_inside"] = model["changed"]["l1"] < same["changed"]["l1"]
        summary["kept_within_tolerance"] = kept <= KEPT_TOLERANCE
        summary["win"] = summary["beats_identity_inside"] and summary["kept_within_tolerance"]
    return summary


def task_summary(rows: list[dict]) -> dict[str, Any]:
    model, identity, classic = (mean_metrics(rows, w) for w in ("model", "identity", "classical"))
    summary = {
        "n": len(rows),
        "model": model,
        "identity": identity,
        "classical": classic,
        "classical_method": next(
            (r["classical_method"] for r in rows if r["classical_method"]), None
        ),
        "beats_identity": beats(model, identity),
        "beats_classical": beats(model, classic),
    }
    shapes = [r["shapes"] for r in rows if r.get("shapes")]
    if shapes:
        summary["shapes"] = {
            who: float(np.mean([s[who] for s in shapes if s[who] is not None]))
            for who in ("model", "identity")
            if any(s[who] is not None for s in shapes)
        }
        summary["shapes"]["n"] = len(shapes)
    summary["edit"] = edit_summary(rows)
    clips = [r["clip"] for r in rows if r.get("clip")]
    if clips:
        names = sorted({k for c in clips for k in c})
        summary["clip"] = {k: float(np.mean([c[k] for c in clips if k in c])) for k in names}
    return summary


def summarize(rows: list[dict], skipped: int) -> dict[str, Any]:
    by_task: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_task[row["task"]].append(row)
    tasks = {task: task_summary(task_rows) for task, task_rows in sorted(by_task.items())}
    comparable = [t for t in tasks.values() if t["beats_identity"] is not None]
    overall = task_summary(rows)
    # Classical methods differ per task and cover some tasks only: no overall figure.
    overall.update(classical=None, classical_method=None, beats_classical=None)
    return {
        "samples": len(rows),
        "skipped": skipped,
        "overall": overall,
        "tasks": tasks,
        "beats_identity": {
            "tasks": sum(bool(t["beats_identity"]) for t in comparable),
            "of": len(comparable),
        },
        "edit_aware": edit_headline(tasks),
    }


def edit_headline(tasks: dict[str, dict]) -> dict[str, Any]:
    """The tasks with a changed region where the model wins inside it and keeps the rest;
    apart, the tasks where it beats the identity inside, and the kept region's L1 averaged
    over the tasks that have one (per who)."""
    judged = {name: t["edit"] for name, t in tasks.items() if t["edit"] and "win" in t["edit"]}
    wins = sorted(name for name, e in judged.items() if e["win"])
    inside = sum(bool(e["beats_identity_inside"]) for e in judged.values())
    kept = {who: [e[who]["kept"]["l1"] for e in judged.values() if e[who]["kept"]]
            for who in ("model", "identity")}  # fmt: skip
    kept_l1 = {who: float(np.mean(v)) if v else None for who, v in kept.items()}
    return {"tasks": len(wins), "of": len(judged), "kept_tolerance": KEPT_TOLERANCE,
            "winning": wins, "inside": inside, "kept_l1": kept_l1}  # fmt: skip
