"""`ace model ablate`'s command line; the work is ace_model/ablate.py's, imported only when
the command runs (it needs torch, which other commands' start-up should not pay for)."""

from __future__ import annotations

from pathlib import Path

from ace_model.config import PRESETS
from dataengine.storage import as_path


def add_command(commands) -> None:
    """`ace model ablate`, added to `ace model`'s subparsers."""
    ablation = commands.add_parser(
        "ablate", help="train on two or more corpora with several seeds and compare"
    )
    ablation.add_argument(
        "--data",
        type=as_path,
        action="append",
        required=True,
        help="a corpus; give two or more (the first is the baseline)",
    )
    ablation.add_argument("--name", action="append", help="a name per corpus (its folder's)")
    ablation.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    ablation.add_argument("--steps", type=int, help="steps per run (default: the preset's)")
    ablation.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ablation.add_argument("--eval-steps", type=int, default=20, help="Euler steps per sample")
    ablation.add_argument("--guidance", type=float, default=3.0)
    ablation.add_argument("--bench", help="the corpus whose bench split judges (the first's)")
    ablation.add_argument("--out", type=Path, required=True, help="the ablation's folder")
    ablation.set_defaults(handler=_run)  # fmt: skip


def _run(args) -> int:
    from ace_model.ablate import AblationSettings, ablate, markdown
    from dataengine.params import RecipeError

    settings = AblationSettings(
        preset=args.preset,
        steps=args.steps,
        seeds=tuple(args.seeds),
        eval_steps=args.eval_steps,
        guidance=args.guidance,
        bench=args.bench,
        names=tuple(args.name or ()),
    )
    try:
        report = ablate(args.data, args.out, settings)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        raise RecipeError(str(exc)) from None
    print(markdown(report), end="")
    print(f"-> {args.out / 'ablation.md'}")
    return 0
