"""Group commit of generated batches, overlapped with the next batch's generation.

`BatchCommitter.submit(images, records, done)` hands one batch to a single background thread that runs
`RunStore.commit_batch` (encode and write every image atomically, fsync each touched directory once, append the
batch's records with one fsync) and then calls `done(records)` back on the caller's thread. At most one batch is
in flight: `submit` first waits for the previous one, so batches commit strictly in order, memory holds at most
two batches of images, and a failure (a full disk) surfaces at the next `submit` or at `close`.

Why a thread: the durability work (PNG encoding, fsyncs) releases the GIL, so on a busy disk it runs while the
model makes the next batch instead of adding to the wall time; the rule "a record exists only for an image that
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
        """Commit `images` (relpath, PIL image) and their `records`; `done(records)` runs once they are durable."""
        self.wait()
        if not records:
            return
        if self._pool is None:
            self.store.commit_batch(self.stream, images, records)
            done(records)
            return
        self._pending = (self._pool.submit(self.store.commit_batch, self.stream, images, records), done, records)

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
