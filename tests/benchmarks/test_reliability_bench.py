"""What resuming costs: the quick integrity check vs the full sha256 check over a run of small PNGs, the
merge's progress poll over a GenEval+DPG-sized record set, and a fault point when disarmed."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lensbench.store import faults
from lensbench.store.atomic import write_image_atomic
from lensbench.store.integrity import record_problem
from lensbench.store.run_store import RunStore

pytestmark = pytest.mark.benchmark

N_IMAGES = 500
N_RECORDS = 6472  # GenEval (553 x 4) + DPG-Bench (1,065 x 4) images


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    rng = np.random.default_rng(0)
    records = []
    for i in range(N_IMAGES):
        img = Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8))
        sha, n = write_image_atomic(root / "images" / f"{i:05d}.png", img)
        records.append({"key": f"k{i}", "status": "ok", "image": f"images/{i:05d}.png", "sha256": sha, "bytes": n})
    return root, records


def test_bench_quick_check_500_images(benchmark, run):
    root, records = run
    assert benchmark(lambda: sum(record_problem(root, r) is None for r in records)) == N_IMAGES


def test_bench_full_sha256_check_500_images(benchmark, run):
    root, records = run
    assert benchmark(lambda: sum(record_problem(root, r, verify=True) is None for r in records)) == N_IMAGES


def test_bench_merge_progress_poll_6472_records(benchmark, tmp_path):
    (tmp_path / "records").mkdir()
    for rank in range(8):
        with open(RunStore(tmp_path, rank=rank, world_size=8).stream_path("generate"), "w") as fh:
            for i in range(rank, N_RECORDS, 8):
                fh.write(f'{{"key": "k{i}", "status": "ok", "image": "x/{i}.png", "sha256": "{"0" * 64}", "bytes": 1}}\n')
    keys = {f"k{i}" for i in range(N_RECORDS)}
    store = RunStore(tmp_path)
    assert benchmark(lambda: len(store.done_keys("generate") & keys)) == N_RECORDS


def test_bench_disarmed_fault_point(benchmark):
    faults.configure()

    def thousand():
        for _ in range(1000):
            faults.point("x", writing=True)

    benchmark(thousand)
    faults.configure()
