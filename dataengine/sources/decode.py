"""Decode untrusted image bytes into RGB uint8 pixels, or say exactly why not.

Every failure is an `ImageError` whose `kind` goes into the index `status` column and whose
message names the cause (and the limit, when one was hit). Only Pillow's own calls are
guarded: a malformed file becomes an ImageError, while a bug in this module, MemoryError or
KeyboardInterrupt still raises.

Order of work, cheapest first: identify the format from the content (never a file name),
check the header's size against the limits, let libjpeg decode at a reduced scale when the
caller wants a small image anyway, decode, turn EXIF-rotated pixels upright, convert any
pixel mode to RGB, resize.
"""

from __future__ import annotations

import functools
import io
import re
import struct
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import ExifTags, Image, ImageFile, ImageOps, UnidentifiedImageError

# Formats we decode. Pillow can read ~40 more, but each is one more parser fed untrusted
# bytes, and EPS even runs Ghostscript; a file in any other format is "unsupported_format".
# Formats missing from this Pillow build (AVIF, JPEG2000 need optional libraries) drop out.
ACCEPTED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "AVIF", "BMP", "TIFF", "PPM", "JPEG2000")

KINDS = (
    "empty_file",
    "not_an_image",
    "unsupported_format",
    "truncated_image",
    "decompression_bomb",
    "too_small",
    "unsupported_mode",
    "decode_error",
)

# What Pillow's plugins raise on malformed bytes (its own Image.open swallows the same kinds
# while it probes formats). Caught only around Pillow calls, never around our own code.
_DECODER_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)

# Source mode -> what converting it to RGB records in `notes`.
_MODE_NOTES: dict[str, tuple[str, ...]] = {
    "RGB": (),
    "RGBX": (),
    "RGBA": (),
    "RGBa": (),
    "1": ("grayscale_to_rgb",),
    "L": ("grayscale_to_rgb",),
    "LA": ("grayscale_to_rgb",),
    "P": ("palette_to_rgb",),
    "PA": ("palette_to_rgb",),
    "CMYK": ("cmyk_to_rgb",),
    "YCbCr": ("ycbcr_to_rgb",),
    "LAB": ("lab_to_rgb",),
    "HSV": ("hsv_to_rgb",),
    "I": ("grayscale_to_rgb",),
    "F": ("grayscale_to_rgb",),
    **{m: ("16bit_to_8bit", "grayscale_to_rgb") for m in ("I;16", "I;16L", "I;16B", "I;16N")},
}
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "PA")
_KEYED_TRANSPARENCY_MODES = ("1", "L", "P", "RGB")  # one colour or palette entries see-through
_NUMERIC_MODES = ("I", "F", "I;16", "I;16L", "I;16B", "I;16N")
_SIDEWAYS_ORIENTATIONS = (5, 6, 7, 8)  # EXIF orientations that swap width and height
# Raw modes with 16-bit samples ("RGB;16B", "LA;16B", "RGB;16N"), not 16-bit pixels ("BGR;16").
_SAMPLES_16BIT = re.compile(r";16[BLN]")


class ImageError(Exception):
    """A source image that cannot become pixels; `kind` is its index status (see KINDS)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    def __reduce__(self):  # keeps `kind` when the error crosses a process boundary (Ray)
        return type(self), (self.kind, str(self))


@dataclass
class DecodedImage:
    image: np.ndarray  # uint8, HxWx3 RGB, C-contiguous
    original_size: tuple[int, int]  # (w, h) at full resolution, upright (after EXIF rotation)
    format: str  # Pillow's format name: "JPEG", "PNG", "MPO"...
    notes: list[str] = field(default_factory=list)  # what was normalised, in order


def decode_image(
    data: bytes,
    *,
    max_pixels: int = 64_000_000,
    min_side: int = 32,
    max_side: int | None = None,
    draft: bool = True,
) -> DecodedImage:
    """Decode encoded bytes into an upright RGB image, downscaled to `max_side` when given.

    Raises ImageError for anything wrong with the bytes. `max_pixels` is checked on the
    header before any pixel is decoded; Pillow's own limit (2 * Image.MAX_IMAGE_PIXELS, about
    179 Mpx) still applies above it. With `draft`, a JPEG much larger than `max_side` is
    decoded by libjpeg at 1/2, 1/4 or 1/8 scale first.
    """
    _check_arguments(max_pixels, min_side, max_side)
    if not data:
        raise ImageError("empty_file", "the file is empty (0 bytes)")
    notes: list[str] = []
    with _decoder_errors():
        im = _open(data, max_pixels)
        stored_size, image_format = im.size, im.format or "unknown"
        _check_size(stored_size, max_pixels, min_side)
        notes.extend(_header_notes(im))
        orientation = _orientation(im)
        draft_side = max_side if draft else None
        pixels = _plain_jpeg(data, im, orientation, draft_side)
        if pixels is None:
            pixels = _pillow_pixels(im, orientation, draft_side, notes)
    original_size = stored_size[::-1] if orientation in _SIDEWAYS_ORIENTATIONS else stored_size
    if max_side is not None and _fit(original_size, max_side) != original_size:
        notes.append("resized")  # by draft, resize, or both
        pixels = _resize(pixels, _fit(original_size, max_side))
    unique_notes = list(dict.fromkeys(notes))  # "16bit_to_8bit" can come from header and mode
    return DecodedImage(pixels, original_size, image_format, unique_notes)


def _pillow_pixels(
    im: ImageFile.ImageFile, orientation: int, draft_side: int | None, notes: list[str]
) -> np.ndarray:
    """Every format and mode: Pillow decodes, turns upright and converts to RGB."""
    if draft_side is not None:  # a no-op for formats other than JPEG, and once drafted
        im.draft("RGB", _fit(im.size, draft_side))
    im.load()
    rgb = _to_rgb(_upright(im, orientation, notes), notes)
    return np.array(rgb)  # a writeable copy: callers may draw on it


_EOI = b"\xff\xd9"  # a complete JPEG ends with its End Of Image marker


def _plain_jpeg(
    data: bytes, im: ImageFile.ImageFile, orientation: int, draft_side: int | None
) -> np.ndarray | None:
    """The common case, decoded by libjpeg through OpenCV: a complete, upright, three-channel
    JPEG. None for anything else, which Pillow decodes.

    Same pixels up to libjpeg's own rounding, a quarter faster, and without Pillow's two
    copies into numpy. OpenCV turns a truncated file into grey rows with only a warning, so a
    file without its End Of Image marker goes to Pillow, which names the fault."""
    if im.format != "JPEG" or im.mode != "RGB" or orientation not in (0, 1):
        return None
    if not data.rstrip(b"\x00").endswith(_EOI):
        return None
    scale = _SCALE_FLAGS[_draft_scale(im, draft_side)]
    colour = _RGB_READ or cv2.IMREAD_COLOR
    pixels = cv2.imdecode(
        np.frombuffer(data, np.uint8), scale | colour | cv2.IMREAD_IGNORE_ORIENTATION
    )
    if pixels is None or pixels.ndim != 3:
        return None
    return pixels if _RGB_READ else cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)


# libjpeg's scale-down alone (the IMREAD_REDUCED_GRAYSCALE_N bits); the colour flag adds the
# three channels. OpenCV >= 4.11 decodes straight into RGB order, older ones into BGR.
_SCALE_FLAGS = {
    1: 0,
    2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
    4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
    8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
}
_RGB_READ = getattr(cv2, "IMREAD_COLOR_RGB", None)


def _draft_scale(im: ImageFile.ImageFile, draft_side: int | None) -> int:
    """The scale-down (1, 2, 4 or 8) Pillow's draft picks for the fit in `draft_side`: the
    largest that keeps the image at least that large. Drafting is what a Pillow decode of
    the same image would do first, so a fall-back to Pillow decodes at the same scale."""
    if draft_side is None:
        return 1
    width = im.size[0]
    drafted = im.draft("RGB", _fit(im.size, draft_side))
    return 1 if drafted is None else round(width / drafted[1][2])


def _check_arguments(max_pixels: int, min_side: int, max_side: int | None) -> None:
    if max_pixels < 1:
        raise ValueError(f"decode.max_pixels must be at least 1, got {max_pixels}")
    if min_side < 1:
        raise ValueError(f"decode.min_side must be at least 1, got {min_side}")
    if max_side is not None and max_side < 1:
        raise ValueError(f"decode.max_side must be at least 1 or unset, got {max_side}")
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError(
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True (some code in this process set it), so "
            "truncated files would decode as half-grey images; set it back to False"
        )


# --------------------------------------------------------------------------------------------
# Identify and check, before decoding pixels
# --------------------------------------------------------------------------------------------


@contextmanager
def _decoder_errors() -> Iterator[None]:
    """Turn what Pillow raises on malformed bytes into an ImageError with the original message."""
    try:
        yield
    except Image.DecompressionBombError as e:
        msg = f"{e} (Pillow's own limit, 2 x PIL.Image.MAX_IMAGE_PIXELS, applies on top of ours)"
        raise ImageError("decompression_bomb", msg) from e
    except _DECODER_ERRORS as e:
        kind = "truncated_image" if "truncat" in str(e).lower() else "decode_error"
        raise ImageError(kind, f"{type(e).__name__}: {e}") from e


def _open(data: bytes, max_pixels: int) -> ImageFile.ImageFile:
    try:
        return _open_common_first(data)
    except UnidentifiedImageError:
        raise _unidentified(data) from None
    except Image.DecompressionBombError as e:
        raise _beyond_pillow_limit(data, max_pixels) from e


def _open_common_first(data: bytes) -> ImageFile.ImageFile:
    """Try the formats whose plugins Pillow loads up front first; only a file in none of
    them pays for `Image.init()`, which imports every plugin (30-40 ms per process)."""
    try:
        return Image.open(io.BytesIO(data), formats=_preloaded_formats())
    except UnidentifiedImageError:
        return Image.open(io.BytesIO(data), formats=_accepted_formats())


@functools.cache
def _preloaded_formats() -> tuple[str, ...]:
    Image.preinit()  # the common plugins only (JPEG, PNG, GIF, BMP, PPM in Pillow 13)
    return tuple(name for name in ACCEPTED_FORMATS if name in Image.OPEN)


@functools.cache
def _accepted_formats() -> tuple[str, ...]:
    Image.init()  # registers every plugin, so an optional one is either known or absent
    return tuple(name for name in ACCEPTED_FORMATS if name in Image.OPEN)


def _beyond_pillow_limit(data: bytes, max_pixels: int) -> ImageError:
    """Image.open refuses above 2 x MAX_IMAGE_PIXELS before we see the size. The format's own
    plugin does not check, so read the header with it to say which limit the image breaks."""
    factory = Image.OPEN[_claimed_format(data[:16], _accepted_formats())][0]
    w, h = size = factory(io.BytesIO(data), "").size
    if w * h > max_pixels:
        return _too_many_pixels(size, max_pixels)
    limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
    return ImageError(
        "decompression_bomb",
        f"image is {w}x{h} = {w * h / 1e6:.1f} Mpx, above Pillow's own limit of "
        f"{limit / 1e6:.1f} Mpx (raise PIL.Image.MAX_IMAGE_PIXELS too to accept it)",
    )


def _unidentified(data: bytes) -> ImageError:
    """Why Pillow could not identify the bytes, judged by their first 16 bytes only."""
    claimed = _claimed_format(data[:16], Image.ID)
    if claimed in _accepted_formats():
        return ImageError(
            "decode_error",
            f"starts like a {claimed} file but its header cannot be read (truncated or corrupt)",
        )
    if claimed is not None:
        accepted = ", ".join(_accepted_formats())
        return ImageError(
            "unsupported_format", f"{claimed} images are not accepted (accepted: {accepted})"
        )
    return ImageError("not_an_image", f"not an image in any known format; starts {data[:12]!r}")


def _claimed_format(prefix: bytes, formats: Sequence[str]) -> str | None:
    """The first of `formats` whose signature test accepts `prefix`; parses nothing further."""
    for name in formats:
        accept = Image.OPEN[name][1]
        try:
            claimed = accept is not None and accept(prefix)
        except (IndexError, TypeError, struct.error):  # a test reading past a short prefix
            continue
        if claimed and not isinstance(claimed, str):  # a str is Pillow's "yes, but unsupported"
            return name
    return None


def _header_notes(im: ImageFile.ImageFile) -> list[str]:
    """What decoding will drop, as the header tells it: later frames, low bytes of samples."""
    notes = []
    if getattr(im, "is_animated", False):
        notes.append("animated_first_frame")
    # Pillow reads 16-bit RGB(A) PNG and TIFF straight into 8-bit modes, keeping the high byte
    # (so 65535 -> 255, 32768 -> 128); only the tile's raw mode ("RGB;16B") still says so.
    if any(_SAMPLES_16BIT.search(str(tile.args)) for tile in im.tile):
        notes.append("16bit_to_8bit")
    return notes


def _check_size(size: tuple[int, int], max_pixels: int, min_side: int) -> None:
    w, h = size
    if w * h > max_pixels:
        raise _too_many_pixels(size, max_pixels)
    if min(w, h) < min_side:
        raise ImageError(
            "too_small",
            f"image is {w}x{h}, its short side is below the minimum of {min_side} px "
            "(lower decode.min_side to accept it)",
        )


def _too_many_pixels(size: tuple[int, int], max_pixels: int) -> ImageError:
    w, h = size
    return ImageError(
        "decompression_bomb",
        f"image is {w}x{h} = {w * h / 1e6:.1f} Mpx, above the limit of "
        f"{max_pixels / 1e6:.1f} Mpx (raise decode.max_pixels to accept it)",
    )


# --------------------------------------------------------------------------------------------
# Normalise decoded pixels
# --------------------------------------------------------------------------------------------


def _orientation(im: Image.Image) -> int:
    orientation = im.getexif().get(ExifTags.Base.Orientation, 1)
    return orientation if isinstance(orientation, int) else 1


def _upright(im: Image.Image, orientation: int, notes: list[str]) -> Image.Image:
    if orientation not in range(2, 9):
        return im
    notes.append("exif_rotated")
    return ImageOps.exif_transpose(im)


def _to_rgb(im: Image.Image, notes: list[str]) -> Image.Image:
    if im.mode not in _MODE_NOTES:
        supported = ", ".join(_MODE_NOTES)
        raise ImageError(
            "unsupported_mode", f"pixel mode {im.mode!r} is not supported (supported: {supported})"
        )
    notes.extend(_MODE_NOTES[im.mode])
    if im.mode in _KEYED_TRANSPARENCY_MODES and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in _ALPHA_MODES:
        return _on_white(im, notes)
    if im.mode in _NUMERIC_MODES:
        return _numeric_to_rgb(im, notes)
    return im if im.mode == "RGB" else im.convert("RGB")


def _on_white(im: Image.Image, notes: list[str]) -> Image.Image:
    """Composite onto white, so a transparent pixel becomes (255, 255, 255)."""
    rgba = im.convert("RGBA")
    if rgba.getchannel("A").getextrema()[0] == 255:  # fully opaque: nothing to composite
        return rgba.convert("RGB")
    notes.append("alpha_composited_on_white")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _numeric_to_rgb(im: Image.Image, notes: list[str]) -> Image.Image:
    """16-bit, 32-bit integer and float grayscale to 8 bits, then RGB."""
    values = np.asarray(im)  # HxW; uint16 (I;16*), int32 (I) or float32 (F)
    if im.mode.startswith("I;16"):
        gray = values / 257.0  # 65535 -> 255, 32768 -> 128
    else:
        gray = _rescale(values.astype(np.float32), im.mode == "F", notes)
    gray8 = np.rint(gray).clip(0, 255).astype(np.uint8)
    return Image.fromarray(gray8, "L").convert("RGB")


def _rescale(values: np.ndarray, is_float: bool, notes: list[str]) -> np.ndarray:
    """I and F values onto 0..255: kept when they already fit, else scaled by their range."""
    values = np.where(np.isfinite(values), values, 0)
    lo, hi = float(values.min()), float(values.max())
    if is_float and lo >= 0 and hi <= 1:  # normalised floats (float TIFFs, maps)
        notes.append("range_rescaled")
        return values * 255
    if lo >= 0 and hi <= 255:
        return values
    if not is_float and lo >= 0 and hi <= 65535:  # 16-bit samples that Pillow gave as "I"
        notes.append("16bit_to_8bit")
        return values / 257
    if hi == lo:  # a constant image outside 0..255
        return np.clip(values, 0, 255)
    notes.append("range_rescaled")
    return (values - lo) * (255 / (hi - lo))


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """`size` scaled down so that its long side is `max_side`; unchanged when already smaller."""
    w, h = size
    scale = max_side / max(w, h)
    if scale >= 1:
        return size
    return max(1, round(w * scale)), max(1, round(h * scale))


def _resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to `size`, computed from the full-resolution size so that draft changes nothing."""
    if (pixels.shape[1], pixels.shape[0]) == size:  # draft already landed on it
        return pixels
    # OpenCV's INTER_AREA averages each output pixel's whole footprint (antialiased like a box
    # filter) and is SIMD-vectorised: about 20x faster than Pillow's LANCZOS here.
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
