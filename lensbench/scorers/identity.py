"""Which weights a scorer backend uses, for scorer fingerprints (cheap, offline, no model load).

- a Hub id: ``{"kind": "hub", "repo", "revision", "commit"}``; `commit` is the revision resolved from the local
  Hub cache (``refs/<revision>`` of ``models--org--name``), or the revision itself when it already is a commit
  hash, or None when nothing is cached (then the backend cannot load offline anyway);
- a local directory: ``{"kind": "local", "path", "fingerprint"}``: sha256 over the names and bytes of its
  JSON/text files (configs, index, vocab) and the names and sizes of its weight files;
- a local file (e.g. an open_clip checkpoint): ``{"kind": "local", "path", "fingerprint"}`` = its sha256.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from lensbench.util.files import sha256_file

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_TEXT_SUFFIXES = (".json", ".txt", ".yaml", ".yml", ".model")


def _hub_cache() -> Path:
    try:
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)
    except ImportError:  # huggingface_hub not installed: its default location
        home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
        return Path(os.environ.get("HF_HUB_CACHE") or os.path.join(home, "hub"))


def resolved_commit(repo: str, revision: str | None = None, repo_type: str = "model") -> str | None:
    """The commit `revision` (default ``main``) of `repo` resolves to in the local Hub cache, or None."""
    rev = revision or "main"
    if _COMMIT.match(rev):
        return rev
    ref = _hub_cache() / f"{repo_type}s--{repo.replace('/', '--')}" / "refs" / rev
    try:
        commit = ref.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return commit if _COMMIT.match(commit) else None


def directory_fingerprint(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = f.relative_to(path).as_posix()
        if rel.startswith(".") or "/." in rel:
            continue
        if f.suffix.lower() in _TEXT_SUFFIXES:
            h.update(f"{rel}\0{sha256_file(f)}\n".encode())
        else:  # weights: name and size (hashing gigabytes on every scoring run would cost more than it tells)
            h.update(f"{rel}\0size={f.stat().st_size}\n".encode())
    return h.hexdigest()


def weights_identity(model: str, revision: str | None = None) -> dict[str, Any]:
    """Identity of the weights behind a model id or path (see module docstring)."""
    p = Path(str(model)).expanduser()
    if p.is_dir():
        return {"kind": "local", "path": str(p.resolve()), "fingerprint": directory_fingerprint(p)}
    if p.is_file():
        return {"kind": "local", "path": str(p.resolve()), "fingerprint": sha256_file(p)}
    return {"kind": "hub", "repo": str(model), "revision": revision, "commit": resolved_commit(str(model), revision)}


def package_version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def with_weights(fp: dict[str, Any], key: str, revision: str | None = None) -> dict[str, Any]:
    """`fp` (a backend's settings) plus ``"weights"``: the identity of the weights named by ``fp[key]``. A local
    path is replaced by its content fingerprint, so the same weights in another directory (a moved cache, another
    machine) give the same scorer fingerprint, and other weights at the same path give another one."""
    ident = weights_identity(str(fp[key]), revision)
    out = dict(fp)
    if ident["kind"] == "local":
        out[key] = "local"
        ident = {k: v for k, v in ident.items() if k != "path"}
    out["weights"] = ident
    return out
