"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import subprocess
import sys


def shard_bytes(out) -> dict[str, bytes]:
    """Every shard and index file of an output (a folder or a URL), by relative path."""
    from dataengine.storage import as_path

    out = as_path(out)
    files = sorted(out.glob("shards/*.tar")) + sorted(out.glob("index/*.parquet"))
    return {f"{p.parent.name}/{p.name}": p.read_bytes() for p in files}


def fresh_python(script: str, timeout: float = 300) -> str:
    """Run a script in a fresh interpreter (the test process has imported everything
    already, so only a new one shows what a command loads); its stdout."""
    command = [sys.executable, "-c", script]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout
