"""Every source, stage and pair maker a recipe can name, listed explicitly in one place."""

from __future__ import annotations

from dataengine.instruct.llm_rewrite import LLMRewrite
from dataengine.instruct.mllm_describe import MLLMDescribe
from dataengine.instruct.template_stage import TemplateInstructions
from dataengine.mine import pair_maker as mined_makers  # noqa: F401  (registers mined_*)
from dataengine.mine.source import MinedPairs
from dataengine.quality.clip import ClipScores
from dataengine.quality.select import Select
from dataengine.quality.stages import QualityScores
from dataengine.quality.text_legibility import TextLegibility
from dataengine.sources.decode_stage import Decode
from dataengine.sources.folder import FolderSource
from dataengine.sources.sample_corpus import SampleCorpus
from dataengine.sources.shards import ParquetSource, WebDatasetSource
from dataengine.synth import (  # noqa: F401  (importing a family module registers its makers)
    controllable,
    element,
    experts,
    generation,
    generative,
    layer,
    low_level,
    multi_turn,
    reference,
    repainting,
    restoration,
    semantic,
)
from dataengine.synth.base import MAKERS
from dataengine.synth.stage import Pairs

SOURCES = {
    cls.name: cls
    for cls in (SampleCorpus, FolderSource, WebDatasetSource, ParquetSource, MinedPairs)
}
STAGES = {
    cls.name: cls
    for cls in (
        Decode,
        Pairs,
        TemplateInstructions,
        LLMRewrite,
        MLLMDescribe,
        QualityScores,
        ClipScores,
        TextLegibility,
        Select,
    )
}

__all__ = ["MAKERS", "SOURCES", "STAGES"]
