"""Weights identity (issue 13 item 5): exactly which weights a run used, cheaply and offline.

- a Hub repo id: ``{"kind": "hub", "repo", "revision", "commit"}``: `commit` is what `revision` (default main)
  resolves to in the local Hugging Face cache (`lensbench.util.identity.hub_commit`, offline), or None when
  nothing is cached yet (then the first load downloads it; `lensbench fetch` first pins it);
- a local path (a mirror, a fine-tune, a tiny build): ``{"kind": "local", "path", "fingerprint"}``:
  `lensbench.util.identity.local_fingerprint`: the bytes of its config, index, tokenizer and template files and
  the names and sizes of its weight files (weights are not hashed: gigabytes per run would cost more than they
  tell);
- a tiny build (`local_builder`): ``{"kind": "built", "builder", "builder_version", "path"}``: builds are
  deterministic (byte-identical for the same library versions, which the manifest records), so the builder and
  its version identify them even before the first build.

`key_identity()` is the part that goes into work-item keys: everything but the path (moving a directory does not
change its images). A Hub repo that is not cached yet has commit None until its first download.
"""

from __future__ import annotations

from typing import Any

from lensbench.util.identity import identity_of


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
    return identity_of(str(where), revision)


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
