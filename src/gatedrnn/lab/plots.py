"""matplotlib, optional: every lab figure starts from ``new_figure()``, which says so when it is missing.

Figures use matplotlib's object API on the Agg canvas (no pyplot, so no global backend switch and no figure
registry to leak into), and are written through a temporary file and a rename.
"""

from __future__ import annotations

import os
import uuid

MISSING_NOTE = "note: matplotlib is not installed, so no plot is written (pip install 'gatedrnn[plot]')"


def new_figure(figsize, echo=print):
    """A ``matplotlib.figure.Figure`` on an Agg canvas, or ``None`` after printing a note when matplotlib
    (an optional extra) is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        echo(MISSING_NOTE)
        return None
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def _temp_name(path: str) -> str:
    d, base = os.path.split(os.path.abspath(path))
    return os.path.join(d, f".{base}.{uuid.uuid4().hex[:8]}.tmp")


def save_figure(fig, path, dpi: int = 80) -> str:
    """Write ``fig`` to ``path`` as a PNG (temporary file, then rename); return the path."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = _temp_name(path)
    try:
        fig.savefig(tmp, dpi=dpi, format="png")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text_atomic(path, text: str) -> str:
    """Write ``text`` to ``path`` through a temporary file and a rename (nothing half-written); return the path."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = _temp_name(path)
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path

