"""glibc heap settings: image-sized buffers stop faulting in fresh pages once tuned."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from dataengine.executors import heap

pytestmark = pytest.mark.skipif(heap._LIBC is None, reason="glibc only")

# Decodes, resizes and encodes the same 1280x960 JPEG 40 times, as a worker does a unit's
# images, and counts the minor page faults of the last 30 (after warm-up).
_FAULTS_PER_IMAGE = """
import json, resource, sys
import cv2, numpy as np
from dataengine.executors import heap
if sys.argv[1] == "tuned":
    heap.tune()
jpeg = np.fromfile(sys.argv[2], np.uint8)
def one():
    image = cv2.imdecode(jpeg, cv2.IMREAD_REDUCED_COLOR_2)
    small = cv2.resize(image, (512, 384), interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", small)[1].tobytes()
for _ in range(10):
    one()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(30):
    one()
print(json.dumps((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 30))
"""


def _faults_per_image(mode: str, jpeg: Path) -> float:
    # glibc's defaults: no MALLOC_*_ variables or tunables inherited from this environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUN"))}
    command = [sys.executable, "-c", _FAULTS_PER_IMAGE, mode, str(jpeg)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout)


def test_tuned_heap_reuses_image_buffers_instead_of_faulting_in_fresh_pages(tmp_path):
    # Made here: a process that freed a large mapping first (as making this JPEG does) has
    # raised glibc's adaptive thresholds already, which a fresh worker has not.
    rng = np.random.default_rng(0)
    pixels = cv2.GaussianBlur(rng.integers(0, 256, (960, 1280, 3), dtype=np.uint8), (0, 0), 3)
    jpeg = tmp_path / "photo.jpg"
    cv2.imwrite(str(jpeg), pixels)
    # glibc's defaults re-grow the trimmed heap for every image: the kernel faults in and
    # zeroes about 200 pages each time. Tuned, the buffers are reused.
    assert _faults_per_image("default", jpeg) > 50
    assert _faults_per_image("tuned", jpeg) < 5


def test_running_a_unit_tunes_the_heap_of_the_process_that_runs_it(tmp_path):
    script = """
import sys
from pathlib import Path
from dataengine.executors import InProcess, heap
from dataengine.recipe import load_recipe
from dataengine.runner import run_recipe
recipe = load_recipe(Path("pipelines/recipes/resize.yaml"),
                     {"source": {"kind": "folder", "path": sys.argv[1]}})
assert not heap._tuned
run_recipe(recipe, Path(sys.argv[2]), InProcess(), progress=False)
print(heap._tuned)
"""
    images = tmp_path / "images"
    images.mkdir()
    cv2.imwrite(str(images / "a.jpg"), np.full((64, 96, 3), 128, np.uint8))
    (images / "a.txt").write_text("a grey square\n")
    done = subprocess.run(
        [sys.executable, "-c", script, str(images), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "True"
