"""Small work units of real pairs for the instruction writer tests."""

from __future__ import annotations

import numpy as np

from dataengine.instruct.template_stage import TemplateInstructions
from dataengine.schema import Frame, Pair, Unit, content_key

CAPTION = "a red kite over a green field"


def picture(seed: int, size: int = 48) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.zeros((size, size, 3), np.uint8)
    image[:] = rng.integers(0, 256, 3)
    image[size // 4 : size // 2, size // 4 : size // 2] = rng.integers(0, 256, 3)
    return image


def make_pair(i: int, task: str = "grayscale") -> Pair:
    """A pair as the pairs stage leaves it: frames, target, slots, no instruction yet."""
    image = picture(i)
    category = {"grayscale": "low_level_analysis", "text_to_image": "text_to_image"}[task]
    frames = [] if task == "text_to_image" else [Frame(image=image)]
    target = image if task == "text_to_image" else image.mean(axis=2, keepdims=True)
    return Pair(
        key=content_key("writers", task, [f"src{i}"], {}, 0),
        task=task,
        category=category,
        split="train",
        frames=frames,
        target=np.repeat(target, 3, axis=2).astype(np.uint8) if frames else image,
        slots={"caption": CAPTION} if task == "text_to_image" else {},
        caption=CAPTION,
        provenance={"recipe": "writers", "model": None},
    )


def templated_unit(count: int, tasks: tuple[str, ...] = ("grayscale",), name: str = "u") -> Unit:
    """`count` pairs, tasks in turn, with their template instructions written."""
    pairs = [make_pair(i, tasks[i % len(tasks)]) for i in range(count)]
    unit = Unit(id=name, split="train", index=0, pairs=pairs)
    return TemplateInstructions(seed=0)(unit)


def writer_status(pair: Pair) -> str:
    return pair.provenance["model"]["instruction_writer"]["status"]
