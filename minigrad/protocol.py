"""The layer protocol in one place: what a layer is, where its parameters are, how the mode reaches it.

Every module that takes a layer (Sequential, Graph, gradcheck, fit, the optimizers' path,
save_model, the CLI) asks here instead of looking for members itself, so minigrad's layers and the
book's (``common/layers.py`` as printed) are taken alike:

- a layer is an object with ``forward`` and ``backward`` (a class is not a layer);
- its parameters are ``params``/``grads`` dicts when it has them (non-empty), otherwise the book's
  attribute pairs: each float array attribute ``X`` with a gradient attribute ``dX`` (``W``/``dW``,
  ``b``/``db``, ``gamma``/``dgamma``, ...), the live arrays (``dX`` is None before backward);
- the mode is a ``training`` flag on the layers that have one, and ``train_flg`` passed to a
  forward that takes it (the book's Dropout and BatchNormalization);
- a container (Sequential, Graph) lists its children with ``named_layers()``;
- a net in the book's sense is an object with ``params``, ``loss(x, t)`` and ``gradient(x, t)``.

This module imports nothing from minigrad, so every other module can import it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Callable, Iterable, Iterator, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "LayerLike",
    "is_layer",
    "check_layer",
    "is_net",
    "params",
    "grads",
    "pairs",
    "buffers",
    "children",
    "walk",
    "modal_layers",
    "set_mode",
    "call",
    "takes_mode",
    "apply_mode",
    "takes",
]


@runtime_checkable
class LayerLike(Protocol):
    """Any object with forward(*inputs) -> y and backward(dout) -> dx (or a tuple, one per input)."""

    def forward(self, *inputs: Any) -> Any: ...

    def backward(self, dout: Any) -> Any: ...


def is_layer(obj: Any) -> bool:
    """Whether obj is a layer: an instance with callable forward and backward."""
    return (not isinstance(obj, type) and callable(getattr(obj, "forward", None))
            and callable(getattr(obj, "backward", None)))


def check_layer(obj: Any, where: str) -> None:
    """A TypeError unless obj is a layer, saying what it lacks (and, for a book net, what to do instead)."""
    if is_layer(obj):
        return
    if isinstance(obj, type):
        try:
            bare = all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                       for p in inspect.signature(obj).parameters.values())
        except (TypeError, ValueError):
            bare = False
        call = f"{obj.__name__}()" if bare else f"{obj.__name__}(...)"
        raise TypeError(f"{where}: {obj.__name__} is a class, not a layer; write {call}")
    missing = [m for m in ("forward", "backward") if not callable(getattr(obj, m, None))]
    hint = " (it is a net with params, loss and gradient: pass it to gradcheck or fit as it is)" if is_net(obj) else ""
    raise TypeError(f"{where}: {type(obj).__name__} is not a layer: it lacks {' and '.join(missing)}{hint}")


def is_net(obj: Any) -> bool:
    """Whether obj is a net in the book's sense: params, loss(x, t) and gradient(x, t), and no forward/backward."""
    return (not isinstance(obj, type) and not is_layer(obj) and isinstance(getattr(obj, "params", None), Mapping)
            and callable(getattr(obj, "loss", None)) and callable(getattr(obj, "gradient", None)))


def _book_names(layer: Any) -> list[str]:
    """The book's parameter attributes: each float array attribute X for which the layer has a dX."""
    attributes = getattr(layer, "__dict__", None)
    if not isinstance(attributes, dict):
        return []
    return [k for k, v in attributes.items()
            if isinstance(v, np.ndarray) and v.dtype.kind == "f" and hasattr(layer, "d" + k)]


def _dict(layer: Any, attr: str) -> Mapping[str, Any] | None:
    """The layer's own params or grads dict, when it keeps its parameters there (non-empty, or no book pairs)."""
    d = getattr(layer, attr, None)
    if (isinstance(d, dict) or isinstance(d, Mapping)) and (d or not _book_names(layer)):  # dict first: the fast check
        return d
    return None


def params(layer: Any) -> Mapping[str, np.ndarray]:
    """The layer's parameters by name: its params dict, or the book's X attributes; the live arrays."""
    d = _dict(layer, "params")
    if d is not None:
        return d
    return {k: getattr(layer, k) for k in _book_names(layer)}


def grads(layer: Any) -> Mapping[str, Any]:
    """The layer's latest gradients, keyed like params: its grads dict, or the book's dX attributes (None before backward)."""
    d = _dict(layer, "grads")
    if d is not None:
        return d
    return {k: getattr(layer, "d" + k) for k in _book_names(layer)}


def pairs(layer: Any) -> dict[str, tuple[np.ndarray, Any]]:
    """name -> (param, its latest gradient or None), wherever the layer keeps them."""
    g = grads(layer)
    return {k: (p, g.get(k)) for k, p in params(layer).items()}


def buffers(layer: Any) -> Mapping[str, np.ndarray]:
    """The layer's state arrays outside params (running statistics), by name: its buffers dict, or none."""
    b = getattr(layer, "buffers", None)
    return b if isinstance(b, dict) or isinstance(b, Mapping) else {}


def children(layer: Any) -> list[tuple[str, Any]]:
    """(name, layer) for each layer inside a container (a Sequential's "0", "1", ..., "loss"; a Graph's nodes); [] for a leaf."""
    named = getattr(layer, "named_layers", None)
    return list(named()) if callable(named) and not isinstance(layer, type) else []


def walk(named: Iterable[tuple[str, Any]]) -> Iterator[tuple[str, Any]]:
    """Every (path, layer) in `named` and, depth first, inside the containers among them ("1.0", "loss", "h.W")."""
    for path, layer in named:
        yield path, layer
        inner = children(layer)
        if inner:
            yield from walk((f"{path}.{name}" if path else name, sub) for name, sub in inner)


def modal_layers(model: Any) -> list[Any]:
    """model and every layer inside it (nested containers included) that has a `training` flag."""
    return [layer for _, layer in walk([("", model)]) if hasattr(layer, "training")]


def set_mode(model: Any, training: bool) -> list[tuple[Any, bool]]:
    """Set `training` on model and every layer inside it that has the flag; returns (layer, previous flag) pairs."""
    saved = [(layer, layer.training) for layer in modal_layers(model)]
    for layer, _ in saved:
        layer.training = training
    return saved


_TAKES: dict[tuple[Any, str], bool] = {}


def takes(method: Callable[..., Any], argument: str) -> bool:
    """Whether `method` (a bound method) accepts the keyword `argument`; cached per function."""
    func = getattr(method, "__func__", method)
    key = (func, argument)
    found = _TAKES.get(key)
    if found is None:
        try:
            parameters = inspect.signature(method).parameters
        except (TypeError, ValueError):
            parameters = {}
        found = argument in parameters and parameters[argument].kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        try:
            _TAKES[key] = found
        except TypeError:  # an unhashable callable: not cached
            pass
    return found


def apply_mode(method: Callable[..., Any], *args: Any, training: bool) -> Any:
    """method(*args) in the given mode: a method that takes the book's train_flg (forward, a net's loss) gets it."""
    if takes(method, "train_flg"):
        return method(*args, train_flg=training)
    return method(*args)


_FLAGGED: dict[type, bool] = {}


def takes_mode(layer: Any) -> bool:
    """Whether layer's forward takes the book's train_flg (known per class: asked on every forward of a net)."""
    flagged = _FLAGGED.get(type(layer))
    if flagged is None:
        flagged = _FLAGGED[type(layer)] = takes(layer.forward, "train_flg")
    return flagged


def call(layer: Any, *inputs: Any, training: bool) -> Any:
    """layer.forward(*inputs) in the given mode: a forward that takes the book's train_flg gets it.

    A layer with a `training` flag follows its own flag (set by train()/eval()), not this argument.
    """
    if takes_mode(layer):
        return layer.forward(*inputs, train_flg=training)
    return layer.forward(*inputs)
