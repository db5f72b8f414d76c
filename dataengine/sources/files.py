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
    writer, and is refused before any read. A URL is read through its fsspec filesystem."""
    if "://" in path:
        return _read_url(path, limit, what)
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


def _read_url(url: str, limit: int, what: str) -> bytes:
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    info = fs.info(path)
    if info.get("type") != "file":
        raise RefusedFile(STATUS_NOT_A_FILE, f"the {what} is not a file")
    check_size(int(info.get("size") or 0), limit, what)
    return fs.cat_file(path)


def open_source(path: str):
    """A source file for reading, local or at a URL (seekable either way: a tar's members
    and a Parquet file's row groups are read by offset)."""
    if "://" not in path:
        return open(path, "rb")
    import fsspec

    return fsspec.open(path, "rb").open()


def file_size(path: str) -> int:
    if "://" not in path:
        return os.path.getsize(path)
    import fsspec

    fs, where = fsspec.core.url_to_fs(path)
    return int(fs.size(where))
