"""Reading a source's files, bounded: only regular files are opened, and nothing larger than
a limit is read, so a FIFO named `x.jpg` cannot hang a run and a device node or a
multi-gigabyte file cannot exhaust memory. A file refused becomes a row with a status.
"""

from __future__ import annotations

import os
import stat

from dataengine.schema import STATUS_NOT_A_FILE, STATUS_TOO_LARGE

MAX_IMAGE_BYTES = 256 << 20  # an encoded image larger than this is not a training sample
MAX_TEXT_BYTES = 64 << 10  # a caption or json member: real ones are a few kilobytes


class RefusedFile(OSError):
    """A file that is not read: `status` says why, for its row."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


def read_bounded(path: str, limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file at `path` (symlinks followed), at most `limit` of them.

    Opened without blocking, then checked: a FIFO opens at once instead of waiting for a
    writer, and is refused before any read."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as f:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise RefusedFile(STATUS_NOT_A_FILE, f"the {what} is not a regular file")
        check_size(info.st_size, limit, what)
        data = f.read(limit + 1)  # the file may have grown since fstat
    check_size(len(data), limit, what)
    return data


def check_size(size: int, limit: int, what: str) -> None:
    if size > limit:
        raise RefusedFile(
            STATUS_TOO_LARGE, f"the {what} holds {size} bytes, more than the {limit} read"
        )
