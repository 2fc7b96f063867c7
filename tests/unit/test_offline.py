"""`lensbench fetch` / `doctor` / `verify` plumbing. No network: huggingface_hub's download functions are
monkeypatched with a fake Hub that serves a tiny locally built pipeline into an HF-cache layout."""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path

import pytest

from lensbench.errors import UnknownNameError, UserError
from lensbench.offline import doctor as doc
from lensbench.offline import fetch as fe
from lensbench.offline import hub
from tests.helpers import run_cli_inprocess

# -- file choice ------------------------------------------------------------------------------------------------


def test_preferred_files_diffusers_repo():
    files = ["model_index.json", "README.md", "flux1-dev.safetensors", "ae.safetensors",
             "transformer/config.json", "transformer/diffusion_pytorch_model-00001-of-00002.safetensors",
             "transformer/diffusion_pytorch_model-00002-of-00002.safetensors",
             "transformer/diffusion_pytorch_model.safetensors.index.json",
             "transformer/diffusion_pytorch_model.fp16-00001-of-00001.safetensors",
             "transformer/diffusion_pytorch_model.safetensors.index.fp16.json",
             "vae/config.json", "vae/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.bin",
             "text_encoder/config.json", "text_encoder/pytorch_model.bin", "scheduler/scheduler_config.json"]
    assert hub.preferred_files(files) == [
        "model_index.json", "README.md", "transformer/config.json",
        "transformer/diffusion_pytorch_model-00001-of-00002.safetensors",
        "transformer/diffusion_pytorch_model-00002-of-00002.safetensors",
        "transformer/diffusion_pytorch_model.safetensors.index.json", "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors", "text_encoder/config.json", "text_encoder/pytorch_model.bin",
        "scheduler/scheduler_config.json"]


def test_preferred_files_transformers_repo_and_variant_only_folders():
    files = ["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
             "model.safetensors.index.json", "pytorch_model-00001-of-00002.bin", "pytorch_model.bin.index.json",
             "unet/config.json", "unet/diffusion_pytorch_model.fp16.safetensors", "unet/diffusion_pytorch_model.fp16.bin"]
    assert hub.preferred_files(files) == [
        "config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
        "model.safetensors.index.json", "unet/config.json", "unet/diffusion_pytorch_model.fp16.safetensors"]


# -- a fake Hub and HF cache --------------------------------------------------------------------------------------
def _tiny_build() -> Path:
    from lensbench.generators.tiny import ensure_built

    return ensure_built("tiny")


def _httpx():
    from huggingface_hub import errors

    return importlib.import_module(errors.HfHubHTTPError.__mro__[1].__module__.split(".")[0])


def _hub_error(cls_name: str, status: int):
    from huggingface_hub import errors

    httpx = _httpx()
    resp = httpx.Response(status, request=httpx.Request("GET", "https://huggingface.co/api/models/x"))
    return getattr(errors, cls_name)(f"{status} Client Error", response=resp)


class FakeHub:
    """Serves `repos` (repo id -> local folder) like the Hub, writing into an HF-cache layout under `cache`."""

    def __init__(self, cache: Path, repos: dict[str, Path], gated: tuple[str, ...] = (), down: bool = False):
        self.cache, self.repos, self.gated, self.down = cache, repos, gated, down
        self.calls: list[dict] = []

    def list_repo_files(self, repo_id, revision=None, **_):
        if self.down:
            raise _httpx().ConnectError("[Errno -2] Name or service not known")
        if repo_id in self.gated:
            raise _hub_error("GatedRepoError", 403)
        if repo_id not in self.repos:
            raise _hub_error("RepositoryNotFoundError", 404)
        root = self.repos[repo_id]
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) + ["flux1-dev.safetensors"]

    def snapshot_download(self, repo_id, revision=None, allow_patterns=None, local_dir=None, **_):
        self.calls.append({"repo_id": repo_id, "allow_patterns": allow_patterns, "local_dir": local_dir})
        src = self.repos[repo_id]
        if local_dir:
            dest = Path(local_dir)
        else:
            folder = self.cache / f"models--{repo_id.replace('/', '--')}"
            (folder / "refs").mkdir(parents=True, exist_ok=True)
            (folder / "refs" / "main").write_text("0" * 40)
            dest = folder / "snapshots" / ("0" * 40)
        for rel in allow_patterns:
            if (src / rel).is_file():
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src / rel, dest / rel)
        return str(dest)


@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
    import huggingface_hub

    hubobj = FakeHub(tmp_path / "hf", {"Tongyi-MAI/Z-Image-Turbo": _tiny_build(), "Jinstudio/Lens": _tiny_build(),
                                       "tencent/HunyuanImage-3.0": _tiny_build()})

    class Api:
        def list_repo_files(self, repo_id, **kw):
            return hubobj.list_repo_files(repo_id, **kw)

    monkeypatch.setattr(huggingface_hub, "HfApi", Api)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", hubobj.snapshot_download)
    monkeypatch.setattr(hub, "cache_dir", lambda: str(hubobj.cache))
    for var in ("HF_HUB_OFFLINE", "LENSBENCH_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.setenv(var, "0")  # fetch runs on a machine with a network; restored after the test
    return hubobj


def test_fetch_model_downloads_preferred_files_into_the_cache_and_doctor_sees_them(fake_hub):
    [got] = fe.fetch(["z-image-turbo"])
    [call] = fake_hub.calls
    assert call["repo_id"] == "Tongyi-MAI/Z-Image-Turbo" and call["local_dir"] is None
    assert "flux1-dev.safetensors" not in call["allow_patterns"] and "unet/diffusion_pytorch_model.safetensors" in call["allow_patterns"]
    assert got["skipped"] == 1 and Path(got["path"]).is_dir()
    check = doc._weights_check(fe_spec("z-image-turbo"), offline=True, model_path=None, revision=None, hub=hub)
    assert check.status == "ok" and "complete in the HF cache" in check.detail
    (Path(got["path"]) / "unet" / "diffusion_pytorch_model.safetensors").unlink()  # a blob that never arrived
    check = doc._weights_check(fe_spec("z-image-turbo"), offline=True, model_path=None, revision=None, hub=hub)
    assert check.status == "missing" and "unet/<weights>" in check.detail and "lensbench fetch z-image-turbo" in check.fix


def fe_spec(name):
    from lensbench.generators import MODELS

    return MODELS.get(name)


def test_fetch_falls_back_to_a_mirror_and_says_how_to_use_it(fake_hub):
    [got] = fe.fetch(["lens"])
    assert [c["repo_id"] for c in fake_hub.calls] == ["Jinstudio/Lens"] and got["mirror"]
    assert got["use"] == "--model-path Jinstudio/Lens"
    check = doc._weights_check(fe_spec("lens"), offline=True, model_path=None, revision=None, hub=hub)
    assert check.status == "ok" and "--model-path Jinstudio/Lens" in check.detail


def test_fetch_to_a_plain_directory_for_remote_code_models(fake_hub, tmp_path):
    with pytest.raises(UserError, match="pass --to DIR"):
        fe.fetch(["hunyuan-image-3"])
    with pytest.raises(UserError, match="must not contain a dot"):
        fe.fetch(["hunyuan-image-3"], to=str(tmp_path / "HunyuanImage-3.0"))
    [got] = fe.fetch(["hunyuan-image-3"], to=str(tmp_path / "HunyuanImage-3"))
    assert fake_hub.calls[0]["local_dir"] == str(tmp_path / "HunyuanImage-3")
    assert got["use"] == f"--model-path {tmp_path / 'HunyuanImage-3'} --trust-remote-code"
    check = doc._weights_check(fe_spec("hunyuan-image-3"), offline=True, model_path=str(tmp_path / "HunyuanImage-3"),
                               revision=None, hub=hub)
    assert check.status == "ok"


def test_fetch_errors_are_one_line_and_actionable(fake_hub, monkeypatch):
    fake_hub.gated = ("Tongyi-MAI/Z-Image-Turbo",)
    with pytest.raises(UserError, match="gated: accept its licence at https://huggingface.co/Tongyi-MAI/Z-Image-Turbo"):
        fe.fetch(["z-image-turbo"])
    fake_hub.gated, fake_hub.down = (), True
    with pytest.raises(UserError, match=r"cannot download Tongyi-MAI/Z-Image-Turbo .*Name or service not known.* network"):
        fe.fetch(["z-image-turbo"])
    fake_hub.down = False
    with pytest.raises(UserError, match="none of black-forest-labs/FLUX.1-dev exists"):
        fe.fetch(["flux1-dev"])
    with pytest.raises(UnknownNameError, match="unknown model, suite or scorer 'genevall'.*did you mean 'geneval'"):
        fe.fetch(["z-image-turbo", "genevall"])
    assert fake_hub.calls == []  # every name is checked before anything downloads
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="HF_HUB_OFFLINE=1 is set"):
        fe.fetch(["z-image-turbo"])


def test_fetch_suites_scorers_and_tiny_models(fake_hub):
    from lensbench.scorers import SCORERS
    from tests.fakes import FakeScorer

    class WithDownloads(FakeScorer):
        def downloads(self):
            return [{"repo_id": "Tongyi-MAI/Z-Image-Turbo"}]

    SCORERS.register("fake-dl", WithDownloads, replace=True)
    SCORERS.register("fake", FakeScorer, replace=True)
    got = fe.fetch(["smoke", "fake-dl", "fake", "tiny"])
    assert [(g["kind"], g["name"]) for g in got] == [("suite", "smoke"), ("scorer", "fake"), ("scorer", "fake"), ("model", "tiny")]
    assert got[0]["items"] == 2 and got[1]["repos"][0]["repo_id"] == "Tongyi-MAI/Z-Image-Turbo"
    assert "loaded once" in got[2]["note"] and got[3]["note"] == "built locally"
    assert fe.resolve_kinds("geneval") == ["suite", "scorer"]


# -- doctor -----------------------------------------------------------------------------------------------------


@pytest.fixture
def offline_env(monkeypatch):
    for var in doc.OFFLINE_VARS:
        monkeypatch.setenv(var, "1")


def test_doctor_ready_exit_0(offline_env):
    p = run_cli_inprocess("doctor", "--offline", "--model", "tiny", "--suite", "smoke")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "ok       tiny: weights: built locally" in p.stdout and p.stdout.rstrip().endswith("ready")


def test_doctor_says_exactly_what_is_missing_exit_1(offline_env, tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "cache_dir", lambda: str(tmp_path / "empty-cache"))
    p = run_cli_inprocess("doctor", "--offline", "--model", "z-image-turbo", "--model", "lens-turbo",
                          "--suite", "dpg", "-S", f"prompts={tmp_path}/nope", "--json")
    assert p.returncode == 1, p.stdout + p.stderr
    report = json.loads(p.stdout)
    missing = {c["what"]: c for c in report["checks"] if c["status"] == "missing"}
    assert not report["ready"]
    assert "lensbench fetch z-image-turbo" in missing["z-image-turbo: weights"]["fix"]
    assert "Jinstudio/Lens-Turbo" in missing["lens-turbo: weights"]["fix"]  # the mirror to use
    assert "github.com/microsoft/Lens" in missing["lens-turbo: package lens"]["fix"]
    assert "needs about 24.7 GB" in missing["z-image-turbo: GPU"]["detail"]
    assert "prompts folder" in missing["suite dpg: data"]["detail"]


def test_doctor_plan_from_config_and_scorer_load(offline_env, tmp_path):
    from lensbench.scorers import SCORERS
    from tests.fakes import FakeScorer

    class Broken(FakeScorer):
        def load(self):
            raise OSError("We couldn't connect to 'https://huggingface.co' to load the files")

    SCORERS.register("broken", Broken, replace=True)
    cfg = tmp_path / "run.toml"
    cfg.write_text('model = "tiny"\nsuite = "smoke"\n')
    p = run_cli_inprocess("doctor", "--offline", "--config", str(cfg), "--scorer", "broken")
    assert p.returncode == 1
    assert "MISSING  scorer broken: OSError: We couldn't connect" in p.stdout
    assert "-> on a machine with a network: lensbench fetch broken" in p.stdout


def test_doctor_checks_the_suites_default_scorer_without_scorer_flag(offline_env):
    p = run_cli_inprocess("doctor", "--offline", "--suite", "geneval", "--suite", "smoke", "--no-load", "--json")
    whats = [c["what"] for c in json.loads(p.stdout)["checks"]]
    assert any(w == "scorer geneval" or w.startswith("scorer geneval:") for w in whats), whats
    assert not any(w.startswith("scorer smoke") for w in whats)  # smoke declares no scorer
    given = run_cli_inprocess("doctor", "--offline", "--suite", "geneval", "--scorer", "clipscore", "--no-load", "--json")
    whats = [c["what"] for c in json.loads(given.stdout)["checks"]]
    assert not any(w.startswith("scorer geneval") for w in whats) and any(w.startswith("scorer clipscore") for w in whats)


def test_doctor_unknown_name_is_a_user_error(offline_env):
    p = run_cli_inprocess("doctor", "--model", "lens-trubo")
    assert p.returncode == 2 and "did you mean 'lens-turbo'" in p.stderr


# -- verify -----------------------------------------------------------------------------------------------------


def test_verify_reports_and_fixes_damage(tmp_path):
    from lensbench.config import RunConfig
    from lensbench.runners.generate import run_generate
    from tests import fakes

    fakes.install()
    cfg = RunConfig(model="tiny", suite="fakegrid", suite_options={"n": 2}, out=str(tmp_path / "run"), height=64,
                    width=64, steps=2, device="cpu", progress=False)
    run_generate(cfg, generator=fakes.FakeGenerator())
    assert run_cli_inprocess("verify", str(tmp_path / "run")).returncode == 0
    img = tmp_path / "run" / "tiles" / "p1" / "0.png"
    original = img.read_bytes()
    data = bytearray(original)
    data[100] ^= 0xFF
    img.write_bytes(bytes(data))
    p = run_cli_inprocess("verify", str(tmp_path / "run"))
    assert p.returncode == 1 and "damaged  tiles/p1/0.png: sha256 differs" in p.stdout
    # --fix remakes the damaged image with the recorded settings (the CLI loads the recorded model; the same
    # repair with this run's fake generator gives back the very bytes its record describes)
    from lensbench.runners.repair import repair

    out = repair(tmp_path / "run", generator=fakes.FakeGenerator())
    assert out["regenerated"] == 1 and out["after"]["damaged"] == [] and img.read_bytes() == original
    assert run_cli_inprocess("verify", str(tmp_path / "run")).returncode == 0


def test_fetch_of_a_suite_offline_says_offline_not_run_fetch(monkeypatch, tmp_path):
    # `HF_HUB_OFFLINE=1 lensbench fetch geneval` used to answer "... run `lensbench fetch geneval` on a machine
    # with a network": the suite's own hint, circular inside fetch. Builtin suites still need nothing.
    monkeypatch.setenv("LENSBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match=r"fetch downloads, but HF_HUB_OFFLINE=1 is set") as exc:
        fe.fetch_suite("geneval")
    assert "geneval" in str(exc.value) and "\n" not in str(exc.value)
    assert fe.fetch_suite("smoke")["items"] == 2
