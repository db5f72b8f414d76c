"""A small scored corpus with every kind of row the report shows: accepted samples, rows
rejected by thresholds, samples removed by the curation table (a near duplicate, quotas,
a person's decision) and failed rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from dataengine.corpus.curation import decision_rows, record_decisions
from dataengine.corpus.selection import select_corpus
from dataengine.executors import InProcess
from dataengine.quality.select import Select, SelectParams
from dataengine.quality.stages import QualityParams, QualityScores
from dataengine.recipe import build_recipe

PHOTOS = {  # scikit-image's sample photos, with captions
    "astronaut": "a woman astronaut in an orange suit in front of a flag",
    "coffee": "a cup of coffee on a saucer",
    "chelsea": "a ginger cat lying down",
    "rocket": "a rocket on its launch pad",
    "immunohistochemistry": "stained tissue under a microscope",
    "hubble_deep_field": "galaxies in deep space",
}
TASKS = ["canny_extraction", "canny_to_image", "grayscale", "colorization", "inpainting"]
# Thresholds strict enough to reject part of the corpus, so the page has every section.
SELECT = {
    "thresholds": {"default": {"min_instruction_words": 6}, "grayscale": {"min_sharpness": 60}},
    "max_per_task": 4,
}


def photo_folder(root: Path) -> Path:
    """The photos at 200 px, one of them twice under another name (a duplicate), a file
    that is no image and one too small to use (failed rows)."""
    from skimage import data

    root.mkdir(parents=True)
    for name, caption in PHOTOS.items():
        image = Image.fromarray(getattr(data, name)()).convert("RGB")
        image.thumbnail((200, 200))
        image.save(root / f"{name}.jpg", quality=92)
        (root / f"{name}.txt").write_text(caption)
    shutil.copy(root / "coffee.jpg", root / "coffee_again.jpg")
    shutil.copy(root / "coffee.txt", root / "coffee_again.txt")
    (root / "notes.jpg").write_bytes(b"these are not the pixels you are looking for")
    Image.new("RGB", (12, 12), "red").save(root / "speck.png")
    return root


def scored_recipe(folder: Path):
    raw = {
        "name": "scored",
        "seed": 3,
        "source": {"kind": "folder", "path": str(folder)},
        "unit_size": 4,
        "stages": [
            {"stage": "decode", "max_side": 160, "min_side": 32},
            {"stage": "pairs", "per_source": len(TASKS), "tasks": dict.fromkeys(TASKS, 1.0)},
            {"stage": "template_instructions"},
        ],
    }
    recipe = build_recipe(raw)
    select = SelectParams(**SELECT)
    Select.validate(select)
    recipe.stages += [QualityScores(QualityParams()), Select(select, recipe=raw["name"])]
    # run.json records the recipe as run, so `ace data select` finds the select stage in it.
    recipe.raw["stages"] += [{"stage": "quality_scores"}, {"stage": "select", **SELECT}]
    return recipe


@pytest.fixture(scope="session")
def scored(tmp_path_factory) -> Path:
    from dataengine.runner import run_recipe

    root = tmp_path_factory.mktemp("scored")
    out = root / "corpus"
    run_recipe(scored_recipe(photo_folder(root / "photos")), out, InProcess(), progress=False)
    select_corpus(out, InProcess())
    return out


@pytest.fixture
def curated(scored, tmp_path) -> Path:
    """A copy of the scored corpus in which a person rejected one more sample."""
    from dataengine.corpus.curation import rejected_keys
    from dataengine.corpus.read import read_index

    out = tmp_path / "corpus"
    shutil.copytree(scored, out)
    taken = rejected_keys(out)
    rows = read_index(out, columns=["key", "status"]).to_pylist()
    key = min(r["key"] for r in rows if r["status"] == "ok" and r["key"] not in taken)
    record_decisions(out, decision_rows([key], "reject", "wrong colours", "ana"), "ana")
    return out
