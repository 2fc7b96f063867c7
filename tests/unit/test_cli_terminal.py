"""Terminal-facing CLI details: `lensbench suites`, generate's default --out, the dry-run GPU-time estimates
(from a speed run, from a published latency, none), global -q/-v/--no-progress, the hub probe, and that
user errors are printed scrubbed. All in-process, no model is loaded."""

from __future__ import annotations

import json
import os
import socket

import pytest

from tests.helpers import run_cli_inprocess

SPEED_CSV = ("model,device,height,width,megapixels,steps,batch_size,dtype,compile,status,n,latency_mean_s,latency_p50_s\n"
             "tiny,cpu,64,64,0.004,4,1,float32,false,ok,3,0.2,0.2\n"
             "tiny,cpu,64,64,0.004,4,2,float32,false,ok,3,0.3,0.3\n")


def test_suites_lists_presence_without_downloading(tmp_path, monkeypatch):
    monkeypatch.setenv("LENSBENCH_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE")
    p = run_cli_inprocess("suites", "--json")
    assert p.returncode == 0, p.stderr
    rows = {r["name"]: r for r in json.loads(p.stdout)}
    assert rows["demo"]["present"] and rows["demo"]["prompts"] == 6
    assert not rows["geneval"]["present"] and "lensbench fetch geneval" in rows["geneval"]["note"]
    assert not rows["cvtg"]["present"] and "-S path=DIR" in rows["cvtg"]["note"]
    # the scorer column is known without the data (declared by the suite class)
    assert rows["geneval"]["default_scorer"] == "geneval" and rows["cvtg"]["default_scorer"] == "text"
    assert rows["dpg"]["default_scorer"] == "dpg" and rows["demo"]["default_scorer"] is None
    assert not list((tmp_path / "empty-cache").rglob("*.jsonl"))  # nothing was downloaded
    assert "HF_HUB_OFFLINE" not in os.environ  # the check's offline switch is undone
    text = run_cli_inprocess("suites")
    assert text.stdout.splitlines()[0].split()[:3] == ["suite", "data", "prompts"]


def test_generate_default_out_is_model_and_suite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = run_cli_inprocess("generate", "--model", "tiny", "--suite", "demo", "--dry-run")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["run_dir"] == os.path.join("runs", "tiny-demo")
    given = run_cli_inprocess("generate", "--model", "tiny", "--suite", "demo", "--dry-run", "--out", "elsewhere")
    assert json.loads(given.stdout)["run_dir"] == "elsewhere"


def test_dry_run_estimates_from_a_speed_run_and_from_published(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sp" / "speed").mkdir(parents=True)
    (tmp_path / "sp" / "speed" / "measurements.csv").write_text(SPEED_CSV)
    p = run_cli_inprocess("generate", "--model", "tiny", "--suite", "demo", "--dry-run", "--speed-run", str(tmp_path / "sp"),
                          "--batch-size", "2", "--steps", "2")
    est = json.loads(p.stdout)["gpu_time_estimate"]
    # batch-2 row: 0.3 s per call = 0.15 s/image at 4 steps, scaled linearly to 2 steps; 6 images
    assert est["per_image_s"] == pytest.approx(0.075) and est["seconds"] == pytest.approx(0.45)
    assert est["scaled"] == ["steps 4 -> 2"] and est["device"] == "cpu"
    pub = json.loads(run_cli_inprocess("generate", "--model", "lens-turbo", "--suite", "demo", "--dry-run").stdout)
    e = pub["gpu_time_estimate"]
    assert e["per_image_s"] == pytest.approx(0.84) and "H100" in e["device"] and e["scaled"] == []
    assert "published" in e["basis"] and e["seconds"] == pytest.approx(0.84 * 6)
    from lensbench.speed.estimate import estimate_seconds

    none = estimate_seconds("no-such-model", height=64, width=64, steps=4, images=3)
    assert none["seconds"] is None and "lensbench speed --model no-such-model" in none["note"]


def test_ablate_dry_run_prints_the_estimate(shared_data, tmp_path):
    from tests.helpers import REPO

    grid = next(p for p in (REPO / "examples" / "ablations" / "tiny.toml", REPO / "suites" / "ablations" / "tiny.toml")
                if p.is_file())
    (tmp_path / "sp" / "speed").mkdir(parents=True)
    (tmp_path / "sp" / "speed" / "measurements.csv").write_text(SPEED_CSV)
    p = run_cli_inprocess("ablate", str(grid), "-S", f"metadata={shared_data / 'geneval' / 'evaluation_metadata.jsonl'}",
                          "--dry-run", "--out", str(tmp_path / "a"), "--cache", str(tmp_path / "c"),
                          "--speed-run", str(tmp_path / "sp"))
    assert p.returncode == 0, p.stderr
    assert "est. time" in p.stdout and "estimated GPU time, all cells: " in p.stdout
    # 2 cells x 8 images at 4 steps (0.2 s) + 2 cells x 8 images at 2 steps (0.1 s) = 4.8 s
    assert "4.8 s" in p.stdout


def test_hub_probe_switches_to_offline_only_when_unreachable(monkeypatch):
    from lensbench.util import terminal

    monkeypatch.delenv("HF_HUB_OFFLINE")
    for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(k, raising=False)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: connection refused at once
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    assert terminal.hub_fail_fast() is True and os.environ["HF_HUB_OFFLINE"] == "1"
    monkeypatch.delenv("HF_HUB_OFFLINE")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        assert terminal.hub_fail_fast() is False and "HF_HUB_OFFLINE" not in os.environ
    finally:
        server.close()
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # the user's explicit choice is never overridden
    assert terminal.hub_fail_fast() is False and os.environ["HF_HUB_OFFLINE"] == "0"


def test_quiet_switches_progress_off_and_verbose_shows_library_warnings():
    import logging
    import warnings

    from lensbench.util import terminal

    try:
        terminal.configure(-1)
        assert not terminal.progress_enabled() and logging.getLogger("lensbench").level == logging.ERROR
        terminal.configure(0, progress=False)
        assert not terminal.progress_enabled()
        terminal.configure(1)
        assert terminal.progress_enabled() and logging.getLogger("transformers").level == logging.WARNING
        with warnings.catch_warnings(record=True) as seen:
            terminal.configure(1)
            warnings.warn("library says", UserWarning)
        assert seen
        with warnings.catch_warnings(record=True) as seen:
            terminal.configure(0)
            warnings.warn("library says", UserWarning)
        assert not seen
    finally:
        terminal.configure(0)


def test_user_errors_are_printed_scrubbed(monkeypatch):
    from lensbench.redact import register_secret

    register_secret("sk-cli-echo-0123456789")
    p = run_cli_inprocess("generate", "--model", "tiny", "--suite", "demo", "--dry-run", "--rewriter", "openai",
                          "--rewriter-option", "model=m", "--rewriter-option", "base_url=ftp://sk-cli-echo-0123456789")
    assert p.returncode == 2 and "must be an http:// or https:// URL" in p.stderr  # the message quotes the value ...
    assert "sk-cli-echo-0123456789" not in p.stderr and "ftp://***" in p.stderr  # ... which is masked


def test_progress_rate_is_items_over_elapsed_time():
    # rich's task.speed divides by the time between the first and last *sample*, so 12 GenEval units scored in
    # 1.8 s showed "1680.72 it/s". The bar shows completed / elapsed since it started.
    from rich.progress import Progress

    from lensbench.runners.progress import RateColumn

    now = [0.0]
    with Progress(RateColumn(), get_time=lambda: now[0], disable=True) as p:
        task_id = p.add_task("x", total=4)
        assert str(RateColumn().render(p.tasks[0])) == ""  # nothing done yet: no rate
        for t in (0.5, 1.0):
            now[0] = t
            p.advance(task_id, 1)
        assert str(RateColumn().render(p.tasks[0])) == "2.00 it/s"  # 2 items in 1.0 s (rich's speed says 4)
