"""The evaluation report on disk: report.json, report.md (one table row per task) and
examples.png (per row: the condition frames, the model's output, the target, each labelled
above, and the task and instruction below)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

TILE = 128  # examples are scaled up (nearest) to this height, so small outputs stay legible
LABEL = 16  # the strip above a row's tiles that names each column
CAPTION = 18  # the strip below it: the task and the instruction
FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass
class Example:
    """One row of examples.png."""

    frames: list[np.ndarray]  # the condition frames (uint8 RGB), history first
    roles: list[str]  # each frame's role: "history" or "input"
    output: np.ndarray  # the model's
    target: np.ndarray
    instruction: str


def write_report(report: dict[str, Any], strips: dict[str, Example], out: Path) -> None:
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.md").write_text(markdown(report))
    if strips:
        Image.fromarray(example_strip(strips)).save(out / "examples.png")


def _fmt(values: dict | None, metric: str) -> str:
    if not values:
        return "—"
    return f"{values[metric]:.3f}" if metric != "psnr" else f"{values[metric]:.1f}"


def _shapes_cell(shapes: dict | None) -> str:
    if not shapes:
        return ""
    identity = f"{shapes['identity']:.2f}" if "identity" in shapes else "—"
    return f"{shapes['model']:.2f} / {identity} (n={shapes['n']})"


def _verdict(flag: bool | None) -> str:
    return {True: "yes", False: "no", None: "—"}[flag]


def markdown(report: dict[str, Any]) -> str:
    ckpt, settings = report.get("checkpoint", {}), report.get("settings", {})
    wins = report["beats_identity"]
    lines = [
        "# Evaluation",
        "",
        f"Checkpoint `{ckpt.get('path')}` (step {ckpt.get('step')}), split "
        f"`{settings.get('split')}`, {report['samples']} samples ({report['skipped']} skipped), "
        f"{settings.get('steps')} Euler steps, guidance {settings.get('guidance')}.",
        "",
        *edit_section(report),
        "## Whole images",
        "",
        f"The model beats the identity baseline on **{wins['tasks']} of {wins['of']}** tasks "
        "that have an input (better on at least two of L1, PSNR, SSIM). Whole-image metrics "
        "reward copying the input where an edit changes little: the table above is the one "
        "to read.",
        "",
        "Each cell: model / identity / classical. L1 lower is better; PSNR and SSIM higher.",
        "",
        "| task | n | L1 | PSNR | SSIM | beats identity | classical method | shapes edit score "
        "(model / identity) |",
        "|---|---:|---|---|---|---|---|---|",
    ]
    for task, s in [*report["tasks"].items(), ("**all**", report["overall"])]:
        cells = [
            " / ".join(_fmt(s[who], m) for who in ("model", "identity", "classical"))
            for m in ("l1", "psnr", "ssim")
        ]
        shape_cell = _shapes_cell(s.get("shapes"))
        lines.append(
            f"| {task} | {s['n']} | {' | '.join(cells)} | {_verdict(s['beats_identity'])} | "
            f"{s['classical_method'] or '—'} | {shape_cell} |"
        )
    clip = report["overall"].get("clip")
    if clip:
        lines += ["", "CLIP: " + ", ".join(f"{k} {v:.3f}" for k, v in clip.items())]
    return "\n".join(lines) + "\n"


def _inside_and_kept(head: dict[str, Any]) -> list[str]:
    """The two halves of the headline apart."""
    line = f"Inside the changed region alone it beats the identity on {head['inside']} of "
    line += f"{head['of']}."
    kept = head["kept_l1"]
    if kept["model"] is not None:
        line += (
            " The kept region's L1, averaged over the tasks that have one: "
            f"{kept['model']:.3f} (identity {kept['identity']:.3f})."
        )
    return [line, ""]


def edit_section(report: dict[str, Any]) -> list[str]:
    """The headline and the per-task table of the changed and kept regions."""
    head = report.get("edit_aware")
    if not head:
        return []
    lines = [
        "## Inside the edit, and around it",
        "",
        f"The model beats the identity inside the changed region while keeping the kept "
        f"region within L1 {head['kept_tolerance']} on **{head['tasks']} of {head['of']}** "
        "tasks that have a changed region (the edit mask, or where the target differs from "
        "the image being edited).",
        "",
        *_inside_and_kept(head),
        "Changed: L1 and PSNR inside the edit, model / identity / classical. Kept: L1, PSNR "
        "and SSIM outside it, model / identity.",
        "",
        "| task | n | changed % | changed L1 | changed PSNR | kept L1 | kept PSNR | kept SSIM "
        "| wins |",
        "|---|---:|---:|---|---|---|---|---|---|",
    ]
    for task, s in report["tasks"].items():
        edit = s.get("edit")
        if not edit or "win" not in edit:
            continue
        lines.append(_edit_row(task, edit))
    return [*lines, ""]


def _edit_row(task: str, edit: dict[str, Any]) -> str:
    def cells(region: str, metric: str, who: tuple[str, ...]) -> str:
        return " / ".join(_fmt(edit[w][region] if edit.get(w) else None, metric) for w in who)

    three, two = ("model", "identity", "classical"), ("model", "identity")
    changed = [cells("changed", m, three) for m in ("l1", "psnr")]
    kept = [cells("kept", m, two) for m in ("l1", "psnr", "ssim")]
    share = edit.get("changed_fraction")
    share = f"{100 * share:.0f}" if share is not None else "—"
    return (
        f"| {task} | {edit['n']} | {share} | {' | '.join(changed)} | {' | '.join(kept)} | "
        f"{_verdict(edit['win'])} |"
    )


def _tile(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (round(w * TILE / h), TILE), interpolation=cv2.INTER_NEAREST)


def _white(height: int, width: int) -> np.ndarray:
    return np.full((height, width, 3), 255, np.uint8)


def _row(example: Example, caption: str) -> np.ndarray:
    """Labels, then the frames | the model's output, the target (2 px apart, 8 before the
    output), then the caption."""
    tiles = [_tile(f) for f in example.frames]
    tiles += [_white(TILE, 6), _tile(example.output), _tile(example.target)]
    labels = [*example.roles, "", "model", "target"]
    row = np.concatenate([t for tile in tiles for t in (tile, _white(TILE, 2))], axis=1)
    header, x = _white(LABEL, row.shape[1]), 0
    for tile, label in zip(tiles, labels, strict=True):
        cv2.putText(header, label, (x + 2, LABEL - 4), FONT, 0.4, (0, 0, 0), 1)
        x += tile.shape[1] + 2
    below = _white(CAPTION, row.shape[1])
    cv2.putText(below, caption[:120], (2, 13), FONT, 0.4, (0, 0, 0), 1)
    return np.concatenate([header, row, below], axis=0)


def example_strip(strips: dict[str, Example]) -> np.ndarray:
    """One row per task: inputs | output | target, labelled above, with the task and
    instruction below."""
    rows = [_row(example, f"{task}: {example.instruction}") for task, example in strips.items()]
    width = max(r.shape[1] for r in rows)
    padded = [
        np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows
    ]
    return np.concatenate(padded, axis=0)
