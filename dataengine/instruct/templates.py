"""Template instructions: several human-sounding phrasings per task, one drawn per pair.

Images are named as ACE names them: "{image}" is the first frame, "{image1}" the second; the
model links the literal text to the frame, so the braces stay in the rendered instruction.
Slots use string.Template syntax ("$caption") for that reason: it leaves braces alone.
A template is eligible only when every slot it names is filled, so one task can mix
phrasings with and without a caption.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

TEMPLATES: dict[str, tuple[str, ...]] = {
    "canny_extraction": (
        "Detect the edges of {image}.",
        "Use Canny to extract the edges of {image}.",
        "Generate the Canny edge map of {image}.",
        "Draw the outlines in {image} as white lines on a black background.",
        "What are the edges in {image}? Show them as a line map.",
        "Turn {image} into an edge map.",
        "Extract a Canny edge image from {image}.",
        "Trace the contours of everything in {image}.",
        "Give me the edge detection result for {image}.",
        "{image} as a black-and-white edge map, please.",
    ),
    "grayscale": (
        "Convert {image} to grayscale.",
        "Make {image} black and white.",
        "Remove all the colour from {image}.",
        "Turn {image} into a grayscale photo.",
        "Desaturate {image} completely.",
        "Show {image} in shades of gray.",
        "Give me a monochrome version of {image}.",
        "Strip the colours out of {image} and keep only the brightness.",
        "What would {image} look like as a black-and-white photo?",
    ),
    "canny_to_image": (
        'Generate an image that follows the edges of {image}: "$caption"',
        'Use the edge map {image} to create a picture of "$caption".',
        'Following the outlines in {image}, draw "$caption".',
        '{image} is a Canny edge map. Render it as a photo: "$caption"',
        'Create an image matching the contours of {image}, showing "$caption".',
        'Fill in the line drawing {image} so that it becomes "$caption".',
        'Based on the edges in {image}, generate a realistic image: "$caption"',
        'Paint "$caption", keeping the structure given by the edge map {image}.',
        'Turn the edge image {image} into a picture described as "$caption".',
    ),
    "colorization": (
        "Colorize {image}.",
        "Add natural colours to the black-and-white photo {image}.",
        "Bring {image} to life with realistic colours.",
        "Turn the grayscale image {image} into a colour photo.",
        "Restore the colours of {image}.",
        "What would {image} look like in colour? Colour it in.",
        "Give {image} plausible, natural colours.",
        'Colorize {image}; it shows "$caption".',
        'Add colour to {image} so it looks like "$caption".',
        'This is a black-and-white photo of "$caption": {image}. Make it colour.',
        'Turn {image} into a colour image of "$caption".',
        'Restore the colours of {image}, a picture of "$caption".',
        'Colour in the grayscale image {image} to show "$caption".',
    ),
    "inpainting": (
        "Fill in the masked region of {image}.",
        "Inpaint the black area in {image} so it blends with the rest.",
        "Restore the missing part of {image}.",
        "Complete {image} by repainting the masked area.",
        "Something is cut out of {image}; fill the gap naturally.",
        "Repaint the hidden region of {image} to match its surroundings.",
        "Fix the blanked-out area in {image}.",
        'Fill in the masked region of {image} so the whole image shows "$caption".',
        'Inpaint {image}; the complete picture is "$caption".',
        'Restore the missing part of {image}. It is a picture of "$caption".',
        'Complete the masked area of {image} to give "$caption".',
        'Repaint the black region in {image} so that it fits "$caption".',
        'Fill the hole in {image}: the finished image should be "$caption".',
    ),
}


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
