"""Which weights (and libraries) produced a result: cheap, offline, no model load (issue 13 item 5).

Shared by generators (manifest `model.weights_identity`, work-item keys) and scorers (scorer fingerprints).

- `hub_commit(repo, revision, repo_type)`: the commit `revision` (default ``main``) resolves to in the local
  Hugging Face cache, the revision itself when it already is a 40-hex commit, or None when nothing is cached;
- `local_fingerprint(path)`: the content fingerprint of a local directory (or file), rule below;
- `identity_of(where, revision, repo_type)`: ``{"kind": "local", "path", "fingerprint"}`` for an existing path,
  else ``{"kind": "hub", "repo", "revision", "commit"}``;
- `package_version(dist)`: an installed distribution's version, or None.

The fingerprint rule (one rule for every local model, file names relative to the directory, hidden paths such as
``.cache/`` or ``.git/`` skipped, every other file ignored):
- definition files (`DEFINITION_SUFFIXES`: configs, index files, tokenizer/vocab files, chat templates, remote
  code) count by name and sha256 of their bytes: they define the architecture, the preprocessing and which shards
  belong to the checkpoint;
- weight files (`WEIGHT_SUFFIXES`) count by name and size: hashing gigabytes on every run would cost more than it
  tells, while name and size catch a swapped single-file checkpoint that no index file lists;
- a path that is a single file is fingerprinted by the sha256 of its bytes (e.g. an open_clip checkpoint).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from lensbench.util.files import sha256_file

_COMMIT = re.compile(r"[0-9a-f]{40}")
DEFINITION_SUFFIXES = (".json", ".jinja", ".txt", ".model", ".tiktoken", ".yaml", ".yml", ".py")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".onnx", ".msgpack", ".h5")


def hub_commit(repo: str, revision: str | None = None, repo_type: str = "model") -> str | None:
    """The commit `revision` of `repo` resolves to in the local Hub cache (None: not cached, or no
    huggingface_hub). Never touches the network."""
    rev = revision or "main"
    if _COMMIT.fullmatch(rev):
        return rev
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.utils import LocalEntryNotFoundError
    except ImportError:
        return None
    # huggingface_hub's own offline lookup (refs/<revision> -> snapshots/<commit>) for any repo layout; its other
    # cache APIs fit worse: try_to_load_from_cache needs a file name the repo is known to have, and scan_cache_dir
    # walks the whole cache for one answer.
    try:
        folder = snapshot_download(repo, revision=rev, repo_type=repo_type, local_files_only=True)
    except LocalEntryNotFoundError as exc:
        folder = getattr(exc, "snapshot_path", None)  # IncompleteSnapshotError: commit known, some files not cached
    except ValueError:  # not a valid repo id (HFValidationError) or repo type
        return None
    commit = Path(folder).name if folder else ""
    return commit if _COMMIT.fullmatch(commit) else None


def _counted(rel: str, suffixes: tuple[str, ...]) -> bool:
    return rel.lower().endswith(suffixes)


def local_fingerprint(path: str | Path) -> str:
    """sha256 fingerprint of a local model directory or file (see the rule in the module docstring)."""
    root = Path(path).expanduser()
    if root.is_file():
        return sha256_file(root)
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = f.relative_to(root).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        if _counted(rel, DEFINITION_SUFFIXES):
            h.update(f"{rel}\0sha256={sha256_file(f)}\n".encode())
        elif _counted(rel, WEIGHT_SUFFIXES):
            h.update(f"{rel}\0size={f.stat().st_size}\n".encode())
    return h.hexdigest()


def identity_of(where: str, revision: str | None = None, repo_type: str = "model") -> dict[str, Any]:
    """Identity of the weights a model id or path names: a local path by content, else a Hub repo by commit."""
    p = Path(str(where)).expanduser()
    if p.exists():
        return {"kind": "local", "path": str(p.resolve()), "fingerprint": local_fingerprint(p)}
    return {"kind": "hub", "repo": str(where), "revision": revision,
            "commit": hub_commit(str(where), revision, repo_type)}


def package_version(dist: str) -> str | None:
    """The installed version of distribution `dist` (e.g. ``"open_clip_torch"``), or None when it is missing."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None
