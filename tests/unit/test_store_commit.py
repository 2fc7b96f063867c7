"""RunStore group commit and path checks while the run directory is locked (folders resolved once per run)."""

from __future__ import annotations

import errno
import hashlib
import io

import pytest
from PIL import Image

from lensbench.errors import UserError
from lensbench.store import atomic
from lensbench.store.commit import BatchCommitter
from lensbench.store.run_store import RunStore


def _png(color) -> Image.Image:
    return Image.new("RGB", (8, 8), color)


def test_locked_paths_still_refuse_links_that_lead_outside(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    run = tmp_path / "run"
    store = RunStore(run)
    with store.locked():
        assert store.path("images/a.png") == run / "images" / "a.png"
        (run / "linked").symlink_to(outside, target_is_directory=True)
        with pytest.raises(UserError, match="points outside the run directory"):
            store.path("linked/a.png")
        (run / "images").mkdir()
        (run / "images" / "b.png").symlink_to(outside / "b.png")
        with pytest.raises(UserError, match="points outside the run directory"):
            store.path("images/b.png")  # a folder already resolved, a link as the file itself
        with pytest.raises(UserError, match="points outside the run directory"):
            store.path("../outside/c.png")


@pytest.mark.parametrize("background", [True, False])
def test_a_committed_batch_has_durable_images_and_their_hashes(tmp_path, background):
    store = RunStore(tmp_path / "run")
    recs = [{"key": "a"}, {"key": "b"}]
    seen = []
    with store.locked():
        c = BatchCommitter(store, "generate", background=background)
        c.submit([("images/a.png", _png("red")), ("images/b.png", _png("blue"))], recs, seen.extend)
        c.close()
    assert [r["key"] for r in seen] == ["a", "b"]
    for rec, name in zip(store.records("generate"), ("a", "b")):
        data = (tmp_path / "run" / "images" / f"{name}.png").read_bytes()
        assert rec["sha256"] == hashlib.sha256(data).hexdigest() and rec["bytes"] == len(data)
        assert Image.open(io.BytesIO(data)).size == (8, 8)
    assert not list((tmp_path / "run").rglob(".tmp-*"))


def test_a_failed_fsync_commits_no_record_and_leaves_no_temp_file(tmp_path, monkeypatch):
    store = RunStore(tmp_path / "run")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    with store.locked():
        monkeypatch.setattr(atomic.os, "fsync", full)
        c = BatchCommitter(store, "generate")
        c.submit([("images/a.png", _png("red")), ("images/b.png", _png("blue"))], [{"key": "a"}, {"key": "b"}],
                 lambda recs: None)
        with pytest.raises(UserError, match="no space left"):
            c.close()
    assert store.records("generate") == []
    assert not list((tmp_path / "run").rglob(".tmp-*")) and not list((tmp_path / "run").rglob("*.png"))
