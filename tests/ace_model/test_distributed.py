"""Data-parallel training: ranks from torchrun's variables, a global batch shared out so that
N ranks take the steps one process takes, exact resume at the same world size, and
checkpoints that load at any world size. The ranks are real processes talking over gloo on
loopback, as torchrun starts them on one machine."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ace_model import checkpoint
from ace_model.conditioning import pack
from ace_model.data import ShardStream, decode_batch
from ace_model.distributed import Share, World, device_for, from_env, share_of, slice_of
from ace_model.encoders import PixelCodec
from ace_model.flow import flow_loss
from ace_model.train import train
from dataengine.sinks.latent_store import buckets
from tests.builders import MICRO, one_torch_thread, trained_looking

SETTINGS = dict(model=MICRO, seed=5, log_every=1, progress=False)  # batch_size per rank

# --------------------------------------------------------------------------------------------
# Ranks as real processes
# --------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rank(rank: int, size: int, jobs: list[dict]) -> None:
    """One rank, as torchrun would start it: the standard variables, then train() per job
    (each job its own process group, on its own port)."""
    os.environ.update(
        RANK=str(rank), WORLD_SIZE=str(size), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1"
    )
    with one_torch_thread():
        for job in jobs:
            os.environ["MASTER_PORT"] = str(job["port"])
            train(**{k: v for k, v in job.items() if k != "port"})


def run_ranks(size: int, *jobs: dict) -> None:
    """Run `jobs` one after the other, each on `size` ranks."""
    import torch.multiprocessing as mp

    ports = set()
    while len(ports) < len(jobs):
        ports.add(_free_port())
    jobs = [{**job, "port": port} for job, port in zip(jobs, sorted(ports), strict=True)]
    mp.spawn(_rank, args=(size, jobs), nprocs=size, join=True)


def losses(run: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run / "metrics.jsonl").open()]


@pytest.fixture(scope="module")
def two_rank_runs(reference, tmp_path_factory) -> Path:
    """On 2 ranks of 4 samples each: a run straight to step 4, and one stopped at step 2
    then resumed to step 4."""
    root = tmp_path_factory.mktemp("two_ranks")
    common = dict(data=reference, batch_size=4, **SETTINGS)
    run_ranks(
        2,
        dict(run=root / "straight", steps=4, **common),
        dict(run=root / "stopped", steps=2, **common),
        dict(run=root / "stopped", steps=4, resume=True, data=reference, progress=False),
    )
    return root


# --------------------------------------------------------------------------------------------
# Two ranks against one
# --------------------------------------------------------------------------------------------


def test_two_ranks_take_the_steps_of_one_with_the_same_global_batch(
    two_rank_runs, reference, tmp_path
):
    one = tmp_path / "one"
    train(reference, one, steps=4, batch_size=8, **SETTINGS)
    two = two_rank_runs / "straight"
    torch.testing.assert_close(losses(two), losses(one), rtol=1e-5, atol=0)
    rows = [json.loads(line) for line in (two / "metrics.jsonl").open()]
    assert [row["world_size"] for row in rows] == [2] * 4
    assert [row["step"] for row in rows] == [1, 2, 3, 4]  # rank 0 alone wrote them
    ref, got = checkpoint.load(one), checkpoint.load(two)
    assert got["world_size"] == 2 and got["position"] == ref["position"]
    assert (got["parallel"], ref["parallel"]) == ("ddp", "single")
    for part in ("model", "ema"):
        assert got[part].keys() == ref[part].keys()  # the bare network's: no "module."
        for name, tensor in ref[part].items():
            torch.testing.assert_close(got[part][name], tensor, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def sharded_runs(reference, tmp_path_factory) -> Path:
    """As two_rank_runs, with parameters, gradients and optimizer state sharded (FSDP2)."""
    root = tmp_path_factory.mktemp("sharded")
    common = dict(data=reference, batch_size=4, shard=True, **SETTINGS)
    run_ranks(
        2,
        dict(run=root / "straight", steps=4, **common),
        dict(run=root / "stopped", steps=2, **common),
        dict(run=root / "stopped", steps=4, resume=True, data=reference, progress=False),
    )
    return root


def test_sharded_ranks_take_the_steps_of_one_and_resume_exactly(sharded_runs, reference, tmp_path):
    one = tmp_path / "one"
    train(reference, one, steps=4, batch_size=8, **SETTINGS)
    sharded = sharded_runs / "straight"
    torch.testing.assert_close(losses(sharded), losses(one), rtol=1e-5, atol=0)
    ref, got = checkpoint.load(one), checkpoint.load(sharded)
    assert got["train"]["shard"] and got["parallel"] == "fsdp2" and got["world_size"] == 2
    for part in ("model", "ema"):
        assert got[part].keys() == ref[part].keys()  # whole tensors, the bare network's names
        for name, tensor in ref[part].items():
            torch.testing.assert_close(got[part][name], tensor, rtol=1e-4, atol=1e-5)
    assert got["optimizer"]["state"].keys() == ref["optimizer"]["state"].keys()
    resumed = checkpoint.load(sharded_runs / "stopped")
    for part in ("model", "ema"):
        for name, tensor in got[part].items():
            assert torch.equal(tensor, resumed[part][name]), f"{part}.{name} differs"


def test_a_sharded_checkpoint_samples_and_resumes_unsharded(sharded_runs, reference, tmp_path):
    import shutil

    from ace_model.sample import Sampler

    run = shutil.copytree(sharded_runs / "straight", tmp_path / "run")
    image = torch.full((24, 40, 3), 90, dtype=torch.uint8).numpy()
    assert Sampler(run).edit([image], "Make {image} grayscale.", steps=2).shape == (24, 40, 3)
    summary = train(reference, run, steps=6, resume=True, progress=False)
    assert summary["step"] == 6 and checkpoint.load(run)["world_size"] == 1


@pytest.mark.slow
def test_batches_that_do_not_divide_over_the_ranks(reference, tmp_path):
    """3 ranks of 2 through an epoch's partial batches: one of 4 samples (2, 1, 1) and one
    of 2, where the third rank borrows a sample at weight 0. Still the one-process steps."""
    stream = ShardStream(reference, "train", 6, buckets(32, 4), seed=SETTINGS["seed"])
    sizes = [len(raws) for _, raws in itertools.islice(stream.epoch_plan(0), 7)]
    assert min(sizes) < 3 and any(size % 3 for size in sizes), sizes  # the cases are there
    train(reference, tmp_path / "one", steps=7, batch_size=6, **SETTINGS)
    run_ranks(3, dict(data=reference, run=tmp_path / "three", steps=7, batch_size=2, **SETTINGS))
    torch.testing.assert_close(
        losses(tmp_path / "three"), losses(tmp_path / "one"), rtol=1e-5, atol=0
    )
    ref, got = checkpoint.load(tmp_path / "one"), checkpoint.load(tmp_path / "three")
    for name, tensor in ref["model"].items():
        torch.testing.assert_close(got["model"][name], tensor, rtol=1e-4, atol=1e-5)


def test_resume_on_two_ranks_gives_the_weights_of_a_straight_run(two_rank_runs):
    straight = checkpoint.load(two_rank_runs / "straight")
    resumed = checkpoint.load(two_rank_runs / "stopped")
    assert straight["step"] == resumed["step"] == 4
    assert straight["position"] == resumed["position"]
    for part in ("model", "ema"):
        for name, tensor in straight[part].items():
            assert torch.equal(tensor, resumed[part][name]), f"{part}.{name} differs"
    assert losses(two_rank_runs / "stopped")[2:] == losses(two_rank_runs / "straight")[2:]


def test_a_two_rank_checkpoint_samples_and_resumes_on_one(two_rank_runs, reference, tmp_path):
    import shutil

    from ace_model.sample import Sampler

    run = shutil.copytree(two_rank_runs / "straight", tmp_path / "run")
    image = torch.full((24, 40, 3), 90, dtype=torch.uint8).numpy()
    out = Sampler(run).edit([image], "Make {image} grayscale.", steps=2)
    assert out.shape == (24, 40, 3) and out.dtype.name == "uint8"

    summary = train(reference, run, steps=6, resume=True, progress=False)
    assert summary["step"] == 6 and summary["world_size"] == 1
    resumed = checkpoint.load(run)
    assert resumed["step"] == 6 and resumed["world_size"] == 1
    assert resumed["train"]["batch_size"] == 4  # per rank, as saved
    assert [json.loads(line)["world_size"] for line in (run / "metrics.jsonl").open()][-2:] == [
        1,
        1,
    ]


def test_ace_model_train_nproc_per_node_2(reference, tmp_path):
    """The CLI starts torch.distributed.run with the same command line, less the flag."""
    run = tmp_path / "run"
    command = [sys.executable, "-m", "ace_cli", "--quiet", "model", "train"]
    flags = ["--data", str(reference), "--out", str(run), "--steps", "2", "--batch-size", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [*command, *flags, "--nproc-per-node", "2"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("step 2: loss") == 1  # printed by rank 0 alone
    assert "Loading weights" not in done.stderr  # --quiet reaches the ranks' libraries
    rows = [json.loads(line) for line in (run / "metrics.jsonl").open()]
    assert [(row["step"], row["world_size"]) for row in rows] == [(2, 2)]
    payload = checkpoint.load(run)
    assert payload["world_size"] == 2 and payload["step"] == 2


# --------------------------------------------------------------------------------------------
# The pieces, in one process
# --------------------------------------------------------------------------------------------


def test_world_from_torchrun_variables():
    assert from_env({}) == World(0, 1, 0)
    assert from_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == World(3, 4, 1)
    with pytest.raises(ValueError, match="RANK and WORLD_SIZE must both"):
        from_env({"RANK": "1"})
    with pytest.raises(ValueError, match="outside WORLD_SIZE 2"):
        from_env({"RANK": "2", "WORLD_SIZE": "2"})


def test_device_of_a_rank(monkeypatch):
    assert device_for(World(), "cpu") == torch.device("cpu")
    assert device_for(World(1, 2, 1), "cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="pass --device cuda"):
        device_for(World(1, 2, 1), "cuda:0")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert device_for(World(3, 4, 1), "cuda") == torch.device("cuda", 1)
    with pytest.raises(ValueError, match="LOCAL_RANK 2 needs GPU 2, and this node has 2"):
        device_for(World(2, 4, 2), "cuda")


def test_shares_of_a_global_batch():
    """Rank r holds samples r, r + W, ...; its rows are their places among the samples that
    decoded, and the parts add up to the whole batch however it divides."""
    decoded = torch.tensor([True, True, False, True, True])  # sample 2 failed on rank 0
    shares = [share_of(decoded, World(r, 2)) for r in range(2)]
    assert [s.rows for s in shares] == [(0, 3), (1, 2)] and shares[0].drawn == 4
    assert sum(s.weight for s in shares) / 2 == 1.0
    assert slice_of(list("abcde"), World(1, 2)) == ["b", "d"]
    left_out = share_of(torch.tensor([True, True]), World(2, 3))
    assert left_out.rows == () and left_out.borrow().weight == 0.0
    assert Share.whole(3) == Share((0, 1, 2), 3, 1.0)


def test_weighted_shares_average_to_the_one_process_gradient(reference, text_encoder):
    """What DDP computes from the ranks' weighted losses, done by hand: the mean of the
    ranks' gradients equals the gradient on the whole batch, for a batch of 3 over 2 ranks
    and over 4 (one rank then borrows a sample at weight 0)."""
    stream = ShardStream(reference, "train", 4, buckets(32, 4), seed=0)
    size, raws = next((s, r) for s, r in stream.epoch_plan(0) if len(r) == 4)
    lcus, _ = decode_batch(raws[:3], size)
    model = trained_looking(dataclasses.replace(MICRO, text_dim=text_encoder.dim))

    def gradient(items, share: Share | None = None) -> torch.Tensor:
        cond = pack(items, size, text_encoder, PixelCodec())
        x0 = torch.stack([lcu.target for lcu in items])
        rows, drawn = (share.rows, share.drawn) if share else (None, None)
        generator = torch.Generator().manual_seed(9)
        loss = flow_loss(model, x0, cond, 0.5, generator, rows, drawn)
        weight = share.weight if share else 1.0
        model.zero_grad()
        (loss * weight).backward()
        return torch.cat([p.grad.flatten() for p in model.parameters()])

    whole = gradient(lcus)
    for size_ in (2, 4):
        summed = torch.zeros_like(whole)
        for rank in range(size_):
            world = World(rank, size_)
            share = share_of(torch.ones(3, dtype=torch.bool), world)
            mine = slice_of(lcus, world)
            if not mine:
                mine, share = lcus[:1], share.borrow()
            summed += gradient(mine, share)
        torch.testing.assert_close(summed / size_, whole, rtol=1e-4, atol=1e-7)
