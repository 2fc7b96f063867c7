"""`lensbench --help` and `lensbench models` are instant: no torch, diffusers or transformers imported."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lensbench.generators.catalog import MODELS
from tests.helpers import run_cli

PROBE = """
import sys
from lensbench.cli import main
try:
    main({args!r})
except SystemExit as e:
    code = e.code
heavy = sorted(m for m in ("torch", "diffusers", "transformers", "open_clip", "torchmetrics") if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""


@pytest.mark.parametrize("args", [["--help"], ["models"], ["models", "--json"], ["generate", "--help"]])
def test_light_commands_import_no_heavy_modules(args):
    p = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "HEAVY=", p.stdout[-500:]


def test_models_table_lists_every_entry_with_repo_and_defaults():
    p = run_cli("models")
    assert p.returncode == 0, p.stderr
    for name in MODELS.names():
        spec = MODELS.get(name)
        assert name in p.stdout
        if spec.repo_id:
            assert spec.repo_id in p.stdout
    assert "Tongyi-MAI/Z-Image-Turbo" in p.stdout and "true_cfg" in p.stdout


def test_models_json_has_defaults_and_constraints():
    p = run_cli("models", "--json")
    data = {d["name"]: d for d in json.loads(p.stdout)}
    assert data["lens-turbo"]["defaults"]["steps"] == 4
    assert data["lens"]["presets"]["1440/16:9"] == [1936, 1088]  # W×H (issue 13: was [h, w])
    assert data["qwen-image"]["constraints"]["multiple"] == 16
    assert data["hunyuan-image-3"]["requires"]["trust_remote_code"] is True


def test_python_dash_m_and_dry_run(tmp_path):
    p = run_cli("generate", "--model", "lens-turbo", "--suite", "demo", "--out", str(tmp_path / "r"), "--dry-run",
                "--device", "cpu", "--images-per-prompt", "2")
    assert p.returncode == 0, p.stderr
    plan = json.loads(p.stdout)
    assert plan["planned"] == 12 and plan["cached"] == 0
    assert (plan["settings"]["steps"], plan["settings"]["guidance"]) == (4, 1.0)
    assert not (tmp_path / "r").exists()  # a dry run writes nothing


def test_geneval_metadata_and_language_flags(tmp_path, shared_data):
    meta = shared_data / "geneval" / "evaluation_metadata.jsonl"
    p = run_cli("generate", "--model", "tiny", "--suite", "geneval", "--geneval-metadata", str(meta), "--language", "fr",
                "--out", str(tmp_path / "r"), "--dry-run", "--limit", "2")
    assert p.returncode == 0, p.stderr
    plan = json.loads(p.stdout)
    assert plan["planned"] == 8  # 2 prompts x 4 images (GenEval default)
    assert plan["suite"]["options"] == {"metadata": str(meta), "language": "fr"}


def test_models_lists_the_model_options_generate_help_points_to():
    # `generate --help`: "-M KEY=VALUE (e.g. enable_reasoner=true; `lensbench models` lists them)"
    p = run_cli("models")
    assert p.returncode == 0, p.stderr
    assert "-M options" in p.stdout and "enable_reasoner" in p.stdout and "scheduler_shift" in p.stdout
    data = {d["name"]: d for d in json.loads(run_cli("models", "--json").stdout)}
    # the keys `generate -M` accepts (plan.check_model_options), not only the ones with a registry default
    assert "scheduler_shift" in data["tiny"]["model_options"]
    assert {"enable_reasoner", "dequantize"} <= set(data["tiny-lens"]["model_options"])
