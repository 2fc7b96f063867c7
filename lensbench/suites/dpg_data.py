"""DPG-Bench data files: where they live, and fetching them (pinned upstream commit, checked) for users online.

Upstream: TencentQQGYLab/ELLA, folder ``dpg_bench/`` at commit 3c228f1dc6c4d3cad0a47493816151a419f14db3
(2024-07-17, Apache-2.0): ``prompts/<item_id>.txt`` (1,065 files) and ``dpg_bench.csv`` (questions).
Nothing of it is committed to lensbench; `fetch_dpg_data` downloads the repository archive of the pinned
commit once into ``${LENSBENCH_CACHE:-~/.cache/lensbench}/data/dpg/`` and keeps only those files.

Checks: the prompt files must match `PROMPTS_SHA256` (sha256 over the sorted lines
``"<file name>\\t<sha256 of its bytes>\\n"``, computed from the upstream files at the pinned commit, 1,065
files, 434,471 bytes). `CSV_SHA256` pins the question CSV once its digest has been recorded from the
pinned commit; until then (None) the digest of the CSV actually used is recorded in ``SOURCE.json`` and in
every result's settings, so runs remain comparable.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

from lensbench.errors import UserError
from lensbench.util.files import build_dir_atomic, cache_root
from lensbench.util.files import sha256_file as file_sha256

UPSTREAM_REPO = "TencentQQGYLab/ELLA"
UPSTREAM_COMMIT = "3c228f1dc6c4d3cad0a47493816151a419f14db3"
ARCHIVE_URL = f"https://codeload.github.com/{UPSTREAM_REPO}/tar.gz/{UPSTREAM_COMMIT}"
PROMPTS_COUNT = 1065
PROMPTS_SHA256 = "08618b768b1c1da646fb1f437b8a0821b20ca90de2f9b1555767d14b97c67448"
CSV_SHA256: str | None = None  # not yet recorded from the pinned commit (no network where this was written)
CSV_NAME = "dpg_bench.csv"


def data_dir() -> Path:
    return cache_root() / "data" / "dpg"


def default_prompts_dir() -> Path:
    return data_dir() / "prompts"


def default_csv_path() -> Path:
    return data_dir() / CSV_NAME


def prompts_checksum(prompts_dir: str | Path) -> tuple[str, int]:
    """(sha256 over sorted ``name\\tsha256(bytes)`` lines, number of .txt files) of a prompts folder."""
    h = hashlib.sha256()
    files = sorted(p for p in Path(prompts_dir).iterdir() if p.suffix == ".txt" and p.is_file())
    for p in files:
        h.update(f"{p.name}\t{file_sha256(p)}\n".encode())
    return h.hexdigest(), len(files)


def _download(url: str, dest: Path, timeout: float = 60.0) -> None:
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout) as resp, open(dest, "wb") as out:  # noqa: S310 - fixed https URL
        shutil.copyfileobj(resp, out)


def fetch_dpg_data(
    dest: str | Path | None = None, *, url: str = ARCHIVE_URL, download: Callable[[str, Path], None] | None = None
) -> dict:
    """Download the pinned upstream archive, extract ``dpg_bench/prompts/*.txt`` and ``dpg_bench.csv`` into
    `dest` (default: the cache), verify them, and return the ``SOURCE.json`` record. Idempotent."""
    dest = Path(dest) if dest is not None else data_dir()
    download = download or _download

    def complete(p: Path) -> bool:
        return (p / "SOURCE.json").exists() and (p / "prompts").is_dir() and (p / CSV_NAME).is_file()

    def build(staging: Path) -> None:
        archive = staging / ".archive.tar.gz"
        try:
            download(url, archive)
        except OSError as exc:  # URLError, timeouts, DNS failures are OSErrors
            raise UserError(
                f"could not download DPG-Bench data from {url} ({exc}); when offline, pass -S prompts=DIR and "
                f"-S csv=FILE (or -O csv=FILE when scoring) with the files from {UPSTREAM_REPO}/dpg_bench"
            ) from None
        (staging / "prompts").mkdir(parents=True)
        n_csv = 0
        try:
            with tarfile.open(archive, "r:*") as tar:
                for member in tar:
                    parts = member.name.split("/")
                    if not member.isfile() or len(parts) < 3 or parts[1] != "dpg_bench":
                        continue
                    if len(parts) == 4 and parts[2] == "prompts" and parts[3].endswith(".txt"):
                        target = staging / "prompts" / parts[3]
                    elif len(parts) == 3 and parts[2] == CSV_NAME:
                        target, n_csv = staging / CSV_NAME, n_csv + 1
                    else:
                        continue
                    with tar.extractfile(member) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out)
        except (tarfile.TarError, EOFError) as exc:
            raise UserError(f"the archive downloaded from {url} is not a valid tar.gz ({exc}); retry the download") from None
        digest, count = prompts_checksum(staging / "prompts")
        if count != PROMPTS_COUNT or digest != PROMPTS_SHA256:
            raise UserError(
                f"DPG-Bench prompts from {url} do not match the pinned checksum ({count} files, sha256 {digest[:12]}…); "
                "the upstream files changed: pass -S prompts=DIR with a verified copy"
            )
        if n_csv == 0:
            raise UserError(f"the archive from {url} has no dpg_bench/{CSV_NAME}; pass -S csv=FILE with the question CSV")
        if (staging / CSV_NAME).read_bytes()[:40].startswith(b"version https://git-lfs"):
            raise UserError(f"dpg_bench/{CSV_NAME} in {url} is a Git LFS pointer; download the real CSV and pass -S csv=FILE")
        csv_digest = file_sha256(staging / CSV_NAME)
        if CSV_SHA256 is not None and csv_digest != CSV_SHA256:
            raise UserError(
                f"dpg_bench.csv from {url} has sha256 {csv_digest[:12]}…, expected {CSV_SHA256[:12]}…; pass -S csv=FILE with a verified copy"
            )
        record = {
            "upstream": UPSTREAM_REPO,
            "commit": UPSTREAM_COMMIT,
            "url": url,
            "prompts_sha256": digest,
            "prompts_count": count,
            "csv_sha256": csv_digest,
            "csv_sha256_pinned": CSV_SHA256 is not None,
        }
        archive.unlink()
        (staging / "SOURCE.json").write_text(json.dumps(record, indent=2) + "\n")  # last: marks it complete

    build_dir_atomic(dest, build, complete)
    return json.loads((dest / "SOURCE.json").read_text())
