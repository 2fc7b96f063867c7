"""Group commit of generated batches, overlapped with the next batch's generation.

`BatchCommitter.submit(images, records, done)` hands a batch to a single background thread that runs
`RunStore.commit_batch`: PNG encoding, sha256 and the temp files (`stage_batch`), then fsync and rename every
image, fsync each touched directory once and append the batch's records with one fsync (`finish_batch`); `done`
(records) is then called back on the caller's thread. At most one batch is in flight: `submit` first waits for
the previous one, so batches commit strictly in order, memory holds at most two batches of images, and a failure
(a full disk, a path outside the run directory) surfaces at the next `submit` or at `close`.

Why a thread: Pillow's PNG encoder, hashlib (on more than 2 KiB) and the file calls release the GIL, so the
commit can run while the model makes the next batch (on a GPU the caller's thread mostly waits for the device;
encoding a 1024x1024 PNG takes tens of ms). On a CPU-only host the gain is small: the thread's Python parts
still take turns with the model's (tests/benchmarks/test_generate_bench.py, tiny model, 2 cores: the thread
takes ~9 ms per 12-image run off the caller's thread, and the GIL hand-offs give most of it back).
The rule "a record exists only for an image that is durably on disk" is unchanged because the order inside
`commit_batch` is. A process killed at any point (SIGKILL kills every thread) leaves at most images without
records, which the next run remakes.
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
        """Commit `images` (relpath, PIL image or PNG bytes) and their `records` (sha256/bytes are filled in);
        `done(records)` runs on this thread once they are durable. The images and records belong to the
        committer from here on: the caller must not touch them before `done`."""
        self.wait()
        if not records:
            return
        if self._pool is None:
            self.store.commit_batch(self.stream, images, records)
            done(records)
            return
        self._pending = (self._pool.submit(self.store.commit_batch, self.stream, images, records), done, records)

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
