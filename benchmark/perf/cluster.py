"""The default recipe on a two-node local Ray cluster writing to object storage (moto's
S3-compatible server on loopback), against `--processes N` writing to the local disk: the
same sources, the same shards, one sitting.

Both runs are commands (launch to exit), as a user starts them; the cluster's nodes are
started before its run (a cluster is up before its jobs, so its start-up is not counted),
and its run joins it with `--ray-address`. Both share one mining cache, filled by a first
run, so that neither pays the embedding pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from benchmark.perf.cpu import timed
from benchmark.perf.report import Result
from dataengine.corpus.validate import validate_output
from dataengine.storage import as_path


def measure(recipe: Path, work: Path, cores: int) -> list[Result]:
    work.mkdir(parents=True, exist_ok=True)
    with s3_server() as settings:
        env = {**os.environ, **settings}
        _command(recipe, work / "warm-up", ["--processes", str(cores), "--limit", "8"], env)
        local, local_wall, _ = timed(
            lambda: _command(recipe, work / "disk", ["--processes", str(cores)], env)
        )
        with two_nodes(cores, env) as address:
            url = "s3://bench/run"
            _, cluster_wall, _ = timed(
                lambda: _command(recipe, url, ["--ray-address", address], env)
            )
        same = _shards(work / "disk") == _shards(url, settings)
        valid = validate_output(url).ok
    note = (
        f"{local} pairs; two nodes of {max(1, cores // 2)} CPU each writing to s3:// "
        f"(moto on loopback) took {cluster_wall:.1f} s, --processes {cores} to disk "
        f"{local_wall:.1f} s, launch to exit; shards byte-identical: {same}; the S3 corpus "
        f"validates: {valid}"
    )
    return [
        Result(
            "default recipe: two-node cluster to S3 / processes to disk, pairs per second",
            local / cluster_wall,
            "pairs/s",
            baseline=local / local_wall,
            baseline_name=f"--processes {cores} to disk",
            note=note,
        )
    ]


def _command(recipe: Path, out, flags: list[str], env: dict) -> int:
    if not str(out).startswith("s3://"):
        shutil.rmtree(out, ignore_errors=True)
    argv = [sys.executable, "-m", "ace_cli", "-q", "data", "run", str(recipe), "--out", str(out)]
    done = subprocess.run([*argv, *flags], env=env, capture_output=True, text=True, check=True)
    return int(done.stdout.split()[0])  # "982 samples (...)"


def _shards(out, settings: dict | None = None) -> dict[str, bytes]:
    os.environ.update(settings or {})
    root = as_path(str(out))
    return {p.name: p.read_bytes() for p in sorted(root.glob("shards/*.tar"))}


class s3_server:
    """moto's S3 server on a free loopback port, with a bucket `bench`; the AWS settings."""

    def __enter__(self) -> dict[str, str]:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        self.server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        endpoint = f"http://127.0.0.1:{port}"
        _wait_for(endpoint)
        settings = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        os.environ.update(settings)
        import s3fs

        s3fs.S3FileSystem(skip_instance_cache=True).mkdir("bench")
        return settings

    def __exit__(self, *exc) -> None:
        self.server.terminate()
        self.server.wait(timeout=30)


class two_nodes:
    """A local Ray cluster of two nodes (ray.cluster_utils: a head and a second node, as
    separate processes), each with half the cores; its address."""

    def __init__(self, cores: int, env: dict):
        self.cpus = max(1, cores // 2)

    def __enter__(self) -> str:
        from ray.cluster_utils import Cluster

        self.cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": self.cpus})
        self.cluster.add_node(num_cpus=self.cpus)
        self.cluster.wait_for_nodes()
        return self.cluster.address

    def __exit__(self, *exc) -> None:
        self.cluster.shutdown()


def _wait_for(endpoint: str) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(endpoint, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
