"""`lensbench doctor`: is this machine ready for a planned run? GPU, library versions (against each model's
`ModelSpec.requires`), packages, weights in the local Hugging Face cache (or --model-path), suite data, and
scorer models. Every check says exactly what is missing and the command that fixes it.

``--offline`` checks as a GPU node without internet sees it (HF_HUB_OFFLINE=1 etc. are set first): weights and
data must already be local. Without it, weights missing from the cache are only a note (they download on
first use). Exit code 1 when something is missing, 0 when ready.
"""

from __future__ import annotations

import importlib.util
import os
import platform
from dataclasses import asdict, dataclass
from typing import Any

from lensbench.errors import MissingPackageError, UserError, short_cause

OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "LENSBENCH_OFFLINE")


@dataclass
class Check:
    what: str
    status: str  # ok | missing | warn | info
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def go_offline() -> None:
    """Make every library behave as on a node without internet (call before heavy imports)."""
    for var in OFFLINE_VARS:
        os.environ[var] = "1"


def _first_line(exc: BaseException) -> str:
    return short_cause(exc, 240)


def environment_checks() -> tuple[list[Check], list[dict[str, Any]]]:
    import lensbench

    checks = [Check("python", "ok", f"Python {platform.python_version()}, lensbench {lensbench.__version__}")]
    gpus: list[dict[str, Any]] = []
    if importlib.util.find_spec("torch") is None:
        checks.append(Check("torch", "missing", "torch is not installed", "install the torch build for your CUDA, "
                            "then pip install 'lensbench[gpu]'"))
        return checks, gpus
    import torch

    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            gpus.append({"index": i, "name": p.name, "memory_gb": round(p.total_memory / 2**30, 1),
                         "compute_capability": f"{p.major}.{p.minor}"})
        names = ", ".join(f"{g['name']} {g['memory_gb']} GB" for g in gpus)
        checks.append(Check("gpu", "ok", f"torch {torch.__version__}, CUDA {torch.version.cuda}: {len(gpus)} GPU(s): {names}"))
    else:
        checks.append(Check("gpu", "info", f"torch {torch.__version__}: no CUDA GPU visible (CPU only)"))
    return checks, gpus


def _version_check(package: str, minimum: str | None, model: str) -> Check | None:
    from lensbench.generators.loading import check_min_version

    if not minimum:
        return None
    try:
        check_min_version(package, minimum, model)
    except UserError as exc:
        return Check(f"{model}: {package}", "missing", str(exc).split(";")[0], f"pip install -U '{package}>={minimum}'")
    from importlib.metadata import version

    return Check(f"{model}: {package}", "ok", f"{package} {version(package)} >= {minimum}")


def model_checks(name: str, gpus: list[dict[str, Any]], *, offline: bool, model_path: str | None = None,
                 revision: str | None = None) -> list[Check]:
    from lensbench.generators import MODELS
    from lensbench.offline import hub

    spec = MODELS.get(name)
    req = spec.requires
    checks = [c for c in (_version_check("diffusers", req.min_diffusers, spec.name),
                          _version_check("transformers", req.min_transformers, spec.name)) if c]
    for pkg in req.packages:
        found = importlib.util.find_spec(pkg) is not None
        checks.append(Check(f"{spec.name}: package {pkg}", "ok" if found else "missing",
                            f"`{pkg}` is {'importable' if found else 'not importable'}", "" if found else req.install_hint))
    if req.gpu_memory_gb:
        need = f"about {req.gpu_memory_gb:g} GB of GPU memory" + (f" over >= {req.min_gpus} GPUs" if req.min_gpus > 1 else "")
        total = sum(g["memory_gb"] for g in gpus)
        if not gpus:
            checks.append(Check(f"{spec.name}: GPU", "missing", f"no CUDA GPU visible; {spec.name} needs {need}",
                                "run on a GPU node (check CUDA_VISIBLE_DEVICES and the driver with nvidia-smi)"))
        elif len(gpus) < req.min_gpus or total < req.gpu_memory_gb:
            checks.append(Check(f"{spec.name}: GPU", "missing", f"{len(gpus)} GPU(s) with {total:g} GB in total; {spec.name} "
                                f"needs {need}", "use a node with more GPU memory"))
        elif max(g["memory_gb"] for g in gpus) < req.gpu_memory_gb and req.min_gpus == 1:
            checks.append(Check(f"{spec.name}: GPU", "warn", f"largest GPU has {max(g['memory_gb'] for g in gpus):g} GB; "
                                f"{spec.name} peaks at {need}", "use --offload model"))
        else:
            checks.append(Check(f"{spec.name}: GPU", "ok", f"{total:g} GB over {len(gpus)} GPU(s) for {need}"))
    checks.append(_weights_check(spec, offline=offline, model_path=model_path, revision=revision, hub=hub))
    return checks


def _weights_check(spec, *, offline: bool, model_path: str | None, revision: str | None, hub) -> Check:
    what = f"{spec.name}: weights"
    fetch = f"on a machine with a network: lensbench fetch {spec.name}"
    if spec.local_builder and not model_path:
        from lensbench.generators.tiny import cache_root, is_complete

        built = any(is_complete(p, spec.name) for p in cache_root().glob(f"{spec.name}-v*"))
        return Check(what, "ok", "built locally" if built else "built locally on first use (no download)")
    if spec.requires.trust_remote_code and not model_path:
        return Check(what, "missing", f"{spec.name} loads from a local directory only (pass --model-path DIR)",
                     f"{fetch} --to DIR (a directory name without dots), then pass --model-path DIR")
    if model_path and os.path.isdir(os.path.expanduser(model_path)):
        problems = hub.local_problems(os.path.expanduser(model_path))
        if problems:
            return Check(what, "missing", f"{model_path} lacks {len(problems)} file(s): {', '.join(problems[:5])}",
                         f"{fetch} --to {model_path}")
        return Check(what, "ok", f"complete in {model_path}")
    candidates = [model_path] if model_path else [r for r in (spec.repo_id, *spec.mirrors) if r]
    for repo_id in candidates:
        snap = hub.cached_snapshot(repo_id, revision)
        if snap is None:
            continue
        problems = hub.local_problems(snap)
        if problems:
            return Check(what, "missing", f"{repo_id} is in the HF cache ({snap}) but lacks {len(problems)} file(s): "
                         f"{', '.join(problems[:5])}", fetch)
        use = f" (pass --model-path {repo_id})" if repo_id != spec.repo_id and not model_path else ""
        return Check(what, "ok", f"{repo_id} complete in the HF cache{use}")
    where = f"{' or '.join(candidates)} not in the HF cache ({hub.cache_dir()})"
    if offline:
        return Check(what, "missing", where, fetch + (f" (or --repo {spec.mirrors[0]})" if spec.mirrors else ""))
    return Check(what, "info", where + "; it will download on first use", f"to prefetch: lensbench fetch {spec.name}")


def suite_checks(name: str, options: dict[str, Any]) -> list[Check]:
    from lensbench.suites import load_suite

    try:
        suite = load_suite(name, None, dict(options))
    except UserError as exc:
        return [Check(f"suite {name}: data", "missing", str(exc), f"on a machine with a network: lensbench fetch {name}")]
    return [Check(f"suite {name}: data", "ok", f"{len(suite)} items ({suite.source or 'built in'})")]


def scorer_checks(name: str, options: dict[str, Any], *, load: bool) -> list[Check]:
    from lensbench.scorers import make_scorer

    what = f"scorer {name}"
    try:
        scorer = make_scorer(name, options)
        per_backend = getattr(scorer, "doctor_checks", None)  # scorers with several models report each one
        if callable(per_backend):
            return [Check(f"{what}: {w}", st, d, f) for w, st, d, f in per_backend(load=load)]
        if load:
            scorer.load()
    except MissingPackageError as exc:  # `fetch` downloads data and weights; it cannot install packages
        return [Check(what, "missing", str(exc), exc.install)]
    except ImportError as exc:
        return [Check(what, "missing", f"{type(exc).__name__}: {_first_line(exc)}",
                      f"pip install {exc.name}" if exc.name else "install the missing Python package")]
    except UserError as exc:
        return [Check(what, "missing", str(exc), f"on a machine with a network: lensbench fetch {name}")]
    except Exception as exc:  # noqa: BLE001 - any loading failure is a finding, reported in one line
        return [Check(what, "missing", f"{type(exc).__name__}: {_first_line(exc)}",
                      f"on a machine with a network: lensbench fetch {name}")]
    return [Check(what, "ok", "models load" if load else "known (models not loaded: --no-load)")]


def doctor(*, models: list[str] = (), suites: list[str] = (), scorers: list[str] = (), offline: bool = False,
           model_path: str | None = None, revision: str | None = None, suite_options: dict[str, Any] | None = None,
           scorer_options: dict[str, Any] | None = None, load_scorers: bool = True) -> list[Check]:
    """All checks for the planned run; a model/suite/scorer name that does not exist raises UnknownNameError."""
    from lensbench.generators import MODELS
    from lensbench.scorers import SCORERS
    from lensbench.suites import SUITES

    for reg, names in ((MODELS, models), (SCORERS, scorers)):
        for n in names:
            reg.canonical(n)  # unknown names fail before any check runs
    for n in suites:
        if n not in SUITES and not n.endswith(".jsonl"):
            SUITES.canonical(n)
    if model_path and len(models) != 1:
        raise UserError("--model-path applies to exactly one --model")
    if offline:
        go_offline()
    checks, gpus = environment_checks()
    checks.append(Check("selftest", "info", "prove this machine end to end first (tiny models, no download)", f"lensbench selftest --device {'cuda' if gpus else 'cpu'}"))
    if offline:
        checks.append(Check("offline", "ok", f"{', '.join(OFFLINE_VARS)}=1 set for these checks",
                            "export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 on the GPU node as well"))
    for m in models:
        checks += model_checks(m, gpus, offline=offline, model_path=model_path, revision=revision)
    for s in suites:
        checks += suite_checks(s, suite_options or {})
    if not scorers:  # no --scorer: the planned suites' default scorers (declared by the suite, data not needed)
        from lensbench.suites.status import declared_default_scorer

        scorers = list(dict.fromkeys(d for d in (declared_default_scorer(SUITES.canonical(s)) if s in SUITES else None
                                                 for s in suites) if d and d in SCORERS))
    for sc in scorers:
        checks += scorer_checks(sc, scorer_options or {}, load=load_scorers)
    return checks
