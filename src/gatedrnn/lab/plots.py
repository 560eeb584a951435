"""matplotlib, optional: every lab figure goes through ``pyplot()``, which says so when it is missing."""

from __future__ import annotations

import os
import uuid


def pyplot(echo=print):
    """Return ``matplotlib.pyplot`` on the non-interactive Agg backend, or ``None`` after printing a note
    that the plot is skipped (matplotlib is an optional extra: ``pip install 'gatedrnn[plot]'``)."""
    try:
        import matplotlib
    except ImportError:
        echo("note: matplotlib is not installed, so no plot is written (pip install 'gatedrnn[plot]')")
        return None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _temp_name(path: str) -> str:
    d, base = os.path.split(os.path.abspath(path))
    return os.path.join(d, f".{base}.{uuid.uuid4().hex[:8]}.tmp")


def save_figure(fig, path, dpi: int = 80) -> str:
    """Write ``fig`` to ``path`` (PNG) through a temporary file and a rename, then close it; return the path."""
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = _temp_name(path)
    try:
        fig.savefig(tmp, dpi=dpi, format="png")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return path


def write_text_atomic(path, text: str) -> str:
    """Write ``text`` to ``path`` through a temporary file and a rename (nothing half-written)."""
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
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
