"""matplotlib, optional: every lab figure starts from ``new_figure()``, which says so when it is missing.

Figures use matplotlib's object API on the Agg canvas (no pyplot, so no global backend switch and no figure
registry to leak into), and are written through a temporary file and a rename.
"""

from __future__ import annotations

import os

from gatedrnn.atomic import atomic_file

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


def save_figure(fig, path, dpi: int = 80) -> str:
    """Write ``fig`` to ``path`` as a PNG (temporary file, then rename); return the path."""
    with atomic_file(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    return os.fspath(path)
