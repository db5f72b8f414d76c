"""A run killed (SIGKILL) at ten random points, on local worker processes and on Ray, then
resumed: the output is byte-identical to an uninterrupted run, no process of a killed run
is left behind, and no temporary file remains."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import yaml

from dataengine.corpus.validate import validate_output
from dataengine.executors import InProcess
from dataengine.recipe import build_recipe
from dataengine.runner import run_recipe
from tests.builders import TINY_RECIPE
from tests.helpers import shard_bytes

pytestmark = pytest.mark.slow

KILLS = 10
# About eighty small units (several seconds of work): room for ten kills between and in
# them, however fast the machine (a kill costs the run a unit or three).
RECIPE = {
    **TINY_RECIPE,
    "source": {**TINY_RECIPE["source"], "photos": 240, "shape_families": 20},
    "unit_size": 4,
}


@pytest.fixture(scope="module")
def recipe_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "recipe.yaml"
    path.write_text(yaml.safe_dump(RECIPE))
    return path


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("uninterrupted")
    run_recipe(build_recipe(dict(RECIPE)), out, InProcess(), progress=False)
    return out


def processes_with(marker: str) -> list[int]:
    """PIDs whose environment carries `marker`: the run and everything it started."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def wait_until_gone(find, seconds: float = 30) -> list:
    """What `find()` still returns after up to `seconds` (a dying process takes a moment)."""
    deadline = time.monotonic() + seconds
    while (left := find()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def kill_and_resume(command: list[str], out: Path, find) -> int:
    """Ten times: start the run (resuming the last), and SIGKILL it at a random moment once
    it has committed a shard of its own (so the kill lands in its work: between units, in
    a unit, in a write); check that `find` sees nothing of it after; -> runs killed."""
    rng, killed = np.random.default_rng(2024), 0
    for _ in range(KILLS):
        name, marker = "ACE_FAULT_RUN", uuid.uuid4().hex
        run = subprocess.Popen([*command, "--out", str(out), "--resume"],
                               env={**os.environ, name: marker}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
        if _working(run, out) and _still_running(run, float(rng.uniform(0, 0.4))):
            run.send_signal(signal.SIGKILL)
            killed += 1
        run.wait()
        left = wait_until_gone(lambda m=f"{name}={marker}": processes_with(m))
        assert left == [], f"run {marker}: processes left behind: {left}"
        assert wait_until_gone(find) == []
    return killed


def _committed(out: Path) -> int:
    return len(list(out.glob("stats/*.json")))


def _working(run: subprocess.Popen, out: Path) -> bool:
    """Wait until the run commits a shard (True), or ends first (False)."""
    before = _committed(out)
    while run.poll() is None:
        if _committed(out) > before:
            return True
        time.sleep(0.02)
    return False


def _still_running(run: subprocess.Popen, seconds: float) -> bool:
    try:
        run.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        return True


def finish_and_check(command: list[str], out: Path, uninterrupted: Path) -> None:
    subprocess.run([*command, "--out", str(out), "--resume"], check=True, timeout=600)
    ours, theirs = shard_bytes(out), shard_bytes(uninterrupted)
    assert sorted(ours) == sorted(theirs)
    assert [name for name in ours if ours[name] != theirs[name]] == []
    assert list(out.glob("*/.*.tmp-*")) == []
    assert validate_output(out).ok


def test_killed_worker_process_runs_resume_to_the_same_bytes(recipe_file, uninterrupted, tmp_path):
    command = [sys.executable, "-m", "ace_cli", "-q", "data", "run", str(recipe_file),
               "--processes", "2"]  # fmt: skip
    killed = kill_and_resume(command, tmp_path / "out", lambda: [])
    assert killed == KILLS, f"{killed} of {KILLS} kills landed mid-run"
    finish_and_check(command, tmp_path / "out", uninterrupted)


def ray_workers_of_other_jobs(own_job: str) -> list[str]:
    """Ray worker processes of jobs other than this test's: a killed driver's. Ray Data's
    detached cluster-wide actors (its stats and autoscaling helpers) live with the cluster,
    not with a job, by Ray's design."""
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                name = f.read().split(b"\0")[0].decode(errors="replace")
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
        except OSError:
            continue
        job = env.get(b"RAY_JOB_ID", b"").decode()
        system = ("_StatsActor", "_AutoscalingCoordinatorActor", "ActorLocationTracker")
        ours_or_cluster = job in ("", own_job, "ffffffff") or any(p in name for p in system)
        if name.startswith("ray::") and not ours_or_cluster:
            left.append(f"{pid} {name} (job {job})")
    return left


def test_killed_ray_drivers_resume_to_the_same_bytes(recipe_file, uninterrupted, tmp_path):
    import ray

    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    try:
        address, own = ray.get_runtime_context().gcs_address, ray.get_runtime_context().get_job_id()
        command = [sys.executable, "-m", "ace_cli", "-q", "data", "run", str(recipe_file),
                   "--ray-address", address]  # fmt: skip
        killed = kill_and_resume(command, tmp_path / "out", lambda: ray_workers_of_other_jobs(own))
        assert killed == KILLS, f"{killed} of {KILLS} kills landed mid-run"
        finish_and_check(command, tmp_path / "out", uninterrupted)
    finally:
        ray.shutdown()
