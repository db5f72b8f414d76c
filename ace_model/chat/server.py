"""The chat page's server: one checkpoint, loaded once, on loopback.

    GET  /                                  the page
    GET  /api/info                          the checkpoint, the examples to pick from
    POST /api/conversations                 a new conversation -> {"id"}
    POST /api/conversations/ID/images       an uploaded image (multipart "file"), or
                                            {"example": N} -> {"image": number}
    GET  /api/conversations/ID/images/N.png an image of the conversation
    POST /api/conversations/ID/turns        {"instruction", "inputs": [numbers], "mask":
                                            PNG data URL or null, "steps", "guidance",
                                            "seed"} -> the turn, with its output's number
    GET  /api/conversations/ID/sample.tar   the conversation as one multi-turn sample

Loopback only, as the review server (dataengine/review/local_server.py).
"""

from __future__ import annotations

import base64
import io
import secrets
import threading

import numpy as np
from flask import Flask, abort, jsonify, request
from PIL import Image, ImageOps

from ace_model.chat.conversation import Conversation, Turn
from dataengine.review.local_server import guard_loopback, page_asset, serve_locally

STATIC = {"dom.js": "text/javascript", "chat.js": "text/javascript", "chat.css": "text/css"}
MAX_UPLOAD = 32 << 20  # bytes
MAX_STEPS = 200


def make_app(sampler, examples: list[tuple[str, np.ndarray]]) -> Flask:
    app = Flask(__name__, static_folder=None)
    guard_loopback(app)
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD
    conversations: dict[str, Conversation] = {}
    model_lock = threading.Lock()  # one generation at a time: the model is not shared-safe

    def conversation(cid: str) -> Conversation:
        found = conversations.get(cid)
        return found if found is not None else abort(404)

    @app.get("/")
    def page():
        return _asset("chat.html"), {"Content-Type": "text/html; charset=utf-8"}

    @app.get("/static/<name>")
    def asset(name: str):
        return (_asset(name), {"Content-Type": STATIC[name]}) if name in STATIC else abort(404)

    @app.get("/api/info")
    def info():
        return jsonify(
            {
                "checkpoint": str(sampler.path),
                "step": sampler.step,
                "resolution": sampler.train.resolution,
                "examples": [label for label, _ in examples],
            }
        )

    @app.get("/api/examples/<int:n>.png")
    def example(n: int):
        return _png(examples[n][1]) if 0 <= n < len(examples) else abort(404)

    @app.post("/api/conversations")
    def new_conversation():
        cid = secrets.token_hex(8)
        conversations[cid] = Conversation()
        return jsonify({"id": cid})

    @app.post("/api/conversations/<cid>/images")
    def add_image(cid: str):
        talk = conversation(cid)
        try:
            image, origin = _image_of_request(examples)
        except ValueError as exc:
            return jsonify({"error": str(exc)}), 400
        with talk.lock:
            return jsonify({"image": talk.add_image(image, origin)})

    @app.get("/api/conversations/<cid>/images/<int:n>.png")
    def image(cid: str, n: int):
        talk = conversation(cid)
        return _png(talk.images[n]) if 0 <= n < len(talk.images) else abort(404)

    @app.post("/api/conversations/<cid>/turns")
    def turn(cid: str):
        talk, body = conversation(cid), request.get_json(silent=True) or {}
        try:
            settings = _settings(body)
            inputs = [int(n) for n in body.get("inputs") or []]
            mask = _mask(body.get("mask"), talk, inputs)
            with talk.lock:
                asked = talk.request(str(body.get("instruction") or ""), inputs, mask)
            with model_lock:
                made = sampler.edit(**asked, **settings)
        except ValueError as exc:
            return jsonify({"error": str(exc)}), 400
        with talk.lock:
            output = talk.add_image(made, f"turn {len(talk.turns) + 1}")
            talk.add_turn(Turn(asked["instruction"], inputs, mask, output, settings))
            history = len(asked["history"])
        return jsonify({"output": output, "turn": len(talk.turns), "history_frames": history})

    @app.get("/api/conversations/<cid>/sample.tar")
    def sample(cid: str):
        talk = conversation(cid)
        try:
            with talk.lock:
                key, data = talk.as_sample({"path": str(sampler.path), "step": sampler.step})
        except ValueError as exc:
            return jsonify({"error": str(exc)}), 400
        disposition = f'attachment; filename="chat-{key[:8]}.tar"'
        return data, {"Content-Type": "application/x-tar", "Content-Disposition": disposition}

    return app


def _asset(name: str) -> str:
    return page_asset("ace_model.chat", name)


def _png(image: np.ndarray):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue(), {"Content-Type": "image/png"}


def _decode(data: bytes, mode: str) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(ImageOps.exif_transpose(im).convert(mode))
    except OSError as exc:
        raise ValueError(f"not an image this page can read ({exc})") from None


def _image_of_request(examples) -> tuple[np.ndarray, str]:
    if "file" in request.files:
        upload = request.files["file"]
        return _decode(upload.read(), "RGB"), f"upload {upload.filename or ''}".strip()
    body = request.get_json(silent=True) or {}
    n = body.get("example")
    if not isinstance(n, int) or not 0 <= n < len(examples):
        raise ValueError("send an image file, or the number of an example")
    return examples[n][1], f"example {examples[n][0]}"


def _mask(data_url, talk: Conversation, inputs: list[int]) -> np.ndarray | None:
    """The painted mask, at the size of the image it was painted on; None when blank."""
    if not data_url:
        return None
    if not isinstance(data_url, str) or "," not in data_url:
        raise ValueError("the mask must be a PNG data URL")
    mask = _decode(base64.b64decode(data_url.split(",", 1)[1]), "L")
    if not mask.any():
        return None
    if inputs and 0 <= inputs[0] < len(talk.images):
        h, w = talk.images[inputs[0]].shape[:2]
        if mask.shape != (h, w):
            mask = np.asarray(Image.fromarray(mask).resize((w, h), Image.NEAREST))
    return np.where(mask > 127, 255, 0).astype(np.uint8)


def _settings(body: dict) -> dict:
    try:
        steps, guidance, seed = (
            int(body.get("steps", 20)),
            float(body.get("guidance", 1.0)),
            int(body.get("seed", 0)),
        )
    except (TypeError, ValueError):
        raise ValueError("steps and seed must be whole numbers, guidance a number") from None
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps is {steps}; give 1 to {MAX_STEPS}")
    return {"steps": steps, "guidance": guidance, "seed": seed}


def serve(sampler, examples, port: int) -> None:
    """Serve until Ctrl-C or SIGTERM; print the URL first (port 0: a free one)."""
    banner = f"chat with {sampler.path} (step {sampler.step}) at {{}} (Ctrl-C stops)"
    serve_locally(make_app(sampler, examples), port, banner.format)
