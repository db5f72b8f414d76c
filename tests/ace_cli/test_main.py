"""The `ace` command itself: what a quiet run imports, the exit code and message of its fast
exit, and which log messages it shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.builders import photo


def test_a_quiet_resize_run_imports_no_more_than_it_needs(tmp_path):
    """`ace -q data run` of the resize recipe imports neither asyncio (the LLM client's)
    nor tqdm (whose import reads package metadata): together about 80 ms of a command's
    start-up. The exit code and error message survive the command's fast exit."""

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        Image.fromarray(photo(i)).save(photos / f"{i}.jpg")
        (photos / f"{i}.txt").write_text("a photo\n")
    script = (
        "import sys; from ace_cli import main as cli; "
        "cli.main(['-q', 'data', 'run', 'pipelines/recipes/resize.yaml', '--input', "
        "sys.argv[1], '--out', sys.argv[2], '--in-process']); "
        "print(sorted(m for m in ('asyncio', 'tqdm') if m in sys.modules))"
    )
    argv = [sys.executable, "-c", script, str(photos), str(tmp_path / "out")]
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("3 samples (0 failed rows)") and lines[-1] == "[]"
    bad = [sys.executable, "-m", "ace_cli", "data", "run", str(tmp_path / "none.yaml")]
    failed = subprocess.run(bad, capture_output=True, text=True)
    assert failed.returncode == 2
    assert "none.yaml" in failed.stderr


def test_the_command_line_logs_our_progress_and_only_other_libraries_warnings(tmp_path):
    """faiss's loader, for one, reports at INFO every optimised build it could not load; a
    user of `ace` sees the engine's progress, and other libraries' warnings only. `-q`
    leaves the engine's warnings."""
    script = (
        "import logging, sys; from ace_cli import main as cli; "
        "cli.main(sys.argv[1:] + ['data', 'validate', {out!r}]); "
        "logging.getLogger('faiss.loader').info('a library detail'); "
        "logging.getLogger('faiss.loader').warning('a library warning'); "
        "logging.getLogger('dataengine.quality').info('our progress')"
    ).format(out=str(tmp_path / "none"))

    def logged(*flags: str) -> str:
        argv = [sys.executable, "-c", script, *flags]
        return subprocess.run(argv, capture_output=True, text=True, check=True).stderr

    shown = logged()
    assert "our progress" in shown and "a library warning" in shown
    assert "a library detail" not in shown
    quiet = logged("-q")
    assert "our progress" not in quiet and "a library warning" in quiet


@pytest.mark.parametrize(
    "reader",
    [
        pytest.param("import sys; sys.stdin.readline()", id="head -1"),
        pytest.param("pass", id="gone before the write"),
    ],
)
def test_a_reader_that_goes_away_ends_the_command_quietly(reference, reader):
    """`ace data stats DIR | head -1`: the reader may leave before the command has written
    everything, or anything; the command then stops without a traceback, and exits 0."""
    into_reader, out_of_command = os.pipe()
    consumer = subprocess.Popen([sys.executable, "-c", reader], stdin=into_reader)
    os.close(into_reader)
    if reader == "pass":
        consumer.wait(timeout=60)  # gone before the command writes a byte
    # A user's shell buffers a piped stdout; PYTHONUNBUFFERED (set where tests run) would
    # hide a write that fails only when that buffer is flushed at exit.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    argv = [sys.executable, "-m", "ace_cli", "data", "stats", str(reference)]
    command = subprocess.Popen(argv, stdout=out_of_command, stderr=subprocess.PIPE, env=env)
    os.close(out_of_command)
    _, stderr = command.communicate(timeout=120)
    consumer.wait(timeout=60)
    assert "Traceback" not in stderr.decode() and "BrokenPipeError" not in stderr.decode()
    assert command.returncode == 0
