"""`ace model train|edit|eval`: the bundled ACE model on the command line.

ace model train --data DIR --preset tiny --out RUN [--steps N] [--resume] [--vae PATH]
                [--nproc-per-node N] [--lanes L]
ace model edit --ckpt RUN --image IMG [--mask M [--no-keep-unmasked]] --instruction "..."
               [--history IMG TEXT] --out OUT.png
ace model eval --ckpt RUN --data DIR --out REPORT [--clip PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Set before torch loads OpenMP: its threads then sleep instead of spinning while they wait,
# which on a shared two-core machine is the difference between 0.3 and 7 s a step.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ace_model.config import PRESETS  # after the OpenMP setting
from dataengine.storage import as_path


def add_commands(groups) -> None:
    """Add the `model` group to the top-level subparsers of `ace`."""
    model = groups.add_parser("model", help="train, run and evaluate the bundled ACE model")
    commands = model.add_subparsers(dest="command", required=True)
    _add_train(commands)
    _add_edit(commands)
    _add_eval(commands)
    from ace_model.ablate_cli import add_command as add_ablate_command

    add_ablate_command(commands)  # ace model ablate
    from ace_model.chat.cli import add_command as add_chat_command

    add_chat_command(commands)  # ace model chat


def _add_train(commands) -> None:
    train = commands.add_parser("train", help="train ACE on a corpus's train split")
    train.add_argument(
        "--data", type=as_path, required=True, help="a corpus from `ace data run` (a folder or URL)"
    )
    train.add_argument("--out", type=Path, required=True, help="the run folder (checkpoints)")
    train.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    train.add_argument("--steps", type=int, help="train up to this step (default: the preset's)")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float)
    train.add_argument("--resolution", type=int, help="bucket side in pixels")
    train.add_argument("--seed", type=int)
    train.add_argument("--checkpoint-every", type=int)
    train.add_argument(
        "--activation-checkpointing",
        action=argparse.BooleanOptionalAction,
        help="recompute activations in the backward pass to save memory (default: the "
        "preset's; on for ace-0.6b)",
    )
    train.add_argument(
        "--shard",
        action=argparse.BooleanOptionalAction,
        help="under several ranks, shard parameters, gradients and optimizer state (FSDP2) "
        "instead of a whole replica per rank (DDP) (default: the preset's; on for ace-0.6b)",
    )
    train.add_argument(
        "--lanes",
        type=int,
        metavar="L",
        help="read the train split in L disjoint streams, one batch of --batch-size from each "
        "a step (default: one per rank). More lanes than ranks accumulate gradients: one GPU "
        "with --lanes 8 takes the steps of 8. Kept by the run; it resumes exactly on any "
        "number of ranks that divides L",
    )
    train.add_argument(
        "--resume", action="store_true", help="continue from the run's newest checkpoint"
    )
    train.add_argument("--vae", help="a local diffusers AutoencoderKL folder (small, ace-0.6b)")
    train.add_argument("--text-encoder", choices=("minilm", "t5"), default="minilm")
    train.add_argument("--text-path", help="a local T5 folder, with --text-encoder t5")
    train.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when present)")
    train.add_argument(
        "--nproc-per-node",
        type=int,
        metavar="N",
        help="train data-parallel on N ranks of this machine (N GPUs, or N CPU processes), "
        "started by torch.distributed.run; --batch-size is then per rank. Leave it out "
        "under an external torchrun",
    )
    train.set_defaults(handler=_train, train_parser=train)


def _add_edit(commands) -> None:
    edit = commands.add_parser("edit", help="edit or create one image with a checkpoint")
    edit.add_argument("--ckpt", type=Path, required=True, help="a checkpoint or a run folder")
    edit.add_argument(
        "--image",
        type=Path,
        action="append",
        default=[],
        help="an input image ({image}, then {image1} ...); repeat for more",
    )
    edit.add_argument(
        "--mask",
        type=Path,
        action="append",
        default=[],
        help="a mask for the image in the same place (255 = edit)",
    )
    edit.add_argument("--instruction", required=True)
    edit.add_argument(
        "--history",
        nargs=2,
        action="append",
        default=[],
        metavar=("IMG", "INSTRUCTION"),
        help="an earlier turn: its input image and instruction; repeat, oldest first",
    )
    edit.add_argument("--out", type=Path, required=True, help="the output PNG")
    edit.add_argument(
        "--keep-unmasked",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with a mask on the edited image (the first --image), keep its pixels outside "
        "the mask (default); --no-keep-unmasked where the mask marks a layer, not the edit",
    )
    _add_sampling(edit)
    edit.set_defaults(handler=_edit)


def _add_eval(commands) -> None:
    ev = commands.add_parser("eval", help="evaluate a checkpoint on the bench split")
    ev.add_argument("--ckpt", type=Path, required=True, help="a checkpoint or a run folder")
    corpus = ev.add_mutually_exclusive_group(required=True)
    corpus.add_argument("--data", type=as_path, help="a corpus (a folder or URL)")
    corpus.add_argument(
        "--bench",
        type=as_path,
        help="a frozen benchmark (`ace data bench`): its members are checked against its "
        "manifest first, then every sample in it is evaluated",
    )
    ev.add_argument("--out", type=Path, required=True, help="the report folder")
    ev.add_argument("--split", default="bench", choices=("bench", "val", "train"))
    ev.add_argument("--clip", help="an open_clip folder for the CLIP metrics")
    ev.add_argument("--examples", type=int, default=12, help="rows in examples.png")
    _add_sampling(ev)
    ev.set_defaults(handler=_eval)


def _add_sampling(parser) -> None:
    parser.add_argument("--steps", type=int, default=20, help="Euler steps")
    parser.add_argument(
        "--guidance", type=float, default=1.0, help="classifier-free guidance scale (1 = none)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _sampling_error(args) -> str | None:
    if args.steps < 1:  # no step would write the starting noise as the image
        return f"--steps is {args.steps}; give a positive number of Euler steps"
    return None


def _edit_error(args) -> str | None:
    """What of the edit's flags does not fit, before any file is read."""
    if len(args.mask) > len(args.image):
        return f"{len(args.mask)} --mask for {len(args.image)} --image; give one each"
    if not args.keep_unmasked and not args.mask:
        return (
            "--no-keep-unmasked acts on the mask of the first --image, which has none; "
            "give it a --mask, or drop the flag"
        )
    return _sampling_error(args)


# ============================================================================================
# Handlers
# ============================================================================================


def _train(args) -> int:
    from ace_model import distributed
    from ace_model.config import CodecConfig, TextConfig
    from ace_model.train import train

    if args.nproc_per_node is not None:
        return _launch_ranks(args)
    try:
        world = distributed.from_env()
        codec = CodecConfig("vae", args.vae) if args.vae else CodecConfig()
        text = TextConfig(args.text_encoder, args.text_path)
        summary = train(
            args.data,
            args.out,
            args.preset,
            text=text,
            codec=codec,
            resume=args.resume,
            device=args.device,
            progress=not getattr(args, "quiet", False),
            steps=args.steps,
            batch_size=args.batch_size,
            lr=args.lr,
            resolution=args.resolution,
            seed=args.seed,
            checkpoint_every=args.checkpoint_every,
            activation_checkpointing=args.activation_checkpointing,
            shard=args.shard,
            lanes=args.lanes,
        )
    except (ValueError, FileNotFoundError, FileExistsError) as exc:
        return _fail(str(exc))
    if world.main:
        print(
            f"step {summary['step']}: loss {summary.get('loss', float('nan')):.4f} -> "
            f"{summary['checkpoint']}"
        )
    return 0


def _launch_ranks(args) -> int:
    """`--nproc-per-node N`: the same command without it, as N ranks of torch.distributed.run
    on this machine (a standalone rendezvous on loopback); its exit status is ours."""
    import subprocess

    if args.nproc_per_node < 1:
        return _fail(f"--nproc-per-node is {args.nproc_per_node}; give 1 or more ranks")
    if "RANK" in os.environ or "WORLD_SIZE" in os.environ:
        return _fail("--nproc-per-node starts the ranks itself; under torchrun leave it out")
    from ace_model.distributed import World
    from ace_model.lanes import lane_count

    try:  # the ranks would each refuse it; refuse it once, before any of them starts
        lane_count(args.lanes or 0, World(0, args.nproc_per_node))
    except ValueError as exc:
        return _fail(str(exc))
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={args.nproc_per_node}",
        "-m",
        "ace_cli",
        *(["--quiet"] if getattr(args, "quiet", False) else []),
        "model",
        "train",
        *_train_flags(args),
    ]
    return subprocess.run(command, check=False).returncode


def _train_flags(args) -> list[str]:
    """The `ace model train` flags that give `args` again, less --nproc-per-node."""
    flags = []
    for action in args.train_parser._actions:  # argparse lists no actions publicly
        value = getattr(args, action.dest, None)
        if not action.option_strings or action.dest in ("help", "nproc_per_node"):
            continue
        if isinstance(action, argparse.BooleanOptionalAction) and value is not None:
            flags.append(action.option_strings[0 if value else 1])  # --x / --no-x
        elif action.nargs == 0 and value:  # store_true
            flags.append(action.option_strings[0])
        elif action.nargs != 0 and value is not None:
            flags += [action.option_strings[0], str(value)]
    return flags


def _read_image(path: Path, mode: str = "RGB"):
    import numpy as np
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert(mode))


def _edit(args) -> int:
    from PIL import Image

    from ace_model.conditioning import ConditionError
    from ace_model.sample import Sampler, check_masks, check_request

    problem = _edit_error(args)
    if problem:
        return _fail(problem)
    try:
        images = [_read_image(p) for p in args.image]
        masks = [_read_image(p, "L") for p in args.mask]
        check_masks(images, masks, [f"--mask {p}" for p in args.mask])
        history = [(_read_image(Path(p)), text) for p, text in args.history]
        check_request(len(images), args.instruction, [text for _, text in args.history])
        sampler = Sampler(args.ckpt, args.device)
        out = sampler.edit(
            images,
            args.instruction,
            masks,
            history,
            args.steps,
            args.guidance,
            args.seed,
            args.keep_unmasked,
        )
    except (OSError, ValueError, ConditionError) as exc:
        return _fail(str(exc))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(out).save(args.out)
    print(f"wrote {args.out} ({out.shape[1]}x{out.shape[0]})")
    return 0


def _eval(args) -> int:
    from ace_model.evaluate import EvalSettings, evaluate

    problem = _sampling_error(args)
    if problem:
        return _fail(problem)
    manifest = None
    if args.bench is not None:
        from dataengine.corpus.bench import check_bench

        try:
            manifest = check_bench(args.bench)
        except (ValueError, FileNotFoundError) as exc:
            return _fail(str(exc))
    settings = EvalSettings(
        split=None if manifest else args.split,
        steps=args.steps,
        guidance=args.guidance,
        seed=args.seed,
        examples=args.examples,
        clip=args.clip,
    )
    try:
        data = args.bench if manifest else args.data
        report = evaluate(args.ckpt, data, args.out, settings, args.device, _bench_of(manifest))
    except (ValueError, FileNotFoundError, FileExistsError) as exc:
        return _fail(str(exc))
    wins, edits = report["beats_identity"], report.get("edit_aware")
    print((args.out / "report.md").read_text())
    inside = f"wins inside the edit on {edits['tasks']} of {edits['of']} tasks, " if edits else ""
    print(
        f"{inside}beats identity on whole images on {wins['tasks']} of {wins['of']} -> {args.out}"
    )
    return 0


def _bench_of(manifest: dict | None) -> dict | None:
    """What a report says of the frozen benchmark it was made on."""
    if manifest is None:
        return None
    fields = ("created", "source", "engine_commit", "per_task", "tasks")
    return {**{k: manifest.get(k) for k in fields}, "samples": len(manifest["samples"])}


def main(argv: list[str] | None = None) -> int:
    """`python -m ace_model.cli model ...`, the same commands outside `ace`."""
    import logging

    parser = argparse.ArgumentParser(prog="ace")
    add_commands(parser.add_subparsers(dest="group", required=True))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
