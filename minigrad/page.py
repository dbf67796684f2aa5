"""A Graph as one self-contained HTML page that steps through forward and backward as the chapter does.

The page is laid out like `Graph.draw` (drawing.py). Step 0 shows the inputs; each forward step
reveals one node's output on its edges, in topological order; backward starts with dout at the
output and each step then highlights the edges into one node, in reverse order, revealing the
gradient each carries; where a value feeds several nodes the sum of their gradients is shown. A side
panel says what the step computes, with its numbers. Inline CSS, SVG and script, no request of any
kind; `#step=7` in the address opens (and follows) a step, `#step=7&large=1` in large type.
"""

from __future__ import annotations

import html
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import protocol
from .drawing import COLUMN, RADIUS, SYMBOLS, fan_out, label, layout

__all__ = ["Page", "Step", "Timeline", "timeline", "page_html", "chain_graph", "write_page"]

SCALE = 72
"""Pixels per unit of drawing.py's layout."""

_FORWARD: dict[str, Callable[..., str]] = {
    "MulLayer": lambda _, x, y: f"{x} × {y}",
    "AddLayer": lambda _, x, y: f"{x} + {y}",
    "SubLayer": lambda _, x, y: f"{x} − {y}",
    "DivLayer": lambda _, x, y: f"{x} / {y}",
    "NegLayer": lambda _, x: f"−{x}",
    "PowLayer": lambda layer, x: f"{x}^{label(layer.c)}",
    "MatMulLayer": lambda _, x, y: f"{x} @ {y}",
    "Exp": lambda _, x: f"exp({x})",
    "Log": lambda _, x: f"log({x})",
    "Sum": lambda _, x: f"Σ {x}",
    "Mean": lambda _, x: f"mean({x})",
    "Sigmoid": lambda _, x: f"1 / (1 + exp(−{x}))",
    "Tanh": lambda _, x: f"tanh({x})",
    "ReLU": lambda _, x: f"max(0, {x})",
    "Affine": lambda _, x: f"{x}·W + b",
    "SoftmaxWithLoss": lambda _, x, t: f"cross_entropy_error(softmax({x}), {t})",
    "SigmoidWithLoss": lambda _, x, t: f"binary_cross_entropy(sigmoid({x}), {t})",
    "MeanSquaredError": lambda _, y, t: f"0.5 Σ ({y} − {t})² / N",
}
"""A node's output in the book's notation, from its layer and its inputs' names (or numbers)."""

_BACKWARD: dict[str, Callable[..., list[str]]] = {
    "MulLayer": lambda _, dout, out, x, y: [f"{dout} × {y}", f"{dout} × {x}"],
    "AddLayer": lambda _, dout, out, x, y: [f"{dout} × 1", f"{dout} × 1"],
    "SubLayer": lambda _, dout, out, x, y: [f"{dout} × 1", f"{dout} × (−1)"],
    "DivLayer": lambda _, dout, out, x, y: [f"{dout} / {y}", f"−{dout} × {x} / {y}²"],
    "NegLayer": lambda _, dout, out, x: [f"−{dout}"],
    "PowLayer": lambda layer, dout, out, x: [f"{dout} × {label(layer.c)} × {x}^{label(layer.c - 1)}"],
    "MatMulLayer": lambda _, dout, out, x, y: [f"{dout} @ {y}ᵀ", f"{x}ᵀ @ {dout}"],
    "Exp": lambda _, dout, out, x: [f"{dout} × {out}"],
    "Log": lambda _, dout, out, x: [f"{dout} / {x}"],
    "Sum": lambda _, dout, out, x: [f"{dout} copied to every element of {x}"],
    "Mean": lambda _, dout, out, x: [f"{dout} / n copied to every element of {x}"],
    "Sigmoid": lambda _, dout, out, x: [f"{dout} × {out} × (1 − {out})"],
    "Tanh": lambda _, dout, out, x: [f"{dout} × (1 − {out}²)"],
    "ReLU": lambda _, dout, out, x: [f"{dout} where {x} > 0, else 0"],
    "Affine": lambda _, dout, out, x: [f"{dout}·Wᵀ"],
    "SoftmaxWithLoss": lambda _, dout, out, x, t: [f"{dout} × (softmax({x}) − {t}) / N"],
    "SigmoidWithLoss": lambda _, dout, out, x, t: [f"{dout} × (sigmoid({x}) − {t}) / N"],
    "MeanSquaredError": lambda _, dout, out, y, t: [f"{dout} × ({y} − {t}) / N"],
}
"""Each input's gradient in the book's notation, from the layer, dout, the output and the inputs."""

_FORWARD["Relu"], _BACKWARD["Relu"] = _FORWARD["ReLU"], _BACKWARD["ReLU"]  # the book's spelling of the class

_PARAM_GRADS: dict[str, dict[str, Callable[[str], str]]] = {
    "Affine": {"W": lambda x: f"{x}ᵀ·dout", "b": lambda x: "Σ dout over the batch (axis 0)"},
}
"""Each parameter's gradient in the book's notation, from the node's first input."""


class Page(str):
    """The page's HTML text (a str); Jupyter shows it inline, in an iframe of its own (no two cells share anything)."""

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self, quote=True)}" sandbox="allow-scripts" '
                'style="width:100%;height:680px;border:1px solid #ccc" title="minigrad graph page"></iframe>')

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(f"<minigrad graph page, {len(self):,} characters of HTML>")


def chain_graph(net: Any, with_loss: bool = True) -> Any:
    """A Sequential's chain as a Graph over the same layers, nodes named as the book names them (Affine1, ReLU1, Affine2, ...).

    Its inputs are x, and t when the chain's loss (node "loss") is included.
    """
    from .network import Graph

    has_loss = with_loss and net.last_layer is not None
    g = Graph(["x", "t"] if has_loss else ["x"])
    value, counts = "x", {}
    for layer in net.layers:
        kind = type(layer).__name__
        counts[kind] = counts.get(kind, 0) + 1
        value = g.add(f"{kind}{counts[kind]}", layer, value)
    if has_loss:
        g.add("loss", net.last_layer, value, "t")
    return g


def _text(value: Any) -> str:
    """A number as the book prints it (label: 715, 2.2), an array as its shape ("(2, 3)")."""
    return label(value) if np.ndim(value) == 0 else str(tuple(np.shape(value)))


def _number(value: Any) -> str:
    """A number put into a formula: as label prints it, in parentheses when negative ((−2))."""
    text = label(value)
    return f"({text})" if text.startswith("-") else text


def _summary(value: Any) -> str:
    """An array's dtype, shape, first entries and range: float64 (2, 3): [0.1, -2, 3.5, …] range [-2, 3.5]."""
    a = np.asarray(value)
    if a.ndim == 0:
        return label(value)
    flat = a.ravel()
    first = ", ".join(label(v) for v in flat[:4]) + (", …" if flat.size > 4 else "")
    text = f"{a.dtype} {tuple(a.shape)}: [{first}]"
    if flat.size and a.dtype.kind in "biuf":
        text += f" range [{label(flat.min())}, {label(flat.max())}]"
    return text


def _scalar(value: Any) -> bool:
    return value is not None and np.ndim(value) == 0


@dataclass
class Step:
    """One step of the page: what it is (start, forward, dout, backward), its title, its lines in the book's words, array details."""

    phase: str
    title: str
    lines: list[str]
    details: list[str] = field(default_factory=list)


@dataclass
class Timeline:
    """The page's steps and when things show: each node's forward and backward step, the dout step, each fan-out sum's step."""

    steps: list[Step]
    forward: dict[str, int] = field(default_factory=dict)
    backward: dict[str, int] = field(default_factory=dict)
    dout: int | None = None
    sums: dict[str, int] = field(default_factory=dict)


def _formula(table: dict[str, Callable[..., Any]], layer: Any, *names: str) -> Any:
    """The table's notation for this layer and these names (None when it has none for this many)."""
    make = table.get(type(layer).__name__)
    return make(layer, *names) if make and make.__code__.co_argcount == 1 + len(names) else None


def _sum_text(parts: list[Any]) -> str:
    return " + ".join(_number(p) if _scalar(p) else _text(p) for p in parts)


def timeline(graph: Any) -> Timeline:
    """The steps of a Graph's latest forward (and backward, if it ran): the page's content, as data."""
    values = graph.values
    shown = [f"{n} = {_text(values[n])}" for n in graph.inputs if n in values]
    t = Timeline([Step("start", "The graph and its inputs",
                       ["Inputs: " + ", ".join(shown or graph.inputs),
                        "Forward computes each node's output from its inputs, left to right (→ or Next)."],
                       [f"{n}: {_summary(values[n])}" for n in graph.inputs if n in values and np.ndim(values[n])])])
    for i, (name, (layer, ins)) in enumerate(graph.nodes.items()):
        t.forward[name] = len(t.steps)
        t.steps.append(_forward_step(graph, name, f"Forward {i + 1}/{len(graph.nodes)}"))
    if graph.output in graph.gradients:
        _backward_steps(graph, t)
    return t


def _forward_step(graph: Any, name: str, count: str) -> Step:
    """A node's forward: its output in the book's notation, with the numbers when its inputs are numbers."""
    layer, ins = graph.nodes[name]
    kind, values = type(layer).__name__, graph.values
    sym = _formula(_FORWARD, layer, *ins)
    line = f"{kind} forward: {name} = " + (sym or kind + "(" + ", ".join(ins) + ")")
    if name in values:
        if sym and all(_scalar(values.get(v)) for v in ins):
            line += " = " + _formula(_FORWARD, layer, *(_number(values[v]) for v in ins))
        line += f" = {_text(values[name])}"
    details = [f"{v}: {_summary(values[v])}" for v in (*ins, name) if v in values and np.ndim(values[v])]
    details += [f"{name}.{p}: {_summary(a)}" for p, a in protocol.params(layer).items()]
    return Step("forward", f"{count}: {name} ({kind})", [line] if sym else [line, _doc(layer)], details)


def _backward_steps(graph: Any, t: Timeline) -> None:
    """dout at the output, then each node backward ran, in its order: the gradients it sends, and the sums they complete."""
    values, grads, edges = graph.values, graph.gradients, graph.edge_gradients
    out = graph.output
    t.dout = len(t.steps)
    start = f"1 (∂{out}/∂{out} = 1)" if _scalar(grads[out]) and float(grads[out]) == 1.0 else _text(grads[out])
    t.steps.append(Step("dout", "Backward starts at the output",
                        [f"dout = {start}", "Each node's backward turns the gradient of its output (dout) into one "
                         "for each of its inputs, right to left (→ or Next)."],
                        [] if _scalar(grads[out]) else [f"dout: {_summary(grads[out])}"]))
    branches = Counter(value for value, _, _ in edges)
    arrived: dict[str, list[Any]] = {}
    todo = [n for n in reversed(graph.nodes) if n in grads]  # the nodes backward ran, in its order
    for j, name in enumerate(todo):
        layer, ins = graph.nodes[name]
        kind, dout, parts = type(layer).__name__, grads[name], arrived.get(name, [])
        t.backward[name] = len(t.steps)
        lines = [f"dout = d({name}) = {_sum_text(parts)} = {_text(dout)}, the sum over its {len(parts)} branches"
                 if len(parts) > 1 else f"dout = d({name}) = {_text(dout)}"]
        details = [] if _scalar(dout) else [f"dout: {_summary(dout)}"]
        syms = _formula(_BACKWARD, layer, "dout", name, *ins)
        nums = _formula(_BACKWARD, layer, _number(dout), _number(values[name]), *(_number(values[v]) for v in ins)) if syms and all(_scalar(values.get(v)) for v in (*ins, name)) and _scalar(dout) else None
        completed = []
        for i, v in enumerate(ins):
            g = edges.get((v, name, i))
            if g is None:
                continue
            rhs = syms[i] if syms else f"{kind}.backward(dout)" + (f"[{i}]" if len(ins) > 1 else "")
            if nums and nums[i] != syms[i]:
                rhs += f" = {nums[i]}"
            lines.append(f"{kind} backward: d({v}) = {rhs} = {_text(g)}")
            details += [] if _scalar(g) else [f"d({v}): {_summary(g)}"]
            arrived.setdefault(v, []).append(g)
            if branches[v] > 1 and len(arrived[v]) == branches[v]:
                completed.append(v)
        made = _PARAM_GRADS.get(kind, {})
        for p, g in protocol.grads(layer).items():
            if g is None:
                continue
            lines.append(f"{kind} backward: d{p} = " + (f"{made[p](ins[0])} = " if p in made else "") + _text(g))
            details.append(f"{name}.d{p}: {_summary(g)}")
        if syms is None:
            lines.append(_doc(layer))
        for v in completed:
            lines.append(f"{v} feeds {branches[v]} branches, so its gradient is their sum: "
                         f"d({v}) = {_sum_text(arrived[v])} = {_text(grads[v])}")
            t.sums[v] = len(t.steps)
        done = [f"d({n}) = {_text(grads[n])}" for n in graph.inputs if grads.get(n) is not None]
        if j == len(todo) - 1 and done:
            lines.append("Backward is done. The inputs' gradients: " + ", ".join(done))
        t.steps.append(Step("backward", f"Backward {j + 1}/{len(todo)}: {name} ({kind})", lines, details))


def _doc(layer: Any) -> str:
    """The first line of the layer's class docstring (its math, in minigrad's style), or its class name."""
    doc = (type(layer).__doc__ or "").strip().splitlines()
    return f"{type(layer).__name__}: {doc[0]}" if doc else type(layer).__name__


def _svg(graph: Any, t: Timeline) -> tuple[str, int, int]:
    """The graph drawn as Graph.draw lays it out, each label marked with the step it shows from: (svg body, width, height)."""
    e = html.escape
    forward, backward, dout_step, sums = t.forward, t.backward, t.dout, t.sums
    symbols = {n: SYMBOLS.get(type(layer).__name__, type(layer).__name__) for n, (layer, _) in graph.nodes.items()}
    # a one-character symbol sits in a circle (the book's ×, +); a class name in a box that fits it
    half = {n: (RADIUS, RADIUS) if len(sym) == 1 else (max(RADIUS, 0.055 * len(sym) + 0.12), 0.8 * RADIUS)
            for n, sym in symbols.items()}
    pos = layout(graph)
    stretch = 1.0  # columns drawn wider where the longest label of an edge would not fit between its ends
    for name, (_, ins) in graph.nodes.items():
        for i, v in enumerate(ins):
            shown = [_text(a) for a in (graph.values.get(v), graph.edge_gradients.get((v, name, i))) if a is not None]
            need = 0.125 * max(map(len, shown), default=0) + 0.3 + half.get(v, (0, 0))[0] + half[name][0]
            stretch = max(stretch, need / (pos[name][0] - pos[v][0]))
    column = COLUMN * min(stretch, 3.0)
    pos = {n: (x * column / COLUMN, y) for n, (x, y) in pos.items()}
    out = graph.output
    end = (pos[out][0] + column - 0.6, pos[out][1]) if out in pos else None

    def rim(name: str | None, u: Any) -> Any:
        """From a node's centre to its outline, in direction u (0 for an input's name or the output's end)."""
        if name not in half:
            return 0
        w, h = half[name]
        return u * (w if w == h else min(w / abs(u[0]) if u[0] else np.inf, h / abs(u[1]) if u[1] else np.inf))

    def curve(src: str, dst: tuple[float, float], into: str | None, rad: float) -> tuple[Any, ...]:
        """An edge's ends a, b (on the outlines), its quadratic control point, direction u, and the bend at its middle."""
        d = np.array([dst[0] - pos[src][0], dst[1] - pos[src][1]])
        u = d / np.linalg.norm(d)
        a, b = np.array(pos[src]) + rim(src, u), np.array(dst) - rim(into, u)
        control = (a + b) / 2 + rad * np.array([b[1] - a[1], -(b[0] - a[0])])
        return a, b, control, u, rad * np.linalg.norm(b - a) / 2 * np.array([u[1], -u[0]])

    ys = [p[1] for p in pos.values()]
    centre = (max(ys) + min(ys)) / 2
    edges: list[tuple[str, tuple[float, float], str | None, Any, Any, float]] = []  # src, end, node, value, gradient, bend
    for name, (_, ins) in graph.nodes.items():
        seen: dict[str, int] = {}
        for i, v in enumerate(ins):  # the k-th of m edges between the same two ends bends by its own amount
            m, k = ins.count(v), seen.get(v, 0)
            seen[v] = k + 1
            rad, span = 0.5 * (k - (m - 1) / 2), pos[name][0] - pos[v][0]
            if m == 1 and span > 1.5 * column:  # a skip edge arcs clear of the nodes it passes, away from the middle
                rad = min(0.35, 1.6 / span) * (-1 if (pos[v][1] + pos[name][1]) / 2 >= centre else 1)
            edges.append((v, pos[name], name, graph.values.get(v), graph.edge_gradients.get((v, name, i)), rad))
    if end is not None:
        edges.append((out, end, None, graph.values.get(out), graph.gradients.get(out), 0.0))
    for src, dst, into, _, _, rad in edges:
        if rad:
            apex = (pos[src][1] + dst[1]) / 2 + curve(src, dst, into, rad)[4][1]
            ys += [apex + 0.5, apex - 0.5]
    xs = [p[0] for p in pos.values()] + ([end[0] + 0.3 + 0.12 * len(out)] if end else [])
    left = min([min(xs) - 0.4, *(pos[n][0] - 0.3 - 0.125 * len(n) for n in graph.inputs),
                *(pos[v][0] - 0.3 - 0.15 * (4 + len(_text(graph.gradients[v]))) for v in sums if v in graph.inputs)])
    top, right, bottom = max(ys) + 0.75, max(xs) + 0.4, min(ys) - 0.8
    width, height = round((right - left) * SCALE), round((top - bottom) * SCALE)

    def px(x: float, y: float) -> str:
        return f'x="{(x - left) * SCALE:.1f}" y="{(top - y) * SCALE:.1f}"'

    def point(p: Any) -> str:
        return f"{(p[0] - left) * SCALE:.1f} {(top - p[1]) * SCALE:.1f}"

    def cls(name: str, s: int | None) -> str:
        """The class attribute, and the step from which the element shows (hidden before it)."""
        return f'class="{name}"' if s is None else f'class="{name}{" off" if s > 0 else ""}" data-s="{s}"'

    svg: list[str] = []
    labels: list[str] = []
    edges_from = fan_out(graph)

    def edge(src: str, dst: tuple[float, float], into: str | None, value: Any, grad: Any, rad: float) -> None:
        a, b, control, u, bend = curve(src, dst, into, rad)
        fs, bs = (forward.get(into), backward.get(into)) if into else (forward.get(src), dout_step)
        bs = None if grad is None else bs  # only edges that carry a gradient light up backward
        marks = (f' data-f="{fs}"' if fs is not None else "") + (f' data-b="{bs}"' if bs is not None else "")
        svg.append(f'<path class="edge" d="M{point(a)} Q{point(control)} {point(b)}"{marks}/>')
        # labels where edges have parted: nearer an input of converging edges, nearer the end of diverging ones
        along = 0.5 if rad else 0.62 if edges_from[src] > 1 else 0.4 if src in graph.inputs and into and len(graph.nodes[into][1]) > 1 else 0.5
        mid = a + along * (b - a) + bend
        normal = np.array([-u[1], u[0]]) if u[0] >= 0 else np.array([u[1], -u[0]])  # the edge's upper side

        def beside(text: str, side: float) -> Any:
            """Where a label clears its edge: value above it (side 1), gradient below (-1); on a bent edge both outside the bend."""
            if rad:
                out = 1.0 if bend[1] > 0 else -1.0
                return mid + np.array([0.0, out * (0.25 if side * out > 0 else 0.01) + out * 0.12])
            reach = abs(normal[0]) * 0.06 * len(text) + abs(normal[1]) * 0.11 + 0.06  # half the label's extent, and a gap
            return mid + side * normal * reach

        if value is not None:
            labels.append(f'<text {cls("value", forward.get(src, 0))} {px(*beside(_text(value), 1))}>'
                          f'<title>{e(src)}: {e(_summary(value))}</title>{e(_text(value))}</text>')
        if grad is not None:
            labels.append(f'<text {cls("grad", backward.get(into) if into else dout_step)} {px(*beside(_text(grad), -1))}>'
                          f'<title>gradient to {e(src)}: {e(_summary(grad))}</title>{e(_text(grad))}</text>')

    for name in graph.inputs:
        svg.append(f'<text class="input" {px(pos[name][0] - 0.08, pos[name][1])}>{e(name)}</text>')
    for spec in edges:
        edge(*spec)
    if end is not None:
        svg.append(f'<text class="input output" {px(end[0] + 0.08, end[1])}>{e(out)}</text>')
    for name, (layer, _) in graph.nodes.items():
        (x, y), (w, h), symbol = pos[name], half[name], symbols[name]
        marks = (f' data-f="{forward[name]}"' if name in forward else "") + (
            f' data-b="{backward[name]}"' if name in backward else "")
        corner, (bx, by) = h * SCALE, point((x - w, y + h)).split()
        shape = f'x="{bx}" y="{by}" width="{2 * w * SCALE:.1f}" height="{2 * h * SCALE:.1f}" rx="{corner:.1f}"'
        params = " · ".join(f"{p} {tuple(np.shape(a))}" for p, a in protocol.params(layer).items())
        svg.append(f'<g class="node"{marks}><title>{e(name)}: {e(type(layer).__name__)}</title>'
                   f'<rect {cls("ran", forward.get(name))} {shape}/><rect class="ring" {shape}/>'
                   f'<text class="symbol{" one" if len(symbol) == 1 else ""}" {px(x, y)}>{e(symbol)}</text>'
                   f'<text class="name" {px(x, y - h - 0.18)}>{e(name)}</text>'
                   + (f'<text class="name" {px(x, y - h - 0.38)}>{e(params)}</text>' if params else "") + "</g>")
    for v, s in sums.items():
        x, y = pos[v]
        at = px(x - 0.08, y - 0.3) if v in graph.inputs else px(x, y + half[v][1] + 0.15)
        labels.append(f'<text {cls("grad sum in" if v in graph.inputs else "grad sum", s)} {at}>'
                      f'Σ = {e(_text(graph.gradients[v]))}</text>')
    return "".join(svg) + "".join(labels), width, height


def page_html(graph: Any, *, title: str | None = None, large: bool = False) -> Page:
    """The page for a Graph: its latest forward values and backward gradients, step by step."""
    e = html.escape
    t = timeline(graph)
    body, width, height = _svg(graph, t)
    sections, items = [], []
    for k, step in enumerate(t.steps):
        lines = "".join(f"<p>{e(line)}</p>" for line in step.lines)
        details = f'<ul class="details">{"".join(f"<li>{e(d)}</li>" for d in step.details)}</ul>' if step.details else ""
        sections.append(f'<section class="step {step.phase}" data-k="{k}"{" hidden" if k else ""}>'
                        f"<h2>{e(step.title)}</h2>{lines}{details}</section>")
        items.append(f'<li data-k="{k}"{" class=now" if not k else ""}><a href="#step={k}">{e(step.title)}</a></li>')
    heading = title or f"{graph.output or 'graph'}: forward{' and backward' if t.dout else ''}, step by step"
    return Page(_TEMPLATE.format(
        title=e(heading), big=' class="big"' if large else "", last=len(t.steps) - 1, width=width, height=height,
        svg=body, sections="".join(sections), items="".join(items),
        open=" open" if len(t.steps) <= 40 else "", style=_STYLE, script=_SCRIPT))


def write_page(page: str, path: str | os.PathLike[str]) -> None:
    """The page written to path atomically, as UTF-8."""
    from ._files import atomic_write

    data = page.encode("utf-8")
    atomic_write(path, lambda f: f.write(data))


_STYLE = """
:root { --value: #0072B2; --grad: #C05500; --ink: #222; --muted: #666; --ran: #DCEBF7; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--ink); background: #fff; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: .5em 1em; padding: .6em 1em;
         border-bottom: 1px solid #ddd; }
header h1 { font-size: 1.15em; margin: 0; flex: 1 1 18em; }
.controls { display: flex; flex-wrap: wrap; gap: .4em; align-items: center; }
button { font: inherit; padding: .3em .8em; border: 1px solid #888; border-radius: .3em; background: #f6f6f6;
         color: var(--ink); cursor: pointer; }
button:hover:not(:disabled) { background: #e8e8e8; }
button:focus-visible { outline: 3px solid var(--value); outline-offset: 1px; }
button:disabled { opacity: .45; cursor: default; }
button[aria-pressed="true"] { background: var(--ink); color: #fff; }
#counter { font-variant-numeric: tabular-nums; min-width: 7em; }
main { display: flex; flex-wrap: wrap; align-items: flex-start; }
#canvas { flex: 1 1 32em; overflow: auto; max-height: calc(100vh - 4em); padding: .5em; }
#graph { display: block; }
aside { flex: 0 1 27em; padding: .6em 1em; border-left: 1px solid #ddd; max-height: calc(100vh - 4em); overflow: auto; }
aside h2 { font-size: 1.05em; margin: .2em 0 .4em; }
aside p { margin: .25em 0; overflow-wrap: anywhere; }
section.forward h2 { color: var(--value); }
section.dout h2, section.backward h2 { color: var(--grad); font-style: italic; }
.details { font-size: .85em; color: var(--muted); padding-left: 1.2em; overflow-wrap: anywhere; }
.legend { font-size: .85em; color: var(--muted); margin-top: 1em; border-top: 1px solid #ddd; padding-top: .5em; }
.legend .v { color: var(--value); font-weight: 600; }
.legend .g { color: var(--grad); font-weight: 700; font-style: italic; }
ol.all { font-size: .85em; padding-left: 2.2em; margin: .3em 0; }
ol.all li.now { font-weight: 700; }
ol.all a { color: inherit; text-decoration: none; }
ol.all a:hover { text-decoration: underline; }
.off { display: none; }
svg text { font-family: inherit; dominant-baseline: middle; paint-order: stroke; stroke: #fff; stroke-width: 4px;
           stroke-linejoin: round; }
text.input { font-size: 16px; text-anchor: end; }
text.output { text-anchor: start; }
text.symbol { text-anchor: middle; }
text.name { font-size: 11px; fill: var(--muted); text-anchor: middle; }
text.value { font-size: 15px; fill: var(--value); text-anchor: middle; font-weight: 600; }
text.grad { font-size: 15px; fill: var(--grad); text-anchor: middle; font-style: italic; font-weight: 700; }
text.sum.in { text-anchor: end; }
text.new { text-decoration: underline; font-size: 18px; }
path.edge { fill: none; stroke: #444; stroke-width: 1.4; marker-end: url(#arrow-value); }
path.edge.now-f { stroke: var(--value); stroke-width: 4; }
path.edge.now-b { stroke: var(--grad); stroke-width: 4; stroke-dasharray: 9 5; marker-end: none; marker-start: url(#arrow-grad); }
rect.ring { fill: none; stroke: #333; stroke-width: 1.6; }
rect.ran { fill: var(--ran); }
text.symbol { font-size: 13px; stroke: none; }
text.symbol.one { font-size: 22px; }
g.node.now-f rect.ring { stroke: var(--value); stroke-width: 5; }
g.node.now-b rect.ring { stroke: var(--grad); stroke-width: 5; stroke-dasharray: 7 4; }
body.big { font-size: 24px; }
body.big main { flex-direction: column; flex-wrap: nowrap; }
body.big aside { order: -1; flex: none; width: 100%; border: 0; border-bottom: 1px solid #ddd; max-height: none; }
body.big aside .legend, body.big aside details { display: none; }
body.big #canvas { flex: none; width: 100%; max-height: none; }
"""

_SCRIPT = """
(function () {
  "use strict";
  var body = document.body, last = +body.getAttribute("data-last");
  var sections = document.querySelectorAll("aside section.step");
  var items = document.querySelectorAll("ol.all li");
  var shown = [], fw = [], bw = [], k, step = 0, timer = null;
  for (k = 0; k <= last; k++) { shown.push([]); fw.push([]); bw.push([]); }
  function index(attr, into) {
    var all = document.querySelectorAll("[" + attr + "]");
    for (var i = 0; i < all.length; i++) into[+all[i].getAttribute(attr)].push(all[i]);
  }
  index("data-s", shown); index("data-f", fw); index("data-b", bw);
  var $ = function (id) { return document.getElementById(id); };
  function each(list, f) { for (var i = 0; i < list.length; i++) f(list[i]); }
  function mark(s, on) {
    each(fw[s], function (el) { el.classList.toggle("now-f", on); });
    each(bw[s], function (el) { el.classList.toggle("now-b", on); });
    each(shown[s], function (el) { el.classList.toggle("new", on && s > 0); });
  }
  function address() {
    var h = "#step=" + step + (body.classList.contains("big") ? "&large=1" : "");
    if (location.hash !== h) { try { history.replaceState(null, "", h); } catch (e) { /* a sandboxed frame */ } }
  }
  function go(to) {
    to = Math.max(0, Math.min(last, to | 0));
    if (to !== step) {
      mark(step, false);
      var s;
      if (to > step) { for (s = step + 1; s <= to; s++) each(shown[s], function (el) { el.classList.remove("off"); }); }
      else { for (s = to + 1; s <= step; s++) each(shown[s], function (el) { el.classList.add("off"); }); }
      sections[step].hidden = true; items[step].classList.remove("now");
      step = to;
      sections[step].hidden = false; items[step].classList.add("now");
      mark(step, true);
      var focus = fw[step][0] || bw[step][0];
      if (focus && focus.scrollIntoView) focus.scrollIntoView({block: "nearest", inline: "nearest"});
    }
    body.setAttribute("data-step", step);
    $("counter").textContent = "Step " + step + " of " + last;
    $("back").disabled = step === 0; $("reset").disabled = step === 0; $("next").disabled = step === last;
    address();
  }
  function play() {
    if (timer) { clearInterval(timer); timer = null; }
    else {
      if (step === last) go(0);
      timer = setInterval(function () { if (step >= last) play(); else go(step + 1); }, 1000);
    }
    $("play").textContent = timer ? "Pause (space)" : "Play (space)";
    $("play").setAttribute("aria-pressed", timer ? "true" : "false");
  }
  var svg = $("graph"), canvas = $("canvas");
  var w = +svg.getAttribute("data-w"), h = +svg.getAttribute("data-h");
  function fit() {  // large type zooms the drawing 1.6x; one a little too wide for the window shrinks to fit, a big one scrolls
    var z = body.classList.contains("big") ? 1.6 : 1, fits = (canvas.clientWidth - 16) / w;
    if (z > fits && fits >= 0.8) z = fits;
    svg.style.width = (w * z) + "px"; svg.style.height = (h * z) + "px";
  }
  function large() {
    body.classList.toggle("big");
    fit();
    $("large").setAttribute("aria-pressed", body.classList.contains("big") ? "true" : "false");
    address();
  }
  function fromAddress() {
    var m = /step=(\\d+)/.exec(location.hash);
    if (/large=1/.test(location.hash) !== body.classList.contains("big")) large();
    go(m ? +m[1] : step);
  }
  $("next").onclick = function () { go(step + 1); };
  $("back").onclick = function () { go(step - 1); };
  $("reset").onclick = function () { if (timer) play(); go(0); };
  $("play").onclick = play;
  $("large").onclick = large;
  each(items, function (li) {
    li.firstChild.onclick = function (e) { e.preventDefault(); go(+li.getAttribute("data-k")); };
  });
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var onButton = e.target && e.target.tagName === "BUTTON";
    if (onButton && (e.key === " " || e.key === "Enter")) return;
    var act = {ArrowRight: function () { go(step + 1); }, ArrowLeft: function () { go(step - 1); },
               " ": play, Home: function () { if (timer) play(); go(0); }, End: function () { go(last); },
               r: function () { if (timer) play(); go(0); }, l: large, L: large}[e.key];
    if (act) { e.preventDefault(); act(); }
  });
  window.addEventListener("hashchange", fromAddress);
  window.addEventListener("resize", fit);
  fit();
  fromAddress();
  $("large").setAttribute("aria-pressed", body.classList.contains("big") ? "true" : "false");
  body.setAttribute("data-ready", "1");
})();
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>{title}</title>
<style>{style}</style>
</head>
<body{big} data-last="{last}" data-step="0">
<header>
<h1>{title}</h1>
<div class="controls">
<button id="reset" type="button" title="back to step 0 (Home or r)" disabled>Reset</button>
<button id="back" type="button" title="the previous step (←)" disabled>◀ Back</button>
<button id="next" type="button" title="the next step (→)">Next ▶</button>
<button id="play" type="button" title="step on by itself every second (space)" aria-pressed="false">Play (space)</button>
<button id="large" type="button" title="large type, for a projector (l)" aria-pressed="false">Large type (l)</button>
<span id="counter" aria-live="polite">Step 0 of {last}</span>
</div>
</header>
<main>
<div id="canvas">
<svg id="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" data-w="{width}" data-h="{height}" style="width:{width}px;height:{height}px" role="img" aria-label="the computational graph">
<defs>
<marker id="arrow-value" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto"><path d="M0 1L10 5L0 9z" fill="#444"/></marker>
<marker id="arrow-grad" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="18" markerHeight="18" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" style="fill: var(--grad)"/></marker>
</defs>
{svg}
</svg>
</div>
<aside>
{sections}
<div class="legend">
<p><span class="v">715</span> a value, computed forward (solid blue outline on the step's edges and node).</p>
<p><span class="g">1.1</span> a gradient, sent backward (dashed orange, arrow pointing back). Underlined: new at this step. Σ: where a value feeds several nodes, its gradient is the sum of theirs.</p>
<p>Keys: → next, ← back, space play/pause, Home reset, End last step, l large type. The address (#step=7) opens this step.</p>
</div>
<details{open}><summary>All steps</summary><ol class="all" start="0">{items}</ol></details>
</aside>
</main>
<script>{script}</script>
</body>
</html>
"""
