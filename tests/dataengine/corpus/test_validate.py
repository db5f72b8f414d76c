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


def test_a_folder_that_is_not_there_is_named_as_such(tmp_path):
    import pytest

    from dataengine.corpus.validate import validate_output

    with pytest.raises(FileNotFoundError, match="nowhere does not exist") as missing:
        validate_output(tmp_path / "nowhere")
    assert "run.json" not in str(missing.value)
    (tmp_path / "file").write_text("not a corpus")
    with pytest.raises(FileNotFoundError, match="file is a file, not a corpus folder"):
        validate_output(tmp_path / "file")
