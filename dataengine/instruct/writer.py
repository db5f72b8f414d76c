"""The base of the model-backed instruction writers (`llm_rewrite`, `mllm_describe`).

Each runs after `template_instructions`, so every pair already has a valid instruction. A
writer asks a model for a better one, checks the answer (validation.py) and swaps it in only
when it passes; otherwise the template instruction stays, and the reason is recorded in
`provenance.model.instruction_writer.status` (the `provenance_model` column of the index),
so nothing is lost and every rejection can be counted.

Answers come from the response cache when it has them, else from an OpenAI-compatible
server (`backend: openai`), or only from the cache when it was filled by the vLLM engine
inside Ray Data (`backend: ray_data_llm`, see engine.py). Requests of a unit are sent
together, `concurrency` at a time; a pair's seed comes from its key, so a server that honours
seeds answers a rerun the same way even without the cache.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from typing import Any, ClassVar

from dataengine.instruct.cache import ResponseCache
from dataengine.instruct.client import ChatAnswer, ChatClient
from dataengine.instruct.prompts import ChatRequest, json_schema
from dataengine.instruct.validation import Expectations, Verdict, check_instruction
from dataengine.instruct.writer_params import WriterParams, validate_writer_params
from dataengine.schema import Pair, Unit, derive_seed, rng_for
from dataengine.stage import Resources, Stage

log = logging.getLogger(__name__)

NOT_CACHED = "llm_not_cached"  # ray_data_llm backend: the engine pass has not answered this


def stored_answer(answer: ChatAnswer) -> dict[str, Any]:
    """What the cache keeps of an answer: enough to judge it again, nothing of the transport."""
    return {"texts": answer.texts, "truncated": answer.truncated}


class LLMWriter(Stage):
    """Shared machinery; subclasses say which pairs they take and what they ask."""

    requires = frozenset({"instructions"})
    provides = frozenset({"instructions"})
    source_label: ClassVar[str] = ""  # instruction_source of an accepted answer
    describes_images: ClassVar[bool] = False
    # An actor pool: the client and cache connection are built once per actor.
    resources = Resources(holds_model=True)

    @classmethod
    def validate(cls, params: WriterParams) -> None:
        validate_writer_params(params)

    # -- subclasses ------------------------------------------------------------------------

    def wants(self, pair: Pair) -> bool:
        """Whether this writer writes for `pair` (an ok pair with an instruction)."""
        return pair.ok and bool(pair.instruction)

    def build_request(self, pair: Pair) -> ChatRequest:
        raise NotImplementedError

    def expectations(self, pair: Pair, request: ChatRequest) -> Expectations:
        raise NotImplementedError

    # -- the run ---------------------------------------------------------------------------

    def setup(self) -> None:
        self.cache = ResponseCache(self.params.cache_dir)
        self.client = None
        if self.params.backend == "openai":
            self.client = ChatClient(
                self.params.url,
                self.params.model,
                api_key=os.environ.get(self.params.api_key_env, "EMPTY"),
                timeout_s=self.params.timeout_s,
                max_retries=self.params.max_retries,
                concurrency=self.params.concurrency,
            )
        self.model = self.params.model or self._served_model()
        self.asked_total = self.cache_hits = 0  # pairs asked about, and answered by the cache

    def process(self, unit: Unit) -> Unit:
        if not self.model:  # the server was down at setup: ask it again
            self.model = self._served_model()
        pairs = [pair for pair in unit.pairs if self.wants(pair)]
        requests = [self.build_request(pair) for pair in pairs]
        answers, hits = self.answers_for(requests)
        self.asked_total, self.cache_hits = self.asked_total + len(pairs), self.cache_hits + hits
        outcome = Counter(
            self.apply(pair, request, answer)
            for pair, request, answer in zip(pairs, requests, answers, strict=True)
        )
        log.info(
            "%s %s: %d pairs, %d answers from the cache, %s",
            self.name,
            unit.shard_name,
            len(pairs),
            hits,
            dict(sorted(outcome.items())),
        )
        return unit

    def answers_for(self, requests: list[ChatRequest]) -> tuple[list[ChatAnswer], int]:
        """Cached answers where there are some; the rest asked (or marked not cached)."""
        keys = [request.cache_key(self.model) for request in requests]
        answers: list[ChatAnswer | None] = []
        for key in keys:
            cached = self.cache.get(key)
            answers.append(None if cached is None else ChatAnswer("ok", **cached))
        missing = [i for i, answer in enumerate(answers) if answer is None]
        for i, answer in zip(missing, self.ask([requests[i] for i in missing]), strict=True):
            answers[i] = answer
            if answer.ok:
                self.cache.put(keys[i], self.model, stored_answer(answer))
        return answers, len(requests) - len(missing)

    def ask(self, requests: list[ChatRequest]) -> list[ChatAnswer]:
        if self.client is None:
            error = "no cached answer; run the ray_data_llm engine pass first (engine.py)"
            return [ChatAnswer(NOT_CACHED, error=error) for _ in requests]
        return self.client.complete(requests)

    def apply(self, pair: Pair, request: ChatRequest, answer: ChatAnswer) -> str:
        """Swap in an accepted answer, or keep the template; record the outcome. -> status"""
        if not answer.ok:
            self.record(pair, answer.status, error=answer.error)
            return answer.status
        expect = self.expectations(pair, request)
        cut = answer.truncated or [False] * len(answer.texts)
        verdicts = [
            self.verdict(text, truncated, request, expect)
            for text, truncated in zip(answer.texts, cut, strict=True)
        ]
        accepted = list(dict.fromkeys(v.text for v in verdicts if v.ok))  # unique, in order
        if not accepted:
            status = f"rejected_{verdicts[0].status}"
            self.record(pair, status, error=verdicts[0].reason)
            return status
        chosen = accepted[int(rng_for(self.seed, self.name, pair.key).integers(len(accepted)))]
        template = pair.instruction
        pair.instruction, pair.instruction_source = chosen, self.source_label
        others = [text for text in accepted if text != chosen]
        self.record(pair, "ok", template_instruction=template, alternatives=others)
        return "ok"

    @staticmethod
    def verdict(text: str, truncated: bool, request: ChatRequest, expect: Expectations) -> Verdict:
        """Check one choice; a structured answer is checked on its "instruction" field."""
        if truncated:  # even a valid-looking text may have lost its end
            return Verdict("truncated", text, "cut off at max_tokens")
        if request.structured:
            try:
                text = json.loads(text)["instruction"]
            except (ValueError, TypeError, KeyError):
                return Verdict("malformed_json", "", "not a JSON object with an instruction")
            if not isinstance(text, str):
                return Verdict("malformed_json", "", "the instruction is not a string")
        return check_instruction(text, expect)

    def record(self, pair: Pair, status: str, **details: Any) -> None:
        writer = {"writer": self.name, "model": self.model, "status": status}
        writer.update({k: v for k, v in details.items() if v not in (None, [])})
        model = pair.provenance.get("model")
        pair.provenance["model"] = {**(model or {}), "instruction_writer": writer}

    def chat_request(self, pair: Pair, messages: list[dict[str, Any]], n: int) -> ChatRequest:
        """The request for `pair`: its messages, our sampling options, a seed from its key."""
        options = {
            "n": n,
            "temperature": self.params.temperature,
            "max_tokens": self.params.max_tokens,
            "seed": derive_seed(self.seed, self.name, pair.key) % 2**31,
        }
        if self.params.structured_output:
            schema = json_schema(self.params.max_chars)
            options["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "instruction", "schema": schema},
            }
        return ChatRequest(
            messages=messages,
            options=options,
            extra_body=dict(self.params.extra_body),
            structured=self.params.structured_output,
        )

    def _served_model(self) -> str:
        if self.client is None:
            return self.params.model
        try:
            models = self.client.served_models()
        except Exception as exc:  # any failure: the requests themselves will report it
            log.warning("%s: could not list the models of %s: %s", self.name, self.params.url, exc)
            return ""
        self.client.model = models[0] if models else ""
        return self.client.model
