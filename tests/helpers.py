"""Test helpers: run the CLI in a subprocess (real exit codes, real stderr)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lensbench.util.env import temporary_env

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args: str, env: dict | None = None, cwd: str | Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    e = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "lensbench", *args], capture_output=True, text=True, env=e,
                          cwd=cwd or REPO, timeout=timeout)


def assert_user_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit code 2, one line on stderr starting with 'error:', no traceback, containing each fragment."""
    err = proc.stderr.strip()
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def run_cli_inprocess(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `lensbench.cli.main` in this process (no torch import per call): the same exit code, stdout and stderr
    a user sees. `env` entries are set for the call (None unsets). An exception that escapes `main` is a bug:
    its traceback is put on stderr and the exit code is 1, as Python would do."""
    import contextlib
    import io
    import traceback

    from lensbench.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with temporary_env(env or {}):
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
                code = 1
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 (a free port) around a request handler class, as a context manager:
    the one local endpoint that client tests talk to (never any other address)."""

    def __init__(self, handler) -> None:
        import threading
        from http.server import ThreadingHTTPServer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=lambda: self.server.serve_forever(poll_interval=0.05), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
