"""Quiet, standard terminal behaviour for every command, set once at CLI start (before heavy imports).

- Third-party progress bars are off (lensbench draws its own): ``HF_HUB_DISABLE_PROGRESS_BARS`` covers
  huggingface_hub, transformers ("Loading weights") and diffusers ("Writing model shards", "Fetching files").
- Third-party log records and Python warnings are hidden unless ``-v``: transformers/diffusers via their
  ``*_VERBOSITY`` variables (they reset their logger level from it on first use), every other library (open_clip
  logs through the root logger, torchmetrics through ``warnings``) through the logging levels and warning
  filters set here. ``-v`` shows their warnings, ``-vv`` their info lines; ``-q`` also hides lensbench's own
  warnings and progress bars.
- `hub_fail_fast`: when ``HF_HUB_OFFLINE`` is unset and the hub (or the configured proxy) does not accept a TCP
  connection within ~1.5 s, the process switches to offline mode, so a missing model fails at once with the
  one-line offline error instead of huggingface_hub's ~46 s of "Retrying in 8s".

Values a user exported (``HF_HUB_DISABLE_PROGRESS_BARS=0``, ``TRANSFORMERS_VERBOSITY=info``) are respected.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
import warnings
from urllib.parse import urlsplit

THIRD_PARTY = ("transformers", "diffusers", "huggingface_hub", "open_clip", "timm", "torch", "torchvision",
               "torchmetrics", "torch_fidelity", "accelerate", "httpx", "httpx2", "openai", "urllib3", "PIL",
               "matplotlib", "rapidocr", "rapidocr_onnxruntime", "onnxruntime", "filelock", "fsspec")
_LEVELS = {-1: logging.ERROR, 0: logging.ERROR, 1: logging.WARNING}
_state = {"verbosity": 0, "progress": True, "probe": None}
#: library verbosity variables the user exported before lensbench started (respected as given)
_USER_SET = frozenset(n for n in ("TRANSFORMERS_VERBOSITY", "DIFFUSERS_VERBOSITY", "HF_HUB_VERBOSITY")
                      if os.environ.get(n))


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at emit time (tests and tools swap it); every line is scrubbed of
    registered secrets and Authorization headers first (lensbench.redact)."""

    def __init__(self):
        super().__init__()

    def format(self, record: logging.LogRecord) -> str:
        from lensbench.redact import scrub

        return scrub(super().format(record))

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def verbosity() -> int:
    return int(_state["verbosity"])


def progress_enabled() -> bool:
    """False after ``-q`` or the global ``--no-progress`` (lensbench's own bars obey it too)."""
    return bool(_state["progress"])


def configure(verbosity: int = 0, progress: bool = True) -> None:
    """Set verbosity (-1 quiet, 0 default, 1 -v, 2 -vv) and progress for this process."""
    _state["verbosity"], _state["progress"] = verbosity, progress and verbosity >= 0
    lib_level = _LEVELS.get(verbosity, logging.INFO)
    name = logging.getLevelName(lib_level).lower()
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    if "HF_HUB_VERBOSITY" not in _USER_SET:
        os.environ["HF_HUB_VERBOSITY"] = name
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for var in ("TRANSFORMERS_VERBOSITY", "DIFFUSERS_VERBOSITY"):
        if var not in _USER_SET:
            os.environ[var] = name
    if verbosity < 1:
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

    root = logging.getLogger()
    root.setLevel(lib_level)
    if not any(isinstance(h, _Stderr) for h in root.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        root.addHandler(handler)
    for lib in THIRD_PARTY:
        logging.getLogger(lib).setLevel(lib_level)
    ours = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.getLogger("lensbench").setLevel(ours)

    if verbosity < 1:
        warnings.simplefilter("ignore")  # library warnings; lensbench reports through errors and its own lines
    else:
        warnings.simplefilter("default")
    apply_to_loaded_libraries()


def apply_to_loaded_libraries() -> None:
    """Libraries imported before `configure` keep their own state: set it through their APIs."""
    level = _LEVELS.get(verbosity(), logging.INFO)
    for lib in ("transformers", "diffusers"):
        mod = sys.modules.get(lib)
        utils = getattr(getattr(mod, "utils", None), "logging", None)
        if utils is not None and f"{lib.upper()}_VERBOSITY" not in _USER_SET:
            utils.set_verbosity(level)
            if os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS") == "1":
                utils.disable_progress_bar()
    hub = sys.modules.get("huggingface_hub")
    if hub is not None and os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS") == "1":
        try:
            hub.utils.disable_progress_bars()
        except Exception:  # noqa: BLE001 - a hub without the switch simply shows its bars
            pass


# -- offline fail-fast ---------------------------------------------------------------------------------------
def _probe_target() -> tuple[str, int] | None:
    proxy = next((os.environ[v] for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy") if os.environ.get(v)),
                 None)
    url = urlsplit(proxy if proxy else os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    if not url.hostname:
        return None
    return url.hostname, url.port or (443 if url.scheme == "https" else 80)


def hub_reachable(timeout: float = 1.5) -> bool:
    target = _probe_target()
    if target is None:
        return True  # nothing to probe: leave the decision to huggingface_hub
    try:
        socket.create_connection(target, timeout=timeout).close()
        return True
    except OSError:
        return False


def hub_fail_fast(timeout: float = 1.5) -> bool:
    """Switch to offline mode when the hub cannot be reached; True when it did. No-op when the user set
    HF_HUB_OFFLINE (either way) or LENSBENCH_HUB_PROBE=0."""
    if os.environ.get("HF_HUB_OFFLINE") or os.environ.get("LENSBENCH_HUB_PROBE") == "0":
        return False
    t0 = time.perf_counter()
    reachable = hub_reachable(timeout)
    _state["probe"] = {"reachable": reachable, "seconds": round(time.perf_counter() - t0, 3), "target": _probe_target()}
    if reachable:
        return False
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["LENSBENCH_HUB_UNREACHABLE"] = "1"
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
    logging.getLogger("lensbench").info("the Hugging Face hub is unreachable (%s:%s); working offline",
                                        *(_probe_target() or ("?", "?")))
    return True


__all__ = ["configure", "apply_to_loaded_libraries", "progress_enabled", "verbosity", "hub_reachable", "hub_fail_fast",
           "THIRD_PARTY"]
