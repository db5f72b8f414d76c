"""An `ace` command that serves a page (`ace data review`, `ace model chat`), started as a
user starts it, for the browser tests and the docs' screenshots."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator

URL = re.compile(r"http://127\.0\.0\.1:\d+/")
STOP_SECONDS = 30


@contextlib.contextmanager
def served(*command: str) -> Iterator[str]:
    """Run `ace -q COMMAND --port 0`; yield the URL it prints; stop it with SIGTERM (SIGINT
    may be ignored in a background job). A server that does not stop is killed, so none is
    left behind, and the block fails."""
    argv = [sys.executable, "-m", "ace_cli", "-q", *command, "--port", "0"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        seen = []
        for line in process.stdout:  # ends when the command exits without serving
            seen.append(line)
            if found := URL.search(line):
                break
        else:
            raise RuntimeError(f"`ace {' '.join(command)}` printed no URL: {''.join(seen)[-500:]}")
        yield found.group(0)
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RuntimeError(f"`ace {' '.join(command)}` did not stop on SIGTERM") from None
