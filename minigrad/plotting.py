"""matplotlib, an optional extra (pip install matplotlib, or '.[plot]' in a minigrad checkout), imported only when a plot is made."""

from __future__ import annotations

import textwrap
from typing import Any

__all__ = ["pyplot", "figure", "suptitle", "epoch_axis", "plain_log_axis", "legend_below"]

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


def suptitle(fig: Any, text: str, fontsize: float = 12) -> Any:
    """fig's title, broken into lines that fit the figure's width (about 0.55 em a character), never cut at its edges."""
    per_line = max(20, int(fig.get_figwidth() * 72 / (0.55 * fontsize)))
    return fig.suptitle("\n".join(textwrap.wrap(text, per_line)), fontsize=fontsize)


def epoch_axis(ax: Any, last: int, first: int = 1) -> None:
    """An x axis of whole epochs first..last, half an epoch of margin each side: a one-epoch run is one visible column."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_xlim(first - 0.5, last + 0.5)


def plain_log_axis(axis: Any) -> None:
    """Log-scale tick labels as plain numbers (0.2, 0.5, 1, 10) instead of 2×10⁻¹, 10⁰."""
    from matplotlib.ticker import LogFormatter

    class Plain(LogFormatter):
        def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
            return f"{x:g}"

    axis.set_major_formatter(Plain())
    axis.set_minor_formatter(Plain(labelOnlyBase=False))  # minor ticks labelled only where matplotlib would


def legend_below(ax: Any, ncol: int = 2, **kwargs: Any) -> Any:
    """ax's legend under the plot, outside the data (constrained layout makes room for it)."""
    return ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=ncol, frameon=False, **kwargs)
