"""`ace captioner` subcommands:

ace captioner finetune --data DIR --base MODEL_DIR --out DIR [--steps N] [--examples N]
"""

from __future__ import annotations

import sys
from pathlib import Path

from dataengine.params import RecipeError


def add_commands(groups) -> None:
    """Add the `captioner` group to `ace`'s top-level subparsers."""
    captioner = groups.add_parser(
        "captioner", help="fine-tune an MLLM on gold pairs to write instructions"
    )
    commands = captioner.add_subparsers(dest="command", required=True)
    finetune = commands.add_parser(
        "finetune",
        help="LoRA fine-tune a local vision-language model on a corpus's instructions, "
        "merge the adapters and save a folder `vllm serve` loads",
    )
    finetune.add_argument("--data", type=Path, required=True, help="a finished corpus folder")
    finetune.add_argument(
        "--base", type=Path, required=True, help="a local model folder (save_pretrained)"
    )
    finetune.add_argument("--out", type=Path, required=True, help="where to save the model")
    finetune.add_argument("--steps", type=int, default=150, help="optimizer steps (default 150)")
    finetune.add_argument(
        "--examples", type=int, default=64, help="gold examples to read (default 64)"
    )
    finetune.add_argument("--learning-rate", type=float, default=3e-3)
    finetune.add_argument("--rank", type=int, default=8, help="LoRA rank (default 8)")
    finetune.set_defaults(handler=run_finetune)


def run_finetune(args) -> int:
    from captioner.finetune import FinetuneConfig, finetune

    if not (args.base / "config.json").is_file():
        raise RecipeError(f"--base {args.base} holds no config.json; give a saved model folder")
    for flag in ("steps", "examples", "rank", "learning_rate"):
        if getattr(args, flag) <= 0:
            name = "--" + flag.replace("_", "-")
            raise RecipeError(f"{name} is {getattr(args, flag)}; give a positive number")
    try:
        config = FinetuneConfig(
            steps=args.steps,
            learning_rate=args.learning_rate,
            rank=args.rank,
            alpha=2 * args.rank,
            max_examples=args.examples,
        )
        report = finetune(args.data, args.base, args.out, config)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{report['examples']} examples, loss {report['loss_before']:.3f} -> "
        f"{report['loss_after']:.3f}; serve {args.out} with `vllm serve {args.out}`"
    )
    return 0
