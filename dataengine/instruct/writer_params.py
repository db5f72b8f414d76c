"""The recipe block shared by the model-backed instruction writers, and its checks.

Every key has a default except `url` (for the `openai` backend) or `model` (for
`ray_data_llm`); messages name the key and the fix, and stop a run before any work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BACKENDS = ("openai", "ray_data_llm")
ENGINE_KEYS = ("engine_kwargs", "concurrency", "batch_size", "accelerator_type", "runtime_env")


@dataclass
class WriterParams:
    url: str = ""  # base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1
    model: str = ""  # served model name ("" = the server's only model); a path for the engine
    backend: str = "openai"  # or "ray_data_llm": answers come from the engine pass's cache
    api_key_env: str = "OPENAI_API_KEY"  # the variable holding the key (keys stay out of recipes)
    cache_dir: str = "data/llm_cache"  # the response cache, shared by runs and backends
    concurrency: int = 8  # requests in flight per actor
    timeout_s: float = 60.0  # per attempt
    max_retries: int = 3  # with exponential backoff
    temperature: float = 0.8
    max_tokens: int = 96
    max_chars: int = 300  # longest instruction accepted
    structured_output: bool = False  # ask for JSON {"instruction": ...} (response_format)
    extra_body: dict[str, Any] = field(default_factory=dict)  # extra request fields (top_k...)
    engine: dict[str, Any] = field(default_factory=dict)  # ray.data.llm settings (engine.py)


def validate_writer_params(params: WriterParams) -> None:
    """The checks every writer shares; messages name the key and the fix."""
    if params.backend not in BACKENDS:
        raise ValueError(f"backend is {params.backend!r}; choose one of {', '.join(BACKENDS)}")
    if params.backend == "openai" and not params.url:
        raise ValueError(
            "url is empty; set url: http://HOST:PORT/v1 (a `vllm serve` or other "
            "OpenAI-compatible server), or pass --llm-url URL"
        )
    if params.url and not params.url.startswith(("http://", "https://")):
        raise ValueError(f"url {params.url!r} must start with http:// or https://")
    if params.backend == "ray_data_llm" and not params.model:
        raise ValueError("model is empty; the ray_data_llm backend needs a model path or name")
    for key in ("concurrency", "max_tokens"):
        if getattr(params, key) < 1:
            raise ValueError(f"{key} is {getattr(params, key)}; it must be at least 1")
    if params.timeout_s <= 0 or params.max_retries < 0 or params.temperature < 0:
        raise ValueError("timeout_s must be positive, max_retries and temperature at least 0")
    if params.max_chars < 16:
        raise ValueError(f"max_chars is {params.max_chars}; allow at least 16 characters")
    unknown = sorted(set(params.engine) - set(ENGINE_KEYS))
    if unknown:
        raise ValueError(
            f"engine: unknown key {unknown[0]!r}; valid keys: {', '.join(ENGINE_KEYS)}"
        )
