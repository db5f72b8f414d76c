"""The corpus the review tests decide about: a copy of the session's `reviewable` corpus."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture
def corpus(reviewable, tmp_path):
    out = tmp_path / "corpus"
    shutil.copytree(reviewable, out)
    return out
