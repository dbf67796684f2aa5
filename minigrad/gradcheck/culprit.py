"""Per-layer localisation: which layer of a failing Sequential, Graph or book net has a wrong backward of its own.

The net is run once more, forward and backward with the check's dout, recording what each layer
receives: its inputs in forward and its upstream gradient in backward (a Sequential's chain is run
here layer by layer, as Sequential.forward/backward run it; a Graph keeps every value and gradient in
`values` and `gradients`). Each layer is then gradchecked alone on exactly those inputs with exactly
that dout, in forward order, and the first that fails is the culprit: its index for a Sequential
("3", or "loss"), its node name for a Graph, a dotted path through nested nets ("2.1"), its key in
a book net's `layers` ("Affine2") or the last layer's attribute name ("lastLayer"). A layer's
own check does not depend on the layers around it being right, so a wrong layer downstream cannot
make a correct one fail. Works for any layer that follows the protocol: nothing is subclassed or
wrapped.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import numpy as np

from .. import protocol
from .report import GradcheckResult

Step = tuple[str, Any, tuple[Any, ...], Any]  # name, layer, inputs, upstream gradient


def find_culprit(net: Any, arrays: list[np.ndarray], dout: Any, options: dict[str, Any]) -> tuple[str | None, GradcheckResult | None] | None:
    """(path, that layer's own result) for the first layer that fails alone; (None, None) if none does; None if not a net."""
    from ..network import Graph, Sequential
    from . import gradcheck

    if isinstance(net, Sequential):
        steps = _sequential(net, arrays, dout)
    elif isinstance(net, Graph):
        steps = _graph(net, arrays, dout)
    elif protocol.is_net(net) and isinstance(getattr(net, "layers", None), Mapping):
        steps = _book_net(net, arrays)
    else:
        return None
    for name, layer, inputs, upstream in steps:
        try:
            own = gradcheck(layer, *inputs, **{**options, "dout": upstream, "wrt": None})
        except Exception:  # a layer whose check cannot run alone is not judged
            continue
        if not own:
            return (name if own.culprit is None else f"{name}.{own.culprit}"), own
    return None, None


def _sequential(net: Any, arrays: list[np.ndarray], dout: Any) -> list[Step]:
    """A Sequential's layers (and its loss) with the inputs and upstream gradient each receives."""
    layers = list(net.layers)
    with_loss = net.last_layer is not None and len(arrays) > 1
    inputs: list[tuple[Any, ...]] = []
    x: Any = arrays[0]
    for layer in layers:
        inputs.append((np.array(x),))
        x = protocol.call(layer, x, training=net.training)
    if with_loss:
        inputs.append((np.array(x), *(np.array(a) for a in arrays[1:])))
        protocol.call(net.last_layer, x, *arrays[1:], training=net.training)
        layers.append(net.last_layer)
    upstream: list[Any] = [None] * len(layers)
    d = dout
    for i in range(len(layers) - 1, -1, -1):
        upstream[i] = np.array(d)
        d = layers[i].backward(d)
    names = [str(i) for i in range(len(net.layers))] + (["loss"] if with_loss else [])
    return list(zip(names, layers, inputs, upstream))


def _book_net(net: Any, arrays: list[np.ndarray]) -> list[Step]:
    """A book net's layers (net.layers, then lastLayer or last_layer) with the inputs and upstream gradient each receives.

    Run as the book's gradient runs them: forward in training mode, the last layer's backward from
    dout = 1, each layer handed a copy of what the next one returned (the book's Relu writes into it).
    """
    names, layers = list(net.layers), list(net.layers.values())
    last = next((a for a in ("lastLayer", "last_layer") if protocol.is_layer(getattr(net, a, None))), None)
    if last is not None:
        names.append(last)
        layers.append(getattr(net, last))
    inputs: list[tuple[Any, ...]] = []
    x: Any = arrays[0]
    for i, layer in enumerate(layers):
        given = (x, *arrays[1:]) if i == len(net.layers) else (x,)  # the last layer also gets the targets
        inputs.append(tuple(np.array(a) for a in given))
        x = protocol.call(layer, *given, training=True)
    upstream: list[Any] = [None] * len(layers)
    d: Any = 1.0 if last is not None else np.ones_like(x)
    for i in range(len(layers) - 1, -1, -1):
        upstream[i] = np.array(d)
        d = layers[i].backward(np.array(d) if isinstance(d, np.ndarray) else d)
    return list(zip(names, layers, inputs, upstream))


def _graph(net: Any, arrays: list[np.ndarray], dout: Any) -> Iterator[Step]:
    """A Graph's nodes on a path to its output, with the inputs and (fan-out summed) gradient each receives."""
    net.forward(*arrays)
    net.backward(dout)
    values = {k: np.array(v) for k, v in net.values.items()}
    gradients = {k: np.array(v) for k, v in net.gradients.items() if v is not None}
    for name, (layer, ins) in net.nodes.items():
        if name in gradients:
            yield name, layer, tuple(values[v] for v in ins), gradients[name]
