"""docs/TASKS.md's generator: one row per task a recipe can make from a photo or a scene."""

from __future__ import annotations

import re

from dataengine.registry import all_makers
from tools.task_gallery import write_gallery


def test_gallery_lists_every_synthesised_task_once_and_leaves_mined_ones_out(tmp_path):
    shown = write_gallery(tmp_path)
    text = (tmp_path / "TASKS.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \|", text, flags=re.MULTILINE)
    makers = all_makers()
    synthesised = sorted(t for t, m in makers.items() if not m.mined)
    assert sorted(rows) == synthesised
    assert not any(t.startswith("mined_") for t in rows)
    assert text.count(f"{len(synthesised)} sub-tasks") == 1
    assert shown and all((tmp_path / "tasks" / f"{task}.jpg").stat().st_size > 0 for task in shown)
