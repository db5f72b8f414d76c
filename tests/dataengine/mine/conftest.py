"""Mining fixtures."""

from __future__ import annotations

import pytest

from tests.dataengine.mine.registration import register_mining


@pytest.fixture
def mining_registered(monkeypatch):
    """The mined_pairs source, makers and phrasings, known for one test."""
    register_mining(monkeypatch)
