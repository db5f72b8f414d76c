"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path


def shard_bytes(out: Path) -> dict[str, bytes]:
    """Every shard and index file of an output, by relative path."""
    files = sorted(out.glob("shards/*.tar")) + sorted(out.glob("index/*.parquet"))
    return {str(p.relative_to(out)): p.read_bytes() for p in files}
