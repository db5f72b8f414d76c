"""Checks of the instruction text: is it there, does it name real frames, does it stutter.

ACE names the current input frames {image}, {image1} ... (docs/FORMAT.md); a placeholder that
names no input frame, or a template slot left unfilled ("{color}"), makes a sample the
model cannot follow. LLM rewrites sometimes stutter ("make the the sky blue").
"""

from __future__ import annotations

import itertools
import re

import xxhash

from dataengine.schema import Pair, image_ref

# Any {...}: a frame placeholder, or a template slot left unfilled that must count as bad.
BRACED = re.compile(r"\{[^{}]*\}")
QUOTED = re.compile(r'"[^"]*"')  # quoted text is data (the words to write), not phrasing
WORD = re.compile(r"[^\W\d_]{2,}")  # letters only, two or more: "L L" in spaced text is data
SENTENCE_END = re.compile(r"[.!?]+")


def instruction_scores(instruction: str | None, n_inputs: int) -> dict[str, float]:
    text = instruction or ""
    braced = BRACED.findall(text)
    return {
        "instruction_words": float(len(text.split())),
        "instruction_bad_placeholders": float(sum(not _names_input(b, n_inputs) for b in braced)),
        "instruction_repeats": float(_repeats(text)),
    }


def _names_input(braced: str, n_inputs: int) -> bool:
    frame = image_ref(braced)
    return frame is not None and frame < n_inputs


def _repeats(text: str) -> int:
    text = BRACED.sub(" ", QUOTED.sub(" ", text)).lower()  # "image {image}" is no stutter
    sentences = [s.strip() for s in SENTENCE_END.split(text) if s.strip()]
    words = sum(_doubled(WORD.findall(s)) for s in sentences)  # "colour? Colour it" is fine
    return words + _doubled(sentences)


def _doubled(items: list[str]) -> int:
    return sum(a == b for a, b in itertools.pairwise(items))


def duplicate_flags(pairs: list[Pair]) -> dict[str, float]:
    """1.0 for each pair whose task, instruction and edited pixels an earlier pair (by key)
    already has: the same sample twice, from two copies of one image. 0.0 for the others."""
    seen: set[str] = set()
    flags = {}
    for pair in sorted(pairs, key=lambda p: p.key):
        signature = _signature(pair)
        flags[pair.key] = float(signature in seen)
        seen.add(signature)
    return flags


def _signature(pair: Pair) -> str:
    # xxh3-128: a non-cryptographic hash (no adversary here) ten times sha256's speed; hashing
    # every pixel with sha256 was a quarter of the quality scores' time.
    digest = xxhash.xxh3_128(f"{pair.task}\0{pair.instruction}".encode())
    images = [frame.image for frame in pair.frames] + [pair.target]
    for image in images:
        if image is not None:
            digest.update(f"{image.shape}".encode() + image.tobytes())
    return digest.hexdigest()
