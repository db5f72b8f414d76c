"""Template instructions: several human-sounding phrasings per task, one drawn per pair.

Images are named as ACE names them: "{image}" is the first frame, "{image1}" the second; the
model links the literal text to the frame, so the braces stay in the rendered instruction.
Slots use string.Template syntax ("$caption") for that reason: it leaves braces alone.
A template is eligible only when every slot it names is filled, so one task can mix
phrasings with and without a caption.
"""

from __future__ import annotations

import importlib
import pkgutil
import string
from typing import Any

import numpy as np

from dataengine.instruct import phrasings


def _phrasings_by_task() -> dict[str, tuple[str, ...]]:
    """Every task's phrasings: one module per task family in instruct/phrasings/, each with
    a PHRASINGS table (tests check that every registered task has phrasings)."""
    tables: dict[str, tuple[str, ...]] = {}
    for module in sorted(m.name for m in pkgutil.iter_modules(phrasings.__path__)):
        tables.update(importlib.import_module(f"{phrasings.__name__}.{module}").PHRASINGS)
    return tables


TEMPLATES: dict[str, tuple[str, ...]] = _phrasings_by_task()


def slot_names(template: str) -> frozenset[str]:
    """The $names a template uses (string.Template.get_identifiers needs Python 3.11)."""
    names = set()
    for match in string.Template.pattern.finditer(template):
        name = match.group("named") or match.group("braced")
        if name:
            names.add(name)
    return frozenset(names)


def eligible(task: str, slots: dict[str, Any]) -> list[int]:
    """Indices of the task's templates whose slots are all filled (None or "" is unfilled)."""
    if task not in TEMPLATES:
        known = ", ".join(sorted(TEMPLATES))
        raise KeyError(f"no instruction templates for task {task!r}; known tasks: {known}")
    filled = {name for name, value in slots.items() if value not in (None, "")}
    return [i for i, t in enumerate(TEMPLATES[task]) if slot_names(t) <= filled]


def render_instruction(
    task: str, slots: dict[str, Any], rng: np.random.Generator
) -> tuple[str, int]:
    """One instruction for `task`, filled from `slots`, and the index of its template."""
    choices = eligible(task, slots)
    if not choices:
        raise ValueError(f"every template of {task!r} needs a slot missing from {sorted(slots)}")
    index = choices[int(rng.integers(len(choices)))]
    return string.Template(TEMPLATES[task][index]).substitute(slots), index
