"""Data-parallel training: ranks from torchrun's variables, each reading its own lanes of the
train split, N ranks taking the steps one process takes with N lanes, exact resume on any
world size that divides the lanes, and checkpoints that load at any world size. The ranks
are real processes talking over gloo on loopback, as torchrun starts them on one machine."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ace_model import checkpoint
from ace_model.config import RunSpec, TrainConfig
from ace_model.data import Position, ShardStream, decode_batch
from ace_model.distributed import World, device_for, from_env
from ace_model.encoders import PixelCodec
from ace_model.flow import flow_loss
from ace_model.lanes import held, lane_count, resumed
from ace_model.train import Encoders, LaneBatch, lane_batch, new_state, optimise_lanes, train
from dataengine.schema import derive_seed
from dataengine.sinks.latent_store import buckets
from tests.builders import MICRO, one_torch_thread

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


def test_two_ranks_take_the_steps_of_one_process_with_two_lanes(two_rank_runs, reference, tmp_path):
    one = tmp_path / "one"
    train(reference, one, steps=4, batch_size=4, lanes=2, **SETTINGS)
    two = two_rank_runs / "straight"
    torch.testing.assert_close(losses(two), losses(one), rtol=1e-5, atol=0)
    rows = [json.loads(line) for line in (two / "metrics.jsonl").open()]
    assert [row["world_size"] for row in rows] == [2] * 4
    assert [row["step"] for row in rows] == [1, 2, 3, 4]  # rank 0 alone wrote them
    ref, got = checkpoint.load(one), checkpoint.load(two)
    assert got["world_size"] == 2 and got["positions"] == ref["positions"]
    assert got["train"]["lanes"] == ref["train"]["lanes"] == 2
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
    train(reference, one, steps=4, batch_size=4, lanes=2, **SETTINGS)
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
def test_three_ranks_through_uneven_lanes_take_the_steps_of_one_process(reference, tmp_path):
    """3 lanes of 3 over 7 steps: the lanes hold different numbers of samples, so they reach
    their epochs' partial batches and ends at different steps. Still one process's steps."""
    plans = [
        [len(raws) for _, raws in stream.epoch_plan(0)]
        for stream in (
            ShardStream(reference, "train", 3, buckets(32, 4), SETTINGS["seed"], lane=i, lanes=3)
            for i in range(3)
        )
    ]
    assert len({sum(plan) for plan in plans}) > 1, plans  # lanes of different lengths
    assert any(min(plan) < 3 for plan in plans), plans  # with partial batches
    assert min(len(plan) for plan in plans) < 7  # and a lane whose epoch ends in the run
    train(reference, tmp_path / "one", steps=7, batch_size=3, lanes=3, **SETTINGS)
    run_ranks(3, dict(data=reference, run=tmp_path / "three", steps=7, batch_size=3, **SETTINGS))
    torch.testing.assert_close(
        losses(tmp_path / "three"), losses(tmp_path / "one"), rtol=1e-5, atol=0
    )
    ref, got = checkpoint.load(tmp_path / "one"), checkpoint.load(tmp_path / "three")
    assert got["positions"] == ref["positions"] and len(got["positions"]) == 3
    for name, tensor in ref["model"].items():
        torch.testing.assert_close(got["model"][name], tensor, rtol=1e-4, atol=1e-5)


def test_resume_on_two_ranks_gives_the_weights_of_a_straight_run(two_rank_runs):
    straight = checkpoint.load(two_rank_runs / "straight")
    resumed = checkpoint.load(two_rank_runs / "stopped")
    assert straight["step"] == resumed["step"] == 4
    assert straight["positions"] == resumed["positions"]
    for part in ("model", "ema"):
        for name, tensor in straight[part].items():
            assert torch.equal(tensor, resumed[part][name]), f"{part}.{name} differs"
    assert losses(two_rank_runs / "stopped")[2:] == losses(two_rank_runs / "straight")[2:]


def test_a_two_rank_checkpoint_samples_and_resumes_exactly_on_one(
    two_rank_runs, reference, tmp_path
):
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
    assert resumed["train"]["batch_size"] == 4 and resumed["train"]["lanes"] == 2  # as saved
    # one process holds both lanes: the run goes on as if on two ranks (the two-lane
    # process runs equal two-rank runs, above)
    straight = tmp_path / "straight"
    train(reference, straight, steps=6, batch_size=4, lanes=2, **SETTINGS)
    expected = checkpoint.load(straight)
    assert resumed["positions"] == expected["positions"]
    for name, tensor in expected["model"].items():
        assert torch.equal(resumed["model"][name], tensor), f"model.{name} differs"
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


def test_lanes_of_a_world():
    assert lane_count(0, World(1, 2)) == 2 and lane_count(4, World(1, 2)) == 4
    with pytest.raises(ValueError, match="--lanes 3 does not share out evenly over 2 ranks"):
        lane_count(3, World(0, 2))
    assert list(held(World(1, 2), 6)) == [1, 3, 5] and list(held(World(0, 1), 2)) == [0, 1]


def test_a_resume_on_ranks_that_do_not_divide_the_lanes_starts_their_earliest_epoch(caplog):
    payload = {
        "train": {"lanes": 2},
        "positions": [{"epoch": 3, "batch": 5}, {"epoch": 2, "batch": 9}],
    }
    assert resumed(payload, World(0, 1)) == (2, [Position(3, 5), Position(2, 9)])
    assert resumed(payload, World(0, 3)) == (3, [Position(2, 0)] * 3)
    assert "exact resume needs a number of ranks that divides 2" in caplog.text
    older = {"train": {}, "position": {"epoch": 1, "batch": 4}}  # saved before lanes
    assert resumed(older, World()) == (1, [Position(1, 4)])


def test_lanes_read_disjoint_shards_that_together_are_the_split(reference):
    sizes, seed = buckets(32, 4), 3
    whole = ShardStream(reference, "train", 4, sizes, seed)
    lanes = [ShardStream(reference, "train", 4, sizes, seed, lane=i, lanes=2) for i in (0, 1)]
    assert len(whole.shards) >= 2 and all(lane.by_shard for lane in lanes)
    read = [set(lane.lane_shards(0)) for lane in lanes]
    assert not read[0] & read[1] and read[0] | read[1] == set(whole.shards)
    keys = [{raw["__key__"] for raw in lane.raw_samples(0)} for lane in lanes]
    assert not keys[0] & keys[1]
    assert keys[0] | keys[1] == {raw["__key__"] for raw in whole.raw_samples(0)}
    assert [lane.lane_shards(1) for lane in lanes] != [lane.lane_shards(0) for lane in lanes]


def test_more_lanes_than_shards_share_the_split_out_by_sample(reference):
    sizes = buckets(32, 4)
    count = len(ShardStream(reference, "train", 4, sizes, 0).shards) + 1
    lanes = [
        ShardStream(reference, "train", 4, sizes, 0, lane=i, lanes=count) for i in range(count)
    ]
    assert not any(lane.by_shard for lane in lanes)
    keys = [[raw["__key__"] for raw in lane.raw_samples(0)] for lane in lanes]
    every = [key for lane in keys for key in lane]
    whole = {raw["__key__"] for raw in ShardStream(reference, "train", 4, sizes, 0).raw_samples(0)}
    assert len(every) == len(set(every)) and set(every) == whole


def test_lanes_weigh_their_losses_by_their_samples(reference, text_encoder):
    """A step over a lane of 3 samples and a lane of 1 reports the mean over the 4, and
    moves the network as the gradient of that mean."""
    stream = ShardStream(reference, "train", 4, buckets(32, 4), seed=0)
    size, raws = next((s, r) for s, r in stream.epoch_plan(0) if len(r) == 4)
    lcus, _ = decode_batch(raws, size)
    enc = Encoders(text_encoder, PixelCodec())
    spec = RunSpec(dataclasses.replace(MICRO, text_dim=text_encoder.dim))
    settings = TrainConfig(drop_text=0.5, warmup=1)
    cpu = torch.device("cpu")
    parts = [lane_batch(enc, lcus[:3], size, cpu, (0,)), lane_batch(enc, lcus[3:], size, cpu, (1,))]

    def alone(part: LaneBatch) -> float:
        model = new_state(spec, settings, cpu).model
        seed = derive_seed(settings.seed, "step", 0, *part.seed_parts)
        with torch.no_grad():
            return flow_loss(model, part.x0, part.cond, 0.5, torch.Generator().manual_seed(seed))

    state = new_state(spec, settings, cpu)
    values = optimise_lanes(state, parts, settings, cpu)
    expected = (3 * alone(parts[0]) + alone(parts[1])) / 4
    assert values["loss"] == pytest.approx(float(expected), rel=1e-5)
    assert state.step == 1
