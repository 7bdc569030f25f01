"""Formulas drawn to PNG by matplotlib's mathtext (no pyplot, no window), cached by their text."""
from __future__ import annotations

import functools
import io


@functools.lru_cache(maxsize=256)
def render_formula(tex: str, size: float = 15.0, color: str = "#202020") -> bytes:
    """The formula `tex` ("$…$", mathtext) as PNG bytes at `size` points (96 dpi, so points are about
    pixels × 0.75); ValueError saying it cannot be drawn."""
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties

    buf = io.BytesIO()
    try:
        mathtext.math_to_image(tex, buf, prop=FontProperties(size=size), dpi=96, format="png", color=color)
    except ValueError as e:
        first = str(e).strip().splitlines()[-1] if str(e).strip() else "a syntax error"
        raise ValueError(f"cannot draw the formula {tex!r}: {first}") from None
    return buf.getvalue()
