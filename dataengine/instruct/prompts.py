"""What the instruction writers ask a model: chat messages, images inline, and the cache key.

Both backends (an OpenAI-compatible server, the vLLM engine inside Ray Data) send the same
`ChatRequest`, so an answer cached by one is found by the other. Images travel as JPEG data
URLs; the cache key hashes each image's URL instead of carrying it, so the key is short and
names exactly the pixels the model saw.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from dataengine.schema import canonical_json
from dataengine.sinks.encode import encode_jpeg

REWRITE_GUIDE = (
    "You rewrite instructions for an image editing model, so that its training data says "
    "the same thing in many ways.",
    "Keep every placeholder such as {image} or {image1} exactly as written: each names an "
    "input image.",
    "Keep any text in double quotes exactly as it is, quotes included.",
    "Change the wording, not the meaning, and answer with the new instruction only.",
)
DESCRIBE_GUIDE = (
    "You write instructions for an image editing model.",
    "You see the input images first and the result image last.",
    "Write the one instruction that turns the inputs into the result.",
    "Name the inputs by their placeholders, {image} for the first input and {image1} for "
    "the second, and answer with the instruction only.",
)
JSON_GUIDE = 'Answer in JSON: {"instruction": "..."}.'
JPEG_QUALITY = 90


@dataclass
class ChatRequest:
    """One chat completion: messages, sampling options (n, temperature, max_tokens, seed, and
    response_format when structured output is asked for) and server-specific extra fields."""

    messages: list[dict[str, Any]]
    options: dict[str, Any] = field(default_factory=dict)
    extra_body: dict[str, Any] = field(default_factory=dict)
    structured: bool = False

    def cache_key(self, model: str) -> str:
        """sha256 of (model, messages with each image replaced by its hash, every option)."""
        hashed = _hash_images(self.messages)
        payload = canonical_json([model, hashed, self.options, self.extra_body])
        return hashlib.sha256(payload.encode()).hexdigest()


def rewrite_messages(task: str, instruction: str, json_answer: bool) -> list[dict[str, Any]]:
    guide = " ".join(REWRITE_GUIDE + ((JSON_GUIDE,) if json_answer else ()))
    user = f"Task: {task_words(task)}.\nInstruction: {instruction}"
    return [{"role": "system", "content": guide}, {"role": "user", "content": user}]


def describe_messages(
    task: str, images: list[dict[str, Any]], caption: str | None, json_answer: bool
) -> list[dict[str, Any]]:
    """`images`: image_url parts, the inputs in order and the result last."""
    guide = " ".join(DESCRIBE_GUIDE + ((JSON_GUIDE,) if json_answer else ()))
    text = f"Task: {task_words(task)}."
    if caption:
        text += f'\nThe result shows: "{caption}".'
    content = [*images, {"type": "text", "text": text}]
    return [{"role": "system", "content": guide}, {"role": "user", "content": content}]


def guide_lines(json_answer: bool, describe: bool) -> tuple[str, ...]:
    """Our own prompt text, which a valid answer must not repeat."""
    return (DESCRIBE_GUIDE if describe else REWRITE_GUIDE) + ((JSON_GUIDE,) if json_answer else ())


def image_part(image: np.ndarray, max_side: int) -> dict[str, Any]:
    """An OpenAI image_url content part: the image, shrunk to `max_side`, as a JPEG data URL."""
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale < 1:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    data = base64.b64encode(encode_jpeg(image, JPEG_QUALITY)).decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{data}"}}


def json_schema(max_chars: int) -> dict[str, Any]:
    """The structured-output schema: one instruction string."""
    return {
        "type": "object",
        "properties": {"instruction": {"type": "string", "maxLength": max_chars}},
        "required": ["instruction"],
        "additionalProperties": False,
    }


def task_words(task: str) -> str:
    return task.replace("_", " ")


def _hash_images(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    hashed = []
    for message in messages:
        content = message["content"]
        if isinstance(content, list):
            content = [_hash_part(part) for part in content]
        hashed.append({**message, "content": content})
    return hashed


def _hash_part(part: dict[str, Any]) -> dict[str, Any]:
    if part.get("type") != "image_url":
        return part
    url = part["image_url"]["url"]
    return {"type": "image_sha256", "sha256": hashlib.sha256(url.encode()).hexdigest()}
