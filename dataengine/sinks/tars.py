"""Reading a WebDataset tar back, as the webdataset library groups it: the inverse of the
sink's `tar_bytes`, for the engine's own readers (validate, selection, sources of shards)."""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Callable, Iterator
from typing import IO, Any

# WebDataset's member name: the key runs to the first dot of the file name, the rest is the
# member's extension ("a/b.src0.jpg" -> "a/b", "src0.jpg").
MEMBER_NAME = re.compile(r"^((?:.*/|)[^.]+)[.]([^/]*)$")


def samples_in_tar(data: bytes) -> Iterator[dict[str, Any]]:
    """A WebDataset tar's samples from its bytes, in order: {"__key__", member: bytes}."""
    return tar_samples(io.BytesIO(data))


def tar_samples(stream: IO[bytes]) -> Iterator[dict[str, Any]]:
    """A WebDataset tar's samples in order, {"__key__", extension: bytes}, grouped as the
    webdataset library groups them (consecutive members of one key; extensions lowercased).

    Read with the standard library: importing the webdataset package imports torch, which
    costs a data-engine process about 2 s and a few hundred MB. The trainer, which needs
    torch anyway, streams through webdataset itself."""
    sample: dict[str, Any] | None = None
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            match = MEMBER_NAME.match(member.name)
            if not member.isfile() or not match:
                continue
            key, extension = match.group(1), match.group(2).lower()
            if sample is None or sample["__key__"] != key:
                if sample is not None:
                    yield sample
                sample = {"__key__": key}
            if extension in sample:
                raise ValueError(f"{member.name}: a second {extension!r} member for {key}")
            sample[extension] = tar.extractfile(member).read()
    if sample is not None:
        yield sample


def filtered_tar(stream: IO[bytes], keep: Callable[[str], bool]) -> bytes:
    """A tar of the members whose sample key `keep` accepts; headers and bytes as they were
    (nothing re-encoded, so a kept sample is byte-identical to the original)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=stream) as tar_in, tarfile.open(fileobj=buffer, mode="w") as tar_out:
        for info in tar_in:
            if keep(info.name.partition(".")[0]):
                tar_out.addfile(info, tar_in.extractfile(info))
    return buffer.getvalue()
