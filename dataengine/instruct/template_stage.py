"""Stage `template_instructions`: write each pair's instruction from its task's phrasings.

The phrasing is drawn with a generator seeded by the sample key, so an instruction never
changes between runs, and the index of the phrasing is recorded in provenance.

A multi-turn sample also needs its history frames phrased: its maker leaves
`slots["turns"]` = [{"task": ..., "slots": {...}}, ...], one per history frame in order, and
each history frame without an instruction gets one drawn from that turn's task.
"""

from __future__ import annotations

from dataclasses import dataclass

from dataengine.instruct.templates import render_instruction
from dataengine.schema import Unit, rng_for
from dataengine.stage import Stage


@dataclass
class TemplateParams:
    overwrite: bool = False  # replace instructions written by an earlier stage


class TemplateInstructions(Stage):
    name = "template_instructions"
    Params = TemplateParams
    requires = frozenset({"pairs"})
    provides = frozenset({"instructions"})
    per_source = True  # each pair's phrasing is drawn from its own key

    def process(self, unit: Unit) -> Unit:
        for pair in unit.pairs:
            if not pair.ok or (pair.instruction and not self.params.overwrite):
                continue
            rng = rng_for(self.seed, "template", pair.key)
            task = pair.slots.get("template_task", pair.task)
            pair.instruction, index = render_instruction(task, pair.slots, rng)
            pair.instruction_source = "template"
            pair.provenance["template"] = index
            history = self.phrase_history(pair, rng)
            if history:
                pair.provenance["history_templates"] = history
        return unit

    @staticmethod
    def phrase_history(pair, rng) -> list[int]:
        """Instructions for history frames that have none, from `slots["turns"]`."""
        turns = iter(pair.slots.get("turns", []))
        indices = []
        for frame in pair.frames:
            if frame.role != "history" or frame.instruction:
                continue
            turn = next(turns, None)
            if turn is None:
                raise ValueError(f"{pair.task}: a history frame has no entry in slots['turns']")
            frame.instruction, index = render_instruction(turn["task"], turn["slots"], rng)
            indices.append(index)
        return indices
