"""Entry point that torchrun starts in the tests: the real `lensbench` CLI with the fakes installed (every model
generates through tests.fakes.FakeGenerator; scorer "fake" and suite "fakegrid" are registered).

LENSBENCH_TEST_KILL_RANK=R with LENSBENCH_TEST_KILL_AFTER=N arms the store's kill point on rank R only."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import lensbench.runners.generate as generate_runner  # noqa: E402
from lensbench.cli import main  # noqa: E402
from lensbench.store import faults  # noqa: E402
from tests import fakes  # noqa: E402

fakes.install()
generate_runner.make_generator = lambda spec, load: fakes.FakeGenerator(spec.name)
if os.environ.get("LENSBENCH_TEST_KILL_RANK") == os.environ.get("RANK"):
    faults.configure(kill_after=int(os.environ["LENSBENCH_TEST_KILL_AFTER"]))
main(sys.argv[1:])
