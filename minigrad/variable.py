"""Define-by-run: a Variable records the layers that compute from it; backward() runs them as a Graph.

    >>> apple, apple_num, tax = Variable(100, name="apple"), Variable(2, name="apple_num"), Variable(1.1, name="tax")
    >>> price = apple * apple_num * tax
    >>> price.backward()
    >>> apple.grad, tax.grad
    (2.2, 200.0)

A Variable is a thin recorder with no math inside: its ``data``, ``name`` and ``grad``, and the
node that made it (a layer and the Variables it consumed). Each operator runs a layer — ``*`` a
MulLayer, ``exp()`` an Exp, and any layer called on a Variable (a Sequential as each of its
layers) — forward at once, and records it. ``v.graph`` is the record as an ordinary minigrad
Graph of those layers, its nodes named after the Variables' names where given (otherwise after
the layer: "mul", "mul_1", ...), inputs in the order they were created; numbers and arrays used
in an operation are inputs too (constants). ``backward`` runs that Graph's backward and fills
``grad`` on every Variable that took part.

Gradients are overwritten, not accumulated: a second ``backward`` gives the same ``grad`` (and a
backward from another result replaces it). PyTorch instead adds into ``.grad`` until it is zeroed.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import itertools
import weakref
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from numpy.typing import ArrayLike

from . import protocol
from .arithmetic import DivLayer, Exp, Index, Log, MatMulLayer, Mean, NegLayer, PowLayer, Reshape, SubLayer, Sum, Transpose
from .drawing import label
from .functions import as_numeric
from .layers import AddLayer, MulLayer, ReLU, Sigmoid, Tanh
from .network import Graph, Sequential

__all__ = ["Variable", "no_grad", "grad", "call", "trace"]

_created = itertools.count()  # creation order: a Variable is always made after the ones it is computed from
_recording = True
_latest_call: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
"""For each layer called on Variables by its owner: the creation number of the latest output it recorded."""


class Variable:
    """A value (number or array) with a name and, after backward(), its gradient grad; operations on it are recorded."""

    __slots__ = ("data", "name", "grad", "requires_grad", "_layer", "_inputs", "_order", "_graph", "__weakref__")
    __array_ufunc__ = None  # array + Variable calls Variable.__radd__ instead of numpy's elementwise loop

    def __init__(self, data: ArrayLike, name: str | None = None, requires_grad: bool = True) -> None:
        if isinstance(data, Variable):
            raise TypeError("Variable: data is already a Variable; pass its .data to start a new record")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Variable: name must be a string or None, got {name!r} ({type(name).__name__})")
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"Variable: requires_grad must be True or False, got {requires_grad!r}")
        is_number = isinstance(data, (int, float)) and not isinstance(data, bool)
        self.data: Any = data if is_number else as_numeric(data, "Variable", "data")
        """The value: a Python number as given, anything else as an ndarray (not copied)."""
        self.name = name
        self.grad: Any = None
        """After backward: d(result)/d(self), of data's shape (a float for a number); None before."""
        self.requires_grad = bool(requires_grad)
        """False for data whose gradient nobody wants (a batch of images): backward skips it where it can."""
        self._layer: Any = None  # the layer that computed data (None for a leaf)
        self._inputs: tuple[Variable, ...] = ()
        self._order = next(_created)
        self._graph: Graph | None = None

    @classmethod
    def _result(cls, data: Any, layer: Any, inputs: tuple[Variable, ...]) -> Variable:
        """A recorded result: data computed by layer from inputs (no validation; the layer made it)."""
        v = cls.__new__(cls)
        v.data, v.name, v.grad, v.requires_grad = data, None, None, layer is not None
        v._layer, v._inputs, v._order, v._graph = layer, inputs, next(_created), None
        return v

    # -- what it holds -------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(self.data)

    @property
    def ndim(self) -> int:
        return np.ndim(self.data)

    @property
    def size(self) -> int:
        return int(np.size(self.data))

    @property
    def dtype(self) -> np.dtype:
        return np.result_type(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name is not None else ""
        return f"Variable({self.data!r}{name})"

    # -- operators: each runs a layer ----------------------------------------------------------

    def __add__(self, other: Any) -> Variable:
        return _record(AddLayer(), (self, other))

    def __radd__(self, other: Any) -> Variable:
        return _record(AddLayer(), (other, self))

    def __sub__(self, other: Any) -> Variable:
        return _record(SubLayer(), (self, other))

    def __rsub__(self, other: Any) -> Variable:
        return _record(SubLayer(), (other, self))

    def __mul__(self, other: Any) -> Variable:
        return _record(MulLayer(), (self, other))

    def __rmul__(self, other: Any) -> Variable:
        return _record(MulLayer(), (other, self))

    def __truediv__(self, other: Any) -> Variable:
        return _record(DivLayer(), (self, other))

    def __rtruediv__(self, other: Any) -> Variable:
        return _record(DivLayer(), (other, self))

    def __matmul__(self, other: Any) -> Variable:
        return _record(MatMulLayer(), (self, other))

    def __rmatmul__(self, other: Any) -> Variable:
        return _record(MatMulLayer(), (other, self))

    def __pow__(self, c: float) -> Variable:
        if isinstance(c, Variable):
            raise TypeError("Variable ** Variable: the exponent must be a number (for x ** y write (y * x.log()).exp())")
        return _record(PowLayer(c), (self,))

    def __neg__(self) -> Variable:
        return _record(NegLayer(), (self,))

    def __getitem__(self, key: Any) -> Variable:
        return _record(Index(key), (self,))

    def exp(self) -> Variable:
        return _record(Exp(), (self,))

    def log(self) -> Variable:
        return _record(Log(), (self,))

    def tanh(self) -> Variable:
        return _record(Tanh(), (self,))

    def sigmoid(self) -> Variable:
        return _record(Sigmoid(), (self,))

    def relu(self) -> Variable:
        return _record(ReLU(), (self,))

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Variable:
        return _record(Sum(axis, keepdims), (self,))

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Variable:
        return _record(Mean(axis, keepdims), (self,))

    def reshape(self, *shape: int) -> Variable:
        return _record(Reshape(*shape), (self,))

    @property
    def T(self) -> Variable:
        return _record(Transpose(), (self,))

    @staticmethod
    def __layer_call__(layer: Any, inputs: tuple[Any, ...]) -> Variable:
        """What Layer.__call__ does when an input is a Variable: record the call."""
        return call(layer, *inputs)

    # -- the record ----------------------------------------------------------------------------

    @property
    def graph(self) -> Graph:
        """The recorded Graph that computed this Variable: its values, and after backward() its gradients."""
        if self._graph is None:
            self._graph = _trace(self)[0]
        return self._graph

    def backward(self, dout: ArrayLike | None = None) -> None:
        """Fill grad on this Variable and every one it was computed from, by the recorded Graph's backward.

        dout is d(loss)/d(self), of data's shape; it may be left out (1) for a single-element result.
        Gradients are overwritten: a second backward gives the same grad (PyTorch would add to it).
        """
        if dout is None:
            if self.size != 1:
                raise ValueError(f"Variable.backward: dout is required for a result of shape {self.shape} (only a single element defaults to 1)")
            dout = 1.0 if self.ndim == 0 else np.ones(self.shape, dtype=self.dtype)
        elif np.shape(dout) != self.shape:
            raise ValueError(f"Variable.backward: dout must have the result's shape {self.shape}, got {np.shape(dout)}")
        if self._layer is None:
            if not self.requires_grad:
                raise RuntimeError(
                    "Variable.backward: this Variable records nothing (computed under no_grad, or with requires_grad=False)"
                )
            self.grad = float(dout) if self.ndim == 0 and not isinstance(self.data, np.ndarray) else np.array(dout)
            return
        graph, variables = _trace(self)
        graph.backward(dout)
        for name, v in variables.items():
            v.grad = graph.gradients.get(name) if v.requires_grad else None
        self._graph = graph


def _record(layer: Any, inputs: tuple[Any, ...], owned: bool = False, training: bool | None = None) -> Variable:
    """layer.forward on the inputs' data, the output as a Variable that remembers (layer, inputs) when recording.

    A call is recorded when an input wants its gradient or the layer has parameters. owned marks a
    layer its owner may call again (not one an operator made): its latest call is noted, so that
    backward through an earlier one, whose cache is gone, is refused. `training`, when given, is the
    mode of the Sequential the layer runs in (passed as train_flg to a book layer's forward).
    """
    data = [x.data if isinstance(x, Variable) else x for x in inputs]
    y = layer.forward(*data) if training is None else protocol.call(layer, *data, training=training)
    wanted = False
    if _recording:
        for x in inputs:
            if isinstance(x, Variable) and x.requires_grad:
                wanted = True
                break
        else:  # no input wants a gradient: the layer's parameters may
            wanted = owned and bool(protocol.params(layer))
    if not wanted:
        return Variable._result(y, None, ())
    out = Variable._result(y, layer, tuple(x if isinstance(x, Variable) else Variable._result(x, None, ()) for x in inputs))
    if owned:
        try:
            _latest_call[layer] = out._order
        except TypeError:  # a layer that cannot be weakly referenced is not checked
            pass
    return out


def _latest(layer: Any, default: int) -> int:
    """The creation number of the latest output an owned layer recorded (default for a layer made by an operator)."""
    try:
        return _latest_call.get(layer, default)
    except TypeError:  # unhashable or not weakly referenceable: not checked
        return default


def call(layer: Any, *inputs: Any) -> Variable:
    """layer(*inputs) on Variables, recorded: a Sequential as each of its layers (and, given targets, its loss).

    What calling a minigrad layer on a Variable does; for a layer in the book's style without
    __call__, call it through this function.
    """
    return _call(layer, inputs, None)


def _call(layer: Any, inputs: tuple[Any, ...], training: bool | None) -> Variable:
    """call(), in the mode of the Sequential it runs in (None outside one)."""
    if not isinstance(layer, Sequential):
        return _record(layer, inputs, owned=True, training=training)
    x, *targets = inputs
    for sub in layer.layers:
        x = _call(sub, (x,), layer.training)
    if not targets:
        return x
    if layer.last_layer is None:
        raise ValueError("Sequential called on Variables: targets t were given, but this Sequential has no loss")
    return _call(layer.last_layer, (x, *targets), layer.training)


def _kind(layer_type: type) -> str:
    """A layer class's name as a node name: MulLayer -> "mul", ReLU -> "relu"."""
    kind = layer_type.__name__.lower()
    return kind[: -len("layer")] if kind.endswith("layer") and kind != "layer" else kind


_kinds: dict[type, str] = {}


def _node_name(v: Variable) -> str:
    """The name of an unnamed Variable's value in the Graph, before making it unique: its layer's kind, or what it holds."""
    if v._layer is not None:
        kind = _kinds.get(type(v._layer))
        if kind is None:
            kind = _kinds[type(v._layer)] = _kind(type(v._layer))
        return kind
    if not v.requires_grad and np.ndim(v.data) == 0:
        return label(v.data)  # a number used in an operation is shown as itself
    return "x" if v.requires_grad else "const"


def _ancestors(out: Variable) -> list[Variable]:
    """out and every Variable it was computed from, in creation order (a topological order); iterative, so any depth."""
    seen, stack, found = {out}, [out], [out]
    while stack:
        for u in stack.pop()._inputs:
            if u not in seen:
                seen.add(u)
                stack.append(u)
                found.append(u)
    found.sort(key=lambda v: v._order)  # found is nearly reversed creation order: the sort takes linear time on it
    return found


def _names(found: list[Variable]) -> dict[Variable, str]:
    """A distinct name for each Variable: its own (kept by the first that has it), else its kind with a suffix ("mul_1")."""
    names: dict[Variable, str] = {}
    used: set[str] = set()
    for v in found:
        if v.name is not None and v.name not in used:
            names[v] = v.name
            used.add(v.name)
    suffix: dict[str, int] = {}  # base name -> the next suffix to try
    for v in found:
        if v in names:
            continue
        base = v.name if v.name is not None else _node_name(v)
        k = suffix.get(base, 0)
        name = f"{base}_{k}" if k else base
        while name in used:  # rare: a given name that looks like a made one
            k += 1
            name = f"{base}_{k}"
        suffix[base] = k + 1
        used.add(name)
        names[v] = name
    return names


def _trace(out: Variable) -> tuple[Graph, dict[str, Variable]]:
    """The Graph that computed out, with its forward values, and the Variables by their names in it."""
    found = _ancestors(out)
    names = _names(found)
    leaves = [v for v in found if v._layer is None]
    graph = Graph([names[v] for v in leaves], constants=[names[v] for v in leaves if not v.requires_grad])
    for v in found:
        if v._layer is None:
            continue
        if _latest(v._layer, v._order) != v._order:
            raise ValueError(
                f"Variable: the {type(v._layer).__name__} that computed '{names[v]}' has been called again since, "
                "and its cache holds only its latest call; give each call its own layer, or backpropagate before calling again"
            )
        graph.add(names[v], v._layer, *[names[u] for u in v._inputs])
    graph.values = {names[v]: v.data for v in found}
    return graph, {name: v for v, name in names.items()}


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """with no_grad(): ... computes on Variables without recording (results record nothing and need no cache)."""
    global _recording
    saved, _recording = _recording, False
    try:
        yield
    finally:
        _recording = saved


@contextlib.contextmanager
def _enable_grad() -> Iterator[None]:
    global _recording
    saved, _recording = _recording, True
    try:
        yield
    finally:
        _recording = saved


def grad(f: Callable[..., Variable], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The function (*args) -> ∂f/∂args[argnums] for a single-element f of Variables: arrays (floats for numbers).

    With a tuple of argnums it returns a tuple of gradients; the other arguments are passed as given.
    """
    nums = (argnums,) if isinstance(argnums, (int, np.integer)) else tuple(argnums)
    if not nums or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in nums):
        raise TypeError(f"grad: argnums must be an int or a tuple of ints, got {argnums!r}")

    @functools.wraps(f)
    def gradient(*args: Any) -> Any:
        if any(not -len(args) <= i < len(args) for i in nums):
            raise ValueError(f"grad: argnums {argnums!r} out of range for {len(args)} argument(s)")
        wanted = [i % len(args) for i in nums]
        xs = [Variable(a.data if isinstance(a, Variable) else a) if i in wanted else a for i, a in enumerate(args)]
        with _enable_grad():
            y = f(*xs)
        if not isinstance(y, Variable):
            raise TypeError(f"grad: {getattr(f, '__name__', 'f')} must return a Variable, got {type(y).__name__}")
        y.backward()
        gs = [xs[i].grad if xs[i].grad is not None else 0.0 * np.asarray(xs[i].data, dtype=float) for i in wanted]
        return gs[0] if isinstance(argnums, (int, np.integer)) else tuple(gs)

    return gradient


def _argument_names(f: Callable[..., Any], n: int) -> list[str]:
    """Names for f's first n arguments: its positional parameters' names, then x0, x1, ... for the rest."""
    try:
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        names = [p.name for p in inspect.signature(f).parameters.values() if p.kind in kinds][:n]
    except (TypeError, ValueError):  # no signature (some builtins)
        names = []
    return names + [f"x{i}" for i in range(len(names), n)]


def trace(f: Callable[..., Variable], *inputs: Any) -> tuple[Graph, list[str | None]]:
    """Run f once on Variables made from inputs, named after f's parameters: the Graph it recorded, and each argument's input name in it.

    An argument the result does not depend on has None. Numbers and arrays f uses inside are
    inputs of the Graph too (constants). The Graph replays what this run did: a branch f takes on
    its values is fixed in it.
    """
    names = _argument_names(f, len(inputs))
    args = [Variable(x.data if isinstance(x, Variable) else x, name=name) for x, name in zip(inputs, names)]
    with _enable_grad():
        y = f(*args)
    if not isinstance(y, Variable) or y._layer is None:
        got = type(y).__name__ if not isinstance(y, Variable) else "a Variable that records nothing"
        raise TypeError(f"trace: {getattr(f, '__name__', 'f')} must return a Variable computed from its arguments, got {got}")
    graph, variables = _trace(y)
    by_variable = {id(v): name for name, v in variables.items()}
    return graph, [by_variable.get(id(a)) for a in args]
