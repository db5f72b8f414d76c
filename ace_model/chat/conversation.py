"""One conversation: its images (uploaded, picked, or made by a turn) and its turns.

A turn edits one image of the conversation, named {image} in its instruction, optionally
with a mask painted on it and further images named {image1}, {image2}... The model sees the
LCU it was trained on for multi-turn edits: the last `HISTORY_TURNS` earlier turns as history
frames (each turn's edited image, with that turn's instruction naming it {image}), then the
turn's own images. ACE's demo keeps five turns of history, so does this.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

import numpy as np

from dataengine.schema import Frame, Pair, image_refs
from dataengine.sinks.shard_writer import SinkParams, sample_members, tar_bytes

HISTORY_TURNS = 5


@dataclass
class Turn:
    instruction: str
    inputs: list[int]  # image numbers: {image} first, then {image1}...
    mask: np.ndarray | None  # on inputs[0], 255 = edit
    output: int  # the image number of the result
    settings: dict


@dataclass
class Conversation:
    images: list[np.ndarray] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)  # "upload", "example KEY", "turn 2"
    turns: list[Turn] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_image(self, image: np.ndarray, origin: str) -> int:
        self.images.append(np.ascontiguousarray(image[..., :3]))
        self.origins.append(origin)
        return len(self.images) - 1

    def request(self, instruction: str, inputs: list[int], mask: np.ndarray | None) -> dict:
        """What `Sampler.edit` takes for a new turn; ValueError when it does not fit."""
        if not inputs:
            raise ValueError("pick the image to edit first (upload one, or pick an example)")
        missing = [n for n in inputs if not 0 <= n < len(self.images)]
        if missing:
            raise ValueError(f"image #{missing[0]} is not in this conversation")
        named = image_refs(instruction)
        if not named:
            raise ValueError("name the image to edit in the instruction as {image}")
        if max(named) >= len(inputs):
            raise ValueError(
                f"the instruction names {{image{max(named)}}} but the turn has "
                f"{len(inputs)} image(s); add it as a reference or fix the placeholder"
            )
        return {
            "images": [self.images[n] for n in inputs],
            "instruction": instruction,
            "masks": [mask] if mask is not None else [],
            "history": self.history(),
        }

    def history(self) -> list[tuple[np.ndarray, str]]:
        """What the next turn shows the model as history: (image, instruction) per turn."""
        return [(self.images[t.inputs[0]], t.instruction) for t in _history(self.turns)]

    def add_turn(self, turn: Turn) -> None:
        self.turns.append(turn)

    # -- the conversation as a sample -----------------------------------------------------

    def as_sample(self, checkpoint: dict) -> tuple[str, bytes]:
        """(key, tar bytes): the conversation's last turn as one multi-turn sample
        (docs/FORMAT.md), as the model saw it: the history it was given as history frames,
        its images as inputs, its result as the target, every image lossless."""
        if not self.turns:
            raise ValueError("no turn yet: nothing to download")
        last = self.turns[-1]
        frames = [
            Frame(self.images[t.inputs[0]], None, t.instruction, "history", lossless=True)
            for t in _history(self.turns[:-1])
        ]
        for i, number in enumerate(last.inputs):
            mask = last.mask if i == 0 else None
            frames.append(Frame(self.images[number], mask, None, "input", lossless=True))
        key = _key(self, last)
        pair = Pair(
            key=key,
            task="multi_turn_edit",
            category="multi_turn",
            split="bench",
            frames=frames,
            target=self.images[last.output],
            target_lossless=True,
            instruction=last.instruction,
            instruction_source="human",
            provenance={
                "recipe": "chat",
                "stage": "chat",
                "operator": "ace model chat",
                "version": "1",
                "params": {"checkpoint": checkpoint, "turns": [t.settings for t in self.turns]},
                "seed": int(last.settings.get("seed", 0)),
                "source_ids": list(self.origins),
                "parents": [],
            },
        )
        return key, tar_bytes([(key, sample_members(pair, SinkParams()))])


def _history(turns: list[Turn]) -> list[Turn]:
    """The last HISTORY_TURNS turns that fit a history frame: one image, named {image}."""
    return [t for t in turns if set(image_refs(t.instruction)) == {0}][-HISTORY_TURNS:]


def _key(conversation: Conversation, last: Turn) -> str:
    digest = hashlib.sha256()
    for turn in conversation.turns:
        digest.update(turn.instruction.encode("utf-8", "surrogatepass"))
    digest.update(conversation.images[last.output].tobytes())
    return digest.hexdigest()[:32]
