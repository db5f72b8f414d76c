"""Global looks as pure operators: artistic styles, colour grades, brightness and contrast.

Every operator takes an RGB uint8 image (HxWx3) and JSON-able parameters and returns a new
image of the same size. Sizes inside the parameters (blur radii, filter windows) are
fractions of the image's short side, so one set of parameters gives the same look on a
64 px thumbnail and on a 512 px photo: a style reference pair applies one style to two
images of different sizes. Textures (paper, film grain) come from a seed in the parameters.

`draw_*_params` spend a generator and return the parameters; `apply_style`, `color_grade`
and `adjust_tone` render them. Pair makers record the parameters.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

# ============================================================================================
# Helpers
# ============================================================================================


def to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def short_side(image: np.ndarray) -> int:
    return min(image.shape[:2])


def luma(image: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma of an RGB image as float32 HxW, in the image's own scale."""
    return image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def mean_abs_change(before: np.ndarray, after: np.ndarray) -> float:
    """Mean absolute difference in grey levels: how visible a global edit is."""
    return float(np.abs(before.astype(np.int16) - after).mean())


def _rounded(value: float) -> float:
    # Three decimals: a drawn value survives JSON exactly and still spreads finely.
    return round(float(value), 3)


def _pick(rng: np.random.Generator, options) -> Any:
    # Index, not rng.choice: the pick stays a plain Python value, so params stay JSON-able.
    options = list(options)
    return options[int(rng.integers(len(options)))]


def _odd(n: float) -> int:
    n = max(3, round(n))
    return n if n % 2 else n + 1


# ============================================================================================
# Artistic styles
# ============================================================================================


def pencil_sketch(image: np.ndarray, blur: float, darkness: float) -> np.ndarray:
    """Colour-dodge sketch: the grey photo divided by its blurred negative.

    Flat areas go white and edges, where the blur differs from the pixel, stay dark: the
    classic "pencil" look. `darkness` (a gamma >= 1) deepens the strokes.
    """
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    sigma = max(0.5, blur * short_side(image))
    negative_blur = cv2.GaussianBlur(255 - gray, (0, 0), sigma)
    sketch = cv2.divide(gray, 255 - negative_blur, scale=256)  # uint8, saturates at 255
    gamma = to_uint8(255.0 * np.linspace(0.0, 1.0, 256) ** darkness)  # 256-entry LUT
    return np.repeat(cv2.LUT(sketch, gamma)[:, :, None], 3, axis=2)


def colored_pencil(image: np.ndarray, blur: float, darkness: float) -> np.ndarray:
    """The pencil strokes over pale colours, as if shaded with coloured pencils."""
    strokes = pencil_sketch(image, blur, darkness).astype(np.float32) / 255.0
    pale = 0.55 * image.astype(np.float32) + 0.45 * 255.0
    return to_uint8(pale * strokes)


def cartoon(image: np.ndarray, levels: int, line_block: float, line_offset: int) -> np.ndarray:
    """Smoothed flat colours (bilateral filter, then `levels` steps per channel) under black
    lines where the grey image is darker than its neighbourhood (adaptive threshold)."""
    smooth = cv2.bilateralFilter(image, 5, 60, 5)
    step = 256 // levels
    flat = (smooth // step) * step + step // 2
    gray = cv2.medianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), 5)
    block = _odd(line_block * short_side(image))
    paper = cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, line_offset
    )  # 255 where no line
    return cv2.bitwise_and(flat, flat, mask=paper)


# Watercolour washes are soft, so the slow edge-preserving filter runs on a copy with this
# long side at most, and the result is scaled back: about a quarter of the time at 512 px.
WASH_SIDE = 256


def watercolor(
    image: np.ndarray, spread: float, edge_keep: float, wash: float, paper: float, seed: int
) -> np.ndarray:
    """Edge-preserving smoothing (cv2.edgePreservingFilter) lightened towards white and
    printed on a seeded paper grain."""
    h, w = image.shape[:2]
    scale = min(1.0, WASH_SIDE / max(h, w))
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), cv2.INTER_AREA)
    sigma_s = float(np.clip(spread * short_side(small), 1.0, 200.0))
    soft = cv2.edgePreservingFilter(
        small, flags=cv2.RECURS_FILTER, sigma_s=sigma_s, sigma_r=edge_keep
    )
    soft = cv2.resize(soft, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    washed = soft * (1.0 - wash) + 255.0 * wash
    return to_uint8(washed * paper_texture(h, w, paper, seed)[:, :, None])


def paper_texture(h: int, w: int, strength: float, seed: int) -> np.ndarray:
    """A multiplicative grain around 1.0 (HxW float32): blurred noise, unit variance."""
    noise = np.random.default_rng(seed).standard_normal((h, w), dtype=np.float32)
    grain = cv2.GaussianBlur(noise, (0, 0), 2.5)
    grain /= max(float(grain.std()), 1e-6)
    return 1.0 + strength * np.clip(grain, -3.0, 3.0)


def oil_paint(image: np.ndarray, radius: float) -> np.ndarray:
    """Kuwahara filter: each pixel takes the mean colour of the flattest of the four windows
    that have it as a corner. Strokes follow the edges, as thick paint does."""
    r = max(1, round(radius * short_side(image)))
    size = (r + 1, r + 1)
    colour, grey = image.astype(np.float32), luma(image)
    best_mean, best_spread = None, None
    for anchor in ((0, 0), (r, 0), (0, r), (r, r)):  # window right-down ... left-up of the pixel
        mean = _window_mean(colour, size, anchor)  # HxWx3
        spread = _window_mean(grey * grey, size, anchor) - _window_mean(grey, size, anchor) ** 2
        if best_mean is None:
            best_mean, best_spread = mean, spread
            continue
        flatter = spread < best_spread  # HxW; copyto with `where` beats argmin + gather 5x
        np.copyto(best_mean, mean, where=flatter[:, :, None])
        np.copyto(best_spread, spread, where=flatter)
    return to_uint8(best_mean)


def _window_mean(image: np.ndarray, size: tuple[int, int], anchor: tuple[int, int]):
    """Mean over a box of `size` whose `anchor` cell sits on each pixel."""
    return cv2.blur(image, size, anchor=anchor, borderType=cv2.BORDER_REFLECT)


SEPIA_MATRIX = np.array(
    [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], np.float32
)


def sepia(image: np.ndarray, strength: float) -> np.ndarray:
    """The classic sepia matrix, blended with the photo by `strength` (1 = full sepia)."""
    colour = image.astype(np.float32)
    toned = np.minimum(cv2.transform(colour, SEPIA_MATRIX), 255.0)
    return to_uint8(colour * (1.0 - strength) + toned * strength)


def vintage(
    image: np.ndarray, tone: float, fade: float, vignette: float, grain: float, seed: int
) -> np.ndarray:
    """An old print: partial sepia, lifted blacks, darkened corners and film grain."""
    h, w = image.shape[:2]
    toned = sepia(image, tone).astype(np.float32)
    lifted = fade * 255.0 + toned * (1.0 - fade)
    y, x = np.ogrid[:h, :w]
    radius2 = ((x - (w - 1) / 2) / (w / 2)) ** 2 + (
        (y - (h - 1) / 2) / (h / 2)
    ) ** 2  # 2 at corners
    darkened = lifted * (1.0 - vignette * radius2 / 2.0).astype(np.float32)[:, :, None]
    noise = np.random.default_rng(seed).standard_normal((h, w), dtype=np.float32)
    return to_uint8(darkened + (grain * 255.0) * noise[:, :, None])


STYLE_OPERATORS = {
    "pencil_sketch": pencil_sketch,
    "colored_pencil": colored_pencil,
    "cartoon": cartoon,
    "watercolor": watercolor,
    "oil_paint": oil_paint,
    "sepia": sepia,
    "vintage": vintage,
}
STYLES = tuple(STYLE_OPERATORS)
# How instructions name each style (with its article: "turn {image} into $style").
STYLE_WORDS = {
    "pencil_sketch": "a pencil sketch",
    "colored_pencil": "a coloured pencil drawing",
    "cartoon": "a cartoon",
    "watercolor": "a watercolour painting",
    "oil_paint": "an oil painting",
    "sepia": "a sepia photograph",
    "vintage": "a vintage photograph",
}


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31))


_STYLE_DRAWS = {
    "pencil_sketch": lambda rng: {
        "blur": _rounded(rng.uniform(0.01, 0.03)),
        "darkness": _rounded(rng.uniform(1.0, 2.0)),
    },
    "colored_pencil": lambda rng: {
        "blur": _rounded(rng.uniform(0.01, 0.03)),
        "darkness": _rounded(rng.uniform(1.5, 2.5)),
    },
    "cartoon": lambda rng: {
        "levels": int(rng.integers(4, 9)),
        "line_block": _rounded(rng.uniform(0.015, 0.035)),
        "line_offset": int(rng.integers(6, 13)),
    },
    "watercolor": lambda rng: {
        "spread": _rounded(rng.uniform(0.1, 0.3)),
        "edge_keep": _rounded(rng.uniform(0.3, 0.6)),
        "wash": _rounded(rng.uniform(0.08, 0.2)),
        "paper": _rounded(rng.uniform(0.01, 0.025)),
        "seed": _seed(rng),
    },
    "oil_paint": lambda rng: {"radius": _rounded(rng.uniform(0.008, 0.016))},
    "sepia": lambda rng: {"strength": _rounded(rng.uniform(0.8, 1.0))},
    "vintage": lambda rng: {
        "tone": _rounded(rng.uniform(0.4, 0.8)),
        "fade": _rounded(rng.uniform(0.05, 0.15)),
        "vignette": _rounded(rng.uniform(0.3, 0.6)),
        "grain": _rounded(rng.uniform(0.02, 0.05)),
        "seed": _seed(rng),
    },
}


def draw_style_params(rng: np.random.Generator, style: str | None = None) -> dict[str, Any]:
    """A style (drawn unless given) and its settings: {"style": name, ...}."""
    style = _pick(rng, STYLES) if style is None else style
    if style not in _STYLE_DRAWS:
        raise ValueError(f"unknown style {style!r}; known: {', '.join(STYLES)}")
    return {"style": style, **_STYLE_DRAWS[style](rng)}


def apply_style(image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    settings = dict(params)
    style = settings.pop("style")
    if style not in STYLE_OPERATORS:
        raise ValueError(f"unknown style {style!r}; known: {', '.join(STYLES)}")
    return STYLE_OPERATORS[style](image, **settings)


# ============================================================================================
# Colour grades: curves on the channels, or shifts tied to brightness
# ============================================================================================

# Adjectives, as in "apply a $grade colour grade".
GRADE_WORDS = {
    "warm": "warm",
    "cool": "cool",
    "teal_orange": "teal-and-orange",
    "desaturate": "desaturated",
    "cross_process": "cross-processed",
    "faded": "faded",
    "vivid": "vivid",
}
GRADES = tuple(GRADE_WORDS)
GRADE_LEVELS = ("subtle", "moderate", "strong")


# Every grade and tone change below is a function of a pixel's own values (or of its luma),
# so it runs as a 256-entry table lookup (cv2.LUT) instead of float maths per pixel.
LEVELS = np.arange(256, dtype=np.float32)


def _curves(image: np.ndarray, curve_r, curve_g, curve_b) -> np.ndarray:
    """Apply one tone curve per channel (functions of x in [0, 1]) through a 256-entry LUT."""
    x = LEVELS / 255.0
    lut = np.stack([curve_r(x), curve_g(x), curve_b(x)], axis=1)  # 256x3
    return cv2.LUT(image, to_uint8(255.0 * lut).reshape(256, 1, 3))


def _grey3(image: np.ndarray) -> np.ndarray:
    """Luma (cv2's 601 weights, uint8) repeated in three channels."""
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


def _s_curve(x: np.ndarray, k: float) -> np.ndarray:
    """More contrast around mid-grey; monotone for 0 <= k <= 1 (slope 1 - k cos(2 pi x))."""
    return x - k * np.sin(2 * np.pi * x) / (2 * np.pi)


def _warm(image: np.ndarray, s: float) -> np.ndarray:
    return _curves(
        image,
        lambda x: x ** (1 / (1 + s)),
        lambda x: x ** (1 / (1 + s / 4)),
        lambda x: x ** (1 + s),
    )


def _cool(image: np.ndarray, s: float) -> np.ndarray:
    return _curves(image, lambda x: x ** (1 + s), lambda x: x, lambda x: x ** (1 / (1 + s)))


def _cross_process(image: np.ndarray, s: float) -> np.ndarray:
    # Slide film in negative chemistry: punchy red and green, flat blue with lifted blacks.
    return _curves(
        image,
        lambda x: (1 - s) * x + s * _s_curve(x, 0.9),
        lambda x: (1 - s) * x + s * _s_curve(x, 0.6),
        lambda x: (1 - s) * x + s * (0.15 + 0.7 * x),
    )


def _faded(image: np.ndarray, s: float) -> np.ndarray:
    lift, drop = 0.25 * s, 0.1 * s  # matte: no true black, no true white

    def curve(x):
        return lift + x * (1 - lift - drop)

    return _saturate(_curves(image, curve, curve, curve), -0.3 * s)


def _saturate(image: np.ndarray, amount: float) -> np.ndarray:
    """Move colours away from (amount > 0) or towards (amount < 0) their grey:
    grey + (colour - grey) * (1 + amount), rounded and saturated by cv2.addWeighted."""
    return cv2.addWeighted(image, 1.0 + amount, _grey3(image), -amount, 0.0)


def _teal_orange(image: np.ndarray, s: float) -> np.ndarray:
    """Split toning: shadows shift towards teal, highlights towards orange."""
    light = (LEVELS / 255.0)[:, None]  # 256x1, indexed by luma
    teal, orange = np.array([-1.0, 0.25, 0.8], np.float32), np.array([1.0, 0.35, -0.8], np.float32)
    shift = np.rint(60.0 * s * ((1 - light) ** 2 * teal + light**2 * orange))  # 256x3
    offsets = cv2.LUT(_grey3(image), shift.astype(np.int16).reshape(256, 1, 3))  # HxWx3
    return np.clip(image.astype(np.int16) + offsets, 0, 255).astype(np.uint8)


_GRADE_OPERATORS = {
    "warm": _warm,
    "cool": _cool,
    "teal_orange": _teal_orange,
    "desaturate": lambda image, s: _saturate(image, -s),
    "cross_process": _cross_process,
    "faded": _faded,
    "vivid": lambda image, s: _saturate(image, s),
}
# Strength band of each grade; "subtle" / "moderate" / "strong" are its thirds.
GRADE_STRENGTHS = {
    "warm": (0.1, 0.5),
    "cool": (0.1, 0.5),
    "teal_orange": (0.3, 1.0),
    "desaturate": (0.35, 0.9),
    "cross_process": (0.35, 1.0),
    "faded": (0.4, 1.0),
    "vivid": (0.3, 0.9),
}


def draw_grade_params(rng: np.random.Generator) -> dict[str, Any]:
    grade = _pick(rng, GRADES)
    level = int(rng.integers(len(GRADE_LEVELS)))
    strength = _in_third(rng, GRADE_STRENGTHS[grade], level)
    return {"grade": grade, "level": GRADE_LEVELS[level], "strength": strength}


def color_grade(image: np.ndarray, grade: str, strength: float) -> np.ndarray:
    if grade not in _GRADE_OPERATORS:
        raise ValueError(f"unknown grade {grade!r}; known: {', '.join(GRADES)}")
    return _GRADE_OPERATORS[grade](image, float(strength))


def _in_third(rng: np.random.Generator, band: tuple[float, float], third: int) -> float:
    lo, hi = band
    width = (hi - lo) / 3
    return _rounded(rng.uniform(lo + third * width, lo + (third + 1) * width))


# ============================================================================================
# Brightness and contrast
# ============================================================================================

TONE_DIRECTIONS = ("brighter", "darker", "more_contrast", "less_contrast")
TONE_LEVELS = ("slightly", "noticeably", "much")
# Amount bands per direction, split in thirds by level: brightness as a fraction of full
# scale added or removed, contrast as the fraction by which the spread grows or shrinks.
TONE_AMOUNTS = {
    "brighter": (0.06, 0.27),
    "darker": (0.06, 0.27),
    "more_contrast": (0.15, 0.75),
    "less_contrast": (0.15, 0.6),
}


def draw_tone_params(rng: np.random.Generator) -> dict[str, Any]:
    direction = _pick(rng, TONE_DIRECTIONS)
    level = int(rng.integers(len(TONE_LEVELS)))
    amount = _in_third(rng, TONE_AMOUNTS[direction], level)
    return {"direction": direction, "level": TONE_LEVELS[level], "amount": amount}


def adjust_tone(image: np.ndarray, direction: str, amount: float) -> np.ndarray:
    """Brightness adds a constant; contrast scales the distance to the mean brightness, so
    a contrast change leaves the overall brightness where it was."""
    if direction in ("brighter", "darker"):
        sign = 1.0 if direction == "brighter" else -1.0
        table = LEVELS + sign * amount * 255.0
    elif direction in ("more_contrast", "less_contrast"):
        factor = 1.0 + amount if direction == "more_contrast" else 1.0 - amount
        pivot = float(np.dot(cv2.mean(image)[:3], [0.299, 0.587, 0.114]))  # mean luma
        table = pivot + (LEVELS - pivot) * factor
    else:
        raise ValueError(f"unknown direction {direction!r}; known: {', '.join(TONE_DIRECTIONS)}")
    return cv2.LUT(image, to_uint8(table))
