"""The executor flags, the same on every command that has parallel work: at most one of
--ray-address, --processes and --in-process; none chooses the command's default."""

from __future__ import annotations

import argparse

from dataengine.executors import Executor, make_executor


def add_executor_flags(parser: argparse.ArgumentParser, default: str = "ray") -> None:
    """`default`: "ray" (a local Ray when no flag is given) or "in_process"."""
    fallback = "a local Ray" if default == "ray" else "this process"
    parser.add_argument("--ray-address", help=f"a Ray cluster to run on (default: {fallback})")
    parser.add_argument(
        "--processes",
        type=int,
        help="run without Ray on N local worker processes: no cluster start-up, the fastest "
        "choice for one machine and a job of minutes",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run without Ray, in this process (debugging, small inputs)",
    )
    parser.set_defaults(executor_default=default)


def executor_from(args: argparse.Namespace) -> Executor:
    return make_executor(
        in_process=args.in_process,
        processes=args.processes,
        ray_address=args.ray_address,
        default=args.executor_default,
    )
