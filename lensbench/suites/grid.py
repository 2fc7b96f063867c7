"""The official DPG-Bench 2x2 grid (suite data layout, shared by the DPG and OneIG suites and the DPG scorer);
compose tiles into it and crop it back exactly as the official script.

Official source: TencentQQGYLab/ELLA ``dpg_bench/compute_dpg_bench.py`` (commit 3c228f1): tile boxes
``(0,0,R,R), (R,0,2R,R), (0,R,R,2R), (R,R,2R,2R)`` (top-left, top-right, bottom-left, bottom-right), no gap,
``R = --resolution``; the first ``--pic-num`` boxes are cropped with ``PIL.Image.crop`` (which fills any
part outside the image with zeros instead of failing). The README asks for 4 images per prompt in a 2x2 grid.
Only PIL is imported here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lensbench.errors import UserError

GRID_SLOTS = 4  # a 2x2 grid


def tile_boxes(resolution: int) -> list[tuple[int, int, int, int]]:
    """The official crop boxes (left, upper, right, lower), in official tile order."""
    r = int(resolution)
    return [(0, 0, r, r), (r, 0, r * 2, r), (0, r, r, r * 2), (r, r, r * 2, r * 2)]


def compose_grid(tiles: Sequence, *, resolution: int | None = None, fill=(0, 0, 0), square: bool = True):
    """Paste 1-4 square RGB tiles of size R x R into a 2R x 2R grid at the official positions.

    R defaults to the first tile's size; all tiles must be R x R (generate with height == width).
    Unused slots (fewer than 4 tiles) stay `fill`. ``square=False`` (OneIG: its official split cuts W // 2 x
    H // 2 tiles, so W != H works): tiles of the first tile's size W x H go into a 2W x 2H grid, same order.
    """
    from PIL import Image

    if not square:
        return _compose_rect(tiles, fill)

    if not 1 <= len(tiles) <= GRID_SLOTS:
        raise UserError(
            f"a DPG-Bench grid holds 1 to {GRID_SLOTS} images (2x2), got {len(tiles)}; use --images-per-prompt 4"
        )
    r = int(resolution) if resolution is not None else tiles[0].size[0]
    for n, tile in enumerate(tiles):
        if tile.size != (r, r):
            raise UserError(
                f"DPG-Bench tile {n} is {tile.size[0]}x{tile.size[1]}, expected {r}x{r}; generate square images (height == width)"
            )
    grid = Image.new("RGB", (2 * r, 2 * r), fill)
    for tile, box in zip(tiles, tile_boxes(r)):
        grid.paste(tile.convert("RGB"), box[:2])
    return grid


def _compose_rect(tiles: Sequence, fill):
    """2x2 grid of W x H tiles (W may differ from H): TL, TR, BL, BR at (0,0), (W,0), (0,H), (W,H)."""
    from PIL import Image

    if not 1 <= len(tiles) <= GRID_SLOTS:
        raise UserError(f"a 2x2 grid holds 1 to {GRID_SLOTS} images, got {len(tiles)}; use --images-per-prompt 4")
    w, h = tiles[0].size
    for n, tile in enumerate(tiles):
        if tile.size != (w, h):
            raise UserError(f"grid tile {n} is {tile.size[0]}x{tile.size[1]}, expected {w}x{h} like tile 0; "
                            "generate every image of a prompt at one size")
    grid = Image.new("RGB", (2 * w, 2 * h), fill)
    for n, tile in enumerate(tiles):
        grid.paste(tile.convert("RGB"), ((n % 2) * w, (n // 2) * h))
    return grid


def write_grid(run_dir: Path, tile_relpaths: Sequence[str], target: Path, encode: Callable[[Any], bytes],
               *, square: bool = True) -> None:
    """Compose the tiles (relative to `run_dir`, in index order) into the 2x2 grid, encode it with `encode`
    (PIL image -> bytes) and write it atomically at `target`. Idempotent: identical existing bytes are left alone.
    ``square=False``: W x H tiles allowed (see `compose_grid`)."""
    from PIL import Image

    from lensbench.store.atomic import write_bytes_atomic

    tiles = []
    for rel in tile_relpaths:
        with Image.open(Path(run_dir) / rel) as im:
            tiles.append(im.convert("RGB"))
    data = encode(compose_grid(tiles, square=square))
    if target.is_file() and target.read_bytes() == data:
        return
    write_bytes_atomic(target, data)


def infer_resolution(grid) -> int:
    """R for a 2R x 2R grid: half the width (the official script takes R from --resolution instead)."""
    return grid.size[0] // 2


def crop_tiles(grid, resolution: int | None = None, pic_num: int = GRID_SLOTS) -> list:
    """The first `pic_num` tiles of `grid`, cropped exactly as the official script (``Image.crop``)."""
    if not 1 <= pic_num <= GRID_SLOTS:
        raise UserError(f"pic_num must be 1 to {GRID_SLOTS} (tiles of a 2x2 grid), got {pic_num}")
    r = infer_resolution(grid) if resolution is None else int(resolution)
    if r < 1:
        raise UserError(f"DPG-Bench grid is {grid.size[0]}x{grid.size[1]}, too small to hold R x R tiles; pass resolution=R")
    return [grid.crop(box) for box in tile_boxes(r)[:pic_num]]
