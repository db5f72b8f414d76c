"""Pure filters behind the low-level maps and the restoration degradations.

Every map and degradation takes an RGB uint8 image (HxWx3) and plain numbers, and returns
a new RGB uint8 image of the same size (helpers state their shapes); nothing keeps state.
Randomness (noise, jitter, haze depth) comes only from a `seed` argument turned into its own
generator here, so a pair maker that records the seed remakes the image bit for bit.

Region maps (segmentation, doodle) are computed at a small working size and brought back
to full size: graph segmentation costs grow fast with the pixel count, and the regions a
map needs are large anyway.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

WHITE, BLACK = 255, 0
SEGMENT_SIDE = 128  # working long side of the segmentation map
DOODLE_SIDE = 96  # working long side of the doodle segmentation: few, coarse regions
DOODLE_CANVAS = 256  # doodle strokes are drawn at most this large, then upscaled
CANNY_GAIN = 8.0  # grey levels -> int16 gradient units: keeps the blurred slopes' fractions


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def to_uint8(values: np.ndarray) -> np.ndarray:
    """Round and clip float pixels back to uint8 (in place: `values` is a scratch array)."""
    np.rint(values, out=values)
    return np.clip(values, 0, 255, out=values).astype(np.uint8)


def gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)  # HxW uint8


def three_channels(plane: np.ndarray) -> np.ndarray:
    return np.repeat(plane[:, :, None], 3, axis=2)


def resize_long_side(image: np.ndarray, side: int) -> np.ndarray:
    """Area-resize so that the long side is `side` px (never below 1 px on either side)."""
    h, w = image.shape[:2]
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def smooth_field(h: int, w: int, cells: int, rng: np.random.Generator) -> np.ndarray:
    """Low-frequency noise in [-1, 1], HxW float32: a cells x cells grid, bicubic-upscaled."""
    grid = rng.uniform(-1.0, 1.0, size=(cells, cells)).astype(np.float32)
    return np.clip(cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC), -1.0, 1.0)


def drop_small_components(binary: np.ndarray, min_pixels: int) -> np.ndarray:
    """Keep the 8-connected components of a 0/255 map with at least `min_pixels` pixels."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_pixels
    keep[0] = False  # label 0 is the background
    return np.where(keep[labels], 255, 0).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# Low-level analysis maps
# --------------------------------------------------------------------------------------------


def mosaic(image: np.ndarray, blocks: int) -> np.ndarray:
    """Pixelate: `blocks` cells along the long side, each the mean colour of its pixels.

    Area-downscale to the cell grid, then nearest-upscale back, as a video mosaic does.
    """
    h, w = image.shape[:2]
    cells = resize_long_side(image, blocks)
    return cv2.resize(cells, (w, h), interpolation=cv2.INTER_NEAREST)


def segment_labels(image: np.ndarray, method: str, detail: float) -> np.ndarray:
    """Region labels (HxW int, 0..n-1) of a classical segmentation of `image`.

    `detail` is the method's own knob: felzenszwalb's scale (larger = fewer, bigger regions)
    or slic's number of segments.
    """
    from skimage.segmentation import felzenszwalb, slic  # ~1 s to import: only when used

    if method == "felzenszwalb":
        min_size = max(4, image.shape[0] * image.shape[1] // 300)
        return felzenszwalb(image, scale=float(detail), sigma=0.8, min_size=min_size)
    if method == "slic":
        return slic(image, n_segments=int(detail), compactness=10.0, start_label=0)
    raise ValueError(f"unknown segmentation method {method!r}; use felzenszwalb or slic")


def paint_regions(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Every region painted with the mean colour of its pixels in `image`."""
    flat = labels.ravel()
    counts = np.maximum(np.bincount(flat), 1)
    means = np.stack(
        [np.bincount(flat, weights=image[:, :, c].ravel()) / counts for c in range(3)], axis=1
    )  # n_regions x 3
    return np.take(to_uint8(means), labels, axis=0)


def segmentation_map(image: np.ndarray, method: str, detail: float) -> np.ndarray:
    """Superpixel map: regions of a classical segmentation painted with their mean colour.

    Segmented and painted at the working size, then nearest-upscaled: the area-downscaled
    pixels already average their blocks, so a region's colour is its full-size mean up to
    the pixels on its border.
    """
    h, w = image.shape[:2]
    small = resize_long_side(image, min(SEGMENT_SIDE, max(h, w)))
    painted = paint_regions(small, segment_labels(small, method, detail))
    return cv2.resize(painted, (w, h), interpolation=cv2.INTER_NEAREST)


def region_count(segmentation: np.ndarray) -> int:
    """How many distinct colours (regions, up to equal means) a painted map holds."""
    packed = segmentation.reshape(-1, 3).astype(np.uint32) @ np.array([65536, 256, 1], np.uint32)
    return len(np.unique(packed))


def contour_map(image: np.ndarray, smooth: int, sigma: float, strength: float) -> np.ndarray:
    """A clean line drawing, black lines on white.

    A median filter (edge-preserving) removes texture; lines are the dark side of a
    difference of Gaussians, kept where it falls below `strength` standard deviations,
    which adapts the line density to the photo's contrast. Specks (under 12 sigma pixels,
    a few stroke widths) are dropped so the drawing stays clean.
    """
    plane = cv2.medianBlur(gray(image), int(smooth)).astype(np.float32)
    fine = cv2.GaussianBlur(plane, (0, 0), sigma)
    coarse = cv2.GaussianBlur(plane, (0, 0), sigma * 1.6)
    dog = fine - coarse  # negative on the dark side of every edge
    lines = np.where(dog < -strength * max(float(dog.std()), 1e-3), 255, 0).astype(np.uint8)
    lines = drop_small_components(lines, min_pixels=int(12 * sigma))
    return three_channels(255 - lines)


def scribble_map(
    image: np.ndarray, sigma: float, thickness: int, jitter: float, seed: int
) -> np.ndarray:
    """A rough scribble, white strokes on black, like ControlNet's HED-derived scribbles.

    Thin edges of the strongly blurred photo (only the main structure survives the blur),
    short fragments dropped, thickened, then warped by a smooth random displacement of up
    to `jitter` of the short side, so the strokes wobble as a hand-drawn line does.
    """
    h, w = image.shape[:2]
    edges = smooth_canny(gray(image), sigma)
    edges = drop_small_components(edges, min_pixels=max(8, min(h, w) // 16))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (thickness, thickness))
    strokes = cv2.dilate(edges, kernel)
    rng = np.random.default_rng(seed)
    amplitude = jitter * min(h, w)
    dx = smooth_field(h, w, 6, rng) * amplitude
    dy = smooth_field(h, w, 6, rng) * amplitude
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    warped = cv2.remap(strokes, xs + dx, ys + dy, cv2.INTER_LINEAR, borderValue=0)
    return three_channels(np.where(warped >= 128, 255, 0).astype(np.uint8))


def smooth_canny(plane: np.ndarray, sigma: float, keep: float = 0.07) -> np.ndarray:
    """Canny edges (HxW, 0/255) of `plane` (HxW uint8) blurred by `sigma`, with thresholds
    that follow its own gradients.

    The blur runs in float and Canny gets the float gradients (scaled into int16), because a
    strongly blurred uint8 image is a staircase of flat steps whose edges break into bits.
    The high threshold passes the strongest `keep` fraction of gradients and the low one is
    half of it, so a soft photo still gives its main edges; a floor keeps flat areas (and
    flat images) free of noise edges.
    """
    blurred = cv2.GaussianBlur(plane.astype(np.float32) * CANNY_GAIN, (0, 0), sigma)
    dx = np.rint(cv2.Sobel(blurred, cv2.CV_32F, 1, 0)).astype(np.int16)
    dy = np.rint(cv2.Sobel(blurred, cv2.CV_32F, 0, 1)).astype(np.int16)
    magnitude = np.abs(dx.astype(np.float32)) + np.abs(dy)  # Canny's own L1 gradient
    high = max(float(np.quantile(magnitude, 1.0 - keep)), 8.0 * CANNY_GAIN)
    return cv2.Canny(dx, dy, high / 2, high)


def doodle_map(image: np.ndarray, scale: float, thickness: int, smoothness: float) -> np.ndarray:
    """A coarse outline, thick black strokes on white: the borders of a heavy segmentation.

    Few large regions come from felzenszwalb at a tiny working size, on a median-filtered
    image with no Gaussian smoothing: a Gaussian ramp between two colours would become a
    thin region of its own and double the line. Region borders are rounded (see
    smooth_labels) into the curves of a quick drawing; two regions share one border, so
    no line is doubled either. Strokes are drawn on a canvas of at most DOODLE_CANVAS px
    and bilinearly upscaled, which keeps thick 512 px strokes cheap and smooth.
    """
    h, w = image.shape[:2]
    small = cv2.medianBlur(resize_long_side(image, DOODLE_SIDE), 5)  # texture out, edges kept
    min_size = max(4, small.shape[0] * small.shape[1] // 250)  # a small object, not a speck
    from skimage.segmentation import felzenszwalb

    labels = felzenszwalb(small, scale=float(scale), sigma=0.0, min_size=min_size)
    canvas_scale = min(1.0, DOODLE_CANVAS / max(h, w))
    ch, cw = max(1, round(h * canvas_scale)), max(1, round(w * canvas_scale))
    labels = smooth_labels(labels, ch, cw, sigma=smoothness * min(ch, cw))
    pen = cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (max(1, round(thickness * canvas_scale)),) * 2
    )
    strokes = cv2.dilate(region_borders(labels), pen)
    strokes = cv2.resize(strokes, (w, h), interpolation=cv2.INTER_LINEAR)
    return three_channels(np.where(strokes >= 128, BLACK, WHITE).astype(np.uint8))


def smooth_labels(labels: np.ndarray, h: int, w: int, sigma: float) -> np.ndarray:
    """Upscale a small label map to h x w with rounded borders (HxW int32).

    Each region's mask is upscaled and blurred by `sigma` px, then every pixel takes the
    region that covers it most: a blocky border becomes a smooth curve.
    """
    one_hot = (labels[:, :, None] == np.arange(labels.max() + 1)).astype(np.float32)
    cover = cv2.resize(one_hot, (w, h), interpolation=cv2.INTER_LINEAR)
    cover = cv2.GaussianBlur(cover, (0, 0), max(sigma, 0.5))
    if cover.ndim == 2:  # cv2 drops the channel axis of a one-region map
        return np.zeros((h, w), np.int32)
    return cover.argmax(axis=2).astype(np.int32)


def region_borders(labels: np.ndarray) -> np.ndarray:
    """255 on pixels whose right or lower neighbour lies in another region, else 0."""
    borders = np.zeros(labels.shape, np.uint8)
    borders[:, 1:][labels[:, 1:] != labels[:, :-1]] = 255
    borders[1:, :][labels[1:, :] != labels[:-1, :]] = 255
    return borders


# --------------------------------------------------------------------------------------------
# Degradations (restoration inputs, and the low-level "degradation" target)
# --------------------------------------------------------------------------------------------


def add_noise(image: np.ndarray, sigma: float, seed: int, kind: str = "gaussian") -> np.ndarray:
    """Zero-mean noise of standard deviation `sigma` grey levels.

    "gaussian": the same spread everywhere. "poisson": shot noise, its spread growing with
    the square root of brightness (sigma is the spread at mid grey), as in a dark sensor.
    """
    noise = np.random.default_rng(seed).standard_normal(image.shape, dtype=np.float32) * sigma
    if kind == "poisson":
        noise *= np.sqrt(image.astype(np.float32) / 128.0)
    elif kind != "gaussian":
        raise ValueError(f"unknown noise kind {kind!r}; use gaussian or poisson")
    noise += image
    return to_uint8(noise)


def gaussian_blur(image: np.ndarray, sigma: float, kernel: int = 0) -> np.ndarray:
    """Gaussian blur; with kernel=0 the kernel covers +-3 sigma, with sigma=0 cv2 sets it."""
    return cv2.GaussianBlur(image, (int(kernel), int(kernel)), float(sigma))


def motion_blur(image: np.ndarray, length: int, angle: float) -> np.ndarray:
    """Linear camera shake: the mean of the image along a `length` px line at `angle` deg."""
    size = int(length) | 1  # an odd kernel has a centre pixel
    kernel = np.zeros((size, size), np.float32)
    centre = size // 2
    dx, dy = np.cos(np.radians(angle)) * centre, np.sin(np.radians(angle)) * centre
    start = (round(centre - dx), round(centre - dy))
    end = (round(centre + dx), round(centre + dy))
    cv2.line(kernel, start, end, 1.0, thickness=1, lineType=cv2.LINE_AA)
    kernel /= kernel.sum()
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT)


def resample(image: np.ndarray, scale: float, upscale: str = "bicubic") -> np.ndarray:
    """Area-downscale by `scale` (< 1), then upscale back to the original size: lost detail."""
    h, w = image.shape[:2]
    small = cv2.resize(
        image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    interpolation = {"bicubic": cv2.INTER_CUBIC, "bilinear": cv2.INTER_LINEAR}[upscale]
    return cv2.resize(small, (w, h), interpolation=interpolation)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode as JPEG at `quality` and decode again: blocking and ringing artefacts."""
    ok, data = cv2.imencode(
        ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    )
    if not ok:
        raise RuntimeError("cv2.imencode could not write a JPEG")
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def darken(image: np.ndarray, gamma: float, gain: float) -> np.ndarray:
    """Under-exposure: gain * x**gamma on [0, 1] values; gamma > 1 crushes the shadows."""
    values = image.astype(np.float32) / 255.0
    return to_uint8(gain * np.power(values, gamma) * 255.0)


def haze(
    image: np.ndarray, beta: float, airlight: list[float], near: float, seed: int
) -> np.ndarray:
    """Atmospheric scattering I = J*t + A*(1 - t), with t = exp(-beta * depth).

    The depth is synthetic and smooth: it rises from `near` at the bottom of the picture to
    1 at the top (the ground is near, the horizon far), bent by low-frequency noise from
    `seed`. `airlight` is the haze colour, RGB in [0, 1].
    """
    h, w = image.shape[:2]
    depth = synthetic_depth(h, w, near, seed)
    transmission = np.exp(-beta * depth)[:, :, None]  # HxWx1
    light = np.asarray(airlight, np.float32) * 255.0
    return to_uint8(image * transmission + light * (1.0 - transmission))


def synthetic_depth(h: int, w: int, near: float, seed: int) -> np.ndarray:
    """Smooth depth in [near, 1], HxW float32: far at the top, with gentle random relief."""
    ramp = np.linspace(1.0, 0.0, h, dtype=np.float32)[:, None]  # 1 at the top row
    relief = smooth_field(h, w, 4, np.random.default_rng(seed)) * 0.25
    depth = np.clip(ramp + relief, 0.0, 1.0)
    return near + (1.0 - near) * depth


DEGRADATIONS = ("noise", "resize", "jpeg", "blur")


def degrade(image: np.ndarray, steps: list[dict[str, Any]], seed: int) -> np.ndarray:
    """Apply degradation steps in the order given (Real-ESRGAN style chains).

    Each step is {"op": one of DEGRADATIONS, ...its value}: noise `sigma`, resize `scale`,
    jpeg `quality`, blur `kernel` (odd, px). `seed` drives the noise.
    """
    out = image
    for step in steps:
        op = step["op"]
        if op == "noise":
            out = add_noise(out, step["sigma"], seed)
        elif op == "resize":
            out = resample(out, step["scale"], upscale="bilinear")
        elif op == "jpeg":
            out = jpeg(out, step["quality"])
        elif op == "blur":
            out = gaussian_blur(out, 0, kernel=step["kernel"])
        else:
            raise ValueError(f"unknown degradation {op!r}; expected one of {DEGRADATIONS}")
    return out
