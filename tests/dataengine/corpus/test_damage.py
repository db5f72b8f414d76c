"""`ace data damage`: a copy whose train samples are wrong on purpose, its other splits as
they were, and still a valid corpus."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from dataengine.corpus.damage import Damage, damage_corpus
from dataengine.corpus.read import iter_samples
from dataengine.corpus.validate import validate_output
from tests.helpers import shard_bytes


def by_key(out) -> dict[str, dict]:
    return {s["__key__"]: s for s in iter_samples(out)}


def test_swapped_targets_come_from_another_sample_of_the_task(reference, tmp_path):
    done = damage_corpus(reference, tmp_path / "copy", Damage(swap_targets=True))
    before, after = by_key(reference), by_key(tmp_path / "copy")
    assert before.keys() == after.keys() and validate_output(tmp_path / "copy").ok
    train = [k for k, s in before.items() if s["json"]["split"] == "train"]
    tasks = Counter(before[k]["json"]["task"] for k in train)
    swappable = [k for k in train if tasks[before[k]["json"]["task"]] > 1]
    assert done == {"target": len(swappable), "instruction": 0} and len(swappable) > 10
    for key in swappable:
        new = after[key]
        partner = before[new["json"]["provenance"]["damaged"]["target"]]
        assert partner["__key__"] != key and partner["json"]["task"] == before[key]["json"]["task"]
        assert new[new["json"]["target"]] == partner[partner["json"]["target"]]
    for key in set(train) - set(swappable):  # a task's only train sample: as it was
        assert after[key]["json"] == before[key]["json"]
    for name, data in shard_bytes(reference).items():  # val and bench: byte for byte
        if not name.split("/")[1].startswith("train-"):
            assert shard_bytes(tmp_path / "copy")[name] == data


def test_shuffled_instructions_come_from_other_tasks_and_name_no_missing_frame(reference, tmp_path):
    done = damage_corpus(reference, tmp_path / "copy", Damage(shuffle_instructions=0.5))
    before, after = by_key(reference), by_key(tmp_path / "copy")
    changed = [k for k in before if before[k]["json"] != after[k]["json"]]
    assert len(changed) == done["instruction"] > 0
    for key in changed:
        meta = after[key]["json"]
        assert meta["instruction"] != before[key]["json"]["instruction"]
        assert meta["split"] == "train"
    assert validate_output(tmp_path / "copy").ok


@pytest.mark.parametrize(
    ("damage", "message"),
    [(Damage(), "no damage asked"), (Damage(shuffle_instructions=2.0), "fraction in [0, 1]")],
)
def test_a_damage_that_is_none_or_no_fraction_is_refused(reference, tmp_path, damage, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        damage_corpus(reference, tmp_path / "copy", damage)
    assert not (tmp_path / "copy").exists()
    assert json.loads((reference / "run.json").read_text())  # the source untouched
