"""Writers against real failures: no server, a slow one, broken answers, server errors.

Every pair keeps a row and its template instruction, the reason is recorded, and nothing
hangs (each test has a hard timeout).
"""

from __future__ import annotations

import pytest

from dataengine.instruct.llm_rewrite import LLMRewrite, RewriteParams
from tests.builders import templated_unit, writer_status
from tests.dataengine.instruct.local_http import LocalServer
from tools.vllm.server import free_port


def rewrite(url: str, cache_dir, **params) -> LLMRewrite:
    defaults = {"model": "m", "timeout_s": 5.0, "max_retries": 0, "concurrency": 4}
    return LLMRewrite(RewriteParams(url=url, cache_dir=str(cache_dir), **{**defaults, **params}))


def assert_templates_kept(unit, templates, status):
    assert [p.instruction for p in unit.pairs] == templates
    assert {p.instruction_source for p in unit.pairs} == {"template"}
    assert [writer_status(p) for p in unit.pairs] == [status] * len(unit.pairs)


@pytest.mark.timeout(60)
def test_server_not_started(tmp_path):
    unit = templated_unit(12)
    templates = [p.instruction for p in unit.pairs]
    stage = rewrite(f"http://127.0.0.1:{free_port()}/v1", tmp_path, max_retries=2)
    stage(unit)
    assert_templates_kept(unit, templates, "llm_unreachable")
    # the circuit breaker: only the first wave (concurrency 4) was sent, not all 12
    assert stage.client.sent == 4
    assert "not sent" in unit.pairs[-1].provenance["model"]["instruction_writer"]["error"]


@pytest.mark.timeout(60)
def test_slow_server_times_out(tmp_path):
    unit = templated_unit(3)
    templates = [p.instruction for p in unit.pairs]
    with LocalServer("ok", delay_s=3.0) as server:
        stage = rewrite(server.url, tmp_path, timeout_s=0.3, max_retries=1)
        stage(unit)
    assert_templates_kept(unit, templates, "llm_timeout")
    assert server.requests == 6  # each request tried twice (one retry)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("behaviour", "status"),
    [
        ("bad_json", "llm_bad_response"),
        ("no_choices", "llm_bad_response"),
        ("server_error", "llm_http_error"),
    ],
)
def test_malformed_answers_and_errors(tmp_path, behaviour, status):
    unit = templated_unit(4)
    templates = [p.instruction for p in unit.pairs]
    with LocalServer(behaviour) as server:
        rewrite(server.url, tmp_path)(unit)
    assert_templates_kept(unit, templates, status)
    assert server.requests == 4


@pytest.mark.timeout(60)
def test_failures_are_not_cached_and_good_answers_are(tmp_path):
    with LocalServer("bad_json") as broken:
        first = rewrite(broken.url, tmp_path)
        first(templated_unit(3))
    with LocalServer("ok") as good:
        unit = rewrite(good.url, tmp_path)(templated_unit(3))
        assert good.requests == 3  # the broken answers were not stored
        again = rewrite(good.url, tmp_path)
        rerun = again(templated_unit(3))
        assert good.requests == 3 and again.client.sent == 0
    for pair, repeat in zip(unit.pairs, rerun.pairs, strict=True):
        assert pair.instruction.startswith("Please, ")
        assert pair.instruction_source == "llm_rewrite"
        assert writer_status(pair) == "ok"
        assert repeat.instruction == pair.instruction
        template = pair.provenance["model"]["instruction_writer"]["template_instruction"]
        assert pair.instruction == f"Please, {template}"
