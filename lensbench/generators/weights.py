"""Weights identity (issue 13 item 5): exactly which weights a run used, cheaply and offline.

- a Hub repo id: ``{"kind": "hub", "repo", "revision", "commit"}``: `commit` is what `revision` (default main)
  resolves to in the local Hugging Face cache (huggingface_hub's own cache lookup, so it works offline), the
  revision itself when it already is a 40-hex commit, or None when nothing is cached yet (then the first load
  downloads it; `lensbench fetch` first pins it);
- a local directory (a mirror, a fine-tune, a tiny build): ``{"kind": "local", "path", "fingerprint"}``: the
  sha256 over the relative names and bytes of its config and index files (model_index.json, every
  `*config*.json`, `*.index.json`, scheduler/tokenizer JSON, chat templates), i.e. what defines the architecture
  and which shards belong to it. Weight files themselves are not hashed: gigabytes per run would cost more than
  they tell, and their names and sizes are already listed in the index files of sharded checkpoints;
- a tiny build (`local_builder`): ``{"kind": "built", "builder", "builder_version", "path"}``: builds are
  deterministic (byte-identical for the same library versions, which the manifest records), so the builder and
  its version identify them even before the first build.

`key_identity()` is the part that goes into work-item keys: everything but the path (moving a directory does not
change its images). A Hub repo that is not cached yet has commit None until its first download.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from lensbench.util.files import sha256_file

_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_IDENTITY_SUFFIXES = (".json", ".jinja", ".txt", ".model", ".yaml", ".yml")


def _identity_file(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return not any(part.startswith(".") for part in rel.split("/")) and name.endswith(_IDENTITY_SUFFIXES)


def local_fingerprint(path: str | Path) -> str:
    root = Path(path)
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = f.relative_to(root).as_posix()
        if _identity_file(rel):
            h.update(rel.encode() + b"\0" + bytes.fromhex(sha256_file(f)))
    return h.hexdigest()


def hub_commit(repo: str, revision: str | None = None) -> str | None:
    """The commit `revision` of `repo` resolves to in the local Hub cache (None: not cached)."""
    rev = revision or "main"
    if _COMMIT.match(rev):
        return rev
    try:
        import huggingface_hub
    except ImportError:
        return None
    for marker in ("model_index.json", "config.json"):
        hit = huggingface_hub.try_to_load_from_cache(repo, marker, revision=rev)
        if isinstance(hit, str):  # .../snapshots/<commit>/<marker>
            commit = Path(hit).parent.name
            return commit if _COMMIT.match(commit) else None
    return None


def weights_identity(spec: Any, model_path: str | None = None, revision: str | None = None) -> dict[str, Any]:
    """Identity of the weights `spec` loads (with --model-path `model_path` and --revision `revision`)."""
    where = model_path
    if not where and getattr(spec, "local_builder", None):
        from lensbench.generators.tiny import VERSIONS, cache_root

        version = VERSIONS.get(spec.name)
        return {"kind": "built", "builder": spec.name, "builder_version": version,
                "path": str(cache_root() / f"{spec.name}-v{version}")}
    where = where or getattr(spec, "repo_id", None)
    if where is None:
        return {"kind": "unknown"}
    p = Path(str(where)).expanduser()
    if p.is_dir():
        return {"kind": "local", "path": str(p.resolve()), "fingerprint": local_fingerprint(p)}
    return {"kind": "hub", "repo": str(where), "revision": revision, "commit": hub_commit(str(where), revision)}


def key_identity(identity: dict[str, Any]) -> dict[str, Any]:
    """The part of a weights identity that changes images (no path)."""
    return {k: v for k, v in identity.items() if k != "path"}


def model_provenance(spec: Any, model_path: str | None, revision: str | None,
                     sizes: list[tuple[int, int]] | None = None) -> dict[str, Any]:
    """Manifest `model` fields (contract 4): `weights_identity`, `native_size` [W, H] and `off_native` (True when
    any of `sizes`, given as (height, width), is not native for the model; None when no size is given)."""
    h, w = spec.native
    return {"weights_identity": weights_identity(spec, model_path, revision), "native_size": [w, h],
            "off_native": None if not sizes else any(not spec.is_native(sh, sw) for sh, sw in sizes)}
