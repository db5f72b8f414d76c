"""The dataset card: `README.md` in an output folder, which makes the folder a Hugging Face
dataset as it is.

Its YAML header names each split's shards (`configs` / `data_files`) and declares every
member a sample may have (`dataset_info.features`), so `datasets.load_dataset(OUT)` reads
the WebDataset tars without guessing: a member a sample lacks (a mask, a second frame, the
source of a text-to-image sample) is None, and images decode. Its text says what the
corpus holds; the licence is left for the owner to fill in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dataengine.schema import MAX_FRAMES, frame_member, mask_member, target_member
from dataengine.sinks.files import atomic_write
from dataengine.sinks.layout import Layout

CARD = "README.md"


def member_features() -> list[dict[str, str]]:
    """Every member a sample may have, as `datasets` features (YAML form)."""
    images = [frame_member(i, lossless) for i in range(MAX_FRAMES) for lossless in (False, True)]
    images += [mask_member(i) for i in range(MAX_FRAMES)]
    images += [target_member(False), target_member(True)]
    return [
        {"name": "__key__", "dtype": "string"},
        {"name": "__url__", "dtype": "string"},
        {"name": "json", "dtype": "json"},
        *({"name": name, "dtype": "image"} for name in images),
    ]


def card_header(splits: list[str], data_files: str, features: list[dict]) -> dict[str, Any]:
    """The YAML header: one config whose splits read `data_files` (a pattern with {split})."""
    return {
        "license": "other",  # the corpus owner's to set: it follows the source images
        "task_categories": ["image-to-image", "text-to-image"],
        "tags": ["image-editing", "instruction-following", "ace"],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": data_files.format(split=s)} for s in splits],
            }
        ],
        "dataset_info": {"features": features},
    }


def render_card(header: dict[str, Any], body: str) -> str:
    return f"---\n{yaml.safe_dump(header, sort_keys=False)}---\n\n{body}"


def describe_run(info: dict[str, Any], by_split: dict[str, int]) -> str:
    """The card's text: what the corpus holds, how it was made, how to read it."""
    recipe = info.get("recipe") or {}
    by_task = (info.get("counts") or {}).get("by_task", {})
    lines = [
        f"# {recipe.get('name', 'corpus')}",
        "",
        recipe.get("description") or "Instruction-following image editing pairs.",
        "",
        "Built by the ACE data engine (`ace data run`): each sample is one Long-context",
        "Condition Unit, its input frames (with masks), its instruction naming them",
        "`{image}`, `{image1}`..., and its target image. The members and the json fields",
        "are described in the engine's docs/FORMAT.md.",
        "",
        "## Splits",
        "",
        "| split | samples |",
        "|---|---|",
        *(f"| {s} | {n} |" for s, n in by_split.items()),
        "",
        "## Tasks",
        "",
        "| task | samples |",
        "|---|---|",
        *(f"| {task} | {n} |" for task, n in sorted(by_task.items())),
        "",
        "## Reading it",
        "",
        "```python",
        "import datasets",
        'ds = datasets.load_dataset("path/to/this/folder")  # or streaming=True',
        "```",
        "",
        "Samples an `ace data select` or `ace data curate` decided against stay in the",
        "shards and are listed in `curation/`; `ace data export --format hf` writes the",
        "accepted samples alone.",
        "",
        "## Licence",
        "",
        "Set `license` above: it follows the licences of the source images and captions.",
        "",
    ]
    return "\n".join(lines)


def write_run_card(out: str | Path, info: dict[str, Any]) -> Path:
    """The card of a run's output folder, from its run record and its shards' stats."""
    layout = Layout(out)
    by_split: dict[str, int] = {}
    for shard in layout.complete_shards():
        stats = layout.read_stats(shard)
        by_split[stats["split"]] = by_split.get(stats["split"], 0) + stats["samples"]
    header = card_header(list(by_split), "shards/{split}-*.tar", member_features())
    path = layout.root / CARD
    atomic_write(path, render_card(header, describe_run(info, by_split)).encode())
    return path
