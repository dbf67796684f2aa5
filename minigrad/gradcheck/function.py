"""gradcheck of a Python function of Variables: the Graph it records is checked, so the culprit is a node's name."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import protocol
from ..network import Graph
from ..variable import Variable, trace


def is_function(target: Any) -> bool:
    """Whether gradcheck's target is a plain callable (a function of Variables) rather than a layer, a net or a class."""
    return callable(target) and not isinstance(target, type) and not protocol.is_layer(target) and not protocol.is_net(target)


def as_graph(f: Any, inputs: tuple[Any, ...], wrt: Sequence[int | str] | None) -> tuple[Graph, list[Any], list[str]]:
    """f traced into its Graph, the Graph's input values, and wrt as its input names (default: f's float arguments)."""
    graph, names = trace(f, *inputs)
    values = [graph.values[name] for name in graph.inputs]
    if wrt is None:
        data = [x.data if isinstance(x, Variable) else x for x in inputs]
        return graph, values, [n for n, x in zip(names, data) if n is not None and np.asarray(x).dtype.kind == "f"]
    chosen = []
    for w in wrt:
        name = names[w] if isinstance(w, int) and -len(names) <= w < len(names) else w
        if name is None:
            raise ValueError(f"gradcheck: argument {w} of {getattr(f, '__name__', 'f')} does not reach its result; nothing to check")
        chosen.append(name)
    return graph, values, chosen
