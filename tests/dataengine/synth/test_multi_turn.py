import itertools
import json
import string

import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.corpus.validate import validate_output
from dataengine.instruct.template_stage import TemplateInstructions
from dataengine.instruct.templates import TEMPLATES, eligible
from dataengine.registry import MAKERS
from dataengine.schema import Frame, SourceImage, Unit
from dataengine.sinks.shard_writer import ShardWriter, write_run_info
from dataengine.sources import shapes_world as sw
from dataengine.synth import multi_turn
from dataengine.synth.base import Made, PairError, PairMaker
from dataengine.synth.low_level import CannyExtraction, Grayscale
from dataengine.synth.multi_turn import MAX_TURNS, MIN_TURNS, MultiTurnEdit
from dataengine.synth.semantic import (
    BrightnessContrast,
    ChangeColor,
    ChangeCount,
    ChangeShape,
    ChangeSize,
    ColorGrading,
    MoveObject,
    StyleTransfer,
    render_like,
)
from dataengine.synth.stage import Pairs, PairsParams

# A fixed pool, so these tests do not depend on which other families are imported.
POOL = {
    m.task: m
    for m in (
        BrightnessContrast,
        CannyExtraction,
        ChangeColor,
        ChangeCount,
        ChangeShape,
        ChangeSize,
        ColorGrading,
        Grayscale,
        MoveObject,
        StyleTransfer,
    )
}


def photo_source() -> SourceImage:
    image = cv2.resize(skimage.data.astronaut(), (96, 96), interpolation=cv2.INTER_AREA)
    return SourceImage(id="photo", group="p", image=image, caption="an astronaut")


def scene_source(seed: int = 0) -> SourceImage:
    scene = sw.random_scene(np.random.default_rng(seed), (256, 256))
    image = cv2.resize(sw.render(scene), (128, 128), interpolation=cv2.INTER_AREA)
    return SourceImage(id=f"scene{seed}", group="s", image=image, meta={"scene": scene})


def replay(made: Made, source: SourceImage) -> list[Made]:
    """Each recorded turn rebuilt by its own maker on the previous turn's target."""
    turns, current = [], source
    for turn in made.params["turns"]:
        result = MAKERS[turn["task"]]().build(current, turn["params"])
        exact = result.scenes is not None and result.scenes["target"] is not None
        meta = {"scene": result.scenes["target"]} if exact else {}
        current = SourceImage(id=source.id, group=source.group, image=result.target, meta=meta)
        turns.append(result)
    return turns


def test_multi_turn_is_registered():
    assert MAKERS["multi_turn_edit"] is MultiTurnEdit
    assert MultiTurnEdit.category == "multi_turn" and MultiTurnEdit.partners == 0


@pytest.mark.parametrize("source", [photo_source(), scene_source(1)], ids=["photo", "scene"])
def test_frames_chain_turn_by_turn(source):
    lengths = set()
    for seed in range(6):
        made = MultiTurnEdit(makers=POOL).make(source, np.random.default_rng(seed))
        turns = replay(made, source)
        n = len(turns)
        lengths.add(n)
        assert MIN_TURNS <= n <= MAX_TURNS and len(made.frames) == n
        assert [f.role for f in made.frames] == ["history"] * (n - 1) + ["input"]
        assert all(f.instruction is None for f in made.frames)
        for k, turn in enumerate(turns):
            assert np.array_equal(made.frames[k].image, turn.frames[0].image)
            if k > 0:  # turn k's input is turn k-1's target
                assert np.array_equal(made.frames[k].image, turns[k - 1].target)
        assert np.array_equal(made.target, turns[-1].target)
        assert made.target_lossless == turns[-1].target_lossless
        tasks = [t["task"] for t in made.params["turns"]]
        assert all(a != b for a, b in itertools.pairwise(tasks))  # no task twice in a row
        assert all(MAKERS[t].category != "low_level_analysis" for t in tasks[:-1])
        assert made.instruction_task == tasks[-1]
        assert [t["task"] for t in made.slots["turns"]] == tasks[:-1]
        assert [t["slots"] for t in made.slots["turns"]] == [t.slots for t in turns[:-1]]
        assert {k: v for k, v in made.slots.items() if k != "turns"} == turns[-1].slots
    assert len(lengths) > 1


def test_last_target_is_the_last_makers_build_on_the_last_input():
    source = scene_source(2)
    for seed in range(4):
        made = MultiTurnEdit(makers=POOL).make(source, np.random.default_rng(seed))
        last = made.params["turns"][-1]
        scene = made.scenes["frames"][-1]
        exact = MAKERS[last["task"]].needs_scene
        current = SourceImage(
            id="last",
            group="s",
            image=made.frames[-1].image,
            meta={"scene": scene} if exact else {},
        )
        rebuilt = MAKERS[last["task"]]().build(current, last["params"])
        assert np.array_equal(rebuilt.target, made.target)


def test_scene_provenance_follows_every_frame():
    """A scene edit records its own scenes; any other turn shows the scene it was given."""
    source = scene_source(3)
    for seed in range(6):
        made = MultiTurnEdit(makers=POOL).make(source, np.random.default_rng(seed))
        shown, frames = source.meta["scene"], []
        for k, result in enumerate(replay(made, source)):
            frames.append(result.scenes["frames"][0] if result.scenes else shown)
            shown = result.scenes["target"] if result.scenes else shown
            if result.scenes:  # its input is exactly that scene rendered
                expected = render_like(frames[-1], source.image.shape)
                assert np.array_equal(made.frames[k].image, expected)
        assert made.scenes == {"frames": frames, "target": shown}
    assert MultiTurnEdit(makers=POOL).make(photo_source(), np.random.default_rng(0)).scenes is None


def test_params_round_trip_and_rebuild_the_same_sample():
    for source in (photo_source(), scene_source(4)):
        made = MultiTurnEdit(makers=POOL).make(source, np.random.default_rng(5))
        again = MultiTurnEdit().build(source, json.loads(json.dumps(made.params)))
        assert np.array_equal(again.target, made.target)
        for a, b in zip(again.frames, made.frames, strict=True):
            assert np.array_equal(a.image, b.image) and a.role == b.role
        assert again.slots == made.slots and again.scenes == made.scenes
        assert (
            MultiTurnEdit(makers=POOL).make(source, np.random.default_rng(5)).params == made.params
        )
        other = MultiTurnEdit(makers=POOL).make(source, np.random.default_rng(6))
        assert other.params != made.params


class BoxEdit(PairMaker):
    """A test-only element edit with a mask: inverts a box in the middle."""

    task = "box_edit"
    category = "element_editing"

    def make(self, source, rng):
        return self.build(source, {})

    def build(self, source, params):
        h, w = source.image.shape[:2]
        mask = np.zeros((h, w), np.uint8)
        mask[h // 4 : h // 2, w // 4 : w // 2] = 255
        target = source.image.copy()
        target[mask > 0] = 255 - target[mask > 0]
        return Made(frames=[Frame(image=source.image, mask=mask)], target=target, params=params)


def test_masks_of_turns_carry_over_to_their_frames():
    pool = {"box_edit": BoxEdit, "brightness_contrast": BrightnessContrast}
    for seed in range(4):
        made = MultiTurnEdit(makers=pool).make(photo_source(), np.random.default_rng(seed))
        tasks = [t["task"] for t in made.params["turns"]]
        for task, frame in zip(tasks, made.frames, strict=True):
            assert (frame.mask is not None) == (task == "box_edit")
            if frame.mask is not None:
                assert set(np.unique(frame.mask)) == {0, 255}


def test_a_chain_that_cannot_reach_two_turns_is_an_error_row():
    only_maps = MultiTurnEdit(makers={"grayscale": Grayscale})
    assert not only_maps.accepts(photo_source())  # a map only ends a chain
    with pytest.raises(PairError) as err:
        only_maps.make(photo_source(), np.random.default_rng(0))
    assert err.value.kind == "no_chain"
    one_edit = MultiTurnEdit(makers={"brightness_contrast": BrightnessContrast})
    with pytest.raises(PairError) as err:  # the same task twice in a row is no chat
        one_edit.make(photo_source(), np.random.default_rng(0))
    assert err.value.kind == "no_chain"


def test_replaying_params_whose_chain_breaks_is_an_error_row():
    source = scene_source(5)
    first = ChangeColor().make(source, np.random.default_rng(0))
    scene = first.scenes["target"]
    used = {o["cell"] for o in scene["objects"]}
    free = next(c for c in sw.CELLS if c not in used)
    cell = scene["objects"][0]["cell"]
    # A count turn whose frame first adds a copy does not show the previous result.
    count = {"object": 0, "frame_cells": [cell, free], "target_cells": [cell]}
    params = {
        "turns": [
            {"task": "change_color", "params": first.params},
            {"task": "change_count", "params": count},
        ]
    }
    with pytest.raises(PairError) as err:
        MultiTurnEdit().build(source, params)
    assert err.value.kind == "broken_chain"
    params["turns"][1] = {"task": "no_such_task", "params": {}}
    with pytest.raises(PairError) as err:
        MultiTurnEdit().build(source, params)
    assert err.value.kind == "unknown_task"


def rendered(task: str, slots: dict) -> set[str]:
    return {string.Template(TEMPLATES[task][i]).substitute(slots) for i in eligible(task, slots)}


def test_template_stage_phrases_every_turn_and_the_sink_accepts_it(monkeypatch, tmp_path):
    monkeypatch.setattr(multi_turn, "MAKERS", POOL)  # the pool the stage's maker sees
    sources = [photo_source(), scene_source(6), scene_source(7)]
    unit = Unit(id="0" * 16, split="train", index=0, sources=sources)
    unit = Pairs(PairsParams(tasks={"multi_turn_edit": 1.0}), recipe="chat", seed=3)(unit)
    unit = TemplateInstructions(recipe="chat", seed=3)(unit)
    assert [p.status for p in unit.pairs] == ["ok"] * 3
    for pair in unit.pairs:
        turns = pair.slots["turns"]
        history = [f for f in pair.frames if f.role == "history"]
        assert len(history) == len(turns) >= 1
        for frame, turn in zip(history, turns, strict=True):
            assert frame.instruction in rendered(turn["task"], turn["slots"])
        last = pair.provenance["params"]["turns"][-1]["task"]
        assert pair.instruction in rendered(last, pair.slots)
        assert len(pair.provenance["history_templates"]) == len(turns)
        if pair.provenance["source_ids"][0].startswith("scene"):
            assert len(pair.provenance["scenes"]["frames"]) == len(pair.frames)
    ShardWriter(tmp_path).write(unit)
    write_run_info(tmp_path, {"recipe": "chat"})
    report = validate_output(tmp_path)
    assert report.ok, report.problems
    assert report.samples == 3


def test_phrasings_exist_as_a_fallback():
    templates = TEMPLATES["multi_turn_edit"]
    assert len(templates) >= 8 and all("{image}" in t for t in templates)


def test_chains_over_every_registered_maker():
    """The default pool is the whole registry: other families' edits chain and replay too."""
    for source in (photo_source(), scene_source(8)):
        for seed in range(3):
            made = MultiTurnEdit().make(source, np.random.default_rng(seed))
            again = MultiTurnEdit().build(source, json.loads(json.dumps(made.params)))
            assert np.array_equal(again.target, made.target)
            turns = replay(made, source)
            for k, (frame, turn) in enumerate(zip(made.frames, turns, strict=True)):
                assert np.array_equal(frame.image, turn.frames[0].image)
                mask = turn.frames[0].mask
                assert (frame.mask is None) == (mask is None)
                assert mask is None or np.array_equal(frame.mask, mask)
                if k > 0:
                    assert np.array_equal(frame.image, turns[k - 1].target)
