"""Shared fixtures: the tiny recipe over the bundled sample corpus (tests/builders.py), its
reference run, and image folders."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from PIL import Image

from dataengine.recipe import build_recipe
from tests.builders import TINY_RECIPE, photo


@pytest.fixture
def tiny_raw() -> dict:
    return copy.deepcopy(TINY_RECIPE)


@pytest.fixture
def tiny_recipe(tiny_raw):
    return build_recipe(tiny_raw)


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """Six small JPEGs in nested folders, four with captions."""
    root = tmp_path / "images"
    for i in range(6):
        folder = root / ("a" if i < 3 else "b/c")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(photo(i)).save(folder / f"img{i}.jpg", quality=92)
        if i % 3:
            (folder / f"img{i}.txt").write_text(f"a test picture number {i}\n")
    return root


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Path:
    """The tiny recipe run once, in-process: what every other way of running must equal."""
    from dataengine.executors import InProcess
    from dataengine.runner import run_recipe

    out = tmp_path_factory.mktemp("reference")
    run_recipe(build_recipe(copy.deepcopy(TINY_RECIPE)), out, InProcess(), progress=False)
    return out


@pytest.fixture(scope="session")
def s3_server():
    """An S3-compatible server on loopback (moto's, from PyPI), and this process's AWS
    settings pointing at it, as a user's would: every S3 client (s3fs here, and the Ray
    workers started after this) reaches it through the standard variables."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    settings = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    for _ in range(100):  # it starts in about a second
        try:
            urllib.request.urlopen(endpoint, timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield endpoint
    server.terminate()
    server.wait(timeout=30)
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def bucket(s3_server, request) -> str:
    """A new, empty bucket: its URL."""
    import s3fs

    name = "t-" + "".join(c for c in request.node.name.lower() if c.isalnum())[:50]
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.mkdir(name)
    fs.invalidate_cache()
    return f"s3://{name}"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def reviewable(tmp_path_factory) -> Path:
    """The tiny recipe, scored, with most samples in the bench split (seven or more per task
    there): the corpus people review and freeze benchmarks from."""
    from dataengine.executors import InProcess
    from dataengine.runner import run_recipe

    raw = copy.deepcopy(TINY_RECIPE)
    raw["splits"] = {"train": 0.4, "bench": 0.6}
    raw["stages"].append({"stage": "quality_scores"})  # scores to filter and sort by
    out = tmp_path_factory.mktemp("reviewable")
    run_recipe(build_recipe(raw), out, InProcess(), progress=False)
    return out


@pytest.fixture(scope="session")
def chromium() -> str:
    """Headless Chromium (and its driver), installed if missing; the test is skipped, with the
    reason, only where it cannot be."""
    from tests.browser import install_chromium

    path, why = install_chromium()
    if path is None:
        pytest.skip(f"headless Chromium unavailable: {why}")
    return path
