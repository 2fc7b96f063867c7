"""Group commit of generated batches, overlapped with the next batch's generation.

`BatchCommitter.submit(images, records, done)` stages the batch (`RunStore.stage_batch`: PNG encoding, sha256,
temp files) and hands it to a single background thread that runs `RunStore.finish_batch` (fsync and rename every
image, fsync each touched directory once, append the batch's records with one fsync) and then calls `done(records)` back on the caller's thread. At most one batch is
in flight: `submit` first waits for the previous one, so batches commit strictly in order, memory holds at most
two batches of images, and a failure (a full disk) surfaces at the next `submit` or at `close`.

Why a thread: fsyncs and renames release the GIL, so on a busy disk they run while the model makes the next batch
instead of adding to the wall time (PNG encoding does not release it, so it stays on the caller's thread); the rule "a record exists only for an image that
is durably on disk" is unchanged because the order inside `commit_batch` is. A process killed at any point
(SIGKILL kills every thread) leaves at most images without records, which the next run remakes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from lensbench.store.run_store import RunStore


class BatchCommitter:
    def __init__(self, store: RunStore, stream: str, *, background: bool = True):
        self.store = store
        self.stream = stream
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lensbench-commit") if background else None
        self._pending: tuple[Future, Callable[[list[dict[str, Any]]], None], list[dict[str, Any]]] | None = None

    def submit(self, images: list[tuple[str, Any]], records: list[dict[str, Any]],
               done: Callable[[list[dict[str, Any]]], None]) -> None:
        """Commit `images` (relpath, PIL image) and their `records`; `done(records)` runs once they are durable.

        Encoding, hashing and writing the temp files happen here, on the caller's thread (Pillow's encoder and
        json hold the GIL, so in the background they would only slow the model down); the fsyncs, renames and
        the record append, which release it, go to the thread."""
        self.wait()
        if not records:
            return
        staged = self.store.stage_batch(self.stream, images, records)
        if self._pool is None:
            self.store.finish_batch(staged)
            done(records)
            return
        self._pending = (self._pool.submit(self.store.finish_batch, staged), done, records)

    def run(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue another write (e.g. the manifest) in commit order: it is durable before the next batch's records."""
        self.wait()
        if self._pool is None:
            fn(*args)
            return
        self._pending = (self._pool.submit(fn, *args), lambda _records: None, [])

    def wait(self) -> None:
        """Block until the batch in flight is committed (re-raising its error) and run its callback."""
        if self._pending is None:
            return
        future, done, records = self._pending
        self._pending = None
        future.result()
        done(records)

    def close(self) -> None:
        """Wait for the batch in flight (even when the caller is unwinding an error or a Ctrl-C), then stop."""
        try:
            self.wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
