"""DPG-Bench suite: prompt loader over the 1,065 official files, options, layout hooks, pinned download."""

from __future__ import annotations

import io
import json
import tarfile
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from lensbench.errors import UserError
from lensbench.suites import SUITES, load_suite
from lensbench.suites import dpg_data
from lensbench.suites.dpg import DpgSuite, dpg_suite, load_prompts
from tests.dpg_support import write_csv, write_prompts


def test_loader_over_all_official_prompts(shared_data):
    prompts_dir = shared_data / "dpg_bench" / "prompts"
    items = load_prompts(prompts_dir)
    assert len(items) == 1065
    assert len({it.id for it in items}) == 1065
    by_id = {it.id: it.prompt for it in items}
    assert all(p == p.strip() and p for p in by_id.values())
    assert by_id["diffusiondb25"].startswith("an elaborate digita")  # upstream file starts with a space
    assert by_id["countbench4"].endswith("of the terrariums.")  # upstream file ends with a newline
    words = [len(p.split()) for p in by_id.values()]
    assert (min(words), max(words)) == (37, 130)  # benchmarks.md §2.1
    prefixes = Counter(i.rstrip("0123456789") for i in by_id)
    assert prefixes["partiprompts"] == 324 and prefixes[""] == 299 and prefixes["COCOval"] == 100
    assert prefixes["localized"] == 22 and prefixes["whoops"] == 40
    # the pinned checksum the downloader verifies is the one of these upstream files
    assert dpg_data.prompts_checksum(prompts_dir) == (dpg_data.PROMPTS_SHA256, dpg_data.PROMPTS_COUNT)


def test_registered_suite_and_layout(tmp_path):
    prompts = write_prompts(tmp_path / "prompts")
    csv_path = write_csv(tmp_path / "q.csv")
    suite = load_suite("dpg", None, {"prompts": str(prompts), "csv": str(csv_path)})
    assert "dpg" in SUITES and isinstance(suite, DpgSuite)
    assert suite.default_images_per_prompt == 4 and suite.default_scorer == "dpg"
    assert [it.id for it in suite.items()] == ["itemA", "itemB"]
    assert suite.items()[1].prompt == "A photo of three trees."
    assert suite.options == {"prompts": str(prompts.resolve()), "csv": str(csv_path.resolve())}
    item = suite.items()[0]
    assert suite.image_relpath(item, 2) == "dpg/tiles/itemA/2.png"
    assert suite.grid_relpath(item) == "dpg/itemA.png"


def test_generation_needs_no_csv(tmp_path):
    suite = dpg_suite(str(write_prompts(tmp_path / "p")), {})  # `source` works as the prompts folder
    assert len(suite) == 2 and suite.csv_path is None


@pytest.mark.parametrize(
    "options, message",
    [({"prompts": "/nonexistent/dpg"}, "does not exist"), ({"bogus": 1}, "unknown dpg suite option"),
     ({"download": "maybe"}, "download must be"), ({"csv": "/nonexistent/q.csv"}, "only needed for scoring")],
)  # fmt: skip
def test_bad_options(tmp_path, options, message):
    opts = {"prompts": str(write_prompts(tmp_path / "p")), **options}
    with pytest.raises(UserError, match=message):
        dpg_suite(None, opts)


def test_bad_prompt_files(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no .txt files"):
        load_prompts(tmp_path / "empty")
    d = write_prompts(tmp_path / "p", {"a": "x", "b": "   \n"})
    with pytest.raises(UserError, match="b.txt is empty"):
        load_prompts(d)
    d = write_prompts(tmp_path / "q", {"a.b": "x"})
    with pytest.raises(UserError, match="must not contain '.'"):
        load_prompts(d)


def test_finalize_composes_official_grid_atomically_and_idempotently(tmp_path):
    suite = dpg_suite(str(write_prompts(tmp_path / "p")), {})
    item, run = suite.items()[0], tmp_path / "run"
    colors = [(200, 0, 0), (0, 200, 0), (0, 0, 200), (200, 200, 0)]
    rels = [suite.image_relpath(item, i) for i in range(4)]
    for rel, c in zip(rels, colors):
        (run / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (16, 16), c).save(run / rel)
    suite.finalize_item(run, item, rels)
    grid_path = run / "dpg" / "itemA.png"
    with Image.open(grid_path) as g:
        assert g.size == (32, 32)
        assert [g.getpixel(p) for p in [(0, 0), (16, 0), (0, 16), (16, 16)]] == colors
    before = grid_path.stat().st_mtime_ns
    suite.finalize_item(run, item, rels)
    assert grid_path.stat().st_mtime_ns == before  # identical bytes: not rewritten
    assert not list((run / "dpg").glob(".tmp-*"))
    Image.new("RGB", (16, 16), (1, 2, 3)).save(run / rels[0])  # a regenerated tile updates the grid
    suite.finalize_item(run, item, rels)
    with Image.open(grid_path) as g:
        assert g.getpixel((0, 0)) == (1, 2, 3)


# -- download (fake transport: builds the upstream archive layout from the shared copy) -------------------
def _archive(prompts_dir: Path, out: Path, *, csv_text="item_id\n", tamper=False) -> Path:
    top = f"ELLA-{dpg_data.UPSTREAM_COMMIT}"
    with tarfile.open(out, "w:gz") as tar:
        def add(name, data):
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for p in sorted(prompts_dir.glob("*.txt")):
            data = p.read_bytes()
            add(f"dpg_bench/prompts/{p.name}", data + (b"!" if tamper and p.name == "0.txt" else b""))
        add("dpg_bench/dpg_bench.csv", csv_text.encode())
        add("README.md", b"readme")
    return out


def test_fetch_verifies_and_caches(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("LENSBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE")
    archive = _archive(shared_data / "dpg_bench" / "prompts", tmp_path / "a.tgz", csv_text="item_id,text\n")
    calls = []

    def fake(url, dest):
        calls.append(url)
        dest.write_bytes(archive.read_bytes())

    monkeypatch.setattr(dpg_data, "_download", fake)
    suite = dpg_suite(None, {})  # nothing in the cache: downloads
    assert len(suite) == 1065 and calls == [dpg_data.ARCHIVE_URL]
    assert dpg_data.UPSTREAM_COMMIT in calls[0]
    record = json.loads((dpg_data.data_dir() / "SOURCE.json").read_text())
    assert record["prompts_sha256"] == dpg_data.PROMPTS_SHA256 and record["csv_sha256"] == dpg_data.file_sha256(dpg_data.default_csv_path())
    assert not (dpg_data.data_dir() / "README.md").exists()
    dpg_suite(None, {})
    assert len(calls) == 1  # cached


def test_fetch_rejects_changed_prompts_and_reports_offline(shared_data, tmp_path, monkeypatch):
    archive = _archive(shared_data / "dpg_bench" / "prompts", tmp_path / "a.tgz", tamper=True)
    with pytest.raises(UserError, match="do not match the pinned checksum"):
        dpg_data.fetch_dpg_data(tmp_path / "d", download=lambda url, dest: dest.write_bytes(archive.read_bytes()))
    assert not (tmp_path / "d").exists()

    def offline(url, dest):
        raise OSError("Temporary failure in name resolution")

    with pytest.raises(UserError, match="could not download.*-S prompts=DIR"):
        dpg_data.fetch_dpg_data(tmp_path / "d", download=offline)
    with pytest.raises(UserError, match="not a valid tar.gz"):
        dpg_data.fetch_dpg_data(tmp_path / "d", download=lambda url, dest: dest.write_bytes(b"<html>"))


def test_download_never_or_offline_gives_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LENSBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(dpg_data, "_download", lambda url, dest: pytest.fail("must not download"))
    with pytest.raises(UserError, match=r"prompts not found.*\(download=never\).*-S prompts=DIR"):
        dpg_suite(None, {"download": "never"})
    with pytest.raises(UserError, match="HF_HUB_OFFLINE=1 forbids the download"):
        dpg_suite(None, {})  # the autouse fixture sets HF_HUB_OFFLINE=1
