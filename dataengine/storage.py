"""Where a corpus lives: a local folder or any fsspec URL (`s3://bucket/run`, `gs://...`),
as one kind of path.

`as_path` turns what a user gave into a path: a local path stays a plain `pathlib.Path`, so
local runs keep the speed and the atomic renames of the local disk (and a command that
never meets a URL never imports fsspec: its asyncio costs start-up); a URL becomes a `UPath`
(universal_pathlib) over its fsspec filesystem, with the same `/`, `open`, `glob`, `exists`,
`read_bytes`... Credentials and endpoints come from each filesystem's standard
settings (for S3 the `AWS_*` variables, `AWS_ENDPOINT_URL` included).

Writes differ by kind: on a local disk a file is written under a temporary name, fsynced
and renamed into place; on an object store one upload (a PUT) is already all or nothing,
and there is no rename to do.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

# The AWS settings a Ray worker needs to reach the same store as the command that started it.
STORE_ENVIRONMENT = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_PROFILE",
    "GOOGLE_APPLICATION_CREDENTIALS",
)


def as_path(location: str | os.PathLike) -> Any:
    """A `pathlib.Path` for a local path, a UPath for an fsspec URL; either is returned as it
    is."""
    if isinstance(location, pathlib.Path):
        return location
    if type(location).__module__.startswith("upath"):
        return location
    text = str(location)
    if "://" not in text:
        return Path(os.path.expanduser(text))
    from upath import UPath

    return UPath(text)


def is_local(path: Any) -> bool:
    """Whether `path` is on this machine's file system (renames, locks and fsync work)."""
    return isinstance(path, pathlib.Path)


def display(path: Any) -> str:
    return str(path)


@contextlib.contextmanager
def write_stream(path: Any) -> Iterator[IO[bytes]]:
    """A binary file to write `path` through, all or nothing as write_bytes, for a file too
    long to hold in memory: a temporary beside it renamed into place, or, for a URL, a local
    temporary uploaded whole when the block ends without an error."""
    if not is_local(path):
        with tempfile.NamedTemporaryFile(suffix=".part") as local:
            yield local
            local.flush()
            path.fs.put_file(local.name, path.path)
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk, a kill signal turned exception: leave nothing half
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: Any, data: bytes) -> None:
    """Write `data` at `path`, all or nothing: a reader (or a resumed run) never sees half a
    file, however the writer dies."""
    if not is_local(path):
        path.write_bytes(data)  # one PUT: the object appears whole, or not at all
        return
    with write_stream(path) as f:
        f.write(data)


def read_parquet(path: Any, **options):
    """A Parquet table from a local path or a URL (pyarrow reads a file object of any store)."""
    import pyarrow.parquet as pq

    if is_local(path):
        return pq.read_table(os.fspath(path), **options)
    with path.open("rb") as f:
        return pq.read_table(f, **options)


def read_parquet_schema(path: Any):
    import pyarrow.parquet as pq

    if is_local(path):
        return pq.read_schema(os.fspath(path))
    with path.open("rb") as f:
        return pq.read_schema(f)


def listing(folder: Any, pattern: str) -> list[Any]:
    """`folder.glob(pattern)` as the store holds it now: an fsspec filesystem caches its
    listings for the life of the process, and another writer (a run resumed elsewhere, a
    user) may have changed the folder since."""
    if not is_local(folder):
        folder.fs.invalidate_cache(folder.path)
    return list(folder.glob(pattern))


def open_binary(path: Any) -> IO[bytes]:
    return open(path, "rb") if is_local(path) else path.open("rb")


def store_environment() -> dict[str, str]:
    """The storage settings of this process, for workers started elsewhere."""
    return {name: os.environ[name] for name in STORE_ENVIRONMENT if name in os.environ}
