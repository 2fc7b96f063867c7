"""FID and KID between two image sets (two runs, or a run and a reference folder) with torchmetrics'
FrechetInceptionDistance / KernelInceptionDistance (float64 feature statistics).

Feature extractors (``features``):
- ``inception`` (default): torch-fidelity's InceptionV3 port of the TF-FID network, 2048-d pool features, as
  torchmetrics uses it. Its weights file (weights-inception-2015-12-05-6726825d.pth, from torch-fidelity's
  GitHub release) must be in ``$TORCH_HOME/hub/checkpoints``; offline, a missing file is a one-line error and
  ``lensbench fid --fetch-weights`` downloads it (checked against the hash prefix in its name) on a networked
  machine. Before torch-fidelity loads it, the file must load with ``torch.load(weights_only=True)`` (a plain
  tensor state dict, no pickled code).
- ``tiny``: a seeded random conv net with 16 features, for tests and plumbing checks; numbers from it are not FID.

An input is a run directory (its ok generation records, in record order) or any folder (every .png/.jpg/.jpeg/
.webp below it, sorted). The result records both image lists' sha256 digests, counts, the extractor and the
torchmetrics version, so a number can be traced to exactly the images behind it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lensbench.errors import UserError, require_module
from lensbench.util.files import sha256_file
from lensbench.util.identity import package_version

INCEPTION_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_HASH_PREFIX = "6726825d"  # sha256 prefix encoded in the file name (torch.hub convention)
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp")
TINY_DIMS = 16


@dataclass(frozen=True)
class FidOptions:
    features: Literal["inception", "tiny"] = "inception"
    kid: bool = True
    kid_subset_size: int = 1000
    kid_subsets: int = 100
    batch_size: int = 32
    device: str = "auto"
    limit: int | None = None


def collect_images(source: str | Path) -> tuple[str, list[Path]]:
    """("run" | "folder", image paths) of a run directory (ok generation records) or a plain folder."""
    root = Path(source).expanduser()
    if not root.is_dir():
        raise UserError(f"{root} is not a directory; pass a run directory or a folder of images")
    if (root / "manifest.json").is_file():
        from lensbench.store.run_store import RunStore

        recs = [r for r in RunStore(root).records("generate") if r.get("status") == "ok" and r.get("image")]
        recs.sort(key=lambda r: (str(r.get("item_id", "")), r.get("index", 0), r["key"]))
        paths = [root / r["image"] for r in recs]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise UserError(f"{len(missing)} image(s) of run {root} are missing (e.g. {missing[0]}); "
                            "run `lensbench verify --fix` first")
        return "run", paths
    return "folder", sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTS and p.is_file())


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(sha256_file(p).encode())
    return h.hexdigest()


def inception_weights() -> Path:
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def fetch_inception_weights() -> Path:
    """Download the InceptionV3 FID weights into the torch hub cache (needs a network)."""
    import torch

    target = inception_weights()
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(INCEPTION_URL, str(target), hash_prefix=INCEPTION_HASH_PREFIX, progress=False)
    except Exception as exc:  # noqa: BLE001 - network errors of every kind become one line
        raise UserError(f"cannot download the FID InceptionV3 weights from {INCEPTION_URL} ({type(exc).__name__}: "
                        f"{str(exc)[:120]}); run this on a machine with a network, or copy the file to {target}") from None
    return target


def _inception_path() -> str:
    import torch

    path = inception_weights()
    if not path.is_file():
        raise UserError(f"FID needs the InceptionV3 weights {INCEPTION_FILE} in {path.parent} (torch-fidelity's "
                        "release); on a machine with a network run `lensbench fid --fetch-weights` (or download "
                        f"{INCEPTION_URL} there), or use --features tiny for a plumbing test")
    try:
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"{path} is not a plain weights file ({type(exc).__name__}); delete it and fetch it again") from None
    return str(path)


def tiny_extractor():
    """A seeded random conv feature net (16 features) with torchmetrics' custom-extractor interface."""
    import torch
    from torch import nn

    class TinyFeatures(nn.Module):
        num_features = TINY_DIMS

        def __init__(self):
            super().__init__()
            gen = torch.Generator().manual_seed(0)
            self.conv = nn.Conv2d(3, TINY_DIMS, kernel_size=4, stride=4)
            with torch.no_grad():
                self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=gen) * 0.1)
                self.conv.bias.zero_()

        def forward(self, x):
            x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
            x = nn.functional.interpolate(x, size=(64, 64), mode="bilinear", align_corners=False)
            return torch.tanh(self.conv(x)).mean(dim=(2, 3))

    return TinyFeatures().eval()


def _metrics(o: FidOptions, n_a: int, n_b: int, device: str):
    require_module("torchmetrics", "lensbench fid", "pip install torchmetrics torch-fidelity")
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    if o.features == "inception":
        require_module("torch_fidelity", "FID with InceptionV3 features", "pip install torch-fidelity")
        from torchmetrics.image.fid import NoTrainInceptionV3

        # one network for both metrics, built from the checked local file (KID's own constructor would fetch
        # the weights by URL): torchmetrics' "inception-v3-compat" 2048-d pool features, fed uint8 images
        net = NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                                 feature_extractor_weights_path=_inception_path())
        net.num_features = 2048
    else:
        net = tiny_extractor()
    fid = FrechetInceptionDistance(feature=net)
    kid = (KernelInceptionDistance(feature=net, subsets=o.kid_subsets, subset_size=min(o.kid_subset_size, n_a, n_b))
           if o.kid else None)
    return fid.to(device), (kid.to(device) if kid is not None else None)


def _batches(paths: list[Path], size: int):
    """uint8 (N, 3, H, W) tensors of same-sized images, in order."""
    import numpy as np
    import torch
    from PIL import Image, UnidentifiedImageError

    batch: list[Any] = []
    for p in paths:
        try:
            with Image.open(p) as im:
                arr = np.asarray(im.convert("RGB"))
        except (UnidentifiedImageError, OSError) as exc:
            raise UserError(f"cannot read image {p} ({exc}); fix or remove it") from None
        t = torch.from_numpy(arr.copy()).permute(2, 0, 1)
        if batch and (len(batch) >= size or batch[0].shape != t.shape):
            yield torch.stack(batch)
            batch = []
        batch.append(t)
    if batch:
        yield torch.stack(batch)


def compute_fid(a: str | Path, b: str | Path, options: FidOptions | None = None) -> dict[str, Any]:
    """FID (and KID) of image set `a` against reference set `b`; see the module docstring."""
    import torch

    from lensbench.util.device import resolve_device

    o = options or FidOptions()
    kind_a, paths_a = collect_images(a)
    kind_b, paths_b = collect_images(b)
    if o.limit is not None:
        paths_a, paths_b = paths_a[:o.limit], paths_b[:o.limit]
    for name, paths in ((a, paths_a), (b, paths_b)):
        if len(paths) < 2:
            raise UserError(f"{name} has {len(paths)} image(s); FID/KID need at least 2 images on each side")
    device = resolve_device(o.device)
    fid, kid = _metrics(o, len(paths_a), len(paths_b), device)
    with torch.inference_mode():
        for real, paths in ((True, paths_b), (False, paths_a)):
            for batch in _batches(paths, o.batch_size):
                batch = batch.to(device)
                fid.update(batch, real=real)
                if kid is not None:
                    kid.update(batch, real=real)
        out: dict[str, Any] = {"fid": float(fid.compute())}
        if kid is not None:
            mean, std = kid.compute()
            out.update(kid_mean=float(mean), kid_std=float(std), kid_subset_size=kid.subset_size, kid_subsets=o.kid_subsets)
    import torchmetrics

    dims = 2048 if o.features == "inception" else TINY_DIMS
    out.update({
        "a": {"path": str(a), "kind": kind_a, "images": len(paths_a), "images_sha256": _digest(paths_a)},
        "b": {"path": str(b), "kind": kind_b, "images": len(paths_b), "images_sha256": _digest(paths_b)},
        "features": {"name": o.features, "dims": dims,
                     "weights": INCEPTION_FILE if o.features == "inception" else "seeded-random-v1"},
        "torchmetrics": torchmetrics.__version__, "torch_fidelity": package_version("torch-fidelity"), "device": device,
        "small_sample": min(len(paths_a), len(paths_b)) < dims,
    })
    return out


def format_result(res: dict[str, Any]) -> str:
    lines = [f"FID {res['fid']:.3f}" + (f"   KID {res['kid_mean']:.5f} ± {res['kid_std']:.5f}" if "kid_mean" in res else "")
             + f"   ({res['a']['images']} vs {res['b']['images']} images, {res['features']['name']} features)"]
    if res["features"]["name"] == "tiny":
        lines.append("note: tiny random features check the plumbing only; these are not FID values")
    elif res["small_sample"]:
        lines.append(f"note: fewer images than feature dimensions ({res['features']['dims']}): FID is strongly "
                     "biased upwards; published FIDs use 10k-50k images")
    return "\n".join(lines)


def write_result(res: dict[str, Any], path: str | Path) -> None:
    from lensbench.store.atomic import write_json_atomic

    write_json_atomic(Path(path), res)


__all__ = ["FidOptions", "collect_images", "compute_fid", "fetch_inception_weights", "format_result", "write_result"]
