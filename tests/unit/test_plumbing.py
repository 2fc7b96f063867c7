"""The shared plumbing in lensbench.util and lensbench.baselines: one home each, tested here once."""

from __future__ import annotations

import hashlib
import os
import threading

import pytest

from lensbench.errors import UserError
from lensbench.util.files import build_dir_atomic, cache_root, iter_jsonl, sha256_file
from lensbench.util.lock import exclusive_lock, holder_note
from lensbench.util.sizes import format_size, parse_size
from lensbench.util.table import align


def test_sizes_are_width_first():
    assert parse_size("1024x768") == (768, 1024) and parse_size(" 1024 × 768 ") == (768, 1024)
    assert format_size(768, 1024) == "1024x768"
    assert format_size(*parse_size("128x64")) == "128x64"
    for bad in ("1024", "0x64", "axb", "64x"):
        with pytest.raises(UserError, match="must be WIDTHxHEIGHT"):
            parse_size(bad)


def test_sha256_file_and_cache_root(tmp_path, monkeypatch):
    f = tmp_path / "f.bin"
    f.write_bytes(os.urandom(3 << 20))  # several read chunks
    assert sha256_file(f) == hashlib.sha256(f.read_bytes()).hexdigest()
    monkeypatch.setenv("LENSBENCH_CACHE", "~/lb-cache")
    assert cache_root() == cache_root().expanduser() and str(cache_root()).endswith("lb-cache")  # ~ expanded
    monkeypatch.delenv("LENSBENCH_CACHE")
    assert str(cache_root()).endswith(os.path.join(".cache", "lensbench"))


def test_iter_jsonl_names_path_and_line(tmp_path):
    p = tmp_path / "a.jsonl"
    p.write_text('{"a": 1}\n\n[2]\n{bad\n')
    got = []
    with pytest.raises(UserError, match=r"a\.jsonl:4: not valid JSON \(.*\); use the right file"):
        for lineno, value in iter_jsonl(p, "use the right file"):
            got.append((lineno, value))
    assert got == [(1, {"a": 1}), (3, [2])]
    assert list(iter_jsonl(p, text='{"b": 2}\n')) == [(1, {"b": 2})]  # text already read from `path`


def _complete(p):
    return (p / "DONE").is_file()


def test_build_dir_atomic_builds_once_and_replaces_a_stale_dir(tmp_path):
    calls = []

    def build(d):
        calls.append(d)
        (d / "x").write_text("ok")
        (d / "DONE").write_text("")

    target = tmp_path / "cache" / "thing"
    target.mkdir(parents=True)
    (target / "half-written").write_text("")  # stale: no marker
    assert build_dir_atomic(target, build, _complete) == target
    assert sorted(p.name for p in target.iterdir()) == ["DONE", "x"]
    assert build_dir_atomic(target, build, _complete) == target and len(calls) == 1  # complete: not rebuilt
    assert [p.name for p in target.parent.iterdir()] == ["thing"]  # no temp or stale dirs left


def test_build_dir_atomic_failure_leaves_nothing(tmp_path):
    def broken(d):
        (d / "x").write_text("")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        build_dir_atomic(tmp_path / "t", broken, _complete)
    with pytest.raises(RuntimeError, match="did not finish"):
        build_dir_atomic(tmp_path / "t", lambda d: None, _complete)
    assert list(tmp_path.iterdir()) == []


def test_exclusive_lock_names_the_holder(tmp_path):
    lock = tmp_path / ".lock"
    with exclusive_lock(lock, lambda h: UserError(f"held by {h}"), note=holder_note()):
        err = []

        def other():  # flock locks are per open file description: a second open() conflicts, even in-process
            try:
                with exclusive_lock(lock, lambda h: UserError(f"held by {h}")):
                    pass
            except UserError as exc:
                err.append(str(exc))

        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert err == [f"held by pid {os.getpid()} on {os.uname().nodename}"]
    with exclusive_lock(lock, lambda h: UserError(h)):  # released
        pass


def test_align_pads_columns():
    lines = align([["a", "num"], ["long", "1"], ["b", "22"]], numeric={1})
    assert lines == ["a     num", "----  ---", "long    1", "b      22"]
    assert align([["h1", "h2"], ["x", "y"]], rule=False) == ["h1  h2", "x   y"]


def test_one_device_policy():
    torch = pytest.importorskip("torch")
    from lensbench.util.device import is_oom, resolve_device

    assert resolve_device("auto") == resolve_device(None) == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(UserError, match="unknown --device 'gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="CUDA is not available"):
            resolve_device("cuda:0")
    assert is_oom(RuntimeError("CUDA out of memory")) and not is_oom(ValueError("out of memory"))


def test_one_device_matching_rule_for_speed_and_reports():
    from lensbench.baselines import device_matches
    from lensbench.reports import run_tables
    from lensbench.speed import published

    assert run_tables.device_matches is device_matches and published.device_matches is device_matches
    assert device_matches("1x NVIDIA H100", "NVIDIA H100 80GB HBM3")
    assert not device_matches("8x NVIDIA H100", "NVIDIA H100 80GB HBM3")  # reports used to accept this one
    assert not device_matches("NVIDIA A100-80GB", "NVIDIA A100-SXM4-40GB")
    assert not device_matches("Apple M-series (MLX)", "mps") and not device_matches("1x NVIDIA H100", "cpu")


def test_baselines_ship_inside_the_package(monkeypatch, tmp_path):
    from lensbench.baselines import data_dir, published_latencies
    from lensbench.reports.baselines import default_baselines_dir

    monkeypatch.delenv("LENSBENCH_BASELINES", raising=False)
    assert default_baselines_dir() == data_dir() and (data_dir() / "models.toml").is_file()
    assert data_dir().is_relative_to(__import__("lensbench").__path__[0])
    entries, origin = published_latencies("Lens-Turbo")  # display name / alias resolves
    assert origin == str(data_dir()) and {e["text"] for e in entries} >= {"0.84"}
    monkeypatch.setenv("LENSBENCH_BASELINES", str(tmp_path))
    with pytest.raises(UserError, match="no baselines found"):
        published_latencies("lens")
    import lensbench.speed.published as sp

    assert not hasattr(sp, "FALLBACK")


def test_speed_csv_schema_has_one_home():
    from lensbench.reports import runs
    from lensbench.speed import output
    from lensbench.timing.schema import SPEED_COLUMNS, SPEED_CSV

    assert output.COLUMNS is SPEED_COLUMNS is runs.SPEED_COLUMNS and len(SPEED_COLUMNS) == 29
    assert output.CSV_PATH == runs.SPEED_CSV == SPEED_CSV
    assert SPEED_COLUMNS[:4] == ("model", "device", "height", "width")
