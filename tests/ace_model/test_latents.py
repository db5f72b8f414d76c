"""Latents precomputed by `ace data latents` and read by the trainer of the VAE presets."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from ace_cli.main import main
from ace_model.config import CodecConfig
from ace_model.data import ShardStream, decode_batch, decode_sample, load_latent
from ace_model.encoders import VaeCodec
from ace_model.latents import ShardEncoder, npy_bytes, precompute_latents
from ace_model.train import train
from ace_model.vae import vae_fingerprint
from dataengine.corpus.read import iter_samples
from dataengine.executors import InProcess
from dataengine.executors.ray import RayExecutor
from dataengine.sinks.latent_store import ERROR_MEMBER, LatentSpec, buckets, find_store
from dataengine.sinks.latent_writer import LatentWriter
from dataengine.sinks.layout import Layout
from dataengine.sinks.tars import samples_in_tar
from dataengine.stage import Resources
from tests.builders import MICRO, build_vae

RESOLUTION, PATCH = 32, 2  # the VAE halves each side: buckets in multiples of 4 px


@pytest.fixture(scope="module")
def vae(tmp_path_factory) -> Path:
    return build_vae(tmp_path_factory.mktemp("vae"))


@pytest.fixture
def corpus(reference, tmp_path) -> Path:
    """A copy of the reference corpus, for latents to be written beside."""
    return Path(shutil.copytree(reference, tmp_path / "corpus"))


def precompute(corpus: Path, vae: Path, patch: int = PATCH, executor=None, **options):
    options = {"progress": False, "dtype": "float32", **options}
    executor = executor or InProcess()
    return precompute_latents(corpus, vae, RESOLUTION, patch, executor, **options)


def train_stream(corpus: Path, tars: dict[str, str]) -> list[dict]:
    sizes = buckets(RESOLUTION, PATCH * 2)
    stream = ShardStream(corpus, "train", 4, sizes, seed=0, latent_tars=tars)
    return [raw for _, raws in stream.epoch_plan(0) for raw in raws]


def test_latents_are_what_the_trainer_would_encode(corpus, vae):
    summary = precompute(corpus, vae, batch_size=3)
    train_samples = list(iter_samples(corpus, "train"))
    frames = sum(len(s["json"]["frames"]) + 1 for s in train_samples)
    assert (summary.samples, summary.images, summary.errors) == (len(train_samples), frames, 0)
    store = find_store(corpus, vae_fingerprint(vae), RESOLUTION, PATCH * 2)
    assert store is not None and store.root == summary.store
    shards = [s for s in Layout(corpus).complete_shards() if s.startswith("train-")]
    tars = store.current_tars(shards)
    assert len(tars) == len(shards) == len(summary.encoded)

    codec, sizes = VaeCodec(str(vae)), buckets(RESOLUTION, PATCH * 2)
    raws = train_stream(corpus, tars)
    assert len(raws) == len(train_samples)
    for raw in raws:
        size = nearest_size(raw, sizes)
        lcu = decode_sample(raw, size)
        pixels = decode_sample({k: v for k, v in raw.items() if ".latent." not in k}, size)
        assert lcu.encoded and not pixels.encoded
        expected = codec.encode(torch.stack([*pixels.images, pixels.target]))
        got = torch.stack([*lcu.images, lcu.target])
        assert got.shape == (len(lcu.images) + 1, 4, size[0] // 2, size[1] // 2)
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


def nearest_size(raw: dict, sizes) -> tuple[int, int]:
    from dataengine.sinks.latent_store import batch_group

    return batch_group(raw, sizes)[0]


def test_a_second_run_skips_current_shards_and_a_rebuilt_shard_is_redone(corpus, vae, tmp_path):
    first = precompute(corpus, vae)
    leftover = first.store / "shards" / ".train-000000.tar.tmp-99"  # as a killed run leaves
    leftover.write_bytes(b"half")
    again = precompute(corpus, vae)
    assert not leftover.exists()
    assert again.encoded == [] and again.current == first.encoded
    # The same VAE on the same corpus writes the same bytes.
    twin = Path(
        shutil.copytree(corpus, tmp_path / "twin", ignore=shutil.ignore_patterns("latents"))
    )
    precompute(twin, vae)
    shard = first.encoded[0]
    ours = (first.store / "shards" / f"{shard}.tar").read_bytes()
    assert (twin / "latents" / first.store.name / "shards" / f"{shard}.tar").read_bytes() == ours
    # A corpus shard written again (its sha256 changes) is stale: training skips its
    # latents, and the next run encodes it, and only it, again.
    stats_path = Layout(corpus).stats(shard)
    stats = json.loads(stats_path.read_text())
    stats_path.write_text(json.dumps({**stats, "tar_sha256": "0" * 64}))
    store = find_store(corpus, vae_fingerprint(vae), RESOLUTION, PATCH * 2)
    assert str(Layout(corpus).tar(shard)) not in store.current_tars(first.encoded)
    assert precompute(corpus, vae).encoded == [shard]


def train_micro(corpus: Path, vae: Path, run: str, steps: int, batch: int) -> dict:
    """A micro network on the `small` preset's VAE path; its final weights."""
    options = dict(model=MICRO, steps=steps, batch_size=batch, resolution=RESOLUTION)
    train(corpus, corpus / run, "small", codec=CodecConfig("vae", str(vae)), progress=False,
          **options)  # fmt: skip
    return torch.load(corpus / run / f"checkpoint-{steps:07d}.pt", weights_only=False)["model"]


def count_encodes(monkeypatch) -> list[int]:
    """The batch sizes the VAE's encoder is called with from now on."""
    calls, encode = [], VaeCodec.encode
    monkeypatch.setattr(VaeCodec, "encode", lambda self, x: calls.append(len(x)) or encode(self, x))
    return calls


def assert_same_weights(got: dict, expected: dict) -> None:
    for name, weight in expected.items():
        torch.testing.assert_close(got[name], weight, atol=1e-5, rtol=1e-4)


def test_training_reads_the_latents_and_learns_what_it_would_have(corpus, vae, monkeypatch):
    """Two steps on precomputed float32 latents end at the weights of two steps that
    encode as they go, and the VAE's encoder is never called while training."""
    fresh = train_micro(corpus, vae, "fresh", steps=2, batch=4)
    precompute(corpus, vae, patch=MICRO.patch)  # the buckets follow the network's patch
    calls = count_encodes(monkeypatch)
    cached = train_micro(corpus, vae, "cached", steps=2, batch=4)
    assert calls == []
    assert_same_weights(cached, fresh)


def test_shards_without_current_latents_are_encoded_beside_those_with(corpus, vae, monkeypatch):
    """One train shard's latents made stale: its samples are encoded as batches form, the
    others read (a batch may hold both), and the weights are those of encoding everything."""
    fresh = train_micro(corpus, vae, "fresh", steps=3, batch=8)
    done = precompute(corpus, vae, patch=MICRO.patch)
    stale = next(s for s in done.encoded if Layout(corpus).read_stats(s)["samples"])
    (done.store / "stats" / f"{stale}.json").unlink()
    calls = count_encodes(monkeypatch)
    mixed = train_micro(corpus, vae, "mixed", steps=3, batch=8)
    assert calls  # the stale shard's samples went through the encoder
    assert_same_weights(mixed, fresh)


def test_a_latent_shard_out_of_step_names_the_file_to_remove(corpus, vae):
    done = precompute(corpus, vae)
    shard = next(s for s in done.encoded if Layout(corpus).read_stats(s)["samples"] > 1)
    store = find_store(corpus, vae_fingerprint(vae), RESOLUTION, PATCH * 2)
    tar = store.layout.tar(shard)
    samples = _read(tar)
    fix = r"remove .*stats/" + shard + r"\.json"
    LatentWriter(store).write(shard, samples[1:], store.source_sha(shard))  # one sample short
    with pytest.raises(ValueError, match=r"at sample \w+\); " + fix):
        train_stream(corpus, store.current_tars([shard]))
    extra = ("f" * 16, samples[0][1])  # one sample more, after the corpus shard's last
    LatentWriter(store).write(shard, [*samples, extra], store.source_sha(shard))
    with pytest.raises(ValueError, match=r"its corpus shard \(at sample f{16}\); " + fix):
        train_stream(corpus, store.current_tars([shard]))


def test_float16_latents_round_the_float32_ones(corpus, vae, tmp_path):
    full = precompute(corpus, vae)
    twin = Path(shutil.copytree(corpus, tmp_path / "twin", ignore=shutil.ignore_patterns("lat*")))
    half = precompute(twin, vae, dtype="float16")
    assert half.store.name == full.store.name  # one VAE at one resolution: one store name
    half_store = find_store(twin, vae_fingerprint(vae), RESOLUTION, PATCH * 2)
    full_store = find_store(corpus, vae_fingerprint(vae), RESOLUTION, PATCH * 2)
    assert (half_store.spec.dtype, full_store.spec.dtype) == ("float16", "float32")
    raw_half = train_stream(twin, half_store.current_tars(half.encoded))[0]
    raw_full = train_stream(corpus, full_store.current_tars(full.encoded))[0]
    assert raw_half["__key__"] == raw_full["__key__"]
    member = next(k for k in raw_half if k.endswith(".latent.npy"))
    assert np.load(io.BytesIO(raw_half[member])).dtype == np.float16
    assert len(raw_half[member]) < 0.6 * len(raw_full[member])
    half_latent = load_latent(raw_half[member])
    assert half_latent.dtype == torch.float32  # read back as float32
    torch.testing.assert_close(half_latent, load_latent(raw_full[member]), atol=5e-3, rtol=1e-3)


def test_a_sample_that_does_not_decode_gets_an_error_member_and_training_skips_it(reference, vae):
    sample = next(iter(iter_samples(reference, "train")))
    meta = sample["json"]
    good = {**sample, "json": json.dumps(meta).encode()}
    cut = {**good, "__key__": "cut", meta["target"]: sample[meta["target"]][:200]}
    spec = LatentSpec(vae_fingerprint(vae), RESOLUTION, PATCH * 2, 4, 2, "float32")
    (key, members), (cut_key, cut_members) = ShardEncoder(
        VaeCodec(str(vae)), spec, batch_size=8
    ).encode_samples([good, cut])
    assert (key, cut_key) == (sample["__key__"], "cut")
    assert ERROR_MEMBER not in members and len(members) == len(meta["frames"]) + 1
    assert list(cut_members) == [ERROR_MEMBER]
    assert cut_members[ERROR_MEMBER].decode().startswith("OSError")
    lcus, skipped = decode_batch([good | members, cut | cut_members], (32, 32))
    assert [lcu.key for lcu in lcus] == [key] and lcus[0].encoded
    assert len(skipped) == 1 and skipped[0].startswith("cut: OSError")


def test_bad_arguments_stop_before_the_vae_loads(corpus, vae, tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        precompute(corpus, tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match="ace data run"):
        precompute(tmp_path, vae)
    with pytest.raises(ValueError, match="batch_size is 0"):
        precompute(corpus, vae, batch_size=0)
    precompute(corpus, vae, dtype="float32")
    with pytest.raises(ValueError, match="other dtype"):
        precompute(corpus, vae, dtype="float16")
    assert main(["data", "latents", str(corpus), "--vae", str(tmp_path / "nothing")]) == 2
    assert "config.json" in capsys.readouterr().err


def test_the_command_line_encodes_for_a_preset(corpus, vae, capsys):
    args = ["-q", "data", "latents", str(corpus), "--vae", str(vae), "--resolution", "32"]
    assert main([*args, "--split", "train", "--split", "val"]) == 0
    out = capsys.readouterr().out
    encoded = [s for s in Layout(corpus).complete_shards() if not s.startswith("bench-")]
    assert f": {len(encoded)} shards encoded" in out and "0 not decodable" in out
    store = find_store(corpus, vae_fingerprint(vae), 32, 4)  # small's patch 2, VAE factor 2
    assert store is not None
    assert {p.stem for p in (store.root / "stats").glob("*.json")} == set(encoded)
    assert main(args) == 0  # nothing left to do: no VAE is loaded
    assert ": 0 shards encoded" in capsys.readouterr().out


@pytest.mark.slow
def test_a_ray_actor_pool_writes_the_bytes_of_the_in_process_run(corpus, vae, tmp_path):
    twin = Path(shutil.copytree(corpus, tmp_path / "twin"))
    here = precompute(corpus, vae)
    with RayExecutor() as executor:
        on_ray = precompute(twin, vae, executor=executor, resources=Resources(actors=2))
    assert on_ray.encoded == here.encoded and on_ray.images == here.images
    for shard in here.encoded:
        ours = (here.store / "shards" / f"{shard}.tar").read_bytes()
        assert (on_ray.store / "shards" / f"{shard}.tar").read_bytes() == ours


def test_validate_checks_the_current_latent_shards(corpus, vae):
    from dataengine.corpus.validate import validate_output

    done = precompute(corpus, vae)
    report = validate_output(corpus, decode_images=False)
    assert report.ok, report.problems
    assert report.latent_shards == len(done.encoded)
    store = find_store(corpus, vae_fingerprint(vae), 32, 4)
    shard = next(s for s in done.encoded if store.layout.read_stats(s)["samples"])
    # A sample whose array has the wrong dtype, written as the sink writes (stats agree).
    samples = _read(store.layout.tar(shard))
    key, members = samples[0]
    name = sorted(members)[0]
    members[name] = npy_bytes(torch.from_numpy(np.load(io.BytesIO(members[name]))), "float64")
    LatentWriter(store).write(shard, samples, store.source_sha(shard))
    problems = validate_output(corpus, decode_images=False).problems
    shape = np.load(io.BytesIO(members[name])).shape
    assert problems == [
        f"latents/{store.spec.name}/{shard}: {key}: {name}: float64 {shape}, "
        f"expected float32 {shape}"
    ]
    # Bytes changed behind the stats file's back.
    store.layout.tar(shard).write_bytes(store.layout.tar(shard).read_bytes()[:-512])
    assert validate_output(corpus, decode_images=False).problems == [
        f"latents/{store.spec.name}/{shard}: tar bytes do not match the sha256 in its stats file"
    ]
    # A store another format version wrote: the trainer will not use it, validate says so.
    held = json.loads(store.manifest.read_text())
    store.manifest.write_text(json.dumps({**held, "format_version": 0}))
    assert validate_output(corpus, decode_images=False).problems == [
        f"{store.manifest}: ValueError: latents of format 0, not 1"
    ]
    assert find_store(corpus, vae_fingerprint(vae), 32, 4) is None


def _read(tar: Path) -> list[tuple[str, dict[str, bytes]]]:
    """A latent tar's samples as the writer takes them: (key, member name -> bytes)."""
    samples = samples_in_tar(tar.read_bytes())
    return [(s["__key__"], {k: v for k, v in s.items() if not k.startswith("__")}) for s in samples]
