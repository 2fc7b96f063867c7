"""Several processes on one run: rank and world size from torchrun's environment, and the end-of-stage merge.

Launch: ``torchrun --nproc-per-node N -m lensbench generate ...`` (or ``score``); multi-node through torchrun's
rendezvous, with the run directory on a filesystem every node shares. torchrun sets RANK, WORLD_SIZE and
LOCAL_RANK; each process uses ``cuda:LOCAL_RANK``. Without torchrun: rank 0 of 1, and nothing here runs.

Design (file-based, no collectives):

- Work is sharded statically: fixed batches cut from the whole plan, round robin by rank
  (`lensbench.runners.plan.shard`). Each rank writes only its own files (``records/<stream>.r<rank>.jsonl``,
  ``.lock.r<rank>``), so ranks never talk while they work.
- Each rank keeps a heartbeat file ``coord/<stage>.r<rank>.json`` fresh from a daemon thread: a session id, a
  beat counter, its status (``running`` / ``done`` / ``failed`` with the error) and where it runs.
- Rank 0, after its own shard, waits until the *data* says the stage is complete (every planned work item has a
  committed record in some rank's file), then merges: finalizes items whose images came from several ranks and
  writes the manifest's finished time / the aggregated results. The other ranks finish on their own.
- While it waits, rank 0 fails with a one-line error, instead of hanging, when a rank reports ``failed``, when a
  rank's heartbeat stops changing for ``LENSBENCH_RANK_TIMEOUT`` s (default 300: the process died, or the run
  directory is not shared between nodes), or when no rank commits anything for ``LENSBENCH_STALL_TIMEOUT`` s
  (default 3600: a rank hangs). Finished work is always kept: re-running the same command, with any number of
  processes, resumes and finishes the merge.

Why no ``torch.distributed`` barrier: it would need a working gloo/NCCL network between nodes on top of the
rendezvous, a fixed timeout cannot tell a slow rank from a dead one, and a hung collective loses the merge
(lm-eval#3143). Heartbeats compare *content* only, so clocks of different nodes never need to agree.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.redact import scrub


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> "DistContext":
        env = os.environ
        if "WORLD_SIZE" not in env and "RANK" not in env:
            return cls()
        if "WORLD_SIZE" in env and "RANK" not in env:
            raise UserError(f"WORLD_SIZE={env['WORLD_SIZE']} is set but RANK is not; launch with torchrun or unset WORLD_SIZE")
        try:
            rank = int(env.get("RANK", "0"))
            world = int(env.get("WORLD_SIZE", "1"))
            local = int(env.get("LOCAL_RANK", str(rank)))
        except ValueError:
            raise UserError("RANK / WORLD_SIZE / LOCAL_RANK must be integers; launch with torchrun or unset them") from None
        if world < 1 or not 0 <= rank < world:
            raise UserError(f"bad torchrun environment: RANK={rank} WORLD_SIZE={world}; launch with torchrun or unset them")
        if local < 0:
            raise UserError(f"bad torchrun environment: LOCAL_RANK={local}; launch with torchrun or unset it")
        return cls(rank=rank, world_size=world, local_rank=local)

    def device_for(self, device: str) -> str:
        """With several ranks on a node, 'cuda'/'auto' means this rank's local GPU."""
        if self.world_size > 1 and device in ("cuda", "auto"):
            import torch

            if torch.cuda.is_available():
                self.bind_device()
                return f"cuda:{self.local_rank}"
        return device


    def bind_device(self) -> None:
        """Under torchrun with CUDA, make this rank's GPU the current device, so code that says just "cuda"
        (scorer backends, libraries) lands on cuda:LOCAL_RANK instead of every rank crowding cuda:0."""
        if self.world_size <= 1:
            return
        import torch

        if torch.cuda.is_available():
            n = torch.cuda.device_count()
            if self.local_rank >= n:
                raise UserError(
                    f"LOCAL_RANK={self.local_rank} but only {n} GPU(s) are visible on {socket.gethostname()}; "
                    f"use --nproc-per-node {n} or fewer (or fix CUDA_VISIBLE_DEVICES)"
                )
            torch.cuda.set_device(self.local_rank)


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        raise UserError(f"{name} must be a number of seconds, got {os.environ[name]!r}") from None


@dataclass(frozen=True)
class WaitPolicy:
    heartbeat_s: float = 10.0
    poll_s: float = 2.0
    rank_timeout_s: float = 300.0  # a rank's heartbeat unchanged this long: dead, or the directory is not shared
    stall_timeout_s: float = 3600.0  # no rank committed anything this long: hung (0 = never)

    @classmethod
    def from_env(cls) -> "WaitPolicy":
        return cls(heartbeat_s=_env_float("LENSBENCH_HEARTBEAT", cls.heartbeat_s),
                   poll_s=_env_float("LENSBENCH_MERGE_POLL", cls.poll_s),
                   rank_timeout_s=_env_float("LENSBENCH_RANK_TIMEOUT", cls.rank_timeout_s),
                   stall_timeout_s=_env_float("LENSBENCH_STALL_TIMEOUT", cls.stall_timeout_s))


def _write_small(path: Path, text: str) -> None:
    """Replace a small file atomically (no fsync, no fault points: heartbeats are advisory)."""
    tmp = path.with_name(f".hb-{os.getpid()}-{path.name}")
    tmp.write_text(text)
    os.replace(tmp, path)


class Coordinator:
    """Heartbeats of this rank and, on rank 0, the wait for the others (see the module docstring)."""

    def __init__(self, run_dir: str | os.PathLike, stage: str, dist: DistContext, policy: WaitPolicy | None = None):
        self.dir = Path(run_dir) / "coord"
        self.stage = stage
        self.dist = dist
        self.policy = policy or WaitPolicy.from_env()
        self.session = uuid.uuid4().hex[:12]
        self.info: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid()}
        self._beat = 0
        self._status = "running"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._initial: dict[int, str | None] = {}

    def path(self, rank: int) -> Path:
        return self.dir / f"{self.stage}.r{rank}.json"

    def read_raw(self, rank: int) -> str | None:
        try:
            return self.path(rank).read_text()
        except OSError:
            return None

    def read(self, rank: int) -> dict[str, Any] | None:
        raw = self.read_raw(rank)
        try:
            return json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return None

    # -- this rank -------------------------------------------------------------------------------
    def _write(self, **extra: Any) -> None:
        with self._lock:
            self._beat += 1
            doc = {"rank": self.dist.rank, "world_size": self.dist.world_size, "stage": self.stage,
                   "session": self.session, "beat": self._beat, "status": self._status, **self.info, **extra}
            try:
                self.dir.mkdir(parents=True, exist_ok=True)
                # error text may quote a remote endpoint: scrub registered secrets (lensbench.redact)
                _write_small(self.path(self.dist.rank), scrub(json.dumps(doc, sort_keys=True, default=str)))
            except OSError:
                pass  # a full disk silences the heartbeat; the error surfaces through the real writes

    def start(self) -> None:
        """Snapshot the other ranks' heartbeat files (rank 0), then beat from a daemon thread."""
        self._initial = {r: self.read_raw(r) for r in range(self.dist.world_size) if r != self.dist.rank}
        if self.dir.is_dir():  # temp files of an earlier process of this rank that was killed mid-write
            for stale in self.dir.glob(f".hb-*-{self.path(self.dist.rank).name}"):
                stale.unlink(missing_ok=True)
        self._write()

        def beat() -> None:
            while not self._stop.wait(self.policy.heartbeat_s):
                self._write()

        self._thread = threading.Thread(target=beat, name="lensbench-heartbeat", daemon=True)
        self._thread.start()

    def finish(self, status: str, **info: Any) -> None:
        """Stop beating and leave the final status (``done`` or ``failed``) with `info` for rank 0."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._status = status
        self.info.update(info)
        self._write()

    # -- rank 0 ----------------------------------------------------------------------------------
    def wait_for_others(self, progress: Callable[[], tuple[int, int]], what: str) -> None:
        """Block until ``progress() -> (done, total)`` reaches total, or raise a UserError that says why not."""
        pol = self.policy
        others = [r for r in range(self.dist.world_size) if r != self.dist.rank]
        now = time.monotonic()
        seen = {r: (self.read_raw(r), now) for r in others}
        fresh = {r: False for r in others}  # changed since this attempt started
        last_done, last_progress = -1, now
        resume = "re-run the same command (any number of processes) to resume; finished work is kept"
        while True:
            done, total = progress()
            if done >= total:
                return
            now = time.monotonic()
            if done != last_done:
                last_done, last_progress = done, now
            for r in others:
                raw = self.read_raw(r)
                if raw != seen[r][0]:
                    seen[r] = (raw, now)
                if raw is not None and raw != self._initial.get(r):
                    fresh[r] = True
                hb = self.read(r) or {}
                where = f"rank {r}" + (f" ({hb.get('host')}, pid {hb.get('pid')})" if hb else "")
                if fresh[r] and hb.get("status") == "failed":
                    raise UserError(f"{where} failed during {self.stage}: {hb.get('error') or 'see its log'}; "
                                    f"fix that, then {resume}")
                silent = now - seen[r][1]
                if silent > pol.rank_timeout_s and not (fresh[r] and hb.get("status") == "done"):
                    if seen[r][0] is None:
                        raise UserError(
                            f"rank {r} never wrote a heartbeat to {self.dir} within {pol.rank_timeout_s:g}s while "
                            f"{total - done} {what} are missing; start every rank with the same --out on a filesystem "
                            f"all nodes share (raise LENSBENCH_RANK_TIMEOUT if ranks start late), then {resume}")
                    raise UserError(f"{where} stopped responding {silent:.0f}s ago with {total - done} {what} missing "
                                    f"(it probably died; see its log); {resume}")
            if others and all(fresh[r] and (self.read(r) or {}).get("status") == "done" for r in others):
                done, total = progress()  # the last records may have landed after the first look
                if done >= total:
                    return
                raise UserError(f"every rank finished but {total - done} of {total} {what} have no record; the ranks "
                                f"probably ran with different settings; {resume}")
            if pol.stall_timeout_s and now - last_progress > pol.stall_timeout_s:
                raise UserError(f"no rank committed any of the {total - done} missing {what} for "
                                f"{pol.stall_timeout_s:g}s (a rank seems hung; see the logs; LENSBENCH_STALL_TIMEOUT "
                                f"sets this limit); {resume}")
            time.sleep(pol.poll_s)

    def rank_reports(self) -> list[dict[str, Any]]:
        """The last heartbeat of every rank (for the manifest)."""
        out = []
        for r in range(self.dist.world_size):
            hb = self.read(r)
            if hb:
                out.append({k: v for k, v in hb.items() if k not in ("beat", "stage")})
        return out
