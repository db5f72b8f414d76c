"""Write docs/TASKS.md: every registered task with one example strip made by its pair maker.

python -m tools.task_gallery [--out docs]

Each strip shows the input frames (with their masks beside them) and the target, made by the
same `pairs` and `template_instructions` stages a recipe runs, on the bundled sample photos
and shapes-world scenes. Model-backed tasks are listed without a picture: they need weights.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import skimage.data

from dataengine.instruct.template_stage import TemplateInstructions
from dataengine.registry import all_makers
from dataengine.schema import CATEGORIES, Pair, SourceImage, Unit
from dataengine.sources.shapes_world import load_shape, shapes_refs
from dataengine.synth.stage import Pairs, PairsParams

# Every family imported; mined pairs come from the mining source, not from a gallery photo.
MAKERS = {task: m for task, m in all_makers().items() if not m.mined}

PANEL_HEIGHT = 128
LABEL_HEIGHT = 16
GAP = 4


def gallery_sources() -> list[SourceImage]:
    """Three captioned photos and two shapes-world families: enough for every task."""

    def photo(name: str, image: np.ndarray, caption: str) -> SourceImage:
        image = cv2.resize(image, (256, 208), interpolation=cv2.INTER_AREA)
        return SourceImage(id=f"photo:{name}", group=name, image=image, caption=caption)

    shapes = [load_shape(ref) for ref in shapes_refs(2, 2, seed=11)]
    return [
        photo("astronaut", skimage.data.astronaut(), "an astronaut in a white suit"),
        photo("coffee", skimage.data.coffee(), "a cup of coffee on a saucer"),
        photo("chelsea", skimage.data.chelsea(), "a tabby cat"),
        *shapes,
    ]


def example_pair(task: str, sources: list[SourceImage]) -> Pair | None:
    """The first sample the task makes from the gallery sources, with its instruction."""
    stage = Pairs(PairsParams(tasks={task: 1.0}, per_source=1), recipe="gallery", seed=1)
    unit = Unit(id="0" * 16, split="train", index=0, sources=list(sources))
    unit = TemplateInstructions(recipe="gallery", seed=1)(stage(unit))
    return next((pair for pair in unit.pairs if pair.ok), None)


def strip(pair: Pair) -> np.ndarray:
    """input frames (each followed by its mask) | target, labelled, on one white strip."""
    panels = []
    for i, frame in enumerate(pair.frames):
        label = "history" if frame.role == "history" else f"input {i}"
        panels.append(_panel(frame.image, label))
        if frame.mask is not None:
            panels.append(_panel(np.repeat(frame.mask[:, :, None], 3, axis=2), "mask"))
    panels.append(_panel(pair.target, "target"))
    gap = np.full((PANEL_HEIGHT + LABEL_HEIGHT, GAP, 3), 255, np.uint8)
    row = [panels[0]]
    for panel in panels[1:]:
        row += [gap, panel]
    return np.concatenate(row, axis=1)


def _panel(image: np.ndarray, label: str) -> np.ndarray:
    h, w = image.shape[:2]
    width = max(1, round(w * PANEL_HEIGHT / h))
    resized = cv2.resize(image, (width, PANEL_HEIGHT), interpolation=cv2.INTER_AREA)
    header = np.full((LABEL_HEIGHT, width, 3), 255, np.uint8)
    cv2.putText(header, label, (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([header, resized], axis=0)


def write_gallery(out: Path) -> list[str]:
    """Write out/tasks/<task>.jpg and out/TASKS.md; return the tasks shown with a picture."""
    (out / "tasks").mkdir(parents=True, exist_ok=True)
    sources = gallery_sources()
    shown, lines = [], _header()
    for category in CATEGORIES:
        tasks = sorted(t for t, m in MAKERS.items() if m.category == category)
        if not tasks:
            continue
        lines += [
            f"## {category}",
            "",
            "| task | operator | example | instruction |",
            "|---|---|---|---|",
        ]
        for task in tasks:
            lines.append(_row(task, sources, out, shown))
        lines.append("")
    (out / "TASKS.md").write_text("\n".join(lines))
    return shown


def _row(task: str, sources: list[SourceImage], out: Path, shown: list[str]) -> str:
    maker = MAKERS[task]
    if maker.needs_model:
        return (
            f"| `{task}` | {maker.operator} | needs a local model: `models: {{{task}: PATH}}` | |"
        )
    pair = example_pair(task, sources)
    if pair is None:
        return f"| `{task}` | {maker.operator} | (no example from the gallery sources) | |"
    picture = cv2.cvtColor(strip(pair), cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(out / "tasks" / f"{task}.jpg"), picture, [cv2.IMWRITE_JPEG_QUALITY, 80])
    shown.append(task)
    instruction = pair.instruction.replace("|", "\\|")
    return f"| `{task}` | {maker.operator} | ![{task}](tasks/{task}.jpg) | {instruction} |"


def _header() -> list[str]:
    model_free = sum(not m.needs_model for m in MAKERS.values())
    return [
        "# Tasks",
        "",
        f"{len(MAKERS)} sub-tasks in {len({m.category for m in MAKERS.values()})} categories "
        f"({model_free} made by operators that need no weights). Each example was made by the "
        "task's pair maker on the bundled sample images; the strip shows the input frames "
        "(each followed by its mask, white = the region the instruction is about: see "
        "FORMAT.md) and the target, and the last column one of the task's template "
        "instructions. `{image}` names the first input frame, `{image1}` the second, as in "
        "ACE. The mined tasks (`mined_add`, "
        "`mined_edit`, `mined_remove`) pair two photos found by the mining source: see "
        "MINING.md.",
        "",
        "Regenerate with `make docs` (`python -m tools.task_gallery`).",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.task_gallery", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args(argv)
    shown = write_gallery(args.out)
    print(f"{len(shown)} of {len(MAKERS)} tasks pictured -> {args.out / 'TASKS.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
