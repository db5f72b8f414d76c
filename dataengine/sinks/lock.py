"""One run at a time per output folder: an exclusive lock on `<out>/.lock`, holding the PID.

The lock is the kernel's (flock): it goes with the process, however that ends, so a killed
run never leaves a stale lock behind, and a second run into the same folder stops before
it touches anything, naming the PID of the run that holds it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from dataengine.params import RecipeError
from dataengine.storage import as_path, is_local

LOCK_FILE = ".lock"


@contextlib.contextmanager
def output_lock(out: Path, what: str = "run") -> Iterator[None]:
    """The lock of a local output folder. An object store has no such lock: two runs into
    one URL are the user's to avoid (each shard still commits whole)."""
    out = as_path(out)
    if not is_local(out):
        yield
        return
    path = Path(out) / LOCK_FILE
    descriptor = _open(path)
    try:
        _acquire(descriptor, out, what)
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RecipeError(
            f"cannot write to {path.parent}: {exc.strerror}; choose a folder you can write to"
        ) from None


def _acquire(descriptor: int, out: Path, what: str) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: no flock; runs are not locked there
        return
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
        raise RecipeError(
            f"{out} is being written by another {what} (PID {holder}); wait for it to end or "
            "choose another --out"
        ) from None
