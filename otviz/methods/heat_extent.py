"""A heatmap that covers what its plot shows: the rectangle a view sends with the edit
("view_rect", (x0, y0, width, height)), and the grid of pixels a method evaluates its field on over it.

A method keeps the last rectangle it was told and carries it in its field_state(), so the field
helper process evaluates over the same one; until a view has said anything (the CLI without views,
a fresh run) the field keeps the method's own default extent.
"""
from __future__ import annotations

import math
from typing import Any

MARGIN = 0.05        # share of the view's span added on each side: a small pan still shows the field
                     # at the edges while the one for the new view is on its way
MAX_ASPECT = 16.0    # beyond this width:height the pixels stretch instead of the grid going on growing
MAX_COORD = 1e12     # far beyond any plot; the networks work in float32, which ends near 3e38


def checked_view_rect(payload: Any, who: str) -> tuple[float, float, float, float]:
    """(x0, y0, width, height) as floats, or ValueError saying what a view rectangle needs."""
    try:
        x0, y0, w, h = (float(v) for v in payload)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: view_rect needs (x0, y0, width, height), not {payload!r}") from None
    if not all(math.isfinite(v) for v in (x0, y0, w, h)) or w <= 0 or h <= 0:
        raise ValueError(f"{who}: view_rect needs finite numbers and a positive width and height, "
                         f"not {(x0, y0, w, h)}")
    if max(abs(x0), abs(y0), abs(x0 + w), abs(y0 + h)) > MAX_COORD:
        raise ValueError(f"{who}: view_rect needs coordinates within ±{MAX_COORD:g}, not {(x0, y0, w, h)}")
    return (x0, y0, w, h)


def heat_grid(view: tuple[float, float, float, float] | None, default: tuple[float, float, float, float],
              res: int) -> tuple[tuple[float, float, float, float], tuple[int, int]]:
    """(rect, (nx, ny)): the rectangle a field is evaluated over and its pixels along x and y.

    Without a view: `default` in res × res pixels. With one: the view grown by MARGIN, in about res²
    pixels in all (what a res × res square costs) of equal width and height, so that a plot with a
    locked aspect shows them square; the rectangle is widened to whole pixels about the view's centre.
    """
    if view is None:
        return tuple(float(v) for v in default), (res, res)
    x0, y0, w, h = view
    cx, cy = x0 + w / 2, y0 + h / 2
    w, h = (1 + 2 * MARGIN) * w, (1 + 2 * MARGIN) * h
    aspect = min(max(w / h, 1 / MAX_ASPECT), MAX_ASPECT)
    nx, ny = max(1, round(res * math.sqrt(aspect))), max(1, round(res / math.sqrt(aspect)))
    px, py = w / nx, h / ny
    if aspect == w / h:
        px = py = max(px, py)
    return (cx - nx * px / 2, cy - ny * py / 2, nx * px, ny * py), (nx, ny)
