"""Real photos that ship inside installed packages, grown into a few hundred seeded variants.

scikit-image, scikit-learn and matplotlib each carry a handful of real photographs in their
wheels, so the engine has real pixels with no download and no image binaries in this repo.
Each base photo has a hand-written caption and a `keep` box around what the caption names;
every variant is a crop that contains that box (so the caption stays true), maybe mirrored,
rescaled so both sides lie in [256, 768]. A variant is a pure function of (photo, index,
seed): the same refs give the same pixels on every run.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from dataengine.schema import SourceImage, rng_for
from dataengine.source import SourceRef

MIN_SIDE, MAX_SIDE = 256, 768  # both sides of every variant, inclusive
MIN_CROP = 0.55  # of each side: smaller crops would lose what the caption describes
MAX_ASPECT = MAX_SIDE / MIN_SIDE  # a wider crop cannot fit both side limits at once
MAX_UPSCALE = 1.5  # prefer scales up to this; small originals may need more to reach MIN_SIDE


@dataclass(frozen=True)
class BasePhoto:
    name: str
    origin: str  # "<module.function>" or "<module.function>:<file>"; see _read_origin
    caption: str
    keep: tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions: in every crop
    flip: bool = True  # False where a mirror image would make the caption false (text)


BASE_PHOTOS: tuple[BasePhoto, ...] = (
    BasePhoto(
        "astronaut",
        "skimage.data.astronaut",
        "a smiling woman astronaut in an orange spacesuit posing beside an american flag",
        (0.05, 0.03, 0.62, 0.62),
    ),
    BasePhoto(
        "brick",
        "skimage.data.brick",
        "a black-and-white photo of a wall of long thin bricks seen at an angle",
        (0.3, 0.3, 0.7, 0.7),
    ),
    BasePhoto(
        "camera",
        "skimage.data.camera",
        "a black-and-white photo of a man in a dark coat looking through a camera on a "
        "tripod in a grassy field",
        (0.05, 0.12, 0.75, 0.95),
    ),
    BasePhoto(
        "cat",
        "skimage.data.chelsea",
        "a close-up of a tabby cat with green eyes and a pink nose",
        (0.25, 0.2, 0.8, 0.9),
    ),
    BasePhoto(
        "cell",
        "skimage.data.cell",
        "a black-and-white microscopy image of a single bright round cell on a grainy "
        "gray background",
        (0.6, 0.42, 0.93, 0.7),
    ),
    BasePhoto(
        "china",
        "sklearn.datasets.load_sample_image:china.jpg",
        "a red and green chinese pagoda tower on a hill overlooking a lake among trees",
        (0.1, 0.07, 0.7, 0.9),
    ),
    BasePhoto(
        "clock",
        "skimage.data.clock",
        "a black-and-white photo of a motion-blurred round clock against a plain gray wall",
        (0.3, 0.25, 0.75, 0.75),
    ),
    BasePhoto(
        "coffee",
        "skimage.data.coffee",
        "a cup of espresso with a metal spoon on a red saucer on a wooden table",
        (0.15, 0.05, 0.78, 0.92),
    ),
    BasePhoto(
        "coins",
        "skimage.data.coins",
        "a black-and-white photo of rows of ancient greek coins on a dark background",
        (0.3, 0.3, 0.7, 0.7),
    ),
    BasePhoto(
        "flower",
        "sklearn.datasets.load_sample_image:flower.jpg",
        "a close-up of an orange dahlia flower against a dark green blurred background",
        (0.25, 0.18, 0.7, 0.85),
    ),
    BasePhoto(
        "grace_hopper",
        "matplotlib.cbook.get_sample_data:grace_hopper.jpg",
        "an elderly woman in a dark navy uniform, cap and glasses in front of an american flag",
        (0.1, 0.02, 0.72, 0.85),
    ),
    BasePhoto(
        "grass",
        "skimage.data.grass",
        "a black-and-white close-up photo of grass blades and small clover leaves",
        (0.3, 0.3, 0.7, 0.7),
    ),
    BasePhoto(
        "gravel",
        "skimage.data.gravel",
        "a black-and-white close-up photo of a bed of small angular gravel stones",
        (0.3, 0.3, 0.7, 0.7),
    ),
    BasePhoto(
        "hubble_deep_field",
        "skimage.data.hubble_deep_field",
        "a deep-space telescope image of countless colourful distant galaxies on a black sky",
        (0.3, 0.3, 0.7, 0.7),
    ),
    BasePhoto(
        "immunohistochemistry",
        "skimage.data.immunohistochemistry",
        "a microscopy image of a tissue section with brown-stained glands of packed cells "
        "among pale blue tissue",
        (0.3, 0.3, 0.7, 0.7),
    ),
    BasePhoto(
        "moon",
        "skimage.data.moon",
        "a black-and-white photo of the gray lunar surface with a few small craters",
        (0.3, 0.3, 0.7, 0.7),
    ),
    BasePhoto(
        "motorcycle",
        "skimage.data.stereo_motorcycle",
        "a red motorcycle parked on a concrete floor in a garage with shelves of boxes",
        (0.15, 0.15, 0.92, 0.9),
    ),
    BasePhoto(
        "mri",
        "matplotlib.cbook.get_sample_data:s1045.ima.gz",
        "a black-and-white MRI scan of a human head seen from the side",
        (0.1, 0.05, 0.8, 0.95),
    ),
    BasePhoto(
        "page",
        "skimage.data.page",
        "a black-and-white photo of a printed textbook page about region-based segmentation",
        (0.02, 0.02, 0.8, 0.5),
        flip=False,
    ),
    BasePhoto(
        "retina",
        "skimage.data.retina",
        "a fundus photograph of a human retina, orange-red with branching blood vessels "
        "and a bright optic disc",
        (0.08, 0.3, 0.6, 0.7),
    ),
    BasePhoto(
        "rocket",
        "skimage.data.rocket",
        "a white rocket on its launch pad between lattice towers at dusk with bright floodlights",
        (0.27, 0.28, 0.76, 1.0),
    ),
    BasePhoto(
        "text",
        "skimage.data.text",
        "a black-and-white photo of handwritten math formulas on lined paper",
        (0.2, 0.1, 0.8, 0.9),
        flip=False,
    ),
)
PHOTOS_BY_NAME = {p.name: p for p in BASE_PHOTOS}


# --------------------------------------------------------------------------------------------
# Refs and loading
# --------------------------------------------------------------------------------------------


def photo_refs(count: int = 240, seed: int = 0) -> list[SourceRef]:
    """`count` variants dealt round-robin over the base photos, so every photo appears."""
    refs = []
    for k in range(count):
        photo = BASE_PHOTOS[k % len(BASE_PHOTOS)]
        index = k // len(BASE_PHOTOS)
        refs.append(
            SourceRef(
                id=f"photo-{photo.name}-{index:04d}",
                group=photo.name,
                locator=("photo", photo.name, index, seed),
                caption=photo.caption,
            )
        )
    return sorted(refs, key=lambda r: r.id)


def load_photo(ref: SourceRef) -> SourceImage:
    _, name, index, seed = ref.locator
    photo = PHOTOS_BY_NAME[name]
    base = base_pixels(name)
    variant = plan_variant(photo, base.shape[1], base.shape[0], index, seed)
    meta = {
        "origin": photo.origin,
        "crop": list(variant.crop),
        "flip": variant.flip,
        "scale": round(variant.size[0] / (variant.crop[2] - variant.crop[0]), 4),
    }
    return SourceImage(
        id=ref.id,
        group=ref.group,
        image=render_variant(base, variant),
        caption=photo.caption,
        meta=meta,
    )


# --------------------------------------------------------------------------------------------
# Variants: crop, flip, rescale
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    crop: tuple[int, int, int, int]  # x0, y0, x1, y1 in base-photo pixels
    flip: bool
    size: tuple[int, int]  # output (width, height)


def plan_variant(photo: BasePhoto, width: int, height: int, index: int, seed: int) -> Variant:
    rng = rng_for("sample_photos", photo.name, int(index), int(seed))
    kx0, ky0 = math.floor(photo.keep[0] * width), math.floor(photo.keep[1] * height)
    kx1, ky1 = math.ceil(photo.keep[2] * width), math.ceil(photo.keep[3] * height)
    # Area and aspect jitter rather than two independent sides: crops stay photo-shaped.
    area, aspect = rng.uniform(0.4, 1.0), math.exp(rng.uniform(-0.22, 0.22))
    cw = _crop_side(math.sqrt(area * aspect), width, kx1 - kx0)
    ch = _crop_side(math.sqrt(area / aspect), height, ky1 - ky0)
    cw = min(cw, max(kx1 - kx0, math.floor(ch * MAX_ASPECT)))
    ch = min(ch, max(ky1 - ky0, math.floor(cw * MAX_ASPECT)))
    x0 = _crop_offset(rng, cw, width, kx0, kx1)
    y0 = _crop_offset(rng, ch, height, ky0, ky1)
    flip = photo.flip and bool(rng.random() < 0.5)
    return Variant((x0, y0, x0 + cw, y0 + ch), flip, _output_size(rng, cw, ch))


def _crop_side(fraction: float, side: int, keep: int) -> int:
    return min(side, max(keep, math.ceil(max(MIN_CROP, min(1.0, fraction)) * side)))


def _crop_offset(rng: np.random.Generator, crop: int, side: int, keep0: int, keep1: int) -> int:
    """A start such that [start, start + crop) lies in the photo and covers the keep span."""
    lo, hi = max(0, keep1 - crop), min(keep0, side - crop)
    return int(rng.integers(lo, hi + 1))


def _output_size(rng: np.random.Generator, cw: int, ch: int) -> tuple[int, int]:
    lo, hi = MIN_SIDE / min(cw, ch), MAX_SIDE / max(cw, ch)
    hi = max(lo, min(hi, MAX_UPSCALE))
    scale = math.exp(rng.uniform(math.log(lo), math.log(hi))) if hi > lo else lo
    # Clamping after rounding costs at most a pixel of aspect and guarantees the limits.
    return (_clamp_side(round(cw * scale)), _clamp_side(round(ch * scale)))


def _clamp_side(n: int) -> int:
    return min(MAX_SIDE, max(MIN_SIDE, n))


def render_variant(base: np.ndarray, variant: Variant) -> np.ndarray:
    x0, y0, x1, y1 = variant.crop
    crop = base[y0:y1, x0:x1]
    if variant.flip:
        crop = crop[:, ::-1]
    shrinking = variant.size[0] < crop.shape[1]
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    # Always a fresh contiguous array: the cached base photo must never leak out by view.
    return cv2.resize(np.ascontiguousarray(crop), variant.size, interpolation=interp)


# --------------------------------------------------------------------------------------------
# Base photos: read once per process from the packages that ship them
# --------------------------------------------------------------------------------------------


@functools.cache
def base_pixels(name: str) -> np.ndarray:
    """The base photo as read-only RGB uint8 (HxWx3), cached: variants share one decode."""
    image = _to_rgb8(_read_origin(PHOTOS_BY_NAME[name].origin))
    image.flags.writeable = False
    return image


def _read_origin(origin: str) -> np.ndarray:
    function, _, filename = origin.partition(":")
    if function.startswith("skimage.data."):
        import skimage.data

        loaded = getattr(skimage.data, function.rsplit(".", 1)[1])()
        return loaded[0] if isinstance(loaded, tuple) else loaded  # stereo pair: left view
    if function == "sklearn.datasets.load_sample_image":
        from sklearn.datasets import load_sample_image

        return load_sample_image(filename)
    if function == "matplotlib.cbook.get_sample_data":
        return _read_matplotlib_sample(filename)
    raise ValueError(f"unknown photo origin {origin!r}")


def _read_matplotlib_sample(filename: str) -> np.ndarray:
    from matplotlib import cbook

    if filename.endswith(".ima.gz"):  # raw 256x256 uint16 MRI slice, as matplotlib's demo reads it
        with cbook.get_sample_data(filename) as f:
            return np.frombuffer(f.read(), np.uint16).reshape(256, 256)
    from PIL import Image

    with Image.open(cbook.get_sample_data(filename, asfileobj=False)) as im:
        return np.asarray(im.convert("RGB"))


def _to_rgb8(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:  # 16-bit scans: stretch to the full 8-bit range
        image = np.rint(image.astype(np.float64) * (255.0 / max(1, int(image.max()))))
        image = image.astype(np.uint8)
    if image.ndim == 2:  # black-and-white photos become 3 equal channels
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])
