"""The data engine's commands (`ace data ...`), added to the parser `ace_cli` composes.

run.py        ace data run
corpus.py     ace data validate | stats | select | audit | curate | export
executor.py   the executor flags every command with parallel work shares
llm_flags.py  --llm-url / --llm-model: point a recipe's writers at a server
"""

from __future__ import annotations


def add_commands(groups):
    """Add the `data` group to `ace`'s subparsers; return its subparsers, for the commands
    other packages add to it (`ace data latents`)."""
    from dataengine.commands import corpus, run

    data = groups.add_parser("data", help="build, check and inspect pair corpora")
    commands = data.add_subparsers(dest="command", required=True)
    run.add_command(commands)
    corpus.add_commands(commands)
    return commands
