"""The upstream `lens` package for tests: put ../shared/thirdparty on sys.path (as a user puts a clone of
microsoft/Lens on PYTHONPATH) only while a test needs it, and remove the path and the imported `lens` modules
afterwards, so every other test sees the machine as it is (e.g. the demo without tiny-lens)."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

THIRDPARTY = Path(__file__).resolve().parents[1].parent / "shared" / "thirdparty"


def available() -> bool:
    return (THIRDPARTY / "lens" / "__init__.py").is_file()


@contextlib.contextmanager
def upstream_lens() -> Iterator[object]:
    """Yield the imported upstream `lens` module (skip the test when it cannot be imported)."""
    added = THIRDPARTY.is_dir() and str(THIRDPARTY) not in sys.path
    if added:
        sys.path.insert(0, str(THIRDPARTY))
    try:
        try:
            module = importlib.import_module("lens")
        except ImportError as exc:
            pytest.skip(f"the upstream `lens` package is not importable from {THIRDPARTY}: {exc}")
        yield module
    finally:
        if added and str(THIRDPARTY) in sys.path:
            sys.path.remove(str(THIRDPARTY))
        for name in [m for m in sys.modules if m == "lens" or m.startswith("lens.")]:
            del sys.modules[name]
        # `import lens` injects its classes into the diffusers/transformers module objects: take them out again
        for lib, names in (("diffusers", ("LensPipeline", "LensTransformer2DModel")),
                           ("transformers", ("LensGptOssEncoder",))):
            module = sys.modules.get(lib)
            for attr in names:
                if module is not None and getattr(getattr(module, attr, None), "__module__", "").startswith("lens"):
                    with contextlib.suppress(AttributeError):
                        delattr(module, attr)
