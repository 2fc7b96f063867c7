"""The architecture rules, checked on the source: imports point down the layers, no import cycle between
modules, and the shared plumbing has exactly one definition each (issue 12).

Imports are read with `ast` from every module of the package, including imports inside functions (a lazy
import is still a dependency). A new top-level package must be placed in `LAYERS` first.
"""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "lensbench"

#: top-level parts of lensbench, lowest layer first; a part may import its own layer and the layers below
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"__init__", "errors", "registry", "config", "stats", "options", "filecheck", "redact", "util", "store",
               "baselines", "dist", "clients"}),
    frozenset({"scorers", "rewriters", "generators", "suites", "timing", "metrics"}),
    frozenset({"runners", "speed", "selftest", "ablation", "reports", "offline", "demo"}),
    frozenset({"cli", "__main__"}),
)
#: imports forbidden even though they do not point up (same layer)
FORBIDDEN = {("suites", "scorers"), ("offline", "runners"), ("scorers", "runners"), ("reports", "runners"),
             ("speed", "runners"), ("speed", "reports")}


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = ("lensbench", *p.relative_to(PKG).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


MODULES = _modules()
NAMES = {p: m for m, p in MODULES.items()}


@functools.lru_cache(maxsize=None)
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


@functools.lru_cache(maxsize=None)
def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported lensbench module) for every import in the file; `from a.b import c` names a.b.c when
    that is a module, else a.b. Relative imports are resolved against the file's package."""
    tree = _tree(path)
    mod = NAMES[path]
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "lensbench"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != "lensbench":
                continue
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
            out += [(node.lineno, s) for s in subs] or [(node.lineno, base)]
    return out


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(part: str) -> int:
    for i, layer in enumerate(LAYERS):
        if part in layer:
            return i
    raise AssertionError(f"lensbench/{part} is in no layer of tests/unit/test_architecture.py LAYERS; place it there")


def _graph() -> dict[str, set[str]]:
    g: dict[str, set[str]] = defaultdict(set)
    for mod, path in MODULES.items():
        for _line, target in _imports(path):
            if target != mod and target in MODULES:
                g[mod].add(target)
    return g


def test_imports_point_down_the_layers():
    bad = []
    for mod, path in MODULES.items():
        src = _part(mod)
        for line, target in _imports(path):
            dst = _part(target)
            if dst == src:
                continue
            if _layer(dst) > _layer(src) or (src, dst) in FORBIDDEN:
                bad.append(f"{path.relative_to(PKG.parent)}:{line} imports {target} ({src} -> {dst})")
    assert not bad, "imports pointing up or across a forbidden seam:\n" + "\n".join(bad)


def test_no_import_cycle_between_modules():
    g = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components (recursion depth: a few dozen)
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(MODULES):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    """The rules above would pass vacuously if imports inside functions were missed: check the reader."""
    src = MODULES["lensbench.offline.fetch"]
    targets = {t for _l, t in _imports(src)}
    assert "lensbench.scorers" in targets  # `from lensbench.scorers import make_scorer` inside a function
    assert all(t.startswith("lensbench") for t in targets)


@functools.lru_cache(maxsize=None)
def _definitions() -> dict[str, list[str]]:
    """name -> ['path:line', ...] of every def / class / assignment to a plain name, at any depth."""
    out: dict[str, list[str]] = defaultdict(list)
    for path in MODULES.values():
        for node in ast.walk(_tree(path)):
            names = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            for n in names:
                out[n].append(f"{path.relative_to(PKG.parent)}:{node.lineno}")
    return out


SINGLE = {
    "is_oom": "lensbench/util/device.py",
    "resolve_device": "lensbench/util/device.py",
    "device_matches": "lensbench/baselines/__init__.py",
    "SPEED_COLUMNS": "lensbench/timing/schema.py",
    "sha256_file": "lensbench/util/files.py",
    "build_dir_atomic": "lensbench/util/files.py",
    "iter_jsonl": "lensbench/util/files.py",
    "exclusive_lock": "lensbench/util/lock.py",
    "parse_size": "lensbench/util/sizes.py",
    "format_size": "lensbench/util/sizes.py",
    "hub_commit": "lensbench/util/identity.py",
    "local_fingerprint": "lensbench/util/identity.py",
    "package_version": "lensbench/util/identity.py",
}


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_one_definition_each(name):
    defs = _definitions()[name]
    assert len(defs) == 1 and defs[0].startswith(SINGLE[name] + ":"), f"{name} defined at {defs}"


@functools.lru_cache(maxsize=None)
def _source_lines() -> list[tuple[str, int, str]]:
    out = []
    for path in MODULES.values():
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            out.append((str(path.relative_to(PKG.parent)), i, line))
    return out


@pytest.mark.parametrize(("needle", "home"), [
    ('"LENSBENCH_CACHE"', "lensbench/util/files.py"),  # the cache root lookup
    ("fcntl.flock(", "lensbench/util/lock.py"),  # the file lock
    ('"cuda" if torch.cuda.is_available() else "cpu"', "lensbench/util/device.py"),  # device auto-resolution
    ("for chunk in iter(lambda: fh.read(", "lensbench/util/files.py"),  # hashing a file in chunks
    (": not valid JSON (", "lensbench/util/files.py"),  # the JSONL reader's path:line error
    (".read_bytes()).hexdigest()", None),  # sha256 of a whole file: use sha256_file
    (".read_bytes()).digest()", None),
])
def test_plumbing_has_one_home(needle, home):
    hits = [f"{p}:{i}" for p, i, line in _source_lines() if needle in line]
    if home is None:
        assert not hits, f"{needle!r} should appear nowhere: {hits}"
    else:
        assert hits and all(h.startswith(home + ":") for h in hits), f"{needle!r} outside {home}: {hits}"
