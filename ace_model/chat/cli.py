"""`ace model chat --ckpt RUN [--port P] [--examples DIR]`: the chat page on loopback."""

from __future__ import annotations

import sys
from pathlib import Path

EXAMPLES = 24  # images offered to pick from a corpus


def add_command(commands) -> None:
    chat = commands.add_parser(
        "chat", help="serve a local page for multi-turn editing with one checkpoint"
    )
    chat.add_argument("--ckpt", type=Path, required=True, help="a checkpoint or a run folder")
    chat.add_argument("--port", type=int, default=8766, help="0 picks a free port")
    chat.add_argument(
        "--examples",
        help="a corpus whose bench images the page offers to pick (besides uploads)",
    )
    chat.add_argument("--device", help="cpu, cuda ... (default: cuda when present)")
    chat.set_defaults(handler=_chat)


def _chat(args) -> int:
    from ace_model.chat.server import serve
    from ace_model.sample import Sampler

    if not 0 <= args.port <= 65535:
        return _fail(f"--port {args.port} is not a port; give 0..65535 (0: any free one)")
    try:
        examples = _examples(args.examples) if args.examples else []
        sampler = Sampler(args.ckpt, args.device)
        serve(sampler, examples, args.port)
    except (OSError, ValueError) as exc:
        return _fail(str(exc))
    return 0


def _examples(corpus: str) -> list:
    """(label, RGB image): the first input frame of the corpus's first bench samples."""
    from dataengine.corpus.read import iter_samples
    from dataengine.sinks.encode import decode_member

    found = []
    for sample in iter_samples(corpus, "bench"):
        frames = [f for f in sample["json"]["frames"] if f["role"] == "input"]
        if frames:
            image = decode_member(sample[frames[0]["image"]])
            if image.ndim == 3:
                found.append((f"{sample['json']['task']} {sample['__key__'][:8]}", image[..., :3]))
        if len(found) == EXAMPLES:
            break
    if not found:
        raise ValueError(f"--examples {corpus}: no bench sample with an input image")
    return found


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2
