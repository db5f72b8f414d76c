"""The `ace` command line, composed from each package's own commands.

ace data run | validate | stats | select | audit | curate | export | latents
ace model train | edit | eval
ace captioner finetune

Each package adds its commands to the parser given to it; this module only composes them,
so the data engine never imports the model (`ace data latents` comes from ace_model).
"""

from __future__ import annotations

import argparse
import errno
import gc
import logging
import os
import sys

from dataengine.params import RecipeError


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    # Our own progress at INFO; other libraries only warn (faiss's loader, for one, reports
    # at INFO each optimised build it could not load before it loads the generic one).
    for name in ("dataengine", "ace_model", "captioner", "pipelines"):
        logging.getLogger(name).setLevel(logging.WARNING if args.quiet else logging.INFO)
    if args.quiet:  # Hugging Face's own bars (transformers' "Loading weights"), here and in
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # the processes it starts
    try:
        code = args.handler(args)
        sys.stdout.flush()  # here, where a reader gone away is handled, not at the exit
        return code
    except RecipeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`ace data stats DIR | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        message = operational_message(exc)
        if message is None:
            raise  # a bug of ours: the traceback is what is wanted
        print(f"error: {message}", file=sys.stderr)
        return 2


# errno -> the fix, for the failures of the machine rather than of the engine
FIXES = {
    errno.ENOSPC: "free some space (or choose another --out), then rerun with --resume",
    errno.EDQUOT: "free some space (or choose another --out), then rerun with --resume",
    errno.EACCES: "choose a folder you can write to, or fix its permissions",
    errno.EPERM: "choose a folder you can write to, or fix its permissions",
    errno.EROFS: "choose a folder on a writable file system",
}


def operational_message(exc: BaseException) -> str | None:
    """One line for a disk-full or permission error, wherever it was raised (in a worker
    process or a Ray task it arrives wrapped); None for anything else."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in FIXES:
            where = f" ({exc.filename})" if exc.filename else ""
            return f"{exc.strerror or exc}{where}; {FIXES[exc.errno]}"
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
    return None


def parser() -> argparse.ArgumentParser:
    from ace_model.cli import add_commands as add_model_commands
    from ace_model.latents_cli import add_command as add_latents_command
    from captioner.cli import add_commands as add_captioner_commands
    from dataengine.commands import add_commands as add_data_commands

    top = argparse.ArgumentParser(prog="ace", description=__doc__.split("\n")[0])
    top.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    groups = top.add_subparsers(dest="group", required=True)
    data_commands = add_data_commands(groups)  # ace data run | validate | stats | ...
    add_latents_command(data_commands)  # ace data latents (the model's VAE and buckets)
    add_model_commands(groups)  # ace model train | edit | eval (sets torch threading first)
    add_captioner_commands(groups)  # ace captioner finetune
    return top


def entry() -> None:
    """The `ace` command: `main`, then an exit that skips the interpreter's final garbage
    collections. By then every output is written and closed; collecting all the objects
    the command and its libraries made would only delay the exit (0.58 -> 0.45 s for a
    2-image run)."""
    code = main()
    gc.freeze()
    sys.exit(code)
