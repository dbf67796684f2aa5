"""Composition: Sequential (a chain of layers) and Graph (a DAG of layers over named values)."""

from __future__ import annotations

import contextlib
import html
import os
import re
from collections import ChainMap
from typing import Any, Iterable, Iterator, Mapping, MutableMapping

import numpy as np
from numpy.typing import ArrayLike

from . import numerical, protocol
from .functions import predicted_labels
from .layers import Layer
from .protocol import modal_layers, walk

__all__ = ["Sequential", "Graph", "Params", "sublayers", "modal_layers", "inference_mode", "training_mode"]


def _backward(layer: Any, dout: Any, need_dx: bool = True) -> Any:
    """layer.backward(dout); without need_dx, a layer whose backward can skip its input gradient (Affine, Convolution) does, returning None."""
    if not need_dx and protocol.takes(layer.backward, "need_dx"):
        return layer.backward(dout, need_dx=False)
    return layer.backward(dout)


def describe(layer: Any) -> str:
    """A layer as an error names it: 'Affine 100→10', 'Convolution 1→30, 5×5', or its class's name."""
    name = type(layer).__name__
    try:
        W = protocol.params(layer).get("W")
    except Exception:  # noqa: BLE001 - a layer whose params cannot be read is named by its class
        W = None
    if isinstance(W, np.ndarray) and W.ndim == 2:
        return f"{name} {W.shape[0]}→{W.shape[1]}"
    if isinstance(W, np.ndarray) and W.ndim == 4:
        return f"{name} {W.shape[1]}→{W.shape[0]}, {W.shape[2]}×{W.shape[3]}"
    return name


_WHERE = "_minigrad_where"
"""The attribute an error raised inside a net carries: [position, the layer described, its own message, feeder].

feeder: (position, per-sample shape) of the layer whose output the failing layer got, or None."""


def locate(e: BaseException, kind: str, position: str, layer: Any, feeder: tuple[str, Any] | None = None) -> None:
    """Put where e happened before its message, in place (same exception, same traceback): 'layer 2 (Affine 100→10): ...'.

    A layer's own "Affine.forward: " is dropped (the place names it). For a ValueError, `feeder`
    adds what fed it: '; layer 0 outputs 50'. An error a nested net has located already gets the
    outer position joined to its own ('layer 2.1 (Affine 5→3): ...').
    """
    if len(e.args) != 1 or not isinstance(e.args[0], str):
        return
    where = getattr(e, _WHERE, None)
    if where is None:
        message = re.sub(rf"^{re.escape(type(layer).__name__)}(\.\w+)?: ", "", e.args[0])
        where = [position, describe(layer), message, feeder if isinstance(e, ValueError) else None]
        try:
            setattr(e, _WHERE, where)
        except AttributeError:  # an exception that takes no attributes keeps its message
            return
    else:
        where[0] = f"{position}.{where[0]}"
        if where[3] is not None:
            where[3] = (f"{position}.{where[3][0]}", where[3][1])
    place = "loss" if where[0] == "loss" else f"{kind} {where[0]}"
    fed = ""
    if where[3] is not None:
        sample = tuple(where[3][1])
        fed = f"; {kind} {where[3][0]} outputs {sample[0] if len(sample) == 1 else sample}"
    e.args = (f"{place} ({where[1]}): {where[2]}{fed}",)


class Params(dict):
    """A net's parameters by key, the live arrays: `params[key] = array` copies the array into the weight.

    The book's load_params idiom (``net.params["W1"] = saved``) then changes the net, as it does in
    the book; an unknown key or another shape raises instead of doing nothing.
    """

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self:
            raise KeyError(f"params: no parameter {key!r} to replace; the keys are {list(self)}")
        p = dict.__getitem__(self, key)
        a = np.asarray(value)
        if a.shape != p.shape:
            raise ValueError(f"params[{key!r}]: the parameter has shape {p.shape}, got an array of shape {a.shape}")
        try:
            np.copyto(p, a, casting="same_kind")
        except TypeError:
            raise TypeError(f"params[{key!r}]: the parameter is {p.dtype}, got an array of dtype {a.dtype}") from None

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def _fixed(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("params: a net's parameters are fixed by its layers; replace a weight with params[key] = array")

    __delitem__ = pop = popitem = clear = setdefault = _fixed  # type: ignore[assignment]


def _check_distinct(
    named: Iterable[tuple[str, Any]], where: str, seen: MutableMapping[int, str] | None = None
) -> MutableMapping[int, str]:
    """A ValueError when one layer instance appears at two places, nested nets included; linear in the layers.

    Returns the id -> path map, so a Graph can extend it node by node.
    """
    seen = {} if seen is None else seen
    for path, layer in walk(named):
        if id(layer) in seen:
            raise ValueError(
                f"{where}: {seen[id(layer)]} and {path} are the same {type(layer).__name__} instance; "
                "their caches would collide (wrong gradients), so give each position its own layer"
            )
        seen[id(layer)] = path
    return seen


def _shares_memory(arrays: Iterable[np.ndarray]) -> bool:
    """Whether two of the arrays may share memory (one array twice, or views of one buffer); linear in their number."""
    owners: set[int] = set()
    for a in arrays:
        owner = id(a.base) if isinstance(a, np.ndarray) and a.base is not None else id(a)
        if owner in owners:
            return True
        owners.add(owner)
    return False


def _flat(prefixed: list[tuple[str, Any]], of: Any, keys: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The layers' params, grads or buffers (`of`, a protocol function) in one dict keyed "<prefix><name>", renamed by `keys`."""
    flat = {prefix + name: a for prefix, layer in prefixed for name, a in of(layer).items()}
    return {keys.get(k, k): a for k, a in flat.items()} if keys else flat


def sublayers(model: Any) -> list[tuple[str, Any]]:
    """Every (path, layer) inside a Sequential or Graph, nested nets included, paths as in buffers keys ("1.0")."""
    return list(walk(protocol.children(model)))


@contextlib.contextmanager
def _mode(model: Any, training: bool) -> Iterator[Any]:
    """Run the block with every `training` flag in model set to `training`, then restore each flag as it was."""
    saved = protocol.set_mode(model, training)
    try:
        yield model
    finally:
        for layer, mode in saved:
            layer.training = mode


def inference_mode(model: Any) -> contextlib.AbstractContextManager[Any]:
    """with inference_mode(net): ... runs with every layer in inference mode, restoring each layer's mode after."""
    return _mode(model, False)


def training_mode(model: Any) -> contextlib.AbstractContextManager[Any]:
    """with training_mode(net): ... runs with every layer in training mode, restoring each layer's mode after."""
    return _mode(model, True)


class _Net(Layer):
    """What Sequential and Graph share: the mode (train/eval) and the buffers, over their layers."""

    training: bool

    def named_layers(self) -> list[tuple[str, Any]]:
        """(key prefix without its dot, layer) for each layer: "0", "1", ..., "loss" (Sequential) or node names (Graph)."""
        raise NotImplementedError

    def train(self, mode: bool = True) -> Any:
        """Set `training` on this net and every layer in it that has the flag (nested nets too); returns the net."""
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__}.train: mode must be True or False, got {mode!r}")
        protocol.set_mode(self, bool(mode))
        return self

    def eval(self) -> Any:
        """Inference mode for every layer (train(False)); returns the net."""
        return self.train(False)

    @property
    def buffers(self) -> dict[str, np.ndarray]:
        """Every layer's state outside params (e.g. running statistics), keyed like params: the live arrays."""
        return _flat([(f"{k}.", layer) for k, layer in self.named_layers()], protocol.buffers)


class Sequential(_Net):
    """A chain y = f_n(…f_1(x)); with a loss, forward(x, t) returns the loss L. Itself a layer.

    params and grads are keyed "<index>.<name>" ("0.W", "loss.…"), or by `keys`, a mapping from
    those positional keys to the names to show instead (the presets' book names: {"0.W": "W1", ...});
    keys it does not mention stay positional.
    """

    def __init__(self, *layers: Any, loss: Any = None, keys: Mapping[str, str] | None = None) -> None:
        # params and grads are views over the layers' dicts (properties), so Layer.__init__ is skipped.
        for i, layer in enumerate(layers):
            protocol.check_layer(layer, f"Sequential: layer {i}")
        if loss is not None:
            protocol.check_layer(loss, "Sequential: loss")
        self.layers = tuple(layers)
        self.last_layer = loss
        self._mode: str | None = None  # "output" after forward(x), "loss" after forward(x, t)
        self.scores: Any = None
        """The chain's output from the latest forward: with targets, what the loss scored (fit's accuracy reads it)."""
        self._prefixed = [(f"{i}.", layer) for i, layer in enumerate(layers)]
        if loss is not None:
            self._prefixed.append(("loss.", loss))
        _check_distinct(self._prefixed_named("layer "), "Sequential")
        self.param_keys: dict[str, str] = self._check_keys(keys)
        """Positional key ("0.W") -> the key params and grads show (empty for a plain Sequential)."""
        self._shapers = {i for i, layer in enumerate(layers) if "W" in protocol.params(layer)}
        """The layers with a weight W (Affine, Convolution): an error downstream names the last one that fed it."""
        self._tied = _shares_memory(a for _, layer in self._prefixed for a in protocol.params(layer).values())
        """Whether layers share parameter memory (checked when built); backward(optimizer=) then updates last."""
        self.training = True
        """The mode last set by train()/eval(); forward, loss and gradient follow each layer's own flag."""
        self._modal = any(protocol.takes_mode(layer) for _, layer in self._prefixed)
        """Whether a layer's forward takes the book's train_flg (then each forward passes the net's mode to it)."""

    def _check_keys(self, keys: Mapping[str, str] | None) -> dict[str, str]:
        """keys as a dict, checked: every entry renames an existing positional key, and no two keys collide."""
        if not keys:
            return {}
        positional = _flat(self._prefixed, protocol.params)
        unknown = [k for k in keys if k not in positional]
        if unknown:
            raise ValueError(f"Sequential: keys renames {unknown}, which are not parameters; the parameters are {list(positional)}")
        shown = [keys.get(k, k) for k in positional]
        clashes = sorted({k for k in shown if shown.count(k) > 1})
        if clashes:
            raise ValueError(f"Sequential: keys gives two parameters the same key {clashes}")
        return dict(keys)

    def named_layers(self) -> list[tuple[str, Any]]:
        return [(prefix[:-1], layer) for prefix, layer in self._prefixed]

    def _prefixed_named(self, prefix: str) -> list[tuple[str, Any]]:
        """(prefix + "0", layer 0), ..., (prefix + "loss", the loss)."""
        return [(prefix + p[:-1], layer) for p, layer in self._prefixed]

    @property
    def params(self) -> Params:  # type: ignore[override]
        """Every layer's parameters, keyed "<index>.<name>" (e.g. "0.W") or by `keys`: the live arrays (params[key] = a copies a in)."""
        return Params(_flat(self._prefixed, protocol.params, self.param_keys))

    @property
    def grads(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        """Every layer's latest gradients, keyed like params."""
        return _flat(self._prefixed, protocol.grads, self.param_keys)

    def _keys_of(self, prefix: str, layer_params: Mapping[str, Any]) -> dict[str, str]:
        """A layer's parameter names -> their keys in params (what an optimizer keeps its state under)."""
        return {name: self.param_keys.get(prefix + name, prefix + name) for name in layer_params}

    def forward(self, x: ArrayLike, t: ArrayLike | None = None) -> Any:
        self._mode = None  # until every layer has run: a forward that raises leaves nothing for backward
        training, modal = self.training, self._modal
        feeder: tuple[str, Any] | None = None  # the last layer that shaped x (a weight, or a new shape), and x's sample shape
        for i, layer in enumerate(self.layers):
            try:
                y = protocol.call(layer, x, training=training) if modal else layer.forward(x)
            except Exception as e:
                locate(e, "layer", str(i), layer, feeder)
                raise
            shape = getattr(y, "shape", ())
            if i in self._shapers or shape != getattr(x, "shape", ()):
                feeder = (str(i), shape[1:])
            x = y
        self.scores = x
        if t is None:
            self._mode = "output"
            return x
        if self.last_layer is None:
            raise ValueError("Sequential.forward: targets t were given, but this Sequential has no loss")
        try:
            loss = protocol.call(self.last_layer, x, t, training=training) if modal else self.last_layer.forward(x, t)
        except Exception as e:
            locate(e, "layer", "loss", self.last_layer)
            raise
        self._mode = "loss"
        return loss

    def backward(self, dout: Any = None, need_dx: bool = True, optimizer: Any = None) -> Any:
        """dx from dout (after forward(x)), or from the loss (after loss(x, t); dout defaults to 1).

        With need_dx=False the gradient of the chain's input is not wanted (training): a first layer
        whose backward takes need_dx (Affine, Convolution) then skips its input gradient (dout·Wᵀ,
        and col2im), and None is returned.

        With an optimizer (a minigrad Optimizer), backward also takes its step: each layer's
        parameters are updated as soon as that layer's grads are filled, while both are still in
        cache. The numbers are exactly those of optimizer.update(net.params, net.grads) after
        backward, which is what it does instead when layers share parameter memory, so that no
        layer backpropagates through weights that have already moved. If a layer's backward raises,
        the layers after it in the chain have already taken their step.

        The dout given is never written into, even by a layer that writes into the dout it is
        handed (the book's Relu): such a layer gets a copy.
        """
        if self._mode is None:
            raise RuntimeError("Sequential.backward called before forward (or after a forward that raised)")
        layers, prefixed = self.layers, self._prefixed
        eager = optimizer is not None and not self._tied
        if optimizer is not None:
            optimizer.begin_step()
        if isinstance(dout, np.ndarray):
            dout = dout.copy(order="K")  # the caller's dout stays as given; what the layers pass on is the chain's own
        if self._mode == "loss":
            try:
                dout = self.last_layer.backward(1.0 if dout is None else dout)
            except Exception as e:
                locate(e, "layer", "loss", self.last_layer)
                raise
            if eager:
                self._step(optimizer, "loss.", self.last_layer)
        elif dout is None:
            raise ValueError("Sequential.backward: dout is required after forward(x) without targets")
        for i in range(len(layers) - 1, -1, -1):
            layer = layers[i]
            try:
                dout = _backward(layer, dout, need_dx or i > 0)
            except Exception as e:
                locate(e, "layer", str(i), layer)
                raise
            if eager:
                self._step(optimizer, prefixed[i][0], layer)
        if optimizer is not None and not eager:  # shared weights: update once every layer is done
            for prefix, layer in prefixed if self._mode == "loss" else prefixed[: len(layers)]:
                self._step(optimizer, prefix, layer)
        return dout

    def _step(self, optimizer: Any, prefix: str, layer: Any) -> None:
        """The optimizer's update of one layer's parameters, its state kept under their keys in params."""
        p = protocol.params(layer)
        if p:
            optimizer.apply(p, protocol.grads(layer), keys=self._keys_of(prefix, p))

    def predict(self, x: ArrayLike) -> Any:
        """The chain's output (the scores before the loss), in inference mode whatever the net's mode."""
        with inference_mode(self):
            return self.forward(x)

    def loss(self, x: ArrayLike, t: ArrayLike) -> float:
        """The loss of predict(x) against targets t."""
        return self.forward(x, t)

    def accuracy(self, x: ArrayLike, t: ArrayLike) -> float:
        """The fraction of samples whose highest score (predict, in inference mode) is the target class (t: labels or one-hot)."""
        predicted, labels = predicted_labels(np.asarray(self.predict(x)), t, "Sequential.accuracy")
        return float(np.mean(predicted == labels))

    def gradient(self, x: ArrayLike, t: ArrayLike) -> dict[str, np.ndarray]:
        """Backprop: the loss's gradient for every parameter, keyed like params."""
        self.loss(x, t)
        self.backward(need_dx=False)
        return self.grads

    def numerical_gradient(self, x: ArrayLike, t: ArrayLike) -> dict[str, np.ndarray]:
        """The chapter's slow way: central differences of loss(x, t) for every parameter element.

        A Dropout in training mode draws a new mask for every loss evaluated here: call eval() first, or
        use minigrad.gradcheck.gradcheck, which replays each layer's generator.
        """
        return {
            name: numerical.numerical_gradient(lambda _: self.loss(x, t), p)
            for name, p in self.params.items()
        }

    def to_html(self, path: str | os.PathLike[str] | None = None, x: ArrayLike | None = None, t: ArrayLike | None = None,
                *, title: str | None = None, large: bool = False) -> str:
        """The chain as a step-through page (Graph.to_html): with x it runs forward on x, and with t (and a loss) backward too.

        Running them fills the layers' caches and grads as net.loss(x, t); net.backward() would. Without
        x the page shows the chain's structure and order only.
        """
        from .page import chain_graph

        if t is not None and (x is None or self.last_layer is None):
            why = " without inputs x" if x is None else ", but this Sequential has no loss"
            raise ValueError(f"Sequential.to_html: targets t were given{why}")
        g = chain_graph(self, with_loss=x is None or t is not None)
        if x is not None:
            g.forward(x) if t is None else g.forward(x, t)
            if t is not None:
                g.backward()
        return g.to_html(path, title=title, large=large)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Any:
        return self.layers[i]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.layers)

    def __repr__(self) -> str:
        parts = [repr(layer) for layer in self.layers]
        if self.last_layer is not None:
            parts.append(f"loss={self.last_layer!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class Graph(_Net):
    """A DAG of layers over named values. forward(*inputs) -> output; backward(dout) -> a gradient per input.

    Build it by naming its inputs and adding nodes in order, each consuming values defined before it::

        g = Graph(["apple", "apple_num", "tax"])
        g.add("apple_price", MulLayer(), "apple", "apple_num")
        g.add("price", MulLayer(), "apple_price", "tax")

    The output is the last node added (or `g.output = name`). Where a value feeds several nodes its
    gradient is the sum of theirs. An input that no gradient reaches (e.g. a loss's targets) gets None.
    `constants` names inputs that are data whose gradient nobody wants (a batch of images): a node
    consuming only one of them skips its input gradient where its layer can (Affine, Convolution).
    """

    def __init__(self, inputs: list[str] | tuple[str, ...], constants: Iterable[str] = ()) -> None:
        # params and grads are views over the nodes' layers (properties), so Layer.__init__ is skipped.
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, (list, tuple)):
            raise TypeError(f"Graph: inputs must be a list of names, got {type(inputs).__name__} {inputs!r:.80}")
        names = list(inputs)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ValueError(f"Graph: inputs must be a non-empty list of names, got {inputs!r}")
        if len(set(names)) != len(names):
            raise ValueError(f"Graph: input names must be distinct, got {names}")
        self.inputs = names
        self.constants = frozenset(constants)
        if not self.constants <= set(names):
            raise ValueError(f"Graph: constants must be inputs, got {sorted(self.constants - set(names))} not in {names}")
        self._input_set = frozenset(names)
        self.nodes: dict[str, tuple[Any, tuple[str, ...]]] = {}
        self.output: str | None = None
        self.values: dict[str, Any] = {}
        self.gradients: dict[str, Any] = {}
        self.edge_gradients: dict[tuple[str, str, int], Any] = {}
        """After backward: (value, node, position) -> the gradient that node sent back to that value's edge."""
        self._layer_paths: dict[int, str] = {}  # id of every layer inside, nested ones too -> where it sits
        self.training = True
        """The mode last set by train()/eval(); forward follows each node's own flag."""

    def named_layers(self) -> list[tuple[str, Any]]:
        return [(name, layer) for name, (layer, _) in self.nodes.items()]

    def add(self, name: str, layer: Any, *inputs: str) -> str:
        """Add node `name` computing layer.forward(*values of inputs); returns name."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"Graph.add: a node name must be a non-empty string, got {name!r}")
        if name in inputs:
            raise ValueError(f"Graph.add: node '{name}' consumes itself, which would make a cycle")
        if name in self.nodes or name in self._input_set:
            raise ValueError(f"Graph.add: the name '{name}' is already defined")
        protocol.check_layer(layer, f"Graph.add('{name}')")
        if not inputs:
            raise ValueError(f"Graph.add: node '{name}' needs at least one input value")
        for value in inputs:
            if value not in self.nodes and value not in self._input_set:
                raise ValueError(
                    f"Graph.add: node '{name}' consumes unknown value '{value}'; "
                    f"defined so far: {', '.join([*self.inputs, *self.nodes])}"
                )
        if isinstance(layer, _Net):  # its layers go to self._layer_paths only once all are known distinct
            seen = ChainMap({}, self._layer_paths)
            _check_distinct([(f"node {name}", layer)], "Graph.add", seen)
            self._layer_paths.update(seen.maps[0])
        else:
            _check_distinct([(f"node {name}", layer)], "Graph.add", self._layer_paths)
        self.nodes[name] = (layer, tuple(inputs))
        self.output = name
        return name

    @property
    def params(self) -> Params:  # type: ignore[override]
        """Every node's parameters, keyed "<node>.<name>": the live arrays (params[key] = a copies a in)."""
        return Params(_flat([(f"{n}.", layer) for n, (layer, _) in self.nodes.items()], protocol.params))

    @property
    def grads(self) -> dict[str, np.ndarray]:  # type: ignore[override]
        """Every node's latest gradients, keyed like params."""
        return _flat([(f"{n}.", layer) for n, (layer, _) in self.nodes.items()], protocol.grads)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Run every node in order; inputs by position (in `inputs` order) or by name."""
        self.values, self.gradients = {}, {}  # until every node has run: a forward that raises leaves nothing for backward
        if self.output not in self.nodes:
            raise ValueError(f"Graph.forward: the output '{self.output}' is not a node of this graph")
        if len(args) > len(self.inputs):
            raise TypeError(f"Graph.forward: takes {len(self.inputs)} inputs {self.inputs}, got {len(args)}")
        values = dict(zip(self.inputs, args))
        for key, value in kwargs.items():
            if key not in self.inputs or key in values:
                why = "unknown input" if key not in self.inputs else "input given twice"
                raise TypeError(f"Graph.forward: {why} '{key}'; inputs are {self.inputs}")
            values[key] = value
        missing = [n for n in self.inputs if n not in values]
        if missing:
            raise TypeError(f"Graph.forward: missing input(s) {missing}")
        training = self.training
        for name, (layer, ins) in self.nodes.items():
            try:
                values[name] = protocol.call(layer, *(values[v] for v in ins), training=training)
            except Exception as e:
                locate(e, "node", repr(name), layer)
                raise
        self.values = values
        self.gradients, self.edge_gradients = {}, {}
        return values[self.output]

    def backward(self, dout: Any = None) -> Any:
        """Gradients in reverse topological order; one per input, in input order (dout defaults to 1 for a scalar output).

        An input given as a number gets a float, an array input an array of its shape. Each edge's
        own contribution is kept in edge_gradients; a value's gradient is their sum.
        """
        if not self.values:
            raise RuntimeError("Graph.backward called before forward (or after a forward that raised)")
        if dout is None:
            if np.ndim(self.values[self.output]) != 0:
                raise ValueError("Graph.backward: dout is required when the output is not a scalar")
            dout = 1.0
        grads: dict[str, Any] = {self.output: dout}
        edges: dict[tuple[str, str, int], Any] = {}
        for name in reversed(self.nodes):
            if name not in grads:
                continue  # not on a path to the output
            layer, ins = self.nodes[name]
            d = grads[name]
            d = d.copy(order="K") if isinstance(d, np.ndarray) else d  # a layer may write into its dout; gradients keeps its own
            try:
                g = _backward(layer, d, not (len(ins) == 1 and ins[0] in self.constants))
            except Exception as e:
                locate(e, "node", repr(name), layer)
                raise
            g = g if isinstance(g, tuple) else (g,)
            if len(g) > len(ins):
                raise ValueError(
                    f"Graph.backward: node '{name}' ({type(layer).__name__}) returned {len(g)} "
                    f"gradients for {len(ins)} inputs"
                )
            for i, (value, dv) in enumerate(zip(ins, g)):
                if dv is not None:
                    edges[value, name, i] = dv
                    grads[value] = dv if value not in grads else grads[value] + dv  # fan-out sums
        numbers = {n for n, v in self.values.items() if not isinstance(v, np.ndarray) and np.ndim(v) == 0}
        for name in numbers & grads.keys():  # numbers in, floats out; arrays keep their shape
            grads[name] = float(grads[name])
        for key in [k for k in edges if k[0] in numbers]:
            edges[key] = float(edges[key])
        self.gradients, self.edge_gradients = grads, edges
        result = tuple(grads.get(n) for n in self.inputs)
        return result[0] if len(result) == 1 else result

    def draw(self, path: str | os.PathLike[str] | None = None, *, title: str | None = None, dpi: int = 100) -> Any:
        """The graph as the book draws it (values on edges, gradients in red under them): a matplotlib Figure, also written to path (.png or .svg)."""
        from .drawing import draw_graph, save

        fig = draw_graph(self, title=title)
        if path is not None:
            suffix = os.fspath(path).rsplit(".", 1)[-1].lower()
            if suffix not in ("png", "svg"):
                raise ValueError(f"Graph.draw: path must end in .png or .svg, got {os.fspath(path)!r}")
            save(fig, path, format=suffix, dpi=dpi)
        return fig

    def to_html(self, path: str | os.PathLike[str] | None = None, *, title: str | None = None, large: bool = False) -> str:
        """One self-contained HTML page stepping through the latest forward and backward (see page.py); also written to path.

        The returned str shows inline in Jupyter, each in a frame of its own. large=True opens in large type.
        """
        from .page import page_html, write_page

        page = page_html(self, title=title, large=large)
        if path is not None:
            write_page(page, path)
        return page

    def _repr_svg_(self) -> str | None:
        """The drawing, inline in Jupyter (None without matplotlib, and Jupyter shows the repr)."""
        try:
            from .drawing import draw_graph, save
        except ImportError:
            return None
        try:
            return save(draw_graph(self), format="svg").decode()  # type: ignore[union-attr]
        except ImportError:
            return None

    def to_dot(self) -> str:
        """Graphviz DOT text: each edge labelled with its forward value and, in red, the gradient it carries back."""

        def q(s: str) -> str:
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

        def edge(src: str, dst: str, value: str, grad: Any) -> str:
            parts = []
            if value in self.values:
                parts.append(html.escape(_show(self.values[value])))
            if grad is not None:
                parts.append(f'<FONT COLOR="red">{html.escape(_show(grad))}</FONT>')
            label = f" [label=<{'<BR/>'.join(parts)}>]" if parts else ""
            return f"  {q(src)} -> {q(dst)}{label};"

        from .drawing import SYMBOLS as symbols

        lines = ["digraph minigrad {", "  rankdir=LR;", '  node [shape=circle, fontname="Helvetica"];']
        lines += [f"  {q(n)} [shape=plaintext];" for n in self.inputs]
        for name, (layer, _) in self.nodes.items():
            kind = type(layer).__name__
            lines.append(f"  {q(name)} [label={q(symbols.get(kind, kind))}, xlabel={q(name)}];")
        for name, (_, ins) in self.nodes.items():
            lines += [edge(v, name, v, self.edge_gradients.get((v, name, i))) for i, v in enumerate(ins)]
        if self.output is not None:
            lines.append(f'  {q("out:" + self.output)} [shape=plaintext, label={q(self.output)}];')
            lines.append(edge(self.output, "out:" + self.output, self.output, self.gradients.get(self.output)))
        lines.append("}")
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        nodes = ", ".join(f"{n}={type(layer).__name__}({', '.join(ins)})" for n, (layer, ins) in self.nodes.items())
        return f"Graph(inputs={self.inputs}, {nodes})"


def _show(value: Any) -> str:
    """A scalar as Python prints it; an array as its shape and dtype."""
    if np.ndim(value) == 0:
        return str(value.item() if isinstance(value, np.ndarray) else value)
    a = np.asarray(value)
    return f"{a.dtype}{list(a.shape)}"
