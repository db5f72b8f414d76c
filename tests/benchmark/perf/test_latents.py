"""The latents suite of `make bench`, run through with a tiny VAE."""

from __future__ import annotations

from benchmark.perf import latents
from tests.builders import build_vae


def test_the_latents_suite_runs_through(reference, tmp_path):
    vae = build_vae(tmp_path / "vae")
    cached, encoding = latents.measure(
        reference, tmp_path, resolution=32, batch=2, steps=1, vae=vae
    )
    assert cached.unit == "steps/s" and cached.value > 0 and cached.baseline > 0
    assert encoding.unit == "img/s" and encoding.value > 0 and "one train shard" in encoding.note
