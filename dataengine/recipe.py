"""Strict YAML recipes: every key known, every type checked, every stage able to find its
inputs, before any work starts. A mistake stops the run with one message that names the
stage, the key and the fix.

    name: default            # names the output and goes into every sample key
    seed: 0                  # everything random derives from it
    source: {kind: sample_corpus, photos: 240}
    splits: {train: 0.9, val: 0.05, bench: 0.05}
    unit_size: 32            # sources per work unit (= per shard)
    stages:
      - stage: decode
        max_side: 768
      - stage: pairs
        tasks: {canny_extraction: 1.0, inpainting: 2.0}
      - stage: template_instructions
    sink: {jpeg_quality: 95}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dataengine.params import RecipeError, build_params, check_type, did_you_mean
from dataengine.registry import STAGES, build_source, with_resources
from dataengine.schema import SPLITS
from dataengine.sinks.shard_writer import SinkParams
from dataengine.source import Source
from dataengine.stage import Stage

TOP_LEVEL = {
    "name": str,
    "seed": int,
    "source": dict,
    "splits": dict,
    "unit_size": int,
    "stages": list,
    "sink": dict,
    "description": str,
}
REQUIRED = ("name", "source", "stages")


@dataclass
class Recipe:
    name: str
    seed: int
    source: Source
    stages: list[Stage]
    splits: dict[str, float] = field(default_factory=lambda: {"train": 1.0})
    unit_size: int = 32
    sink: SinkParams = field(default_factory=SinkParams)
    raw: dict[str, Any] = field(default_factory=dict)


def load_recipe(path: str | Path, overrides: dict[str, Any] | None = None) -> Recipe:
    """Read and validate a recipe file; `overrides` replaces top-level keys (e.g. source)."""
    raw = read_recipe_file(path)
    return build_recipe({**raw, **(overrides or {})}, where=Path(path).name)


def read_recipe_file(path: str | Path) -> dict[str, Any]:
    """A recipe file's mapping: UTF-8 text of plain YAML, no key given twice, no aliases."""
    path = Path(path)
    if not path.is_file():
        raise RecipeError(
            f"recipe {path} does not exist (the bundled ones are in pipelines/recipes/)"
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecipeError(
            f"recipe {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    try:
        raw = yaml.load(text, Loader=_RecipeLoader)
    except yaml.YAMLError as exc:
        raise RecipeError(f"recipe {path} is not valid YAML: {_first_line(exc)}") from None
    if not isinstance(raw, dict):
        raise RecipeError(f"recipe {path} must be a mapping with keys {', '.join(REQUIRED)}")
    return raw


class _RecipeLoader(yaml.SafeLoader):
    """YAML as a recipe needs it. A key given twice is a mistake (YAML keeps the last one
    silently); aliases are refused, since none is needed and nested ones expand into
    gigabytes (a "billion laughs")."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.YAMLError(
                f"line {mark.line + 1}: aliases (*name) are not allowed in a recipe; "
                "write the value out"
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise yaml.YAMLError(f"line {line}: key {key!r} is given twice; keep one")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _first_line(exc: yaml.YAMLError) -> str:
    return " ".join(str(exc).split())[:300]


def build_recipe(raw: dict[str, Any], where: str = "recipe") -> Recipe:
    _check_top_level(raw, where)
    name, seed = raw["name"], raw.get("seed", 0)
    source = build_source(raw["source"], where)
    stages = [_build_stage(i, spec, name, seed, where) for i, spec in enumerate(raw["stages"], 1)]
    _check_columns(stages, where)
    return Recipe(
        name=name,
        seed=seed,
        source=source,
        stages=stages,
        splits=_check_splits(raw.get("splits", {"train": 1.0}), where),
        unit_size=_check_unit_size(raw.get("unit_size", 32), where),
        sink=_build_sink(raw.get("sink", {}), where),
        raw=raw,
    )


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


def _check_top_level(raw: dict[str, Any], where: str) -> None:
    for key, value in raw.items():
        if key not in TOP_LEVEL:
            raise RecipeError(
                f"{where}: unknown key {key!r}{did_you_mean(key, TOP_LEVEL)}; "
                f"valid keys: {', '.join(TOP_LEVEL)}"
            )
        check_type(value, TOP_LEVEL[key], f"{where}: {key}")
    for key in REQUIRED:
        if key not in raw:
            raise RecipeError(
                f"{where}: missing key {key!r} (a recipe needs {', '.join(REQUIRED)})"
            )
    if not raw["stages"]:
        raise RecipeError(f"{where}: stages is empty; list at least one stage")


def _build_stage(i: int, spec: Any, recipe: str, seed: int, where: str) -> Stage:
    if not isinstance(spec, dict) or "stage" not in spec:
        raise RecipeError(
            f"{where}, stage {i}: each stage is a mapping with a 'stage' key "
            f"naming one of {', '.join(sorted(STAGES))}"
        )
    spec = dict(spec)
    name = spec.pop("stage")
    if name not in STAGES:
        raise RecipeError(
            f"{where}, stage {i}: unknown stage {name!r}"
            f"{did_you_mean(name, STAGES)}; known stages: "
            f"{', '.join(sorted(STAGES))}"
        )
    cls = STAGES[name]
    context = f"{where}, stage {i} ({name})"
    block = spec.pop("resources", None)
    params = build_params(cls.Params, spec, context)
    try:
        cls.validate(params)
    except ValueError as exc:
        raise RecipeError(f"{context}: {exc}") from None
    stage = cls(params, recipe=recipe, seed=seed)
    if block is not None:
        stage.resources = _stage_resources(stage, block, context)
    return stage


def _stage_resources(stage: Stage, block: Any, context: str):
    """A stage's `resources:` block: CPUs for any stage; GPUs and actors size the workers
    of a stage that holds a model, and mean nothing for one that does not."""
    resources = with_resources(stage.resources, block, context)
    pooled = sorted({"gpus", "actors"} & set(block))
    if pooled and not resources.holds_model:
        raise RecipeError(
            f"{context}: resources.{pooled[0]}: {stage.name} holds no model (it runs in "
            "every worker's chain); give only cpus"
        )
    return resources


def _check_columns(stages: list[Stage], where: str) -> None:
    """Each stage's inputs must be made by the source or by a stage before it."""
    available = {"sources"}
    for i, stage in enumerate(stages, 1):
        missing = sorted(stage.requires - available)
        if missing:
            makers = sorted(s for s, c in STAGES.items() if set(missing) & c.provides)
            raise RecipeError(
                f"{where}, stage {i} ({stage.name}): needs {', '.join(missing)}, "
                f"which no earlier stage provides; put one of "
                f"{', '.join(makers) or '(none)'} before it"
            )
        available |= stage.provides


def _check_splits(splits: dict[str, Any], where: str) -> dict[str, float]:
    for split, fraction in splits.items():
        if split not in SPLITS:
            raise RecipeError(
                f"{where}: splits has unknown split {split!r}; use {', '.join(SPLITS)}"
            )
        check_type(fraction, float, f"{where}: splits.{split}")
        if not 0 <= fraction <= 1:  # NaN fails this too
            raise RecipeError(f"{where}: splits.{split} is {fraction}; give a fraction in [0, 1]")
    total = sum(splits.values())
    if abs(total - 1.0) > 1e-6:
        raise RecipeError(f"{where}: splits add up to {total:g}; make them add up to 1")
    return {split: float(splits[split]) for split in SPLITS if split in splits}


def _build_sink(values: dict[str, Any], where: str) -> SinkParams:
    params = build_params(SinkParams, values, f"{where}, sink")
    try:
        params.check()
    except ValueError as exc:
        raise RecipeError(f"{where}, sink: {exc}") from None
    return params


def _check_unit_size(value: int, where: str) -> int:
    if value < 1:
        raise RecipeError(f"{where}: unit_size is {value}; it must be at least 1")
    return value
