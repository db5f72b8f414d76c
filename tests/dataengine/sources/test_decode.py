"""decode_image on every kind of bad or unusual input, each generated here from scratch."""

from __future__ import annotations

import io
import pickle
import struct
import tracemalloc
import zipfile
import zlib

import cv2
import numpy as np
import pytest
from PIL import ExifTags, Image, ImageFile

from dataengine.sources.decode import KINDS, DecodedImage, ImageError, _to_rgb, decode_image
from tests.helpers import fresh_python


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def photo(w: int = 96, h: int = 64) -> np.ndarray:
    """A smooth, asymmetric RGB test picture (gradients, a ripple, one red block)."""
    yy, xx = np.mgrid[0:h, 0:w]
    ripple = 128 + 100 * np.sin(xx / 17.0) * np.cos(yy / 11.0)
    pixels = np.stack([xx * 255 / w, yy * 255 / h, ripple], axis=-1).astype(np.uint8)
    pixels[h // 8 : h // 3, w // 8 : w // 2] = (250, 30, 30)
    return pixels


def error_of(data: bytes, **params) -> ImageError:
    with pytest.raises(ImageError) as caught:
        decode_image(data, **params)
    assert caught.value.kind in KINDS
    return caught.value


def png16(samples: np.ndarray) -> bytes:
    """A 16-bit PNG (grayscale HxW or BGR HxWx3, uint16), which Pillow cannot write."""
    ok, buf = cv2.imencode(".png", samples)
    assert ok
    return buf.tobytes()


def png_with_header(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming width x height RGB, then a tiny IDAT."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(tag + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# --------------------------------------------------------------------------------------------
# Plain images and the output contract
# --------------------------------------------------------------------------------------------


def test_rgb_png_round_trips_exactly():
    pixels = photo()
    decoded = decode_image(encode(Image.fromarray(pixels), "PNG"))
    assert isinstance(decoded, DecodedImage)
    assert decoded.image.dtype == np.uint8 and decoded.image.flags.c_contiguous
    assert decoded.image.flags.writeable
    np.testing.assert_array_equal(decoded.image, pixels)
    assert (decoded.original_size, decoded.format, decoded.notes) == ((96, 64), "PNG", [])


def test_format_comes_from_content_not_extension(tmp_path):
    path = tmp_path / "really_a_png.jpg"
    path.write_bytes(encode(Image.fromarray(photo()), "PNG"))
    decoded = decode_image(path.read_bytes())
    assert decoded.format == "PNG"
    np.testing.assert_array_equal(decoded.image, photo())


def test_grayscale_becomes_three_equal_channels():
    gray = photo()[..., 0]
    decoded = decode_image(encode(Image.fromarray(gray, "L"), "PNG"))
    np.testing.assert_array_equal(decoded.image, np.repeat(gray[..., None], 3, axis=2))
    assert decoded.notes == ["grayscale_to_rgb"]


# --------------------------------------------------------------------------------------------
# Bytes that are not a usable image
# --------------------------------------------------------------------------------------------


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("readme.txt", "not a picture")
    return buf.getvalue()


def test_empty_file():
    assert error_of(b"").kind == "empty_file"


@pytest.mark.parametrize(
    "data",
    [
        b"<html><body>404 Not Found</body></html>\n" * 5,
        np.random.default_rng(0).bytes(5000),
        zip_bytes(),
    ],
    ids=["text", "random", "zip"],
)
def test_non_image_bytes(data):
    error = error_of(data)
    assert error.kind == "not_an_image"
    assert repr(data[:4])[2:-1] in str(error)  # the message shows how the bytes start


def test_format_outside_the_accepted_list():
    icon = encode(Image.fromarray(photo(64, 64)), "ICO", sizes=[(64, 64)])
    error = error_of(icon)
    assert error.kind == "unsupported_format"
    assert "ICO" in str(error)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_pixel_data(fmt, keep):
    data = encode(Image.fromarray(photo()), fmt)
    error = error_of(data[: int(len(data) * keep)])
    assert error.kind == "truncated_image"
    assert "truncated" in str(error).lower()


def test_jpeg_missing_only_its_last_byte_is_truncated():
    data = encode(Image.fromarray(photo()), "JPEG")
    assert error_of(data[:-1]).kind == "truncated_image"


def test_png_cut_inside_its_header():
    data = encode(Image.fromarray(photo()), "PNG")
    assert error_of(data[:20]).kind == "truncated_image"  # Pillow: "Truncated File Read"
    # Cut before IHDR, Pillow only says it cannot identify the file; the signature tells us more.
    error = error_of(data[:12])
    assert error.kind == "decode_error"
    assert "PNG" in str(error) and "header" in str(error)


def test_corrupt_png_data_is_a_decode_error():
    # PNG, not JPEG: libjpeg decodes corrupt entropy-coded data to garbage without complaint.
    data = bytearray(encode(Image.fromarray(photo()), "PNG"))
    middle = len(data) // 2
    data[middle : middle + 50] = np.random.default_rng(1).bytes(50)
    error = error_of(bytes(data))
    assert error.kind == "decode_error"
    assert "data stream" in str(error)


def test_truncated_files_are_never_accepted_as_grey(monkeypatch):
    # The decision is explicit: if anything flipped Pillow's global switch, refuse to run.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        decode_image(encode(Image.fromarray(photo()), "PNG"))


# --------------------------------------------------------------------------------------------
# Size limits
# --------------------------------------------------------------------------------------------


def test_header_claiming_huge_dimensions_is_rejected_without_decoding(monkeypatch):
    def no_pixel_decoding(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_pixel_decoding)
    tracemalloc.start()
    try:
        error = error_of(png_with_header(100_000, 100_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.kind == "decompression_bomb"
    assert "100000x100000 = 10000.0 Mpx, above the limit of 64.0 Mpx" in str(error)
    assert peak < 2_000_000


def test_pillow_limit_still_applies_above_ours():
    error = error_of(png_with_header(30_000, 30_000), max_pixels=10**9)
    assert error.kind == "decompression_bomb"
    assert "30000x30000 = 900.0 Mpx" in str(error) and "MAX_IMAGE_PIXELS" in str(error)


def test_pixel_limit_is_ours_and_named_in_the_message():
    error = error_of(png_with_header(9000, 9000))  # 81 Mpx: under Pillow's limit, over ours
    assert error.kind == "decompression_bomb"
    assert "9000x9000 = 81.0 Mpx" in str(error) and "64.0 Mpx" in str(error)
    assert "max_pixels" in str(error)


def test_pixel_limit_follows_the_argument():
    data = encode(Image.fromarray(photo(100, 100)), "PNG")
    assert error_of(data, max_pixels=5_000).kind == "decompression_bomb"
    assert decode_image(data, max_pixels=10_000).image.shape == (100, 100, 3)


def test_tiny_image():
    data = encode(Image.new("RGB", (4, 4), (9, 9, 9)), "PNG")
    error = error_of(data)
    assert error.kind == "too_small"
    assert "4x4" in str(error) and "32" in str(error)
    assert decode_image(data, min_side=4).image.shape == (4, 4, 3)


# --------------------------------------------------------------------------------------------
# Conversions to RGB
# --------------------------------------------------------------------------------------------


def test_cmyk_jpeg():
    # Pillow writes CMYK JPEGs with an Adobe marker and inverted ink, as Photoshop does.
    data = encode(Image.new("CMYK", (40, 40), (255, 0, 0, 0)), "JPEG")
    decoded = decode_image(data)
    np.testing.assert_allclose(decoded.image[20, 20], (0, 255, 255), atol=3)
    assert decoded.notes == ["cmyk_to_rgb"]


def test_16bit_grayscale_png():
    levels = np.array([0, 32768, 65535], dtype=np.uint16).repeat(16)  # 48 columns
    decoded = decode_image(png16(np.tile(levels, (40, 1))))
    np.testing.assert_array_equal(decoded.image[0, ::16], [[0] * 3, [128] * 3, [255] * 3])
    assert decoded.notes == ["16bit_to_8bit", "grayscale_to_rgb"]


def test_16bit_rgb_png():
    bgr = np.zeros((40, 40, 3), np.uint16)
    bgr[..., 2], bgr[..., 1] = 65535, 32768  # red full, green half, blue none
    decoded = decode_image(png16(bgr))
    np.testing.assert_array_equal(decoded.image[5, 5], (255, 128, 0))
    assert decoded.notes == ["16bit_to_8bit"]


def palette_image(transparent: bool) -> Image.Image:
    indices = np.zeros((40, 40), np.uint8)
    indices[:, 20:] = 1
    im = Image.fromarray(indices, "P")
    im.putpalette([10, 20, 30, 200, 100, 0] + [0] * 762)
    if transparent:
        im.info["transparency"] = 0
    return im


def test_palette_png_with_transparency():
    decoded = decode_image(encode(palette_image(transparent=True), "PNG"))
    np.testing.assert_array_equal(decoded.image[0, 0], (255, 255, 255))
    np.testing.assert_array_equal(decoded.image[0, 39], (200, 100, 0))
    assert decoded.notes == ["palette_to_rgb", "alpha_composited_on_white"]


def test_palette_png_without_transparency():
    decoded = decode_image(encode(palette_image(transparent=False), "PNG"))
    np.testing.assert_array_equal(decoded.image[0, 0], (10, 20, 30))
    assert decoded.notes == ["palette_to_rgb"]


def test_rgba_png_composited_on_white():
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., :3] = (0, 0, 200)
    rgba[:, :10, 3] = 0  # transparent
    rgba[:, 10:20, 3] = 128  # half
    rgba[:, 20:, 3] = 255  # opaque
    decoded = decode_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    np.testing.assert_array_equal(decoded.image[0, 0], (255, 255, 255))
    np.testing.assert_allclose(decoded.image[0, 15], (127, 127, 227), atol=1)
    np.testing.assert_array_equal(decoded.image[0, 30], (0, 0, 200))
    assert decoded.notes == ["alpha_composited_on_white"]


def test_opaque_alpha_is_not_reported_as_composited():
    rgba = Image.fromarray(photo()).convert("RGBA")
    decoded = decode_image(encode(rgba, "PNG"))
    np.testing.assert_array_equal(decoded.image, photo())
    assert decoded.notes == []


def test_mode_1_image():
    bits = np.zeros((40, 40), bool)
    bits[:, 20:] = True
    decoded = decode_image(encode(Image.fromarray(bits), "PNG"))
    np.testing.assert_array_equal(decoded.image[0, [0, 39]], [[0, 0, 0], [255, 255, 255]])


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(0.0, 1000.0, (0, 255)), (0.0, 1.0, (0, 255)), (10.0, 200.0, (10, 200)), (-5, -5, (0, 0))],
    ids=["beyond_255_by_range", "unit_floats", "already_0_255", "constant_below_0"],
)
def test_mode_f_tiff(low, high, expected):
    ramp = np.tile(np.linspace(low, high, 40, dtype=np.float32), (40, 1))
    decoded = decode_image(encode(Image.fromarray(ramp, "F"), "TIFF"))
    np.testing.assert_array_equal(decoded.image[0, [0, -1], 0], expected)


@pytest.mark.parametrize(
    ("mode", "colour", "expected"),
    [("HSV", (0, 255, 255), (255, 0, 0)), ("YCbCr", (255, 128, 128), (255, 255, 255))],
)
def test_other_colour_spaces(mode, colour, expected):
    rgb = _to_rgb(Image.new(mode, (4, 4), colour), notes=[])
    assert rgb.getpixel((0, 0)) == expected


def test_unsupported_mode():
    with pytest.raises(ImageError) as caught:
        _to_rgb(Image.new("La", (4, 4)), notes=[])
    assert caught.value.kind == "unsupported_mode"
    assert "'La'" in str(caught.value)


# --------------------------------------------------------------------------------------------
# Orientation, animation, resizing
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("orientation", "quarter_turns"), [(6, -1), (8, 1), (3, 2)])
def test_exif_rotated_jpeg(orientation, quarter_turns):
    pixels = np.zeros((40, 64, 3), np.uint8)
    pixels[:16, :16] = (255, 0, 0)  # one red corner, top-left as stored
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    data = encode(Image.fromarray(pixels), "JPEG", exif=exif, quality=95)
    decoded = decode_image(data)
    upright = np.rot90(pixels, quarter_turns)  # np.rot90 turns counterclockwise
    assert decoded.image.shape == upright.shape
    assert np.abs(decoded.image.astype(int) - upright).mean() < 2
    assert decoded.original_size == (upright.shape[1], upright.shape[0])
    assert decoded.notes == ["exif_rotated"]


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_animation_keeps_its_first_frame(fmt):
    frames = [Image.new("RGB", (40, 40), colour) for colour in [(255, 0, 0), (0, 0, 255)]]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
    decoded = decode_image(data)
    np.testing.assert_allclose(decoded.image[20, 20], (255, 0, 0), atol=8)
    assert "animated_first_frame" in decoded.notes


def record_jpeg_decodes(monkeypatch) -> list[tuple[str, tuple[int, int]]]:
    """(decoder, (w, h)) of every JPEG decode: OpenCV's libjpeg or Pillow's."""
    decodes = []
    imdecode, load = cv2.imdecode, ImageFile.ImageFile.load

    def recording_imdecode(buf, flags):
        pixels = imdecode(buf, flags)
        decodes.append(("opencv", (pixels.shape[1], pixels.shape[0])))
        return pixels

    def recording_load(self):
        decodes.append(("pillow", self.size))
        return load(self)

    monkeypatch.setattr(cv2, "imdecode", recording_imdecode)
    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    return decodes


@pytest.mark.parametrize("draft", [False, True])
def test_max_side_downscales_keeping_aspect(draft, monkeypatch):
    decodes = record_jpeg_decodes(monkeypatch)
    data = encode(Image.fromarray(photo(2000, 1000)), "JPEG", quality=92)
    decoded = decode_image(data, max_side=512, draft=draft)
    assert decoded.image.shape == (256, 512, 3)
    assert decoded.original_size == (2000, 1000)
    assert decoded.notes == ["resized"]
    # With draft, libjpeg decodes at 1/2 scale: the largest that still covers 512x256.
    assert decodes == [("opencv", (1000, 500) if draft else (2000, 1000))]


def test_plain_jpeg_through_opencv_has_pillows_pixels(monkeypatch):
    data = encode(Image.fromarray(photo(300, 200)), "JPEG", quality=90)
    pillow = np.array(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    decodes = record_jpeg_decodes(monkeypatch)
    decoded = decode_image(data)
    assert [d for d, _ in decodes] == ["opencv"]
    assert decoded.image.flags.writeable and decoded.image.flags.c_contiguous
    assert np.abs(decoded.image.astype(int) - pillow).mean() < 0.5  # libjpeg's rounding


def exif_rotated(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    return encode(Image.fromarray(photo()), "JPEG", exif=exif)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("rotated by EXIF", exif_rotated(6)),
        ("CMYK", encode(Image.fromarray(photo()).convert("CMYK"), "JPEG")),
        ("grayscale", encode(Image.fromarray(photo()).convert("L"), "JPEG")),
        ("bytes after its end", encode(Image.fromarray(photo()), "JPEG") + b"trailer"),
    ],
)
def test_jpegs_outside_the_plain_case_are_decoded_by_pillow(name, data, monkeypatch):
    decodes = record_jpeg_decodes(monkeypatch)
    decoded = decode_image(data)
    assert {d for d, _ in decodes} == {"pillow"}, name  # Pillow's load may run again
    assert decoded.image.ndim == 3 and decoded.image.shape[2] == 3


def test_draft_decoding_is_close_to_full_decoding():
    data = encode(Image.fromarray(photo(2000, 1000)), "JPEG", quality=92)
    full = decode_image(data, max_side=512, draft=False).image.astype(int)
    drafted = decode_image(data, max_side=512, draft=True).image.astype(int)
    assert np.abs(full - drafted).mean() < 1.0


def test_max_side_above_the_image_leaves_it_alone():
    decoded = decode_image(encode(Image.fromarray(photo()), "PNG"), max_side=512)
    np.testing.assert_array_equal(decoded.image, photo())
    assert decoded.notes == []


# --------------------------------------------------------------------------------------------
# What must still raise
# --------------------------------------------------------------------------------------------


def test_memory_error_is_not_swallowed(monkeypatch):
    def out_of_memory(self):
        raise MemoryError

    monkeypatch.setattr(ImageFile.ImageFile, "load", out_of_memory)
    with pytest.raises(MemoryError):
        decode_image(encode(Image.fromarray(photo()), "PNG"))


@pytest.mark.parametrize("params", [{"max_pixels": 0}, {"min_side": 0}, {"max_side": 0}])
def test_invalid_arguments_name_the_setting(params):
    with pytest.raises(ValueError, match=next(iter(params))):
        decode_image(b"irrelevant", **params)


def test_image_error_survives_pickling():
    error = pickle.loads(pickle.dumps(ImageError("too_small", "image is 4x4")))
    assert (error.kind, str(error)) == ("too_small", "image is 4x4")


def test_draft_and_exif_rotation_together():
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    data = encode(Image.fromarray(photo(2000, 1000)), "JPEG", exif=exif)
    decoded = decode_image(data, max_side=512, draft=True)
    assert decoded.image.shape == (512, 256, 3)
    assert decoded.original_size == (1000, 2000)
    assert decoded.notes == ["exif_rotated", "resized"]


def test_mutated_files_give_an_image_or_an_image_error():
    # Seeded fuzzing: flipped bytes, cuts and insertions in five formats. Anything other than
    # a DecodedImage or an ImageError here would stop a real run.
    rng = np.random.default_rng(7)
    base = Image.fromarray(photo(80, 60))
    seeds = [encode(base, fmt) for fmt in ("JPEG", "PNG", "GIF", "WEBP", "TIFF")]
    outcomes = set()
    for i in range(300):
        data = bytearray(seeds[i % len(seeds)])
        pos = int(rng.integers(0, len(data)))
        data[pos : pos + int(rng.integers(0, 3))] = rng.bytes(int(rng.integers(1, 8)))
        try:
            outcomes.add(decode_image(bytes(data), max_side=64).image.shape)
        except ImageError as error:
            outcomes.add(error.kind)
    assert "decode_error" in outcomes and (48, 64, 3) in outcomes


def test_common_formats_decode_without_loading_every_plugin(tmp_path):
    """A fresh process decodes a JPEG without `Image.init()` (which imports every Pillow
    plugin, 30-40 ms per worker), and still decodes a WebP, whose plugin only init loads."""
    rgb = np.random.default_rng(0).integers(0, 256, (48, 64, 3), np.uint8)
    for fmt in ("JPEG", "WEBP"):
        (tmp_path / fmt).write_bytes(encode(Image.fromarray(rgb), fmt))
    script = (
        "import sys; from pathlib import Path; "
        "from dataengine.sources.decode import decode_image; "
        f"jpeg = decode_image(Path({str(tmp_path / 'JPEG')!r}).read_bytes()); "
        "print(jpeg.format, jpeg.image.shape, 'PIL.TiffImagePlugin' in sys.modules); "
        f"webp = decode_image(Path({str(tmp_path / 'WEBP')!r}).read_bytes()); "
        "print(webp.format, webp.image.shape)"
    )
    stdout = fresh_python(script)
    assert stdout.split("\n")[:2] == ["JPEG (48, 64, 3) False", "WEBP (48, 64, 3)"]
