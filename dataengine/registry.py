"""Every source, stage, pair maker and embedder a recipe can name, listed in one place.

One mechanism for all four: a table of name -> "module:Class", and a module is imported the
first time one of its names is looked up, so a command loads only what its recipe names: a
resize run skips the miners, the LLM writers, the quality stages and twelve task families,
about 80 ms of every `ace data run`'s start-up. `tests/dataengine/test_registry.py` checks
every entry against the class it names. A plug-in (or a test) adds a name with
`TABLE[name] = cls`.

`build_source` lives here too: a source is built from its recipe block by name, whoever
holds the block (the recipe, or a source mining another source's images).
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from collections.abc import Iterator, MutableMapping
from typing import Any

from dataengine.params import RecipeError, build_params, check_type, did_you_mean
from dataengine.stage import Resources


class LazyTable(MutableMapping):
    """name -> class, each imported from its "module:Class" path on first lookup. The names
    are known without importing anything; a name set here (a plug-in, a test) takes
    precedence over its path."""

    def __init__(self, paths: dict[str, str]):
        self._paths = dict(paths)
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        if name not in self._classes:
            module, attribute = self._paths[name].split(":")  # KeyError for an unknown name
            self._classes[name] = getattr(importlib.import_module(module), attribute)
        return self._classes[name]

    def __contains__(self, name: object) -> bool:  # without importing anything
        return name in self._classes or name in self._paths

    def __setitem__(self, name: str, cls: type) -> None:
        self._classes[name] = cls

    def __delitem__(self, name: str) -> None:
        if name not in self._classes and name not in self._paths:
            raise KeyError(name)
        self._classes.pop(name, None)
        self._paths.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._paths, *self._classes]))

    def __len__(self) -> int:
        return len(self._paths.keys() | self._classes.keys())

    def path(self, name: str) -> str | None:
        """The "module:Class" a name is listed with (None for one set at run time)."""
        return self._paths.get(name)


SOURCES = LazyTable(
    {
        "sample_corpus": "dataengine.sources.sample_corpus:SampleCorpus",
        "folder": "dataengine.sources.folder:FolderSource",
        "webdataset": "dataengine.sources.shards:WebDatasetSource",
        "parquet": "dataengine.sources.shards:ParquetSource",
        "mined_pairs": "dataengine.mine.source:MinedPairs",
    }
)
STAGES = LazyTable(
    {
        "decode": "dataengine.sources.decode_stage:Decode",
        "pairs": "dataengine.synth.stage:Pairs",
        "template_instructions": "dataengine.instruct.template_stage:TemplateInstructions",
        "llm_rewrite": "dataengine.instruct.llm_rewrite:LLMRewrite",
        "mllm_describe": "dataengine.instruct.mllm_describe:MLLMDescribe",
        "quality_scores": "dataengine.quality.stages:QualityScores",
        "clip_scores": "dataengine.quality.clip:ClipScores",
        "text_legibility": "dataengine.quality.text_legibility:TextLegibility",
        "select": "dataengine.quality.select:Select",
    }
)
EMBEDDERS = LazyTable(
    {
        "classical": "dataengine.mine.embedders.classical:ClassicalEmbedder",
        "open_clip": "dataengine.mine.embedders.clip:OpenClipEmbedder",
        "caption": "dataengine.mine.embedders.caption:CaptionEmbedder",
    }
)
# The pair makers, by task; a task's family is its module (dataengine.synth.<family>).
MAKERS = LazyTable(
    {
        "add_object": "dataengine.synth.element:AddObject",
        "add_object_photo": "dataengine.synth.element:AddObjectPhoto",
        "brightness_contrast": "dataengine.synth.semantic:BrightnessContrast",
        "canny_extraction": "dataengine.synth.low_level:CannyExtraction",
        "canny_to_image": "dataengine.synth.controllable:CannyToImage",
        "change_color": "dataengine.synth.semantic:ChangeColor",
        "change_count": "dataengine.synth.semantic:ChangeCount",
        "change_shape": "dataengine.synth.semantic:ChangeShape",
        "change_size": "dataengine.synth.semantic:ChangeSize",
        "color_grading": "dataengine.synth.semantic:ColorGrading",
        "colorization": "dataengine.synth.controllable:Colorization",
        "contour": "dataengine.synth.low_level:Contour",
        "contour_to_image": "dataengine.synth.controllable:ContourToImage",
        "controlnet_canny_generation": "dataengine.synth.generative:ControlNetCannyGeneration",
        "deblur": "dataengine.synth.restoration:Deblur",
        "degradation": "dataengine.synth.low_level:Degradation",
        "dehaze": "dataengine.synth.restoration:Dehaze",
        "denoise": "dataengine.synth.restoration:Denoise",
        "depth_extraction": "dataengine.synth.experts:DepthExtraction",
        "depth_to_image": "dataengine.synth.experts:DepthToImage",
        "diffusion_inpainting": "dataengine.synth.generative:DiffusionInpainting",
        "doodle": "dataengine.synth.low_level:Doodle",
        "doodle_to_image": "dataengine.synth.controllable:DoodleToImage",
        "extract_background": "dataengine.synth.layer:ExtractBackground",
        "extract_foreground": "dataengine.synth.layer:ExtractForeground",
        "grayscale": "dataengine.synth.low_level:Grayscale",
        "inpainting": "dataengine.synth.repainting:Inpainting",
        "jpeg_artifact_removal": "dataengine.synth.restoration:JpegArtifactRemoval",
        "low_light_enhancement": "dataengine.synth.restoration:LowLightEnhancement",
        "merge_layers": "dataengine.synth.layer:MergeLayers",
        "mined_add": "dataengine.mine.pair_maker:MinedAdd",
        "mined_edit": "dataengine.mine.pair_maker:MinedEdit",
        "mined_remove": "dataengine.mine.pair_maker:MinedRemove",
        "mosaic": "dataengine.synth.low_level:Mosaic",
        "move_object": "dataengine.synth.semantic:MoveObject",
        "multi_turn_edit": "dataengine.synth.multi_turn:MultiTurnEdit",
        "object_inpainting": "dataengine.synth.repainting:ObjectInpainting",
        "object_reference": "dataengine.synth.reference:ObjectReference",
        "outpainting": "dataengine.synth.repainting:Outpainting",
        "pose_extraction": "dataengine.synth.experts:PoseExtraction",
        "pose_to_image": "dataengine.synth.experts:PoseToImage",
        "remove_object": "dataengine.synth.element:RemoveObject",
        "remove_object_photo": "dataengine.synth.element:RemoveObjectPhoto",
        "scribble": "dataengine.synth.low_level:Scribble",
        "scribble_to_image": "dataengine.synth.controllable:ScribbleToImage",
        "segmentation": "dataengine.synth.low_level:Segmentation",
        "segmentation_to_image": "dataengine.synth.controllable:SegmentationToImage",
        "style_reference": "dataengine.synth.reference:StyleReference",
        "style_transfer": "dataengine.synth.semantic:StyleTransfer",
        "super_resolution": "dataengine.synth.restoration:SuperResolution",
        "text_removal": "dataengine.synth.element:TextRemoval",
        "text_render": "dataengine.synth.element:TextRender",
        "text_to_image": "dataengine.synth.generation:TextToImage",
    }
)


def task_names() -> list[str]:
    """Every task a recipe can name, sorted; nothing is imported."""
    return sorted(MAKERS)


def is_task(name: str) -> bool:
    return name in MAKERS


def maker_class(task: str):
    """The pair maker of `task`, its family imported first; KeyError for an unknown task."""
    return MAKERS[task]


def all_makers() -> dict[str, type]:
    """Every pair maker, by task: every family imported."""
    return {task: MAKERS[task] for task in MAKERS}


# --------------------------------------------------------------------------------------------
# Building from a recipe block
# --------------------------------------------------------------------------------------------


def build_source(spec: dict[str, Any], where: str):
    """The source a recipe block names, its parameters and resources checked."""
    spec = dict(spec)
    kind = spec.pop("kind", None)
    if kind not in SOURCES:
        raise RecipeError(
            f"{where}, source: kind {kind!r} is not a source; choose one of "
            f"{', '.join(sorted(SOURCES))}{did_you_mean(kind, SOURCES)}"
        )
    cls = SOURCES[kind]
    context = f"{where}, source ({kind})"
    block = spec.pop("resources", None)
    source = cls(build_params(cls.Params, spec, context))
    if block is not None:
        if not cls.runs_pass:
            raise RecipeError(
                f"{context}: resources: this source runs no pass of its own; give "
                "resources to the stages that hold a model"
            )
        source.resources = with_resources(source.resources, block, context)
    return source


def with_resources(default: Resources, block: Any, context: str) -> Resources:
    """`default` with a recipe's `resources:` block (cpus, gpus, actors) laid over it."""
    check_type(block, dict, f"{context}: resources")
    for key, value in block.items():
        if key not in Resources.RECIPE_KEYS:
            raise RecipeError(
                f"{context}: resources: unknown key {key!r}"
                f"{did_you_mean(key, Resources.RECIPE_KEYS)}; valid keys: "
                f"{', '.join(Resources.RECIPE_KEYS)}"
            )
        check_type(value, typing.get_type_hints(Resources)[key], f"{context}: resources.{key}")
    resources = dataclasses.replace(default, **block)
    try:
        resources.check()
    except ValueError as exc:
        raise RecipeError(f"{context}: {exc}") from None
    return resources


__all__ = [
    "EMBEDDERS",
    "MAKERS",
    "SOURCES",
    "STAGES",
    "LazyTable",
    "all_makers",
    "build_source",
    "is_task",
    "maker_class",
    "task_names",
    "with_resources",
]
