"""Out-of-memory back-off for generation and scoring: on a CUDA OOM, free memory, halve the batch, retry.

The size that fits is remembered for the rest of the run (`Backoff.limit`), so one OOM does not repeat on every
following batch. Each halving is reported to `on_event` (the runners append it to the run's ``events`` stream
and summarize it in the manifest / results). At batch size 1 the OOM becomes a UserError that says what to
change.

Halving changes which images share a pipeline call. Pipelines that are not batch-invariant can then produce
slightly different pixels than an uninterrupted run at the planned batch size, which is why every generation
record carries the ``batch_size`` it was actually made with (and ``oom_backoff: true``).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from lensbench.errors import UserError, short_cause
from lensbench.util.device import is_oom

T = TypeVar("T")


def free_memory() -> None:
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


class Backoff:
    def __init__(self, what: str, hint: str, on_event: Callable[[dict[str, Any]], None] | None = None,
                 limit: int | None = None):
        self.what = what  # e.g. "generating with lens-turbo"
        self.hint = hint  # what to change when even one item does not fit
        self.on_event = on_event
        self.limit = limit  # largest batch known to fit after an OOM (None: no OOM yet)
        self.events: list[dict[str, Any]] = []

    def run(self, items: Sequence[T], fn: Callable[[list[T]], Any]) -> Iterator[tuple[list[T], Any]]:
        """Yield ``(chunk, fn(chunk))`` for consecutive chunks that cover `items` in order."""
        items = list(items)
        i = 0
        while i < len(items):
            size = len(items) - i if self.limit is None else min(self.limit, len(items) - i)
            chunk = items[i : i + size]
            message = None
            try:
                result = fn(chunk)
            except Exception as exc:  # noqa: BLE001 - only OOM is handled, everything else re-raised
                if not is_oom(exc):
                    raise
                message = short_cause(exc, 200)
            if message is not None:  # outside the except block: the failed call's frames and tensors are gone
                free_memory()
                if len(chunk) == 1:
                    raise UserError(f"out of memory even at batch size 1 while {self.what} ({message}); {self.hint}") from None
                new = max(1, len(chunk) // 2)
                event = {"event": "oom_backoff", "what": self.what, "from_batch_size": len(chunk),
                         "to_batch_size": new, "error": message}
                self.events.append(event)
                if self.on_event is not None:
                    self.on_event(event)
                self.limit = new
                continue
            yield chunk, result
            i += len(chunk)

    def summary(self) -> dict[str, Any] | None:
        if not self.events:
            return None
        return {"events": len(self.events), "final_batch_size": self.limit}


def summarize_events(events: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Manifest/results summary of the ``oom_backoff`` events of all ranks (None when there were none)."""
    ooms = [e for e in events if e.get("event") == "oom_backoff"]
    if not ooms:
        return None
    return {"events": len(ooms), "smallest_batch_size": min(e["to_batch_size"] for e in ooms),
            "ranks": sorted({e.get("rank", 0) for e in ooms})}
