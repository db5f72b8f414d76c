"""`ace data latents DIR --vae PATH [--preset small]`: precompute the VAE presets' latents."""

from __future__ import annotations

import argparse

from dataengine.commands.executor import add_executor_flags, executor_from
from dataengine.params import RecipeError
from dataengine.stage import Resources
from dataengine.storage import as_path


def add_command(commands) -> None:
    from ace_model.config import PRESETS

    latents = commands.add_parser(
        "latents",
        help="encode a corpus with a VAE once, for training the VAE presets",
        description=(
            "Encode every frame and target of the corpus's shards with a local diffusers "
            "AutoencoderKL at the resolution buckets a preset trains at; `ace model train` "
            "with the same --vae then reads these latents instead of encoding."
        ),
    )
    latents.add_argument("data", type=as_path, help="a corpus from `ace data run`")
    latents.add_argument("--vae", required=True, help="a local diffusers AutoencoderKL folder")
    latents.add_argument(
        "--preset",
        choices=sorted(name for name, p in PRESETS.items() if p.codec == "vae"),
        default="small",
        help="the resolution and patch to encode for (default: small)",
    )
    latents.add_argument("--resolution", type=int, help="bucket side in pixels (the preset's)")
    latents.add_argument("--patch", type=int, help="the model's patch in latents (the preset's)")
    latents.add_argument(
        "--split",
        action="append",
        choices=("train", "val", "bench"),
        help="a split to encode; repeat for more (default: train, which training reads)",
    )
    latents.add_argument("--batch-size", type=int, default=16, help="images per VAE call")
    latents.add_argument("--dtype", choices=("float16", "float32"), default="float16")
    latents.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when present)")
    latents.add_argument(
        "--actors", type=int, default=1, help="on Ray: at most N actors hold the VAE (default: 1)"
    )
    latents.add_argument(
        "--gpus-per-actor", type=float, default=0.0, help="GPUs each Ray actor holds (default: 0)"
    )
    add_executor_flags(latents, default="in_process")  # --ray-address local: a local Ray
    latents.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ace_model.config import preset
    from ace_model.latents import precompute_latents

    chosen = preset(args.preset)
    resources = Resources(gpus=args.gpus_per_actor, actors=args.actors, holds_model=True)
    try:
        with executor_from(args) as executor:
            summary = precompute_latents(
                args.data,
                args.vae,
                args.resolution or chosen.train.resolution,
                args.patch or chosen.model.patch,
                executor,
                splits=args.split or ["train"],
                batch_size=args.batch_size,
                dtype=args.dtype,
                device=args.device,
                progress=not args.quiet,
                resources=resources,
            )
    except (FileNotFoundError, ValueError) as exc:
        raise RecipeError(str(exc)) from None
    print(
        f"{summary.store}: {len(summary.encoded)} shards encoded "
        f"({summary.samples} samples, {summary.images} images, {summary.errors} not decodable) "
        f"in {summary.seconds:.1f} s; {len(summary.current)} already current"
    )
    return 0
