"""The vLLM engine inside Ray Data (`ray.data.llm`): the GPU-cluster backend of the writers.

A server is the simple way to run a writer; on a GPU cluster the faster one is to let Ray
Data feed the vLLM engine directly, one engine per GPU replica, continuously batched. It
is configured from the writer's own recipe block (`model`, `engine: {...}`) and works as a
global pass that fills the response cache; `ace data run` runs it on Ray before the units
of a recipe whose writer has `backend: ray_data_llm` (runner.fill_llm_caches):

1. run the stages before the writer on each work unit;
2. turn every pair the writer wants into the very `ChatRequest` the HTTP path would send
   (`RequestsOfUnit`);
3. generate with `ray.data.llm`'s vLLM processor (the Ray executor, with `engine_settings`);
4. store the answers in the response cache under the same keys (`store_answers`).

The writer's units then find every answer in the cache and send no request. The processor
returns one output per request, so a request for n variants travels as n rows (seeds seed ..
seed+n-1) and is stored once all n are back.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from dataengine.instruct.cache import ResponseCache
from dataengine.instruct.prompts import ChatRequest
from dataengine.instruct.writer import LLMWriter, WriterParams

log = logging.getLogger(__name__)

DEFAULT_ENGINE_KWARGS = {"max_model_len": 4096, "enable_prefix_caching": True}


def engine_settings(params: WriterParams, images_per_prompt: int = 0) -> dict[str, Any]:
    """The settings of the engine pass for a writer's recipe block (executors/ray_llm.py
    turns them into ray.data.llm's processor)."""
    engine = params.engine
    engine_kwargs = {**DEFAULT_ENGINE_KWARGS, **engine.get("engine_kwargs", {})}
    if images_per_prompt:
        engine_kwargs.setdefault("limit_mm_per_prompt", {"image": images_per_prompt})
    return {
        "model": params.model,
        "engine_kwargs": engine_kwargs,
        "concurrency": engine.get("concurrency", 1),
        "batch_size": engine.get("batch_size", 16),
        "accelerator_type": engine.get("accelerator_type"),
        "runtime_env": engine.get("runtime_env"),
        "multimodal": images_per_prompt > 0,
        "preprocess": preprocess,
        "postprocess": postprocess,
    }


def sampling_params(options: dict[str, Any], extra_body: dict[str, Any]) -> dict[str, Any]:
    """vLLM SamplingParams fields for one choice of a request's chat options."""
    sampling = {k: options[k] for k in ("temperature", "max_tokens", "seed") if k in options}
    sampling["n"] = 1
    response_format = options.get("response_format")
    if response_format:
        sampling["structured_outputs"] = {"json": response_format["json_schema"]["schema"]}
    return {**sampling, **extra_body}


def engine_rows(request: ChatRequest, key: str) -> list[dict]:
    """One Ray Data row per choice; messages and sampling as JSON text (one Arrow type)."""
    n = request.options.get("n", 1)
    rows = []
    for choice in range(n):
        sampling = sampling_params(request.options, request.extra_body)
        sampling["seed"] = sampling.get("seed", 0) + choice
        rows.append(
            {
                "cache_key": key,
                "choice": choice,
                "n": n,
                "max_tokens": sampling.get("max_tokens", 0),
                "messages": json.dumps(request.messages),
                "sampling": json.dumps(sampling),
            }
        )
    return rows


def preprocess(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "cache_key": row["cache_key"],
        "choice": row["choice"],
        "n": row["n"],
        "max_tokens": row["max_tokens"],
        "messages": json.loads(row["messages"]),
        "sampling_params": json.loads(row["sampling"]),
    }


def postprocess(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "cache_key": row["cache_key"],
        "choice": int(row["choice"]),
        "n": int(row["n"]),
        "text": row.get("generated_text") or "",
        # vLLM stops at max_tokens without an end token: the text is cut off
        "truncated": int(row.get("num_generated_tokens") or 0) >= int(row["max_tokens"]),
    }


# --------------------------------------------------------------------------------------------
# The pass
# --------------------------------------------------------------------------------------------


class RequestsOfUnit:
    """The rows still to be asked for a unit that has run the stages before the writer."""

    def __init__(self, writer: LLMWriter):
        self.writer = writer
        self.cache: ResponseCache | None = None  # opened in the worker, not pickled open

    def __call__(self, unit):
        if self.cache is None:
            self.cache = ResponseCache(self.writer.params.cache_dir)
        for pair in filter(self.writer.wants, unit.pairs):
            request = self.writer.build_request(pair)
            key = request.cache_key(self.writer.params.model)
            if self.cache.get(key) is None:
                yield from engine_rows(request, key)


def writer_engine(writer: LLMWriter) -> dict[str, Any]:
    """The engine settings of a `ray_data_llm` writer stage."""
    images = getattr(writer.params, "max_images", 0) if writer.describes_images else 0
    return engine_settings(writer.params, images)


def store_answers(rows, cache: ResponseCache, model: str) -> int:
    """Put each request's answer in the cache once all its choices are back."""
    partial: dict[str, dict[int, dict]] = {}
    stored = 0
    for row in rows:
        choices = partial.setdefault(row["cache_key"], {})
        choices[row["choice"]] = row
        if len(choices) == row["n"]:
            ordered = [choices[i] for i in range(row["n"])]
            answer = {"texts": [c["text"] for c in ordered]}
            answer["truncated"] = [bool(c["truncated"]) for c in ordered]
            cache.put(row["cache_key"], model, answer)
            del partial[row["cache_key"]]
            stored += 1
    return stored
