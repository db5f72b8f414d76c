"""The `ace` command line.

ace data run RECIPE [--out DIR] [--limit N] [--input DIR] [--ray-address ADDR | --processes N
                    | --in-process] [--resume]
             [--llm-url URL --llm-model NAME]
ace data validate DIR
ace data stats DIR
ace data select DIR | audit DIR | curate DIR --reject KEY... | export DIR --out NEW
ace data latents DIR --vae PATH [--preset small] [--split S ...]
ace captioner finetune --data DIR --base MODEL_DIR --out DIR [--steps N]
ace model train --data DIR --preset tiny --out RUN | edit | eval
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
from pathlib import Path

from dataengine.recipe import RecipeError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    # Our own progress at INFO; other libraries only warn (faiss's loader, for one, reports
    # at INFO each optimised build it could not load before it loads the generic one).
    for name in ("dataengine", "ace_model", "pipelines"):
        logging.getLogger(name).setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        return args.handler(args)
    except RecipeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ace", description=__doc__.split("\n")[0])
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    groups = parser.add_subparsers(dest="group", required=True)
    data = groups.add_parser("data", help="build, check and inspect pair corpora")
    commands = data.add_subparsers(dest="command", required=True)
    _add_run(commands)
    validate = commands.add_parser("validate", help="check every shard against docs/FORMAT.md")
    validate.add_argument("out", type=Path)
    validate.add_argument("--no-decode", action="store_true", help="skip decoding the images")
    validate.set_defaults(handler=_validate)
    stats = commands.add_parser("stats", help="counts per task, status and score band")
    stats.add_argument("out", type=Path)
    stats.add_argument("--json", action="store_true", help="print JSON instead of a table")
    stats.set_defaults(handler=_stats)
    from dataengine.audit.cli import add_commands as add_audit_commands

    add_audit_commands(commands)  # select, audit, curate, export
    from dataengine.latents.cli import add_command as add_latents_command

    add_latents_command(commands)  # latents
    from dataengine.instruct.captioner_cli import add_commands as add_captioner_commands

    add_captioner_commands(groups)  # ace captioner finetune
    from ace_model.cli import add_commands as add_model_commands

    add_model_commands(groups)  # ace model train | edit | eval (sets torch threading first)
    return parser


def _add_run(commands) -> None:
    run = commands.add_parser("run", help="run a recipe into WebDataset shards")
    run.add_argument("recipe", type=Path, help="a recipe YAML, e.g. pipelines/recipes/default.yaml")
    run.add_argument("--out", type=Path, help="output directory (default: data/<recipe name>)")
    run.add_argument(
        "--limit",
        type=int,
        help="use only N source images, spread evenly over the source's list (a quick look)",
    )
    run.add_argument(
        "--input",
        type=Path,
        help="a folder of your own images (recursive; photo.txt beside photo.jpg "
        "is its caption), replacing the recipe's source",
    )
    run.add_argument("--ray-address", help="a Ray cluster to run on (default: a local Ray)")
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
    run.add_argument(
        "--in-process",
        action="store_true",
        help="run without Ray, in this process (debugging, small inputs)",
    )
    run.add_argument(
        "--processes",
        type=int,
        help="run without Ray on N local worker processes: no cluster start-up, the fastest "
        "choice for one machine and a job of minutes",
    )
    run.set_defaults(handler=_run)


def _run(args) -> int:
    from dataengine.instruct.overrides import llm_stage_overrides
    from dataengine.recipe import load_recipe
    from dataengine.runner import run_recipe

    if args.limit is not None and args.limit < 1:
        raise RecipeError(f"--limit is {args.limit}; give a positive number of source images")
    overrides = {"source": {"kind": "folder", "path": str(args.input)}} if args.input else {}
    overrides.update(llm_stage_overrides(args.recipe, args.llm_url, args.llm_model))
    recipe = load_recipe(args.recipe, overrides or None)
    out = args.out or Path("data") / recipe.name
    if out.exists() and not out.is_dir():
        raise RecipeError(f"--out {out} is a file; give a folder for the run's shards")
    summary = run_recipe(
        recipe,
        out,
        limit=args.limit,
        resume=args.resume,
        ray_address=args.ray_address,
        in_process=args.in_process,
        processes=args.processes,
        progress=not args.quiet,
    )
    failed = sum(v for k, v in summary.by_status.items() if k != "ok")
    print(
        f"{summary.samples} samples ({failed} failed rows) in {summary.shards} shards "
        f"-> {out} ({summary.seconds:.1f} s)"
    )
    return 0


def _validate(args) -> int:
    from dataengine.validate import validate_output

    report = validate_output(args.out, decode_images=not args.no_decode)
    for problem in report.problems[:50]:
        print(problem)
    if len(report.problems) > 50:
        print(f"... and {len(report.problems) - 50} more problems")
    verdict = "valid" if report.ok else f"INVALID ({len(report.problems)} problems)"
    print(
        f"{args.out}: {verdict}: {report.shards} shards, {report.samples} samples, "
        f"{report.rows} index rows"
        + (f", {report.latent_shards} latent shards" if report.latent_shards else "")
    )
    return 0 if report.ok else 1


def _stats(args) -> int:
    from dataengine.corpus_stats import corpus_stats, format_stats

    try:
        stats = corpus_stats(args.out)
    except FileNotFoundError as exc:
        raise RecipeError(str(exc)) from None
    print(json.dumps(stats, indent=2) if args.json else format_stats(stats))
    return 0


def entry() -> None:
    """The `ace` command: `main`, then an exit that skips the interpreter's final garbage
    collections. By then every output is written and closed; collecting all the objects
    the command and its libraries made would only delay the exit (0.58 -> 0.45 s for a
    2-image run)."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
