"""Multi-turn editing: two to four single-turn edits of one image, chained into one LCU.

As in ACE's chat data, each turn edits the previous turn's result. The sample shows every
earlier turn's input as a history frame (the template stage phrases its instruction from
`slots["turns"]`), then the last turn's input; the target is the last turn's result and the
current instruction is phrased as the last turn's task.

Turns are drawn among the registered single-image editing makers (semantic, element and
low-level; no partners, no model, no caption needed) that accept the current image. Params
record each turn's task and that maker's own params, so `build` replays the chain through
the makers' own `build`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from dataengine.registry import MAKERS
from dataengine.schema import SourceImage
from dataengine.synth.base import Made, PairError, PairMaker

EDIT_CATEGORIES = ("semantic_editing", "element_editing", "low_level_analysis")
# A map (edges, grey) ends a chat: an edit of an edge map is not what people ask for next.
LAST_ONLY_CATEGORIES = ("low_level_analysis",)
MIN_TURNS, MAX_TURNS = 2, 4
TRIES_PER_TURN = 6  # makers tried for one turn before the chain stops there


@dataclass
class Turn:
    task: str  # the maker that made it
    phrased_as: str  # whose phrasings write its instruction (the maker's own, usually)
    made: Made
    frame_scene: dict | None  # the scene its input shows, when the source is a scene
    target_scene: dict | None


class MultiTurnEdit(PairMaker):
    task = "multi_turn_edit"
    category = "multi_turn"
    operator = "chain(single-turn makers)"

    def __init__(self, model: str | None = None, makers: dict[str, type[PairMaker]] | None = None):
        super().__init__(model)
        self._pool = makers  # tests pass a smaller pool
        self._instances: dict[str, PairMaker] = {}

    @property
    def pool(self) -> dict[str, type[PairMaker]]:
        """The makers turns are drawn from: every registered family unless a test narrows
        it. Every family is imported first because a process may so far hold only some
        (a worker imports what its recipe names), and the pool decides the chains."""
        if self._pool is None:
            from dataengine.registry import all_makers

            self._pool = all_makers()
        return self._pool

    def accepts(self, source: SourceImage) -> bool:
        return source.image is None or bool(self.candidates(source, last=False))

    # ----------------------------------------------------------------------------------------
    # Drawing a chain
    # ----------------------------------------------------------------------------------------

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        wanted = int(rng.integers(MIN_TURNS, MAX_TURNS + 1))
        turns: list[Turn] = []
        current = source
        for k in range(wanted):
            turn = self.draw_turn(current, turns, rng, last=k == wanted - 1)
            if turn is None:
                break
            turns.append(turn)
            current = next_source(source, turn)
        if len(turns) < MIN_TURNS:
            raise PairError("no_chain", f"fewer than {MIN_TURNS} edits chain on {source.id}")
        return assemble(turns, with_scenes="scene" in source.meta)

    def draw_turn(
        self, current: SourceImage, turns: list[Turn], rng: np.random.Generator, last: bool
    ) -> Turn | None:
        """One more edit of `current`: makers in a random order, the first that works. The
        previous turn's task is left out: "brighter", then "brighter" again is no chat."""
        previous = turns[-1].task if turns else None
        tasks = [t for t in self.candidates(current, last) if t != previous]
        for index in rng.permutation(len(tasks))[:TRIES_PER_TURN]:
            task = tasks[int(index)]
            turn_rng = np.random.default_rng(int(rng.integers(2**63)))
            try:
                made = self.maker(task).make(current, turn_rng)
            except PairError:
                continue  # this image cannot give that edit; another maker may
            if chains(made, current, first=not turns):
                return make_turn(task, made, current, turns)
        return None

    def candidates(self, source: SourceImage, last: bool) -> list[str]:
        """Tasks whose makers can edit `source` as one turn, in a fixed order."""
        return [
            task
            for task in sorted(self.pool)
            if chainable(self.pool[task], last) and self.can_serve(task, source)
        ]

    def can_serve(self, task: str, source: SourceImage) -> bool:
        if self.pool[task].needs_scene and "scene" not in source.meta:
            return False
        return self.maker(task).accepts(source)

    def maker(self, task: str) -> PairMaker:
        """One set-up instance per task (a maker may load fonts or tables in setup)."""
        if task not in self._instances:
            cls = self.pool.get(task) or MAKERS.get(task)
            if cls is None:
                raise PairError("unknown_task", f"no pair maker is named {task!r}")
            self._instances[task] = cls()
            self._instances[task].setup()
        return self._instances[task]

    # ----------------------------------------------------------------------------------------
    # Replaying a recorded chain
    # ----------------------------------------------------------------------------------------

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        turns: list[Turn] = []
        current = source
        for recorded in params["turns"]:
            made = self.maker(recorded["task"]).build(current, recorded["params"])
            if not chains(made, current, first=not turns):
                raise PairError("broken_chain", f"turn {len(turns)} no longer edits its input")
            turns.append(make_turn(recorded["task"], made, current, turns))
            current = next_source(source, turns[-1])
        return assemble(turns, with_scenes="scene" in source.meta)


def chainable(cls: type[PairMaker], last: bool) -> bool:
    """A single-image edit without partner, model or caption (the caption describes only
    the original image), with a `build` to replay it."""
    return (
        cls.category in EDIT_CATEGORIES
        and (last or cls.category not in LAST_ONLY_CATEGORIES)
        and cls.partners == 0
        and not cls.needs_model
        and not cls.needs_caption
        and hasattr(cls, "build")
    )


def chains(made: Made, current: SourceImage, first: bool) -> bool:
    """One input frame, and after the first turn that frame must be the image as the last
    turn left it (a maker that shows a changed input, like a blanked hole, breaks the chat)."""
    if len(made.frames) != 1:
        return False
    return first or np.array_equal(made.frames[0].image, current.image)


def make_turn(task: str, made: Made, current: SourceImage, turns: list[Turn]) -> Turn:
    """Scenes follow the pairs stage's rule: a maker without scenes of its own shows the
    scene it was given (an edge map still shows the scene), in frame and target alike."""
    shown = turns[-1].target_scene if turns else current.meta.get("scene")
    frame_scene = made.scenes["frames"][0] if made.scenes else shown
    target_scene = made.scenes["target"] if made.scenes else shown
    return Turn(task, made.instruction_task or task, made, frame_scene, target_scene)


def next_source(source: SourceImage, turn: Turn) -> SourceImage:
    """The input of the next turn: this turn's target. Only a scene maker's target is
    still exactly its scene rendered, so only then do shapes-world edits stay possible.
    The caption is dropped: it described the original image."""
    # Text written on a scene records no target scene: its output is no longer a render.
    exact = turn.made.scenes is not None and turn.made.scenes.get("target") is not None
    meta = {"scene": turn.target_scene} if exact else {}
    return SourceImage(id=source.id, group=source.group, image=turn.made.target, meta=meta)


def assemble(turns: list[Turn], with_scenes: bool) -> Made:
    """History frames (earlier inputs, instructions to be phrased), then the last input."""
    *history, last = turns
    frames = [
        dataclasses.replace(t.made.frames[0], role="history", instruction=None) for t in history
    ]
    frames.append(dataclasses.replace(last.made.frames[0], role="input", instruction=None))
    phrasing = [{"task": t.phrased_as, "slots": t.made.slots} for t in history]
    scenes = None
    if with_scenes:
        scenes = {"frames": [t.frame_scene for t in turns], "target": last.target_scene}
    return Made(
        frames=frames,
        target=last.made.target,
        params={"turns": [{"task": t.task, "params": t.made.params} for t in turns]},
        target_lossless=last.made.target_lossless,
        slots={**last.made.slots, "turns": phrasing},
        caption=last.made.caption,
        scenes=scenes,
        instruction_task=last.phrased_as,
    )
