"""A run directory: manifest, append-only JSONL record streams, atomic images, a lock.

Layout of ``<run>/``::

    manifest.json                 provenance + config (written at start, updated at the end)
    records/<stream>.r<rank>.jsonl  append-only records; streams: "generate", "score.<scorer>",
                                  "finalize" (suite finalize steps done), "events" (OOM back-offs), ...
    results/<scorer>.json         aggregated results (schema in lensbench.store.results)
    <images>                      where the suite's layout puts them (written before their record)
    .lock.r<rank>                 flock held while a process writes (released by the OS if it dies)
    coord/<stage>.r<rank>.json    heartbeats of ranks under torchrun (lensbench.dist)

Every write passes a fault point (lensbench.store.faults) so tests can kill the process or fill the disk at
any step; lensbench.store.integrity checks committed images on resume.

A record is the commit marker of its work item: the image is written atomically first, then its record is
appended and fsynced. A line that a killed process left half-written is ignored on read. Generation commits a
whole batch at once (`commit_batch`): every image written (fsynced) and renamed, each directory that received
one fsynced once (so the renames are durable), then the batch's records appended with one fsync — a record
still exists only for an image that is durably on disk, at one record fsync per batch instead of per image.

Every path built from a record or a suite (`path`) must stay inside the run directory after resolution.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.store import faults
from lensbench.store.atomic import TMP_PREFIX, StagedFile, _disk_error, discard, tmp_prefix, write_json_atomic
from lensbench.util.lock import exclusive_lock, holder_note


@dataclass
class StagedBatch:
    """A batch between `RunStore.stage_batch` and `RunStore.finish_batch`: each image's staged temp file (still
    open, see `lensbench.store.atomic.stage`) and the serialized records."""

    stream: str
    images: list[StagedFile]
    lines: list[str]


def fsync_dir(path: Path) -> None:
    """Make the renames into `path` durable (POSIX: fsync the directory)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the data itself is fsynced
    finally:
        os.close(fd)


class RunStore:
    def __init__(self, run_dir: str | os.PathLike, *, rank: int = 0, world_size: int = 1):
        self.run_dir = Path(run_dir)
        self.rank = rank
        self.world_size = world_size
        self._lock_fh = None
        self._root: Path | None = None  # the resolved run directory while this process holds the lock
        self._parents: dict[Path, Path] = {}  # folders inside it, resolved (see `path`), while locked

    # -- paths -----------------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.run_dir / "manifest.json"

    def stream_path(self, stream: str, rank: int | None = None) -> Path:
        return self.run_dir / "records" / f"{stream}.r{self.rank if rank is None else rank}.jsonl"

    def result_path(self, scorer: str) -> Path:
        return self.run_dir / "results" / f"{scorer}.json"

    def path(self, relpath: str) -> Path:
        """The file `relpath` names inside the run directory; refuses absolute paths, ``..`` and links that
        lead outside (a crafted record or suite id must never make lensbench write or delete elsewhere)."""
        p = Path(relpath)
        root = self._root if self._root is not None else self.run_dir.resolve()
        if self._root is not None:  # while locked, each folder is resolved once (a batch shares one or two)
            parent = self._parents.get(p.parent)
            if parent is None:
                parent = self._parents[p.parent] = (root / p.parent).resolve()
            target = parent / p.name
            if target.is_symlink():
                target = target.resolve()
        else:
            target = (root / p).resolve()
        if p.is_absolute() or ".." in p.parts or not target.is_relative_to(root) or target == root:
            raise UserError(f"path {str(relpath)!r} in {self.run_dir} points outside the run directory; the record or "
                            "suite that names it was edited or crafted: remove that entry (lensbench never writes there)")
        return self.run_dir / p

    # -- directory and lock ----------------------------------------------------------------------
    def ensure_writable(self) -> None:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            probe = self.run_dir / f"{TMP_PREFIX}probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise UserError(f"output directory {self.run_dir} is not writable ({exc.strerror}); pass a writable --out") from exc

    @contextlib.contextmanager
    def locked(self) -> Iterator["RunStore"]:
        """Hold an exclusive lock on this run directory (per rank) for the duration."""
        self.ensure_writable()

        def busy(holder: str) -> UserError:
            if self.world_size > 1:
                return UserError(
                    f"rank {self.rank} of run directory {self.run_dir} is already held by {holder}; each process "
                    "needs its own RANK (launch with torchrun), or wait for the other run to finish")
            return UserError(f"run directory {self.run_dir} is in use by {holder}; wait for it to finish or use another --out")

        with exclusive_lock(self.run_dir / f".lock.r{self.rank}", busy, note=holder_note()) as fh:
            self._lock_fh = fh
            self._root, self._parents = self.run_dir.resolve(), {}
            self.cleanup_tmp()
            try:
                yield self
            finally:
                self._lock_fh = self._root = None
                self._parents = {}

    def cleanup_tmp(self) -> None:
        """Remove temp files that a killed writer left behind (they never became real files).

        With several ranks, each removes only its own (other ranks may be writing theirs right now); a
        single-process run removes every rank's leftovers."""
        if not self.run_dir.exists():
            return
        pattern = f"{TMP_PREFIX}*" if self.world_size == 1 else f"{tmp_prefix(self.rank)}*"
        for tmp in self.run_dir.rglob(pattern):
            with contextlib.suppress(OSError):
                tmp.unlink()

    # -- manifest --------------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.exists():
            return None
        try:
            return json.loads(self.manifest_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"{self.manifest_path} is unreadable ({exc}); restore it or use a new --out") from exc

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_json_atomic(self.manifest_path, manifest)

    @staticmethod
    def manifest_text(manifest: dict[str, Any]) -> str:
        """The manifest as `write_manifest` writes it (serialize now, write later, e.g. on the commit thread)."""
        return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"

    def write_manifest_text(self, text: str) -> None:
        from lensbench.store.atomic import write_text_atomic

        write_text_atomic(self.manifest_path, text)

    # -- records ---------------------------------------------------------------------------------
    def append(self, stream: str, record: dict[str, Any]) -> None:
        """Append one record to this rank's stream file and fsync it (the record commits its work item)."""
        self.append_many(stream, [record])

    def append_many(self, stream: str, records: list[dict[str, Any]]) -> None:
        """Append several records with one write and one fsync (a torn tail is ignored on read, so a kill
        mid-write commits a prefix of the records, each of whose images is already durable)."""
        self._append_lines(stream, [json.dumps(r, sort_keys=True, ensure_ascii=False, default=str) for r in records])

    def _append_lines(self, stream: str, lines: list[str]) -> None:
        if not lines:
            return
        path = self.stream_path(stream)
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        try:
            try:
                fh = open(path, "a+b")
            except FileNotFoundError:  # the stream's first record (later appends need no mkdir call)
                path.parent.mkdir(parents=True, exist_ok=True)
                fh = open(path, "a+b")
            with fh:
                fh.seek(0, os.SEEK_END)
                if fh.tell() > 0:
                    fh.seek(-1, os.SEEK_END)
                    if fh.read(1) != b"\n":
                        fh.write(b"\n")
                fh.write(data[: len(data) // 2])
                fh.flush()
                faults.point("append.partial", writing=True)
                fh.write(data[len(data) // 2 :])
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise _disk_error(path, exc) from exc
        faults.point("append.done")

    def stage_batch(self, stream: str, images: list[tuple[str, Any]], records: list[dict[str, Any]]) -> StagedBatch:
        """Phase 1 of a group commit (the CPU part; on the commit thread of `lensbench.store.commit`): encode each
        image (PNG bytes or a PIL image), hash it, fill in the record's sha256/bytes, write it to a temp file
        beside its final path. Nothing is visible or committed yet."""
        import hashlib

        from lensbench.store.atomic import png_bytes, stage

        staged: list[StagedFile] = []
        try:
            for (rel, img), rec in zip(images, records, strict=True):
                target = self.path(rel)
                data = img if isinstance(img, bytes) else png_bytes(img)
                rec["sha256"], rec["bytes"] = hashlib.sha256(data).hexdigest(), len(data)
                staged.append(stage(target, data))
        except BaseException:
            for s in staged:
                discard(s)
            raise
        lines = [json.dumps(r, sort_keys=True, ensure_ascii=False, default=str) for r in records]
        return StagedBatch(stream, staged, lines)

    def finish_batch(self, batch: StagedBatch) -> None:
        """Phase 2 (may run on a background thread; nearly all of it releases the GIL): fsync and rename every
        staged image, fsync each touched directory once, then append the records with one fsync. A record is
        written only after its image is durable under its final name."""
        from lensbench.store.atomic import publish

        dirs: list[Path] = []
        for i, s in enumerate(batch.images):
            try:
                publish(s)
            except BaseException:
                for rest in batch.images[i + 1 :]:
                    discard(rest)
                raise
            if s.target.parent not in dirs:
                dirs.append(s.target.parent)
        for d in dirs:
            fsync_dir(d)
        self._append_lines(batch.stream, batch.lines)

    def commit_batch(self, stream: str, images: list[tuple[str, Any]], records: list[dict[str, Any]]) -> None:
        """Both phases in this thread: images durable first, then the batch's records (one fsync)."""
        self.finish_batch(self.stage_batch(stream, images, records))

    def stream_files(self, stream: str) -> list[Path]:
        rec_dir = self.run_dir / "records"
        if not rec_dir.exists():
            return []
        return sorted(rec_dir.glob(f"{stream}.r*.jsonl"), key=lambda p: p.name)

    def iter_records(self, stream: str) -> Iterator[Any]:
        """Every complete JSON line of a stream from every rank's file, in file order; the torn final line of a
        killed writer (or any line that is not JSON) is skipped."""
        for path in self.stream_files(stream):
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if not line.endswith("\n"):
                        continue  # torn final line of a killed writer
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    yield rec

    def records(self, stream: str) -> list[dict[str, Any]]:
        """All complete records of a stream from every rank's file; the last record per key wins."""
        by_key: dict[str, dict[str, Any]] = {}
        unkeyed: list[dict[str, Any]] = []
        for rec in self.iter_records(stream):
            if "key" in rec:
                by_key[rec["key"]] = rec
            else:
                unkeyed.append(rec)
        return list(by_key.values()) + unkeyed

    def done_keys(self, stream: str) -> set[str]:
        return {r["key"] for r in self.records(stream) if r.get("status") == "ok"}
