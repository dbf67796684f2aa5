"""A Graph as the book draws computational graphs: nodes, edges, each edge's value and, in red under it, its gradient.

Pure matplotlib (the `plot` extra, imported only when drawing); no Graphviz binary. Left to right:
each input where its first consumer needs it, each node one column after its latest input, a node's
height the mean of its inputs'. After forward, every edge shows the value it carries; after
backward, the gradient that edge carries back (with fan-out, each edge its own share).
"""

from __future__ import annotations

import io
import os
from collections import Counter
from typing import Any

import numpy as np

__all__ = ["draw_graph", "fan_out", "label", "layout", "save", "SYMBOLS"]

SYMBOLS = {"MulLayer": "×", "AddLayer": "+", "SubLayer": "−", "NegLayer": "−", "DivLayer": "÷", "MatMulLayer": "@", "PowLayer": "^"}
"""How a node's layer is written inside its circle; other layers by their class name."""
COLUMN, ROW, RADIUS = 2.4, 1.25, 0.32


def label(value: Any) -> str:
    """A scalar as the book prints it (six significant digits: 715, 110, 2.2); an array as its dtype and shape."""
    if np.ndim(value) == 0:
        v = value.item() if isinstance(value, np.generic | np.ndarray) else value
        return f"{v:.6g}" if isinstance(v, float) else str(v)
    a = np.asarray(value)
    return f"{a.dtype}{list(a.shape)}"


def fan_out(graph: Any) -> Counter[str]:
    """How many edges leave each value (an input or a node): 2 or more where the value feeds several nodes."""
    return Counter(v for _, ins in graph.nodes.values() for v in ins)


def layout(graph: Any) -> dict[str, tuple[float, float]]:
    """(x, y) of every input and node: columns by depth, inputs in order from the top, nodes at their inputs' mean height."""
    column: dict[str, int] = {}
    for name, (_, ins) in graph.nodes.items():
        column[name] = 1 + max(column.get(v, 0) for v in ins)
    consumers: dict[str, list[str]] = {}
    for name, (_, ins) in graph.nodes.items():
        for v in ins:
            consumers.setdefault(v, []).append(name)
    pos: dict[str, tuple[float, float]] = {}
    for i, name in enumerate(graph.inputs):
        first = min((column[n] for n in consumers.get(name, [])), default=1)
        pos[name] = ((first - 1) * COLUMN, -i * ROW)
    for name, (_, ins) in graph.nodes.items():
        pos[name] = (column[name] * COLUMN, float(np.mean([pos[v][1] for v in ins])))
    columns: dict[int, list[str]] = {}
    for name, c in column.items():
        columns.setdefault(c, []).append(name)
    for names in columns.values():  # nodes of one column at least a row apart, in the order of their heights
        below = np.inf
        for name in sorted(names, key=lambda n: -pos[n][1]):
            below = min(pos[name][1], below - ROW)
            pos[name] = (pos[name][0], below)
    return pos


def draw_graph(graph: Any, *, title: str | None = None) -> Any:
    """A matplotlib Figure of the graph, left to right, with the latest forward values and backward gradients."""
    from .plotting import figure

    pos = layout(graph)
    out = graph.output
    xs = [p[0] for p in pos.values()] + ([pos[out][0] + COLUMN] if out in pos else [])
    ys = [p[1] for p in pos.values()]
    width, height = max(xs) - min(xs) + 2.2, max(ys) - min(ys) + 1.6
    fig = figure(figsize=(1.05 * width, 1.05 * height + (0.4 if title else 0)))
    ax = fig.add_subplot()
    ax.set(xlim=(min(xs) - 1.4, max(xs) + 0.8), ylim=(min(ys) - 0.8, max(ys) + 0.8), aspect="equal")
    ax.axis("off")

    def text(x: float, y: float, s: str, **kwargs: Any) -> Any:
        """Every text of the figure: names and values as written, never read as matplotlib math ($…$)."""
        return ax.text(x, y, s, parse_math=False, **kwargs)

    if title:
        ax.set_title(title, parse_math=False)

    def center(name: str) -> tuple[float, float]:
        return pos[name]

    edges_from = fan_out(graph)

    def edge(src: str, dst: tuple[float, float], value: Any, grad: Any, rad: float, dst_is_node: bool) -> None:
        (x0, y0), (x1, y1) = center(src), dst
        d = np.array([x1 - x0, y1 - y0])
        u = d / np.linalg.norm(d)
        start = np.array([x0, y0]) + (u * RADIUS if src in graph.nodes else 0)
        end = np.array([x1, y1]) - (u * RADIUS if dst_is_node else 0)
        ax.annotate("", xy=tuple(end), xytext=tuple(start),
                    arrowprops={"arrowstyle": "-|>", "color": "0.2", "lw": 1.2, "shrinkA": 0, "shrinkB": 0,
                                "connectionstyle": f"arc3,rad={rad}"})
        bend = rad * np.linalg.norm(end - start) / 2 * np.array([u[1], -u[0]])
        along = 0.5 if edges_from[src] <= 1 or rad else 0.62  # labels of diverging edges where they have parted
        at = start + along * (end - start) + bend
        # value above its edge and gradient below it; on a bent edge both on the outside of the bend
        value_y, grad_y = (at[1] + 0.09, at[1] - 0.09) if not rad else (
            (at[1] + 0.30, at[1] + 0.06) if bend[1] > 0 else (at[1] - 0.06, at[1] - 0.30))
        if value is not None:
            text(at[0], value_y, label(value), ha="center", va="bottom" if not rad else "center", fontsize=10)
        if grad is not None and not rad:  # the backward direction: a red arrow under the edge, pointing back, its gradient under it
            below = np.array([u[1], -u[0]]) * (1 if u[0] >= 0 else -1)
            ax.annotate("", xy=tuple(start + (along - 0.18) * (end - start) + 0.1 * below),
                        xytext=tuple(start + (along + 0.18) * (end - start) + 0.1 * below),
                        arrowprops={"arrowstyle": "-|>", "color": "red", "lw": 1.0, "shrinkA": 0, "shrinkB": 0})
            gx, gy = at + 0.3 * below
            text(gx, gy, label(grad), ha="center", va="center", fontsize=10, color="red")
        elif grad is not None:
            text(at[0], grad_y, label(grad), ha="center", va="center", fontsize=10, color="red")

    from matplotlib.patches import Circle

    for name in graph.inputs:
        x, y = pos[name]
        text(x - 0.08, y, name, ha="right", va="center", fontsize=11)
    for name, (layer, ins) in graph.nodes.items():
        x, y = pos[name]
        ax.add_patch(Circle((x, y), RADIUS, facecolor="white", edgecolor="0.2", lw=1.4, zorder=3))
        kind = type(layer).__name__
        symbol = SYMBOLS.get(kind, kind)
        text(x, y, symbol, ha="center", va="center", fontsize=16 if len(symbol) == 1 else 7, zorder=4)
        text(x, y - RADIUS - 0.06, name, ha="center", va="top", fontsize=8, color="0.35")
        seen: dict[str, int] = {}
        for i, v in enumerate(ins):  # the k-th of m edges between the same two ends bends by its own amount
            m, k = ins.count(v), seen.get(v, 0)
            seen[v] = k + 1
            rad = 0.0 if m == 1 else 0.5 * (k - (m - 1) / 2)
            edge(v, pos[name], graph.values.get(v), graph.edge_gradients.get((v, name, i)), rad, True)
    if out in pos:
        x, y = pos[out]
        end = (x + COLUMN - 0.6, y)
        edge(out, end, graph.values.get(out), graph.gradients.get(out), 0.0, False)
        text(end[0] + 0.08, y, out, ha="left", va="center", fontsize=11)
    return fig


def save(fig: Any, path: str | os.PathLike[str] | None = None, format: str = "png", dpi: int = 100) -> bytes | None:
    """fig as PNG/SVG bytes (path None) or written to path, atomically."""
    from ._files import atomic_write

    if path is None:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=format, dpi=dpi)
        return buffer.getvalue()
    atomic_write(os.fspath(path), lambda f: fig.savefig(f, format=format, dpi=dpi))
    return None
