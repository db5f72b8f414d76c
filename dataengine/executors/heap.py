"""glibc's heap, set for streaming images: buffers reused within a unit, released after it.

Decoding, resizing and encoding an image allocate a few buffers of about a megabyte each.
With glibc's defaults each of them is either mapped afresh or carved from a heap top that
was just trimmed, so the kernel faults in and zeroes every page again: about 240 page
faults per 1280x960 JPEG decoded at half size. `tune()` keeps such buffers on the heap and
the heap's free top in place; `release()` hands every whole free page back to the kernel
once a unit is written, so memory stays flat across units. Elsewhere both do nothing.

The settings are process-wide and stay: an in-process run (`--in-process`, or
`run_recipe(recipe, out, InProcess())` from a notebook) tunes the calling process too.
"""

from __future__ import annotations

import ctypes
import platform

# glibc's own adaptive threshold stops at 32 MiB on 64-bit systems, with trimming at twice
# the threshold: the settings a process reaches once it has freed a large mapping.
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 64 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from <malloc.h>


def _load_glibc():
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


_LIBC = _load_glibc()
_tuned = False


def tune() -> None:
    """Keep image-sized buffers on the heap and skip trimming between them (once per process)."""
    global _tuned
    if _LIBC is None or _tuned:
        return
    _LIBC.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    _LIBC.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    _tuned = True


def release() -> None:
    """Return every whole free page to the kernel (a few ms): call between units."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
