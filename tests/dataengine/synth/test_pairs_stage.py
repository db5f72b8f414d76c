"""The `pairs` stage's bookkeeping: every source has at least one row."""

import numpy as np

from dataengine.schema import SourceImage, Unit
from dataengine.synth.stage import Pairs, PairsParams


def test_a_source_no_task_can_use_still_gets_a_row():
    gray = np.full((96, 96, 3), 128, np.uint8)
    sources = [
        SourceImage(id="photo:gray", group="g", image=gray, caption=None),
        SourceImage(id="photo:bad", group="b", status="truncated_image", error="cut short"),
    ]
    stage = Pairs(PairsParams(tasks={"text_to_image": 1.0, "colorization": 1.0}), seed=1)
    unit = stage(Unit(id="0" * 16, split="train", index=0, sources=sources))
    rows = {p.provenance["source_ids"][0]: p for p in unit.pairs}
    assert rows["photo:gray"].status == "no_eligible_task"
    assert "caption" in rows["photo:gray"].error
    assert rows["photo:bad"].status == "truncated_image"
    assert len(unit.pairs) == 2


def test_tasks_are_drawn_only_when_there_are_more_than_per_source():
    """per_source at or above the eligible tasks takes them all, in order, without a draw;
    below it, the draw is seeded by the source, so it never depends on run order."""
    rng = np.random.default_rng(0)
    sources = [
        SourceImage(
            id=f"photo:{i}",
            group=str(i),
            image=rng.integers(0, 256, (64, 64, 3), np.uint8),
            caption="a photo",
        )
        for i in range(6)
    ]
    tasks = {"text_to_image": 1.0, "grayscale": 1.0, "colorization": 1.0}
    every = Pairs(PairsParams(tasks=tasks, per_source=5), seed=1)
    every.setup()
    assert {tuple(every.choose_tasks(s)) for s in sources} == {tuple(sorted(tasks))}
    two = Pairs(PairsParams(tasks=tasks, per_source=2), seed=1)
    two.setup()
    chosen = [two.choose_tasks(s) for s in sources]
    assert all(len(c) == 2 and c == sorted(c) for c in chosen)
    assert len({tuple(c) for c in chosen}) > 1  # the draw differs between sources
    assert chosen == [two.choose_tasks(s) for s in reversed(sources)][::-1]
