"""vLLM engines inside Ray Data (`ray.data.llm`): the processor the Ray executor feeds with
chat-request rows. `engine` is the plain settings mapping the instruction writers describe
(instruct/engine.py): the model, vLLM's engine arguments, replicas, batch size, and the
functions that shape a row for the engine and its answer for the cache."""

from __future__ import annotations

from typing import Any


def processor_config(engine: dict[str, Any]):
    from ray.data.llm import vLLMEngineProcessorConfig

    return vLLMEngineProcessorConfig(
        model_source=engine["model"],
        engine_kwargs=engine["engine_kwargs"],
        concurrency=engine.get("concurrency", 1),
        batch_size=engine.get("batch_size", 16),
        accelerator_type=engine.get("accelerator_type"),
        runtime_env=engine.get("runtime_env"),
        prepare_multimodal_stage={"enabled": engine.get("multimodal", False)},
    )


def build_processor(engine: dict[str, Any]):
    from ray.data.llm import build_processor as build

    return build(
        processor_config(engine), preprocess=engine["preprocess"], postprocess=engine["postprocess"]
    )
