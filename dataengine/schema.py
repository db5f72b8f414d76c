"""The pair record: every name, category and member on disk, in one place.

One sample is one Long-context Condition Unit (LCU): the frames the model sees (history
turns first, then the current inputs, each an image with an optional mask and its own
instruction) and the target image. docs/FORMAT.md describes the layout on disk; this module
is its executable form. Nothing here touches the file system.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FORMAT_VERSION = 1

CATEGORIES = (
    "text_to_image",
    "low_level_analysis",
    "controllable_generation",
    "semantic_editing",
    "element_editing",
    "repainting",
    "layer_editing",
    "reference_generation",
    "multi_turn",
)
SPLITS = ("train", "val", "bench")
ROLES = ("history", "input")
# What 255 in a frame's mask means. "edit": the region to edit (what ACE's conditioning
# expects); "layer": a layer's pixels (the object to keep, the layer to merge); "take": the
# part of a reference frame to take into the target.
MASK_ROLES = ("edit", "layer", "take")
INSTRUCTION_SOURCES = ("template", "llm_rewrite", "mllm", "human")
MAX_FRAMES = 9  # src0 .. src8: the one limit on conditioning frames per sample

# Row statuses. "ok" rows have a sample in the shard; every other status is an error kind and
# the row lives only in the Parquet index. Pair makers raise many more kinds (PairError names
# its own); these are the ones that code sets or compares against in more than one place.
STATUS_OK = "ok"  # the sample is in the shard
STATUS_REJECTED = "rejected"  # refused by a select threshold, or by the curation table on export
STATUS_READ_ERROR = "read_error"  # a source could not read the image file or its caption
STATUS_MISSING_IMAGE = "missing_image"  # a source row (a Parquet shard's) holds no image bytes
STATUS_NEEDS_MLLM = "needs_mllm_instruction"  # a mined pair whose captions cannot word its edit
STATUS_NOT_A_FILE = "not_a_file"  # a source's path is a FIFO, a device, a folder: not read
STATUS_TOO_LARGE = "file_too_large"  # a source's file or member is over the size read

# An instruction names its current input frames {image}, {image1}, {image2}... (ACE's spelling:
# the first frame has no number). Group 1 is the number as written, "" for {image}.
IMAGE_PLACEHOLDER = re.compile(r"\{image(\d*)\}")


# --------------------------------------------------------------------------------------------
# In-memory records
# --------------------------------------------------------------------------------------------


@dataclass
class SourceImage:
    """One source image as it flows from a source through decoding into the pair makers.

    `data` holds the encoded bytes until the decode stage fills `image` (RGB uint8, HxWx3).
    `group` ties variants of one original together (crops of one photo, members of one
    shapes-world family) so that they land in the same split.
    """

    id: str
    group: str
    data: bytes | None = None
    image: np.ndarray | None = None
    caption: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    split: str = "train"
    status: str = STATUS_OK
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK


@dataclass
class Frame:
    """One conditioning frame of an LCU. `mask` is uint8 HxW; what 255 means is its
    `mask_role` (MASK_ROLES): the region to edit, unless the frame says otherwise."""

    image: np.ndarray
    mask: np.ndarray | None = None
    instruction: str | None = None
    role: str = "input"
    lossless: bool = False  # png instead of jpg: maps, masks, rendered text
    mask_role: str = "edit"


@dataclass
class Pair:
    """One sample (an LCU plus its target), or the row of a sample that failed.

    `slots` carries what a template instruction is filled with (caption, colour names...).
    A failed row keeps task, split and provenance but no images.
    """

    key: str
    task: str
    category: str
    split: str
    frames: list[Frame] = field(default_factory=list)
    target: np.ndarray | None = None
    target_lossless: bool = False
    instruction: str | None = None
    instruction_source: str = "template"
    slots: dict[str, Any] = field(default_factory=dict)
    caption: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    status: str = STATUS_OK
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK

    def fail(self, status: str, error: str) -> Pair:
        """Turn this row into an error row: images go, the reason stays."""
        self.status, self.error = status, error
        self.frames, self.target = [], None
        return self


@dataclass
class Unit:
    """A work unit: a fixed, content-addressed slice of the sources that becomes one shard."""

    id: str
    split: str
    index: int  # shard number within its split
    refs: list[Any] = field(default_factory=list)  # SourceRefs, loaded into `sources`
    sources: list[SourceImage] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    # Rows the sink has already encoded (sinks.shard_writer.PackedSample): a chain that runs
    # a unit a slice of sources at a time packs each slice's pairs as it goes.
    packed: list[Any] = field(default_factory=list)

    @property
    def shard_name(self) -> str:
        return shard_name(self.split, self.index)


# --------------------------------------------------------------------------------------------
# Names on disk
# --------------------------------------------------------------------------------------------


def shard_name(split: str, index: int) -> str:
    return f"{split}-{index:06d}"


def frame_member(i: int, lossless: bool) -> str:
    return f"src{i}.{'png' if lossless else 'jpg'}"


def mask_member(i: int) -> str:
    return f"mask{i}.png"


def target_member(lossless: bool) -> str:
    return f"tgt.{'png' if lossless else 'jpg'}"


# --------------------------------------------------------------------------------------------
# Frame placeholders in instructions
# --------------------------------------------------------------------------------------------


def frame_number(match: re.Match[str]) -> int:
    """The frame an IMAGE_PLACEHOLDER match names: {image} -> 0, {image1} -> 1."""
    return int(match.group(1) or 0)


def image_refs(text: str) -> list[int]:
    """The frames `text` names, in the order it names them, repeats kept."""
    return [frame_number(match) for match in IMAGE_PLACEHOLDER.finditer(text)]


def image_ref(token: str) -> int | None:
    """The frame one placeholder such as "{image1}" names; None when it is no frame
    placeholder ("{img}", "{color}")."""
    match = IMAGE_PLACEHOLDER.fullmatch(token)
    return None if match is None else frame_number(match)


def placeholder(frame: int | str) -> str:
    """The placeholder that names `frame`: 0 -> "{image}", 1 -> "{image1}". A str is a number
    as IMAGE_PLACEHOLDER captured it ("" for {image}), spelt back as written: "01" stays "01"."""
    number = (str(frame) if frame else "") if isinstance(frame, int) else frame
    return f"{{image{number}}}"


def replace_placeholders(text: str, word: str) -> str:
    """`text` with each frame placeholder replaced by `word`, for readers of plain text."""
    return IMAGE_PLACEHOLDER.sub(word, text)


# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------


def canonical_json(value: Any) -> str:
    """JSON that is the same on every machine: sorted keys, no spaces, numpy scalars as floats.

    Always valid Unicode: a lone surrogate (an undecodable file name, a JSON escape in an
    input's json member) would be written as an escape strict readers refuse, so such
    strings are written as `valid_text` gives them."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)
    if "\\ud" in text:  # rare: only then walk the value for strings to repair
        text = json.dumps(_valid_texts(value), sort_keys=True, separators=(",", ":"),
                          default=_json_default)  # fmt: skip
    return text


def valid_text(text: str) -> str:
    """`text` as valid Unicode. Bytes a file system or tar could not decode (Python keeps
    them as lone surrogates U+DC80..U+DCFF) become visible `\\xNN` escapes; any other lone
    surrogate becomes U+FFFD."""
    if not _LONE_SURROGATE.search(text):
        return text
    return _LONE_SURROGATE.sub(_escape_surrogate, text)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # a str holds a valid pair as one char


def _escape_surrogate(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else "\ufffd"


def _valid_texts(value: Any) -> Any:
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, dict):
        return {valid_text(str(k)): _valid_texts(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_valid_texts(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot put {type(value).__name__} into a key or json field")


def content_key(recipe: str, task: str, source_ids: list[str], params: dict, seed: int) -> str:
    """The sample key: a hex hash of what made it, so reruns give the same key everywhere.

    Hex has no dots, and WebDataset splits member names at the first dot.
    """
    payload = canonical_json([recipe, task, list(source_ids), params, int(seed)])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


KEY_PATTERN = re.compile(r"^[0-9a-f]{16,64}$")  # a content_key (and the keys readers accept)
SCORE_NAME = re.compile(r"^[A-Za-z0-9_]+$")  # score_<name>: a name is also a file name


def is_key(text: str) -> bool:
    """Whether `text` is a sample key. Readers check before a key names anything on disk:
    a key read from a corpus is untrusted (`../../x` is a valid tar member prefix)."""
    return bool(KEY_PATTERN.match(text))


def derive_seed(*parts: Any) -> int:
    """A 63-bit seed from any JSON-able parts (recipe seed, source id, task...)."""
    digest = hashlib.sha256(canonical_json(list(parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def rng_for(*parts: Any) -> np.random.Generator:
    return np.random.default_rng(derive_seed(*parts))


# --------------------------------------------------------------------------------------------
# The json member and the index row
# --------------------------------------------------------------------------------------------


# The fields of the `<key>.json` member and of each entry of its "frames" list, exactly those
# of docs/FORMAT.md: the writer builds them from these names and validate checks against them.
SAMPLE_FIELDS = (
    "task",
    "category",
    "instruction",
    "frames",
    "target",
    "instruction_source",
    "caption",
    "provenance",
    "scores",
    "split",
)
FRAME_FIELDS = ("image", "mask", "mask_role", "instruction", "role")


def frame_entries(pair: Pair) -> list[dict[str, Any]]:
    return [frame_entry(i, frame) for i, frame in enumerate(pair.frames)]


def frame_entry(i: int, frame: Frame) -> dict[str, Any]:
    """One entry of the json's "frames": FRAME_FIELDS, in order."""
    mask = mask_member(i) if frame.mask is not None else None
    values = (frame_member(i, frame.lossless), mask, frame.mask_role, frame.instruction, frame.role)
    return dict(zip(FRAME_FIELDS, values, strict=True))


def sample_json(pair: Pair) -> dict[str, Any]:
    """The `<key>.json` member: SAMPLE_FIELDS, in order."""
    values = (
        pair.task,
        pair.category,
        pair.instruction,
        frame_entries(pair),
        target_member(pair.target_lossless),
        pair.instruction_source,
        pair.caption,
        pair.provenance,
        pair.scores,
        pair.split,
    )
    return dict(zip(SAMPLE_FIELDS, values, strict=True))


# Fixed index columns; `score_<name>` float columns follow, one per score computed.
PROVENANCE_FIELDS = (
    "recipe",
    "stage",
    "operator",
    "version",
    "params",
    "seed",
    "source_ids",
    "parents",
    "model",
    "scenes",
)
INDEX_COLUMNS = (
    "key",
    "status",
    "error",
    "split",
    "task",
    "category",
    "instruction",
    "instruction_source",
    "caption",
    "n_frames",
    "frames",
    "target",
    *(f"provenance_{name}" for name in PROVENANCE_FIELDS),
    "member_sizes",
    "bytes",
)


def index_row(pair: Pair, member_sizes: dict[str, int]) -> dict[str, Any]:
    """One Parquet index row: the json fields flattened, structured values as JSON text."""
    prov = pair.provenance
    row: dict[str, Any] = {
        "key": pair.key,
        "status": pair.status,
        "error": pair.error,
        "split": pair.split,
        "task": pair.task,
        "category": pair.category,
        "instruction": pair.instruction,
        "instruction_source": pair.instruction_source,
        "caption": pair.caption,
        "n_frames": len(pair.frames),
        "frames": canonical_json(frame_entries(pair)) if pair.ok else None,
        "target": target_member(pair.target_lossless) if pair.ok else None,
        "provenance_recipe": prov.get("recipe"),
        "provenance_stage": prov.get("stage"),
        "provenance_operator": prov.get("operator"),
        "provenance_version": prov.get("version"),
        "provenance_params": canonical_json(prov.get("params", {})),
        "provenance_seed": prov.get("seed"),
        "provenance_source_ids": list(prov.get("source_ids", [])),
        "provenance_parents": list(prov.get("parents", [])),
        "provenance_model": canonical_json(prov.get("model")),
        "provenance_scenes": canonical_json(prov.get("scenes")),
        "member_sizes": canonical_json(member_sizes),
        "bytes": int(sum(member_sizes.values())),
    }
    for name, value in sorted(pair.scores.items()):
        row[f"score_{name}"] = float(value)
    return row


def index_schema(rows: list[dict[str, Any]]):
    """The Parquet index schema: the fixed columns, then one float column per score seen."""
    import pyarrow as pa

    string, strings = pa.string(), pa.list_(pa.string())
    fields = [
        ("key", string),
        ("status", string),
        ("error", string),
        ("split", string),
        ("task", string),
        ("category", string),
        ("instruction", string),
        ("instruction_source", string),
        ("caption", string),
        ("n_frames", pa.int32()),
        ("frames", string),
        ("target", string),
        ("provenance_recipe", string),
        ("provenance_stage", string),
        ("provenance_operator", string),
        ("provenance_version", string),
        ("provenance_params", string),
        ("provenance_seed", pa.int64()),
        ("provenance_source_ids", strings),
        ("provenance_parents", strings),
        ("provenance_model", string),
        ("provenance_scenes", string),
        ("member_sizes", string),
        ("bytes", pa.int64()),
    ]
    scores = sorted({name for row in rows for name in row if name.startswith("score_")})
    return pa.schema(fields + [(name, pa.float64()) for name in scores])
