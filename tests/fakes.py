"""Fast stand-ins for reliability tests: a deterministic fake generator, a fake scorer, a suite with a grid
finalize step (like DPG-Bench's), and `install()` to register them. No torch work, so hundreds of runs fit in
seconds; the real tiny model covers the real pipeline elsewhere."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from lensbench.generators import MODELS
from lensbench.generators.base import GenerationRequest, Generator, LoadOptions
from lensbench.scorers.base import Scorer
from lensbench.store.results import MetricValue
from lensbench.suites.base import PromptItem, Suite


def fake_image(req: GenerationRequest, company: Sequence[GenerationRequest] = ()) -> Image.Image:
    """Pixels from the request and, like a pipeline that is not batch-invariant, from its batch-mates."""
    mates = "|".join(f"{r.prompt}#{r.seed}" for r in company)
    digest = hashlib.sha256(f"{req.prompt}|{req.seed}|{req.height}|{req.width}|{req.steps}|{mates}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    return Image.fromarray(rng.integers(0, 256, (req.height, req.width, 3), dtype=np.uint8))


def oom_error(n: int) -> BaseException:
    import torch

    return torch.cuda.OutOfMemoryError(f"CUDA out of memory. Tried to allocate {n} GiB (injected)")


class FakeGenerator(Generator):
    """Images from sha256(prompt, seed, size, steps[, batch-mates]). `batch_invariant=False` (default) makes
    an image depend on the batch it was made in, so tests notice when a resume changes batch company.
    `oom_above`: raise a CUDA OOM for bigger batches."""

    def __init__(self, model: str = "tiny", oom_above: int | None = None, batch_invariant: bool = False):
        super().__init__(MODELS.get(model), LoadOptions(device="cpu"))
        self.oom_above = oom_above
        self.batch_invariant = batch_invariant
        self.calls: list[int] = []

    def load(self) -> None:
        pass

    def generate(self, requests: Sequence[GenerationRequest], step_callback=None) -> list:
        self.calls.append(len(requests))
        if self.oom_above is not None and len(requests) > self.oom_above:
            raise oom_error(len(requests))
        return [fake_image(r, () if self.batch_invariant else requests) for r in requests]

    def info(self) -> dict[str, Any]:
        return {"model": self.spec.name, "adapter": "fake"}


class FakeScorer(Scorer):
    """Mean pixel value per image; headline = mean over images."""

    name = "fake"
    version = "1"
    batch_size = 3

    def __init__(self, options: dict[str, Any] | None = None):
        self.options = dict(options or {})
        self.oom_above = self.options.get("oom_above")
        self.calls: list[int] = []

    def settings(self) -> dict[str, Any]:
        return {"metric": "mean pixel"}

    def score_batch(self, run_dir, units) -> list[dict[str, Any]]:
        self.calls.append(len(units))
        if self.oom_above is not None and len(units) > self.oom_above:
            raise oom_error(len(units))
        out = []
        for u in units:
            with Image.open(Path(run_dir) / u.images[0]) as im:
                out.append({"mean": round(float(np.asarray(im, dtype=np.float64).mean()), 6), "item_id": u.item.id})
        return out

    def summarize(self, records, suite) -> list[MetricValue]:
        values = [r["mean"] for r in records]
        return [MetricValue("mean_pixel", float(np.mean(values)) if values else float("nan"), len(values))]


class GridSuite(Suite):
    """Two images per prompt, composed side by side into ``grids/<id>.png`` once both exist."""

    name = "fakegrid"
    default_images_per_prompt = 2

    def image_relpath(self, item: PromptItem, index: int) -> str:
        return f"tiles/{item.id}/{index}.png"

    def finalize_item(self, run_dir: Path, item: PromptItem, image_relpaths: Sequence[str]) -> None:
        from lensbench.store.atomic import write_image_atomic

        tiles = [np.asarray(Image.open(Path(run_dir) / rel).convert("RGB")) for rel in image_relpaths]
        write_image_atomic(Path(run_dir) / "grids" / f"{item.id}.png", Image.fromarray(np.concatenate(tiles, axis=1)))


def grid_suite(source: str | None, options: dict[str, Any]) -> GridSuite:
    n = int(options.get("n", 3))
    return GridSuite([PromptItem(id=f"p{i}", prompt=f"a photo of object number {i}") for i in range(n)],
                     source="fake", options=options)


def install() -> None:
    """Register the fake scorer and the grid suite (idempotent)."""
    from lensbench.scorers import SCORERS
    from lensbench.suites import SUITES

    SCORERS.register("fake", FakeScorer, replace=True)
    SUITES.register("fakegrid", grid_suite, replace=True)


# -- forked children: many runs per test without paying the torch/diffusers import again ----------------------
class Child:
    def __init__(self, pid: int, fd: int):
        self.pid, self.fd = pid, fd

    def wait(self) -> "ChildResult":
        import os

        with os.fdopen(self.fd, "rb") as fh:
            message = fh.read().decode(errors="replace")
        _, status = os.waitpid(self.pid, 0)
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        return ChildResult(sig, code, message)


class ChildResult:
    def __init__(self, signal: int | None, code: int | None, message: str):
        self.signal, self.code, self.message = signal, code, message

    @property
    def killed(self) -> bool:
        import signal

        return self.signal == signal.SIGKILL

    def __repr__(self) -> str:
        return f"ChildResult(signal={self.signal}, code={self.code}, message={self.message!r})"


def start_forked(fn, *, env: dict[str, str] | None = None, kill_after: int | None = None,
                 enospc_after: int | None = None) -> Child:
    """Run `fn()` in a forked child with `env` set and the store's fault points armed. Exit code 0 = returned
    (message "steps=N": write steps passed), 2 = UserError (its message comes back), 1 = any other exception
    (traceback comes back), or a signal."""
    import os
    import traceback

    from lensbench.errors import UserError
    from lensbench.store import faults

    r, w = os.pipe()
    pid = os.fork()
    if pid:
        os.close(w)
        return Child(pid, r)
    os.close(r)  # child: never return into pytest
    code, message = 1, ""
    try:
        os.environ.update(env or {})
        faults.configure(kill_after=kill_after, enospc_after=enospc_after)
        fn()
        code, message = 0, f"steps={faults.steps()}"
    except UserError as exc:
        code, message = 2, str(exc)
    except BaseException:  # noqa: BLE001
        message = traceback.format_exc()
    finally:
        try:
            os.write(w, message.encode())
        finally:
            os._exit(code)


def run_forked(fn, **kwargs) -> ChildResult:
    return start_forked(fn, **kwargs).wait()
