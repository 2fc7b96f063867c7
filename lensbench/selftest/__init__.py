"""`lensbench selftest`: prove a machine end to end in one command, before hours of benchmarking.

Runs the tiny builds through generate → score → speed → report on one device and checks, each as a named
pass / fail / skip line with its figure: images in fp32 and bf16, finite, resumed byte-identically; harness
latency vs a bare timed call and the stage split; peak memory; real OOM back-off, CPU offload and torchrun
sharding on CUDA. Writes selftest.json (schema: docs/selftest.md). Python API: `run_selftest(SelftestSettings())`.

Modules: `result` (CheckResult), `context` (device, settings, loaded generators), `images`, `pipeline` (score,
report), `speed` (overhead, stage split, memory), `cuda` (OOM, offload, torchrun), `environment`, `summary`
(rich table, JSON), `runner` (order, selftest.json).
"""

from lensbench.selftest.context import SelftestSettings
from lensbench.selftest.result import CheckResult

__all__ = ["SelftestSettings", "CheckResult", "run_selftest"]


def run_selftest(settings: SelftestSettings, **kwargs):
    from lensbench.selftest.runner import run_selftest as _run

    return _run(settings, **kwargs)
