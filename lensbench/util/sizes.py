"""The one size convention: WIDTHxHEIGHT everywhere a size is printed or parsed (``1024x768`` is 1024 wide,
landscape), like the Lens bucket table and image tools. Internally lensbench passes (height, width) pairs as
diffusers does; these two functions are the only place the order is turned around."""

from __future__ import annotations

import re

from lensbench.errors import UserError

#: header text for a size column
SIZE_HEADER = "size (WxH)"
_SIZE_RE = re.compile(r"^\s*(\d+)\s*[x×X*]\s*(\d+)\s*$")


def parse_size(text: str, what: str = "size") -> tuple[int, int]:
    """'1024x768' (also 1024×768, 1024X768, 1024*768) -> (height, width) = (768, 1024)."""
    m = _SIZE_RE.match(str(text))
    if not m or int(m[1]) < 1 or int(m[2]) < 1:
        raise UserError(f"{what} {text!r} must be WIDTHxHEIGHT in pixels, e.g. 1024x768 (1024 wide, 768 high)")
    return int(m[2]), int(m[1])


def is_size(text: str) -> bool:
    return bool(_SIZE_RE.match(str(text)))


def format_size(height: int, width: int) -> str:
    """(height, width) -> 'WIDTHxHEIGHT', e.g. (768, 1024) -> '1024x768'."""
    return f"{width}x{height}"
