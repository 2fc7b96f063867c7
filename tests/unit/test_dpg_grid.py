"""DPG-Bench 2x2 grid: compose and crop round trip (two tile sizes), official tile order and crop behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lensbench.errors import UserError
from lensbench.suites.grid import compose_grid, crop_tiles, infer_resolution, tile_boxes


def noise_tiles(r, n=4, seed=0):
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (r, r, 3), dtype=np.uint8)) for _ in range(n)]


def test_official_boxes():
    assert tile_boxes(512) == [(0, 0, 512, 512), (512, 0, 1024, 512), (0, 512, 512, 1024), (512, 512, 1024, 1024)]


@pytest.mark.parametrize("r", [16, 48])
def test_round_trip_is_pixel_exact(r):
    tiles = noise_tiles(r, seed=r)
    grid = compose_grid(tiles)
    assert grid.size == (2 * r, 2 * r)
    assert infer_resolution(grid) == r
    back = crop_tiles(grid, r)
    assert [t.tobytes() for t in back] == [t.tobytes() for t in tiles]
    assert [t.tobytes() for t in crop_tiles(grid)] == [t.tobytes() for t in tiles]  # R inferred


def test_tile_order_tl_tr_bl_br_and_no_gap():
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    grid = compose_grid([Image.new("RGB", (8, 8), c) for c in colors])
    assert [grid.getpixel(p) for p in [(0, 0), (8, 0), (0, 8), (8, 8)]] == colors
    assert [grid.getpixel(p) for p in [(7, 7), (15, 7), (7, 15), (15, 15)]] == colors


def test_fewer_tiles_leave_black_slots_and_pic_num_limits_crops():
    grid = compose_grid(noise_tiles(8, n=2))
    assert grid.getpixel((12, 12)) == (0, 0, 0)
    assert len(crop_tiles(grid, 8, pic_num=2)) == 2
    with pytest.raises(UserError, match="pic_num"):
        crop_tiles(grid, 8, pic_num=5)


def test_crop_beyond_the_image_is_zero_filled_like_pil():
    grid = Image.new("RGB", (30, 30), (9, 9, 9))  # smaller than 2R with R=16
    tiles = crop_tiles(grid, 16)
    assert all(t.size == (16, 16) for t in tiles)
    assert tiles[3].getpixel((15, 15)) == (0, 0, 0) and tiles[3].getpixel((0, 0)) == (9, 9, 9)


def test_compose_rejects_bad_tiles():
    with pytest.raises(UserError, match="1 to 4"):
        compose_grid(noise_tiles(8, n=5))
    with pytest.raises(UserError, match="expected 8x8"):
        compose_grid([Image.new("RGB", (8, 8)), Image.new("RGB", (8, 6))])
    with pytest.raises(UserError, match="1 to 4"):
        compose_grid([])
