"""Validating a corpus."""

from __future__ import annotations

from tests.helpers import fresh_python


def test_validating_a_corpus_without_latents_does_not_load_torch(reference):
    # A fresh interpreter: this one has imported torch already. Importing it took 2 of
    # validate's 6 s on the default corpus.
    script = (
        "import sys\n"
        "from dataengine.corpus.validate import validate_output\n"
        f"assert validate_output({str(reference)!r}).ok\n"
        "print('torch' in sys.modules)\n"
    )
    stdout = fresh_python(script)
    assert stdout.split() == ["False"]
