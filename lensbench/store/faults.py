"""Fault injection for reliability tests: die, or hit a full disk, at the N-th write step of the store.

Every write the store makes passes through `point(name)`: the atomic writer (temp file half written, before and
after the rename) and the record appender (line half written, after fsync). Tests choose a step N and:

- ``kill_after=N`` (env ``LENSBENCH_FAULT_AFTER=N``): the process SIGKILLs itself at step N, exactly as a power
  cut or an OOM killer would stop it there (no cleanup, no ``finally``);
- ``enospc_after=N`` (env ``LENSBENCH_FAULT_ENOSPC=N``): from the N-th *data-writing* step on, every write fails
  with ``OSError(ENOSPC)``, as a full disk does, until `configure()` clears it.

Without configuration `point` is a counter increment and two comparisons. Heartbeat files
(`lensbench.dist`) do not pass through here, so the step sequence of a run is deterministic.
"""

from __future__ import annotations

import errno
import os
import signal

_state: dict = {"count": 0, "writes": 0, "kill_after": None, "enospc_after": None, "env_read": False}


def _env_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() else None


def configure(*, kill_after: int | None = None, enospc_after: int | None = None) -> None:
    """Arm (or, with no arguments, disarm) the fault points and reset the step counters."""
    _state.update(count=0, writes=0, kill_after=kill_after, enospc_after=enospc_after, env_read=True)


def steps() -> int:
    """Write steps passed since the last `configure()` (tests use it to pick a random step)."""
    return _state["count"]


def point(name: str, *, writing: bool = False) -> None:
    """A write step. `writing`: this step stands for data going to disk (where ENOSPC can strike)."""
    s = _state
    if not s["env_read"]:
        s["env_read"] = True
        s["kill_after"] = _env_int("LENSBENCH_FAULT_AFTER")
        s["enospc_after"] = _env_int("LENSBENCH_FAULT_ENOSPC")
    s["count"] += 1
    if s["kill_after"] is not None and s["count"] >= s["kill_after"]:
        os.kill(os.getpid(), signal.SIGKILL)
    if writing:
        s["writes"] += 1
        if s["enospc_after"] is not None and s["writes"] >= s["enospc_after"]:
            raise OSError(errno.ENOSPC, f"No space left on device (injected at {name})")
