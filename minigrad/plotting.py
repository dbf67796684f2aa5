"""matplotlib, an optional extra (pip install matplotlib, or '.[plot]' in a minigrad checkout), imported only when a plot is made."""

from __future__ import annotations

from typing import Any

__all__ = ["pyplot", "figure"]

_MISSING = "plotting needs matplotlib: pip install matplotlib (in a minigrad checkout: pip install '.[plot]')"


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, or an ImportError naming the extra to install."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError(_MISSING) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure(**kwargs: Any) -> Any:
    """A matplotlib Figure of its own (no pyplot, no window, no global state): it saves with savefig and shows inline in Jupyter."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(_MISSING) from None
    return Figure(layout="constrained", **kwargs)
