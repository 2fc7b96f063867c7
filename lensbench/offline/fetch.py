"""`lensbench fetch NAME...`: on a machine with a network, put everything a run needs into the local caches so
that GPU nodes without internet can run with ``HF_HUB_OFFLINE=1``.

- a model: its Hub repository (or the first mirror that exists) into the Hugging Face cache, only the files
  its loader reads (`hub.preferred_files`); ``--to DIR`` downloads into a plain directory instead (needed for
  HunyuanImage-3.0, whose remote code breaks in a directory whose name has a dot). Tiny models are built.
- a suite: its official data into the lensbench cache (loading the suite downloads it, checksum-verified).
- a scorer: its models, by loading it once (the same code path that later loads them offline), or through
  the scorer's optional ``downloads()`` list of ``{"repo_id", "revision", "allow_patterns"}``.

A name that is both a suite and a scorer (``geneval``, ``dpg``, ``text``) fetches both.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lensbench.errors import UnknownNameError, UserError, short_cause


def _offline_var() -> str | None:
    return next((v for v in ("HF_HUB_OFFLINE", "LENSBENCH_OFFLINE") if os.environ.get(v) == "1"), None)


def _refuse_offline() -> None:
    var = _offline_var()
    if var:
        raise UserError(f"fetch downloads, but {var}=1 is set; run it on a machine with a network without {var}")


def _hub_error(exc: BaseException, repo_id: str) -> UserError | None:
    """A one-line UserError for Hub failures the user can act on (None: not a Hub failure)."""
    from huggingface_hub import errors

    if isinstance(exc, errors.GatedRepoError):
        return UserError(f"{repo_id} is gated: accept its licence at https://huggingface.co/{repo_id} and log in "
                         "(`hf auth login` or HF_TOKEN), then fetch again")
    if isinstance(exc, (errors.RepositoryNotFoundError, errors.RevisionNotFoundError)):
        return None  # try the next mirror
    network = any(c.__module__.split(".")[0] in ("httpx", "httpx2", "requests", "urllib3") for c in type(exc).__mro__)
    if network or isinstance(exc, (errors.OfflineModeIsEnabled, errors.LocalEntryNotFoundError, errors.HfHubHTTPError,
                                   OSError)):
        first = short_cause(exc, 160)
        return UserError(f"cannot download {repo_id} from the Hugging Face Hub ({first}); run fetch on a machine with "
                         "a network (set HF_ENDPOINT for a mirror endpoint)")
    return None


def fetch_repo(repo_id: str, *, revision: str | None = None, to: str | None = None) -> dict[str, Any]:
    """Download the preferred files of one repository; returns where they are."""
    import huggingface_hub

    from lensbench.offline.hub import preferred_files

    files = huggingface_hub.HfApi().list_repo_files(repo_id, revision=revision)
    allow = preferred_files(list(files))
    path = huggingface_hub.snapshot_download(repo_id, revision=revision, allow_patterns=allow,
                                             local_dir=str(Path(to).expanduser()) if to else None)
    return {"repo_id": repo_id, "revision": revision, "path": str(path), "files": len(allow),
            "skipped": len(files) - len(allow)}


def fetch_model(name: str, *, to: str | None = None, revision: str | None = None, repo: str | None = None) -> dict[str, Any]:
    from lensbench.generators import MODELS

    spec = MODELS.get(name)
    if spec.local_builder and not repo:
        from lensbench.generators.tiny import ensure_built

        return {"kind": "model", "name": spec.name, "path": str(ensure_built(spec.name)), "note": "built locally"}
    _refuse_offline()
    if spec.requires.trust_remote_code:
        if not to:
            raise UserError(f"{spec.name} loads code shipped with its weights from a local directory whose name has "
                            f"no dots: pass --to DIR (e.g. --to models/{spec.name.replace('.', '-')})")
        if "." in Path(to).name:
            raise UserError(f"--to {to}: the directory name must not contain a dot (its remote code cannot be "
                            "imported from there); e.g. --to models/HunyuanImage-3")
    candidates = [repo] if repo else [r for r in (spec.repo_id, *spec.mirrors) if r]
    if not candidates:
        raise UserError(f"model {spec.name} has no repository id; pass --repo REPO_ID")
    tried = []
    for repo_id in candidates:
        try:
            got = fetch_repo(repo_id, revision=revision, to=to)
        except Exception as exc:  # noqa: BLE001 - Hub errors become UserErrors or fall through to the next mirror
            err = _hub_error(exc, repo_id)
            if err is not None:
                raise err from None
            from huggingface_hub import errors

            if not isinstance(exc, (errors.RepositoryNotFoundError, errors.RevisionNotFoundError)):
                raise
            tried.append(repo_id)
            continue
        got.update(kind="model", name=spec.name, mirror=repo_id != spec.repo_id)
        if to:
            got["use"] = f"--model-path {got['path']}" + (" --trust-remote-code" if spec.requires.trust_remote_code else "")
        elif repo_id != spec.repo_id:
            got["use"] = f"--model-path {repo_id}"
        return got
    raise UserError(f"none of {', '.join(tried)} exists on the Hub (or at revision {revision}); "
                    "pass --repo REPO_ID of a mirror")


def fetch_suite(name: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    from lensbench.suites import load_suite

    try:
        suite = load_suite(name, None, dict(options or {}))  # official data is downloaded (and checked) on load
    except UserError as exc:
        var = _offline_var()
        if var is None:
            raise
        # the suite's own hint says "run `lensbench fetch NAME`": circular here, so say why fetch cannot
        raise UserError(f"fetch downloads, but {var}=1 is set and suite {name!r} is not in the local cache; run "
                        f"it on a machine with a network without {var} (the suite said: {short_cause(exc, 200)})") from None
    return {"kind": "suite", "name": suite.name, "items": len(suite), "source": suite.source,
            "options": suite.options}


def fetch_scorer(name: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    _refuse_offline()
    from lensbench.scorers import make_scorer

    scorer = make_scorer(name, options)
    wanted = scorer.downloads()  # declared hook (Scorer.downloads); [] = its own loaders fill their caches
    if wanted:
        got = [fetch_repo(d["repo_id"], revision=d.get("revision")) for d in wanted]
        return {"kind": "scorer", "name": scorer.name, "repos": got}
    scorer.load()  # the scorer's own loaders fill their caches (HF, open_clip, ...)
    return {"kind": "scorer", "name": scorer.name, "note": "loaded once; its models are in the local caches",
            "settings": scorer.settings()}


def resolve_kinds(name: str) -> list[str]:
    """Which registries `name` is in: model, suite and/or scorer (a .jsonl path is a suite)."""
    from lensbench.generators import MODELS
    from lensbench.scorers import SCORERS
    from lensbench.suites import SUITES

    kinds = [k for k, reg in (("model", MODELS), ("suite", SUITES), ("scorer", SCORERS)) if name in reg]
    if not kinds:
        known = [*MODELS.names(), *SUITES.names(), *SCORERS.names()]
        raise UnknownNameError("model, suite or scorer", name, known)
    return kinds


def fetch(names: list[str], *, to: str | None = None, revision: str | None = None, repo: str | None = None,
          suite_options: dict[str, Any] | None = None, scorer_options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    plan = [(n, k) for n in names for k in resolve_kinds(n)]  # all names checked before any download
    if (to or repo) and sum(k == "model" for _, k in plan) != 1:
        raise UserError("--to and --repo apply to exactly one model; fetch models one at a time with them")
    out = []
    for name, kind in plan:
        if kind == "model":
            out.append(fetch_model(name, to=to, revision=revision, repo=repo))
        elif kind == "suite":
            out.append(fetch_suite(name, suite_options))
        else:
            out.append(fetch_scorer(name, scorer_options))
    return out
