"""Fixtures for the ACE model tests: the real MiniLM text encoder, one thread for the micro
networks (tests/builders.py), and a micro run trained on the `reference` corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from ace_model.config import TextConfig
from tests.builders import MICRO, one_torch_thread


@pytest.fixture(autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="session")
def text_encoder():
    from ace_model.encoders import TextEncoder

    return TextEncoder(TextConfig())


@pytest.fixture(scope="session")
def micro_run(reference, tmp_path_factory) -> Path:
    """A micro network trained a few steps on the reference corpus: a real checkpoint."""
    from ace_model.train import train

    run = tmp_path_factory.mktemp("micro_run")
    with one_torch_thread():
        train(reference, run, model=MICRO, steps=6, batch_size=8, progress=False)
    return run
