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
