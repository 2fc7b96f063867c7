"""One size convention (issue 13 item 4): every size lensbench prints, accepts or writes reads WIDTHxHEIGHT.

Walks every command's --help and the outputs of `models`, generate errors, a 128-wide 64-high generate run (its
images, manifest, dry-run plan, report Protocol column) and `speed` (table, CSV, errors)."""

from __future__ import annotations

import csv
import json
import re

import pytest

from tests.helpers import assert_user_error, run_cli_inprocess

#: spellings of the old height-first convention that must appear nowhere
HEIGHT_FIRST = re.compile(r"\bHxW\b|H×W|HEIGHTxWIDTH|HEIGHT x WIDTH|\(H, ?W\)")
TINY = ["--model", "tiny", "--steps", "2", "--device", "cpu"]


def _commands():
    import typer.main

    from lensbench.cli import app

    root = typer.main.get_command(app)
    out = []
    for name, cmd in root.commands.items():
        subs = getattr(cmd, "commands", None)
        out += [[name, s] for s in subs] if subs else [[name]]
    return out


def test_every_help_text_writes_sizes_width_first():
    cmds = _commands()
    assert ["speed"] in cmds and ["generate"] in cmds and ["models"] in cmds
    for argv in [[], *cmds]:
        p = run_cli_inprocess(*argv, "--help")
        assert p.returncode == 0, (argv, p.stderr)
        assert not HEIGHT_FIRST.search(p.stdout), (argv, HEIGHT_FIRST.search(p.stdout)[0])
    assert "WIDTHxHEIGHT" in run_cli_inprocess("generate", "--help").stdout  # the --size flag
    assert "WIDTHxHEIGHT" in run_cli_inprocess("speed", "--help").stdout


def test_models_table_and_json_are_width_first():
    p = run_cli_inprocess("models")
    assert p.returncode == 0 and "size (WxH)" in p.stdout and not HEIGHT_FIRST.search(p.stdout)
    data = {d["name"]: d for d in json.loads(run_cli_inprocess("models", "--json").stdout)}
    for d in data.values():
        for name, (w, h) in d["presets"].items():  # W:H names map to [W, H]
            m = re.search(r"(\d+):(\d+)$", name)
            if m and m[1] != m[2]:
                assert (w > h) == (int(m[1]) > int(m[2])), (d["name"], name, w, h)


def test_generate_errors_name_the_size_width_first(tmp_path):
    p = run_cli_inprocess("generate", *TINY, "--width", "128", "--height", "70", "--out", str(tmp_path / "r"))
    assert_user_error(p, "128x70 (WxH) is not a valid size for tiny", "nearest valid size: 128x64", "--size 128x64")
    assert_user_error(run_cli_inprocess("generate", *TINY, "--size", "64", "--out", str(tmp_path / "r")),
                      "--size '64' must be WIDTHxHEIGHT")
    assert_user_error(run_cli_inprocess("generate", *TINY, "--size", "128x64", "--width", "64", "--out", str(tmp_path / "r")),
                      "either --size WxH or --height/--width")


@pytest.mark.slow
def test_a_128_wide_64_high_run_reads_128x64_everywhere(tmp_path):
    from PIL import Image

    run = tmp_path / "tiny-128x64"
    dry = run_cli_inprocess("generate", *TINY, "--suite", "smoke", "--limit", "1", "--size", "128x64", "--dry-run",
                            "--out", str(run))
    assert dry.returncode == 0, dry.stderr
    p = run_cli_inprocess("generate", *TINY, "--suite", "smoke", "--limit", "1", "--size", "128x64", "--no-progress",
                          "--out", str(run))
    assert p.returncode == 0, p.stderr
    manifest = json.loads((run / "manifest.json").read_text())
    assert (manifest["generation"]["width"], manifest["generation"]["height"]) == (128, 64)
    images = sorted(run.rglob("*.png"))
    assert images and all(Image.open(i).size == (128, 64) for i in images)  # PIL: (width, height)
    from lensbench.reports.runs import load_run

    assert "128x64" in load_run(run).protocol_text() and "64x128" not in load_run(run).protocol_text()


@pytest.mark.slow
def test_speed_table_csv_and_errors_are_width_first(tmp_path):
    out = tmp_path / "s"
    p = run_cli_inprocess("speed", *TINY, "--resolutions", "128x64", "--warmup", "0", "--repeats", "1",
                          "--min-duration", "0", "--threads", "1", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert "size (WxH)" in p.stdout and "128x64" in p.stdout and "64x128" not in p.stdout
    with open(out / "speed" / "measurements.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    assert (row["width"], row["height"]) == ("128", "64")
    assert_user_error(run_cli_inprocess("speed", *TINY, "--resolutions", "64x70", "--out", str(tmp_path / "b")),
                      "64x70 (WxH) is not a valid size", "nearest valid size: 64x64")
