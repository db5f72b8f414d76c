"""`ace data run RECIPE [--out DIR] [--limit N] [--input DIR] [--resume]
[--ray-address ADDR | --processes N | --in-process] [--llm-url URL --llm-model NAME]`."""

from __future__ import annotations

from pathlib import Path

from dataengine.commands.executor import add_executor_flags, executor_from
from dataengine.params import RecipeError
from dataengine.storage import as_path


def add_command(commands) -> None:
    run = commands.add_parser("run", help="run a recipe into WebDataset shards")
    run.add_argument("recipe", type=Path, help="a recipe YAML, e.g. pipelines/recipes/default.yaml")
    run.add_argument(
        "--out",
        type=as_path,
        help="output folder or URL, e.g. s3://bucket/run (default: data/<name>)",
    )
    run.add_argument(
        "--limit",
        type=int,
        help="use only N source images, spread evenly over the source's list (a quick look)",
    )
    run.add_argument(
        "--input",
        help="a folder (or URL) of your own images (recursive; photo.txt beside photo.jpg "
        "is its caption), replacing the recipe's source",
    )
    run.add_argument(
        "--llm-url",
        help="an OpenAI-compatible server (e.g. http://127.0.0.1:8000/v1) for the instruction "
        "writers; adds llm_rewrite after template_instructions when the recipe has no writer",
    )
    run.add_argument(
        "--llm-model", help="the served model name for --llm-url (default: its only model)"
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="continue a killed run: complete shards are kept, the rest redone",
    )
    add_executor_flags(run)
    run.set_defaults(handler=_run)


def _run(args) -> int:
    from dataengine.commands.llm_flags import llm_stage_overrides
    from dataengine.recipe import load_recipe
    from dataengine.runner import run_recipe

    if args.limit is not None and args.limit < 1:
        raise RecipeError(f"--limit is {args.limit}; give a positive number of source images")
    overrides = {"source": {"kind": "folder", "path": str(args.input)}} if args.input else {}
    overrides.update(llm_stage_overrides(args.recipe, args.llm_url, args.llm_model))
    recipe = load_recipe(args.recipe, overrides or None)
    out = args.out or Path("data") / recipe.name
    with executor_from(args) as executor:
        try:
            summary = run_recipe(
                recipe, out, executor, limit=args.limit, resume=args.resume, progress=not args.quiet
            )
        except RecipeError as exc:
            raise _with_input_hint(exc, args.input) from None
    failed = sum(v for k, v in summary.by_status.items() if k != "ok")
    print(
        f"{summary.samples} samples ({failed} failed rows) in {summary.shards} shards "
        f"-> {out} ({summary.seconds:.1f} s)"
    )
    return 0


def _with_input_hint(exc: RecipeError, given: Path | None) -> RecipeError:
    """A folder recipe run without --input whose folder cannot be read: its `path` (e.g.
    the resize recipe's data/images) stands for the user's folder, which --input gives."""
    if given is None and str(exc).startswith("source (folder):"):  # the runner's prefix
        return RecipeError(f"{exc}, or give your folder with --input DIR")
    return exc
