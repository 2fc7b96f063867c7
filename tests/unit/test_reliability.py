"""Unit tests of the reliability pieces: torchrun environment, rank coordination, OOM back-off, image
integrity checks and the store's fault points."""

from __future__ import annotations

import errno
import hashlib
import threading
import time

import pytest

from lensbench.dist import Coordinator, DistContext, WaitPolicy
from lensbench.errors import UserError
from lensbench.runners.oom import Backoff, is_oom, summarize_events
from lensbench.store import faults
from lensbench.store.atomic import png_bytes, write_bytes_atomic
from lensbench.store.integrity import full_check, quick_check, scan_run
from lensbench.store.run_store import RunStore

# -- torchrun environment ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("env, fragment", [
    ({"RANK": "2", "WORLD_SIZE": "2"}, "RANK=2 WORLD_SIZE=2"),
    ({"RANK": "x", "WORLD_SIZE": "2"}, "must be integers"),
    ({"WORLD_SIZE": "2"}, "RANK is not"),
    ({"RANK": "0", "WORLD_SIZE": "0"}, "WORLD_SIZE=0"),
    ({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "-1"}, "LOCAL_RANK=-1"),
])
def test_bad_torchrun_environment(monkeypatch, env, fragment):
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(UserError, match=fragment) as err:
        DistContext.from_env()
    assert "torchrun" in str(err.value)


def test_torchrun_environment_read(monkeypatch):
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert DistContext.from_env() == DistContext(rank=3, world_size=4, local_rank=1)
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(k)
    assert DistContext.from_env() == DistContext()


def test_each_rank_gets_its_local_gpu_and_too_few_gpus_is_an_error(monkeypatch):
    import torch

    calls = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", calls.append)
    assert DistContext(rank=3, world_size=4, local_rank=1).device_for("auto") == "cuda:1" and calls == [1]
    assert DistContext().device_for("auto") == "auto" and calls == [1]  # single process: untouched
    with pytest.raises(UserError, match="LOCAL_RANK=2 but only 2 GPU.* --nproc-per-node 2 or fewer"):
        DistContext(rank=2, world_size=4, local_rank=2).bind_device()


def test_same_rank_twice_is_refused(tmp_path):
    with RunStore(tmp_path, rank=1, world_size=2).locked():
        with pytest.raises(UserError, match="rank 1 .* already held .* own RANK"):
            with RunStore(tmp_path, rank=1, world_size=2).locked():
                pass


# -- coordination -----------------------------------------------------------------------------------------------
FAST = WaitPolicy(heartbeat_s=0.05, poll_s=0.02, rank_timeout_s=0.6, stall_timeout_s=0)


def _pair(tmp_path, policy=FAST):
    return (Coordinator(tmp_path, "generate", DistContext(0, 2), policy),
            Coordinator(tmp_path, "generate", DistContext(1, 2), policy))


def test_wait_returns_when_the_data_is_complete(tmp_path):
    c0, c1 = _pair(tmp_path)
    c1.start()
    c0.start()
    state = {"done": 0}

    def work():
        for _ in range(5):
            time.sleep(0.05)
            state["done"] += 1
        c1.finish("done", generated=5)

    t = threading.Thread(target=work)
    t.start()
    c0.wait_for_others(lambda: (state["done"], 5), "images")
    t.join()
    c0.finish("done")
    assert [r["status"] for r in c0.rank_reports()] == ["done", "done"]
    assert c0.rank_reports()[1]["generated"] == 5


def test_a_failed_rank_stops_the_wait_with_its_error(tmp_path):
    c0, c1 = _pair(tmp_path)
    c0.start()
    c1.start()
    c1.finish("failed", error="out of memory even at batch size 1")
    t = time.monotonic()
    with pytest.raises(UserError, match=r"rank 1 \(.*\) failed during generate: out of memory .* re-run the same command"):
        c0.wait_for_others(lambda: (1, 4), "images")
    assert time.monotonic() - t < FAST.rank_timeout_s  # failed fast, not by timeout


def test_a_failure_left_by_an_earlier_attempt_is_not_this_attempts(tmp_path):
    c0, c1 = _pair(tmp_path)
    c1.start()
    c1.finish("failed", error="old failure")  # before rank 0 starts: a previous attempt
    c0.start()
    t = time.monotonic()
    with pytest.raises(UserError, match="stopped responding"):
        c0.wait_for_others(lambda: (1, 4), "images")
    assert time.monotonic() - t >= FAST.rank_timeout_s


def test_a_silent_rank_times_out_with_a_clear_error(tmp_path):
    c0, c1 = _pair(tmp_path)
    c0.start()
    c1.start()
    c1._stop.set()  # simulate SIGKILL: the heartbeat stops, no final status
    with pytest.raises(UserError, match=r"rank 1 .* stopped responding .* 3 images missing .* re-run"):
        c0.wait_for_others(lambda: (1, 4), "images")


def test_a_rank_that_never_appears_names_the_shared_filesystem(tmp_path):
    c0, _ = _pair(tmp_path)
    c0.start()
    with pytest.raises(UserError, match="never wrote a heartbeat .* filesystem all nodes share"):
        c0.wait_for_others(lambda: (0, 2), "images")


def test_all_done_but_incomplete_points_at_different_settings(tmp_path):
    c0, c1 = _pair(tmp_path)
    c0.start()
    c1.start()
    c1.finish("done")
    with pytest.raises(UserError, match="every rank finished but 2 of 4 images have no record; .* different settings"):
        c0.wait_for_others(lambda: (2, 4), "images")


def test_stall_timeout_when_alive_ranks_commit_nothing(tmp_path):
    policy = WaitPolicy(heartbeat_s=0.05, poll_s=0.02, rank_timeout_s=10, stall_timeout_s=0.4)
    c0, c1 = _pair(tmp_path, policy)
    c0.start()
    c1.start()  # beats, but never commits
    try:
        with pytest.raises(UserError, match="no rank committed any of the 3 missing units for 0.4s .* hung"):
            c0.wait_for_others(lambda: (1, 4), "units")
    finally:
        c1.finish("failed", error="test over")


# -- OOM back-off -----------------------------------------------------------------------------------------------


def test_is_oom_recognises_cuda_and_message_forms():
    import torch

    assert is_oom(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"))
    assert is_oom(RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)"))
    assert not is_oom(RuntimeError("shape mismatch"))
    assert not is_oom(ValueError("out of memory"))


def _oom_above(limit, calls):
    import torch

    def fn(chunk):
        calls.append(len(chunk))
        if len(chunk) > limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return [x * 10 for x in chunk]

    return fn


def test_backoff_halves_remembers_and_covers_every_item_in_order():
    calls, events = [], []
    b = Backoff("generating", "use a smaller batch", events.append)
    out = []
    for batch in ([1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11]):
        for chunk, res in b.run(batch, _oom_above(2, calls)):
            out += list(zip(chunk, res))
    assert out == [(i, i * 10) for i in range(1, 12)]
    assert calls == [8, 4, 2, 2, 2, 2, 2, 1]  # the size that fits is kept for the next batch
    assert [(e["from_batch_size"], e["to_batch_size"]) for e in events] == [(8, 4), (4, 2)]
    assert b.summary() == {"events": 2, "final_batch_size": 2}
    assert summarize_events([{**e, "rank": 1} for e in events]) == {"events": 2, "smallest_batch_size": 2, "ranks": [1]}


def test_backoff_gives_up_at_batch_size_one_with_a_hint():
    b = Backoff("scoring with geneval", "pass a smaller --batch-size")
    with pytest.raises(UserError, match="out of memory even at batch size 1 while scoring with geneval .* --batch-size"):
        list(b.run([1, 2], _oom_above(0, [])))


def test_backoff_lets_other_errors_through():
    def boom(chunk):
        raise KeyError("not an OOM")

    with pytest.raises(KeyError):
        list(Backoff("x", "y").run([1, 2], boom))


# -- integrity --------------------------------------------------------------------------------------------------


def _png(tmp_path):
    from PIL import Image

    data = png_bytes(Image.new("RGB", (16, 16), (200, 10, 10)))
    p = tmp_path / "a.png"
    p.write_bytes(data)
    return p, data


def test_quick_check_catches_missing_truncated_and_foreign_files(tmp_path):
    p, data = _png(tmp_path)
    assert quick_check(p, len(data)) is None
    assert quick_check(tmp_path / "none.png") == "missing"
    assert "size" in quick_check(p, len(data) + 1)
    p.write_bytes(data[:-5])
    assert "IEND" in quick_check(p)
    p.write_bytes(b"\xff\xd8\xff" + data[3:])
    assert "signature" in quick_check(p)
    p.write_bytes(data[:10])
    assert "truncated" in quick_check(p)


def test_full_check_catches_a_flipped_byte_the_quick_check_cannot(tmp_path):
    p, data = _png(tmp_path)
    sha = hashlib.sha256(data).hexdigest()
    bad = bytearray(data)
    bad[len(bad) // 2] ^= 1
    p.write_bytes(bytes(bad))
    assert quick_check(p, len(data)) is None
    assert full_check(p, len(data), sha) == "sha256 differs from the record"


def test_scan_run_lists_damaged_orphans_and_temp_files(tmp_path):
    p, data = _png(tmp_path)
    (tmp_path / "b.png").write_bytes(data)  # no record: orphan
    (tmp_path / ".tmp-x").write_bytes(b"")
    recs = [{"key": "a", "status": "ok", "image": "a.png", "bytes": len(data), "sha256": "0" * 64},
            {"key": "c", "status": "ok", "image": "c.png", "bytes": 3}]
    report = scan_run(tmp_path, recs, verify=True)
    assert report.checked == 2 and not report.ok
    assert dict(report.damaged) == {"a.png": "sha256 differs from the record", "c.png": "missing"}
    assert report.orphans == ["b.png"] and report.temp_files == [".tmp-x"]


# -- fault points -----------------------------------------------------------------------------------------------


def test_enospc_in_an_atomic_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    faults.configure(enospc_after=1)
    try:
        with pytest.raises(UserError, match="no space left .* free disk space"):
            write_bytes_atomic(target, b"new content")
    finally:
        faults.configure()
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_enospc_mid_append_leaves_a_torn_line_that_is_ignored_and_repaired(tmp_path):
    store = RunStore(tmp_path)
    store.append("s", {"key": "a", "status": "ok"})
    faults.configure(enospc_after=1)
    try:
        with pytest.raises(UserError, match="no space left"):
            store.append("s", {"key": "b", "status": "ok", "pad": "x" * 50})
    finally:
        faults.configure()
    raw = store.stream_path("s").read_text()
    assert not raw.endswith("\n")  # half a line on disk, as a real full disk can leave
    assert [r["key"] for r in store.records("s")] == ["a"]
    store.append("s", {"key": "b", "status": "ok"})
    assert [r["key"] for r in store.records("s")] == ["a", "b"]


def test_fault_points_are_counted_and_env_armed(monkeypatch):
    faults.configure()
    faults.point("x")
    faults.point("y", writing=True)
    assert faults.steps() == 2
    monkeypatch.setenv("LENSBENCH_FAULT_ENOSPC", "1")
    faults._state["env_read"] = False
    try:
        with pytest.raises(OSError) as err:
            faults.point("z", writing=True)
        assert err.value.errno == errno.ENOSPC
    finally:
        faults.configure()
