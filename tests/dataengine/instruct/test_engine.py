"""The ray.data.llm backend, configured from the writer's recipe block.

The vLLM engine itself needs a GPU, so these tests stop short of generating: they check
the processor configuration, the rows fed to it, and the hand-over of its answers to the
response cache, where the writer (backend ray_data_llm) finds them without a request.
"""

from __future__ import annotations

import json

import pytest

from dataengine.executors.ray_llm import build_processor, processor_config
from dataengine.instruct.cache import ResponseCache
from dataengine.instruct.engine import (
    engine_rows,
    engine_settings,
    postprocess,
    preprocess,
    store_answers,
)
from dataengine.instruct.llm_rewrite import LLMRewrite, RewriteParams
from dataengine.instruct.mllm_describe import DescribeParams, MLLMDescribe
from tests.builders import templated_unit, writer_status

ENGINE = {
    "engine_kwargs": {"max_model_len": 2048, "tensor_parallel_size": 2},
    "concurrency": 4,
    "batch_size": 32,
    "accelerator_type": "H100",
}


def rewrite_params(tmp_path, **extra) -> RewriteParams:
    return RewriteParams(
        model="/models/qwen", backend="ray_data_llm", cache_dir=str(tmp_path), **extra
    )


def test_config_comes_from_the_recipe_block(tmp_path):
    config = processor_config(engine_settings(rewrite_params(tmp_path, engine=ENGINE)))
    assert config.model_source == "/models/qwen"
    assert config.concurrency == 4 and config.batch_size == 32
    assert config.accelerator_type == "H100"
    assert config.engine_kwargs["max_model_len"] == 2048
    assert config.engine_kwargs["tensor_parallel_size"] == 2
    assert config.engine_kwargs["enable_prefix_caching"] is True
    assert "limit_mm_per_prompt" not in config.engine_kwargs


def test_describe_config_enables_images(tmp_path):
    params = DescribeParams(model="/models/vl", backend="ray_data_llm", cache_dir=str(tmp_path))
    config = processor_config(engine_settings(params, images_per_prompt=params.max_images))
    assert config.engine_kwargs["limit_mm_per_prompt"] == {"image": 2}
    assert config.prepare_multimodal_stage["enabled"] is True


def test_rows_carry_the_same_request_as_the_http_path(tmp_path):
    stage = LLMRewrite(rewrite_params(tmp_path, variants=3, structured_output=True), seed=1)
    pair = templated_unit(1).pairs[0]
    request = stage.build_request(pair)
    rows = engine_rows(request, "k")
    assert [r["choice"] for r in rows] == [0, 1, 2]
    fed = [preprocess(r) for r in rows]
    assert all(f["messages"] == request.messages for f in fed)
    seed = request.options["seed"]
    assert [f["sampling_params"]["seed"] for f in fed] == [seed, seed + 1, seed + 2]
    assert {f["sampling_params"]["n"] for f in fed} == {1}
    schema = request.options["response_format"]["json_schema"]["schema"]
    assert fed[0]["sampling_params"]["structured_outputs"] == {"json": schema}
    json.dumps(rows)  # plain JSON-able columns: one Arrow type per column


def test_engine_answers_reach_the_writer_through_the_cache(tmp_path):
    """Rows shaped as the processor returns them are stored; the writer then asks nothing."""
    stage = LLMRewrite(rewrite_params(tmp_path, variants=2), seed=1)
    unit = templated_unit(3)
    outputs = []
    for pair in unit.pairs:
        request = stage.build_request(pair)
        for row in engine_rows(request, request.cache_key("/models/qwen")):
            text = f"Kindly: {pair.instruction}" if row["choice"] == 0 else "I'm sorry, no."
            generated = {"generated_text": text, "num_generated_tokens": 9}
            outputs.append(postprocess({**preprocess(row), **generated}))
    assert store_answers(reversed(outputs), ResponseCache(tmp_path), "/models/qwen") == 3

    templates = [p.instruction for p in unit.pairs]
    stage(unit)
    assert [p.instruction for p in unit.pairs] == [f"Kindly: {t}" for t in templates]
    assert {writer_status(p) for p in unit.pairs} == {"ok"}


def test_without_the_engine_pass_the_templates_stay(tmp_path):
    stage = MLLMDescribe(
        DescribeParams(model="/models/vl", backend="ray_data_llm", cache_dir=str(tmp_path))
    )
    unit = stage(templated_unit(2))
    assert {writer_status(p) for p in unit.pairs} == {"llm_not_cached"}
    assert {p.instruction_source for p in unit.pairs} == {"template"}


@pytest.mark.slow
def test_processor_builds_its_stages(tmp_path):
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        processor = build_processor(engine_settings(rewrite_params(tmp_path, engine=ENGINE)))
        names = processor.list_stage_names()
        assert names == ["ChatTemplateStage", "TokenizeStage", "vLLMEngineStage", "DetokenizeStage"]
        engine = processor.get_stage_by_name("vLLMEngineStage").fn_constructor_kwargs
        assert engine["model"] == "/models/qwen" and engine["batch_size"] == 32
    finally:
        if started:
            ray.shutdown()
