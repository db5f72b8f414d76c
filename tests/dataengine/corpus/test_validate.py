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


def test_a_mask_role_the_format_does_not_know_is_a_problem(reference, tmp_path):
    import io
    import json
    import shutil
    import tarfile
    from hashlib import sha256

    from dataengine.corpus.validate import validate_output

    copy = shutil.copytree(reference, tmp_path / "copy")
    tar = sorted((copy / "shards").glob("*.tar"))[0]
    buffer = io.BytesIO()
    with tarfile.open(tar) as source, tarfile.open(fileobj=buffer, mode="w") as target:
        for info in source:
            data = source.extractfile(info).read()
            if info.name.endswith(".json"):
                meta = json.loads(data)
                for frame in meta["frames"]:
                    frame["mask_role"] = "sideways"
                data = json.dumps(meta).encode()
                info.size = len(data)
            target.addfile(info, io.BytesIO(data))
    tar.write_bytes(buffer.getvalue())
    stats_path = copy / "stats" / f"{tar.stem}.json"  # the tar as committed, but for the role
    stats = json.loads(stats_path.read_text())
    stats.update(tar_bytes=len(buffer.getvalue()), tar_sha256=sha256(buffer.getvalue()).hexdigest())
    stats_path.write_text(json.dumps(stats))
    problems = validate_output(copy, decode_images=False).problems
    wanted = "mask_role 'sideways' is not one of ('edit', 'layer', 'take')"
    assert any(wanted in p for p in problems), problems
