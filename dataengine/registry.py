"""Every source, stage and pair maker a recipe can name, listed explicitly in one place.

Each name maps to the module that defines it, and a module is imported the first time one
of its names is looked up, so a command loads only what its recipe names: a resize run
skips the miners, the LLM writers, the quality stages and twelve task families, about 80 ms
of every `ace data run`'s start-up. `tests/dataengine/test_registry.py` checks these tables
against what the modules define.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping

from dataengine.synth.base import MAKERS, PairMaker


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

# The pair makers by family: importing a family's module registers its makers (MAKERS).
FAMILIES: dict[str, tuple[str, ...]] = {
    "dataengine.mine.pair_maker": ("mined_add", "mined_edit", "mined_remove"),
    "dataengine.synth.controllable": (
        "canny_to_image", "colorization", "contour_to_image", "doodle_to_image",
        "scribble_to_image", "segmentation_to_image",
    ),
    "dataengine.synth.element": (
        "add_object", "add_object_photo", "remove_object", "remove_object_photo",
        "text_removal", "text_render",
    ),
    "dataengine.synth.experts": (
        "depth_extraction", "depth_to_image", "pose_extraction", "pose_to_image",
    ),
    "dataengine.synth.generation": ("text_to_image",),
    "dataengine.synth.generative": ("controlnet_canny_generation", "diffusion_inpainting"),
    "dataengine.synth.layer": ("extract_background", "extract_foreground", "merge_layers"),
    "dataengine.synth.low_level": (
        "canny_extraction", "contour", "degradation", "doodle", "grayscale", "mosaic",
        "scribble", "segmentation",
    ),
    "dataengine.synth.multi_turn": ("multi_turn_edit",),
    "dataengine.synth.reference": ("object_reference", "style_reference"),
    "dataengine.synth.repainting": ("inpainting", "object_inpainting", "outpainting"),
    "dataengine.synth.restoration": (
        "deblur", "dehaze", "denoise", "jpeg_artifact_removal", "low_light_enhancement",
        "super_resolution",
    ),
    "dataengine.synth.semantic": (
        "brightness_contrast", "change_color", "change_count", "change_shape", "change_size",
        "color_grading", "move_object", "style_transfer",
    ),
}  # fmt: skip
_FAMILY_OF = {task: module for module, tasks in FAMILIES.items() for task in tasks}


def task_names() -> list[str]:
    """Every task a recipe can name, sorted; nothing is imported."""
    return sorted(_FAMILY_OF.keys() | MAKERS.keys())


def is_task(name: str) -> bool:
    return name in _FAMILY_OF or name in MAKERS


def maker_class(task: str) -> type[PairMaker]:
    """The pair maker of `task`, its family imported first; KeyError for an unknown task."""
    if task not in MAKERS:
        importlib.import_module(_FAMILY_OF[task])
    return MAKERS[task]


def all_makers() -> dict[str, type[PairMaker]]:
    """Every pair maker, by task: every family imported."""
    for module in FAMILIES:
        importlib.import_module(module)
    return MAKERS


__all__ = ["FAMILIES", "SOURCES", "STAGES", "all_makers", "is_task", "maker_class", "task_names"]
