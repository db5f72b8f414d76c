"""Checks an instruction written by a language model before it may replace the template one.

A model answer is accepted only when it is a usable instruction: not empty, not too long,
printable text, naming exactly the frames the template named ({image}, {image1}...), keeping
quoted text (captions, text to render) verbatim, not a refusal and not an echo of our prompt
or of the instruction it was asked to rewrite. A rejected answer gets a status saying why;
the writer then keeps the template instruction.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from dataengine.schema import IMAGE_PLACEHOLDER, placeholder, replace_placeholders

QUOTED = re.compile(r'"([^"]+)"')
LABEL = re.compile(r"^(new |rewritten |edited )?instruction\s*:\s*", re.IGNORECASE)
REFUSAL = re.compile(
    r"\b(i'?m sorry|i am sorry|i apologi[sz]e|i can(no|')t|i am unable|i'?m unable|"
    r"as an ai\b|as a language model|i won'?t be able)",
    re.IGNORECASE,
)
# Unicode categories that never belong in an instruction: controls, unassigned, private use,
# surrogates. U+FFFD is what a tokenizer emits for a broken byte sequence.
BAD_CATEGORIES = {"Cc", "Cn", "Co", "Cs"}


@dataclass(frozen=True)
class Expectations:
    """What a valid answer must look like for one pair."""

    # The frames the template named, as IMAGE_PLACEHOLDER captures their numbers: "" for
    # {image}, "1" for {image1}. Kept as written, so {image01} is not taken for {image1}.
    placeholders: frozenset[str]
    keep: tuple[str, ...] = ()  # quoted spans that must survive verbatim
    source: str | None = None  # the instruction being rewritten (a copy of it is no rewrite)
    prompt_lines: tuple[str, ...] = ()  # our own guidance text, which must not come back
    min_chars: int = 4
    max_chars: int = 300


@dataclass(frozen=True)
class Verdict:
    status: str  # "ok" or why the answer was rejected
    text: str
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def expectations_for(instruction: str, **kwargs) -> Expectations:
    """Expectations of an answer that replaces `instruction` (a template instruction)."""
    return Expectations(
        placeholders=named_frames(instruction),
        keep=tuple(QUOTED.findall(instruction)),
        **kwargs,
    )


def named_frames(text: str) -> frozenset[str]:
    """The frame numbers `text`'s placeholders carry, as written ("" for {image})."""
    return frozenset(IMAGE_PLACEHOLDER.findall(text))


def clean_answer(text: str) -> str:
    """Strip what models wrap around an answer: whitespace, quotes around the whole, a label."""
    text = LABEL.sub("", text.strip()).strip()
    for quote in ('"', "'", "`"):
        inner = text[1:-1]
        if len(text) > 2 and text[0] == text[-1] == quote and quote not in inner:
            text = inner.strip()
    return text


def check_instruction(answer: str, expect: Expectations) -> Verdict:
    text = clean_answer(answer)
    for check in (_length, _printable, _placeholders, _kept_quotes, _refusal, _copy):
        problem = check(text, expect)
        if problem:
            status, reason = problem
            return Verdict(status=status, text=text, reason=reason)
    return Verdict(status="ok", text=text)


def _length(text: str, expect: Expectations):
    if not text:
        return "empty", "the answer is empty"
    if len(text) < expect.min_chars:
        return "too_short", f"{len(text)} characters, fewer than {expect.min_chars}"
    if len(text) > expect.max_chars:
        return "too_long", f"{len(text)} characters, more than {expect.max_chars}"
    return None


def _printable(text: str, _expect: Expectations):
    for char in text:
        if char == "\ufffd" or unicodedata.category(char) in BAD_CATEGORIES:
            return "garbled", f"contains the unprintable character {char!r}"
    return None


def _placeholders(text: str, expect: Expectations):
    found = named_frames(text)
    stray = replace_placeholders(text, "")
    if "{" in stray or "}" in stray:
        return "bad_placeholder", "has braces that are not a frame placeholder like {image}"
    unknown = found - expect.placeholders
    if unknown:
        names = ", ".join(placeholder(n) for n in sorted(unknown))
        return "bad_placeholder", f"names {names}, which the sample does not have"
    missing = expect.placeholders - found
    if missing:
        names = ", ".join(placeholder(n) for n in sorted(missing))
        return "missing_placeholder", f"does not name {names}"
    return None


def _kept_quotes(text: str, expect: Expectations):
    for span in expect.keep:
        if span not in text:
            return "changed_quote", f'lost the quoted text "{span}"'
    return None


def _refusal(text: str, _expect: Expectations):
    match = REFUSAL.search(text)
    return ("refusal", f"reads as a refusal ({match.group(0)!r})") if match else None


def _copy(text: str, expect: Expectations):
    flat = _flatten(text)
    if expect.source is not None and flat == _flatten(expect.source):
        return "unchanged", "repeats the instruction it was asked to rewrite"
    for line in expect.prompt_lines:
        if len(line) >= 20 and _flatten(line) in flat:
            return "prompt_copy", f"repeats the prompt ({line[:40]!r}...)"
    return None


def _flatten(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .!")
