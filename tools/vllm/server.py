"""A real vLLM server started from Python: the CPU build in its own venv, serving a model.

For the tests and `tools/vllm/bench_writers.py`. `install.sh` (beside this file) makes the
venv (once; it is a no-op when done), the venv's Python builds the randomly initialised
tiny Idefics3 (`build_tiny_model.py`), and `serve.py` starts the OpenAI-compatible server
on a free loopback port in its own process group, so that stopping it also stops the
engine process it spawns.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("ACE_VLLM_VENV", ROOT / ".venv-vllm"))
TOOLS = Path(__file__).resolve().parent
SERVED_NAME = "tiny-idefics"
START_TIMEOUT_S = 420  # import of vLLM in three processes; minutes on a busy 2-core machine


def install_vllm() -> Path:
    """The vLLM venv's Python, installing the venv first when it is missing."""
    subprocess.run(["bash", str(TOOLS / "install.sh"), str(VENV)], check=True, cwd=ROOT)
    return VENV / "bin" / "python"


def build_tiny_model(folder: Path, python: Path) -> Path:
    subprocess.run(
        [str(python), str(TOOLS / "build_tiny_model.py"), str(folder)],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VLLMServer:
    """One vLLM OpenAI-compatible server process on 127.0.0.1; restartable after a kill."""

    def __init__(self, python: Path, model: Path, log: Path):
        self.python, self.model, self.log = python, model, log
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> VLLMServer:
        command = [
            str(self.python),
            str(TOOLS / "serve.py"),
            "--model",
            str(self.model),
            "--served-model-name",
            SERVED_NAME,
            "--port",
            str(self.port),
        ]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT
            )
        self._wait_ready()
        return self

    def ensure_running(self) -> VLLMServer:
        if self.process is None or self.process.poll() is not None:
            self.start()
        return self

    def kill(self) -> None:
        """SIGKILL the server and its engine process: a crash, not a shutdown."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, sig: int) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vLLM exited with {self.process.returncode}; see {self.log}")
            try:
                urllib.request.urlopen(f"{self.url}/models", timeout=2).read()
                return
            except OSError:
                time.sleep(1)
        self.kill()
        raise RuntimeError(f"vLLM did not answer within {START_TIMEOUT_S} s; see {self.log}")

    def metrics(self) -> dict[str, float]:
        """Prometheus counters summed over labels, e.g. 'vllm:request_success_total'."""
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics").read().decode()
        totals: dict[str, float] = {}
        for line in text.splitlines():
            match = re.match(r"^([a-z_:]+)(\{[^}]*\})? ([0-9.e+-]+)$", line)
            if match:
                totals[match.group(1)] = totals.get(match.group(1), 0.0) + float(match.group(3))
        return totals

    def requests_finished(self) -> float:
        """Sequences the engine finished (a request with n choices counts n)."""
        return self.metrics().get("vllm:request_success_total", 0.0)

    def images_received(self) -> float:
        """Images that went through the server's multimodal processor."""
        return self.metrics().get("vllm:mm_cache_queries_total", 0.0)
