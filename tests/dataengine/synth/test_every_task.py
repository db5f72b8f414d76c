"""Every registered task, through the real stages and sink, gives valid samples.

Each family's own tests check its pixels; this one checks what they share: the `pairs`
stage can run the task on photos and shapes-world scenes, its phrasings fill from the
slots the maker leaves, the placeholders name existing frames, and the shard passes
`validate`.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.corpus.validate import validate_output
from dataengine.instruct.template_stage import TemplateInstructions
from dataengine.instruct.templates import TEMPLATES
from dataengine.registry import all_makers
from dataengine.schema import SourceImage, Unit
from dataengine.sinks.shard_writer import ShardWriter, write_run_info
from dataengine.sources.shapes_world import load_shape, shapes_refs
from dataengine.synth.stage import Pairs, PairsParams

MAKERS = all_makers()  # every family imported
MODEL_FREE = sorted(
    task
    for task, maker in MAKERS.items()
    if not maker.needs_model and not maker.mined  # mined: tests/.../mine
)


def photo(name: str, image: np.ndarray, caption: str) -> SourceImage:
    image = cv2.resize(image, (176, 144), interpolation=cv2.INTER_AREA)
    return SourceImage(id=f"photo:{name}", group=name, image=image, caption=caption)


@pytest.fixture(scope="module")
def sources() -> list[SourceImage]:
    shapes = [load_shape(ref) for ref in shapes_refs(2, 2, seed=3)]
    return [
        photo("astronaut", skimage.data.astronaut(), "an astronaut in a white suit"),
        photo("coffee", skimage.data.coffee(), "a cup of coffee on a saucer"),
        photo("chelsea", skimage.data.chelsea(), "a tabby cat"),
        *shapes,
    ]


def test_every_task_has_phrasings():
    for task in MAKERS:
        assert len(TEMPLATES.get(task, ())) >= 8, task


@pytest.mark.parametrize("task", MODEL_FREE)
def test_task_gives_valid_samples(task, sources, tmp_path):
    pairs = Pairs(PairsParams(tasks={task: 1.0}, per_source=1), recipe="every", seed=5)
    unit = Unit(id="0" * 16, split="train", index=0, sources=list(sources))
    unit = TemplateInstructions(recipe="every", seed=5)(pairs(unit))

    made = [p for p in unit.pairs if p.ok]
    assert made, {p.status: p.error for p in unit.pairs}
    for pair in made:
        assert pair.category == MAKERS[task].category
        assert pair.instruction and "$" not in pair.instruction, pair.instruction
        params = pair.provenance["params"]
        assert json.loads(json.dumps(params)) == params  # JSON-able: the pair can be remade
    ShardWriter(tmp_path).write(unit)
    write_run_info(tmp_path, {"recipe": "every"})
    report = validate_output(tmp_path)
    assert report.ok, report.problems
    assert report.samples == len(made)
