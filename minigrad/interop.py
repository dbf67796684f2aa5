"""Moving on: a minigrad model as a PyTorch module and back (to_torch, from_torch), or as an ONNX file (export_onnx).

Layer by layer (minigrad → PyTorch → ONNX):

- ``Affine(W (D, M), b)`` → ``nn.Linear(D, M)`` with ``weight = Wᵀ`` → ``Gemm(x, W, b)``; an
  ``nn.Flatten()`` / ``Flatten(axis=1)`` goes before it wherever its input may have more than two
  axes (the model's input, or images), as Affine flattens (N, ...) to (N, D) itself;
- ``ReLU``, ``Sigmoid``, ``Tanh`` → ``nn.ReLU``, ``nn.Sigmoid``, ``nn.Tanh`` → ``Relu``, ``Sigmoid``, ``Tanh``;
- ``Convolution(W, b, stride, pad)`` → ``nn.Conv2d`` (same weight layout) → ``Conv``;
- ``Pooling(pool_h, pool_w, stride, pad)`` → ``nn.MaxPool2d`` (stride given explicitly: PyTorch's
  default is the pool size, minigrad's 1) → ``MaxPool``; both pad with −∞;
- ``BatchNormalization`` → ``nn.BatchNorm1d`` on features (N, D) (also where nothing before it
  tells the input's shape), ``nn.BatchNorm2d`` per channel on images (N, C, H, W) (per activation on
  images has no PyTorch layer and is refused) → ``BatchNormalization`` with the running statistics.
  PyTorch's momentum weighs the batch (running ← (1 − m)·running + m·batch), minigrad's the running
  value, so m = 1 − momentum; ``eps`` is the same; both track the unbiased batch variance, so
  ``running_var`` is copied as is;
- ``Dropout(r)`` → ``nn.Dropout(p=r)`` (both inverted dropout) → ``Identity``;
- a ``Sequential`` inside the chain → an ``nn.Sequential``.

The loss comes back beside the module: ``SoftmaxWithLoss`` → ``nn.CrossEntropyLoss()`` (mean over
the N samples, for integer labels or target rows); ``SigmoidWithLoss`` and ``MeanSquaredError``,
which sum over each sample and average over samples, → the small modules
``minigrad._torch_losses.SigmoidCrossEntropy`` and ``HalfSquaredError`` (0.5·Σ(y − t)²/N); a
MultiLayerNet's weight decay λ > 0 wraps it in ``WeightDecay`` (+ ½λΣ‖W‖² over the Linear weights).

The PyTorch module has the model's dtype and each layer's mode (``training``). The ONNX file holds
the model's inference, what ``predict`` computes: batch norm with the running statistics, dropout
as the identity, no loss. Neither torch nor onnx is imported with minigrad; each function imports
what it needs when called, and a missing package raises one ImportError naming the extra to install.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Union

import numpy as np
from numpy.typing import DTypeLike

from ._files import atomic_write
from .arguments import generator
from .conv import conv_output_size
from .conv import Convolution, Pooling
from .layers import Affine, RandomLike, ReLU, Sigmoid, Tanh
from .losses import MeanSquaredError, SigmoidWithLoss, SoftmaxWithLoss
from .network import Sequential
from .normalization import BatchNormalization, Dropout

__all__ = ["to_torch", "from_torch", "export_onnx", "OPSET"]

OPSET = 17
"""The ONNX operator set export_onnx writes (with IR version 8, which goes with it)."""

ACTIVATIONS = (ReLU, Sigmoid, Tanh)


def _require(module: str, extra: str, where: str) -> Any:
    """The imported module, or an ImportError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{where} needs {module}, which is not installed: pip install {module} (in a minigrad checkout: pip install '.[{extra}]')") from None


def _no_export(where: str, layer: Any, pos: str) -> TypeError:
    return TypeError(
        f"{where}: layer {pos} is a {type(layer).__name__}, which has no counterpart there; it converts "
        "Affine, ReLU, Sigmoid, Tanh, Convolution, Pooling, BatchNormalization, Dropout and nested Sequentials"
    )


def _net(model: Any, where: str) -> Sequential:
    if not isinstance(model, Sequential):
        raise TypeError(f"{where}: model must be a minigrad Sequential (TwoLayerNet, MultiLayerNet, ...), got {type(model).__name__}")
    return model


# ---------------------------------------------------------------- minigrad -> PyTorch


def to_torch(model: Sequential) -> tuple[Any, Any]:
    """(module, loss_fn): an nn.Sequential computing what model's layers compute, in its dtype and modes, and its loss as a torch loss (None without one)."""
    torch = _require("torch", "torch", "to_torch")
    from ._torch_losses import HalfSquaredError, SigmoidCrossEntropy, WeightDecay

    net = _net(model, "to_torch")
    module, _ = _torch_chain(torch, net, "", None)
    losses = {SoftmaxWithLoss: torch.nn.CrossEntropyLoss, SigmoidWithLoss: SigmoidCrossEntropy, MeanSquaredError: HalfSquaredError}
    loss = net.last_layer
    if loss is None:
        return module, None
    if type(loss) not in losses:
        raise TypeError(
            f"to_torch: the loss is a {type(loss).__name__}, which has no PyTorch counterpart here; it converts "
            "SoftmaxWithLoss, SigmoidWithLoss and MeanSquaredError"
        )
    loss_fn = losses[type(loss)]()
    decay = getattr(net, "weight_decay_lambda", 0.0)  # MultiLayerNet's ½λΣ‖W‖² over every Affine's W
    if decay:
        loss_fn = WeightDecay(loss_fn, [m.weight for m in module.modules() if isinstance(m, torch.nn.Linear)], decay)
    return module, loss_fn


Dims = Union[list[Union[int, None]], None]
"""One sample's shape as far as the layers tell it (None for a size they leave open), or None before any layer does."""


def _torch_chain(torch: Any, net: Sequential, prefix: str, dims: Dims) -> tuple[Any, Dims]:
    """(nn.Sequential of net's layers, one output sample's dims) given an input sample's dims."""
    mode, modules = getattr(net, "training", True), []
    for i, layer in enumerate(net.layers):
        converted, dims = _torch_layer(torch, layer, f"{prefix}{i}", dims)
        if not hasattr(layer, "training"):  # modules for layers without a mode of their own take the net's
            for m in converted:
                m.training = mode
        modules += converted
    chain = torch.nn.Sequential(*modules)
    chain.training = mode
    return chain, dims


def _tensor(torch: Any, a: np.ndarray) -> Any:
    return torch.from_numpy(np.ascontiguousarray(a))


def _fill(torch: Any, module: Any, **arrays: np.ndarray) -> Any:
    """module with each named parameter or buffer overwritten by a copy of the array (bit for bit)."""
    with torch.no_grad():
        for name, a in arrays.items():
            getattr(module, name).copy_(_tensor(torch, a))
    return module


def _torch_layer(torch: Any, layer: Any, pos: str, dims: Dims) -> tuple[list[Any], Dims]:
    """(modules, output sample's dims) for one minigrad layer at position pos, given its input sample's dims."""
    nn, kind = torch.nn, type(layer)
    if kind is Affine:
        W, b = layer.params["W"], layer.params["b"]
        dtype = _tensor(torch, W).dtype
        linear = nn.utils.skip_init(nn.Linear, W.shape[0], W.shape[1], dtype=dtype)  # no draw from torch's generator
        flatten = [] if dims is not None and len(dims) == 1 else [nn.Flatten()]
        return flatten + [_fill(torch, linear, weight=W.T, bias=b)], [W.shape[1]]
    if kind in ACTIVATIONS:
        return [getattr(nn, kind.__name__)()], dims
    if kind is Convolution:
        W, b = layer.params["W"], layer.params["b"]
        FN, C, FH, FW = W.shape
        conv = nn.utils.skip_init(nn.Conv2d, C, FN, (FH, FW), stride=layer.stride, padding=layer.pad, dtype=_tensor(torch, W).dtype)
        return [_fill(torch, conv, weight=W, bias=b)], [FN, None, None]
    if kind is Pooling:
        pool = nn.MaxPool2d((layer.pool_h, layer.pool_w), stride=layer.stride, padding=layer.pad)
        return [pool], [None, None, None] if dims is None else dims
    if kind is BatchNormalization:
        gamma = layer.params["gamma"]
        images = dims is not None and len(dims) == 3
        if images and dims[0] not in (None, gamma.size):
            raise ValueError(
                f"to_torch: layer {pos} (BatchNormalization) normalizes images per activation (gamma of size "
                f"{gamma.size}, {dims[0]} channels), which has no PyTorch layer; normalize per channel (gamma of size {dims[0]})"
            )
        bn_class = nn.BatchNorm2d if images else nn.BatchNorm1d
        bn = bn_class(gamma.size, eps=layer.eps, momentum=1 - layer.momentum, dtype=_tensor(torch, gamma).dtype)
        _fill(torch, bn, weight=gamma, bias=layer.params["beta"], running_mean=layer.running_mean, running_var=layer.running_var)
        bn.training = layer.training
        return [bn], dims
    if kind is Dropout:
        dropout = nn.Dropout(p=layer.dropout_ratio)
        dropout.training = layer.training
        return [dropout], dims
    if isinstance(layer, Sequential) and layer.last_layer is None:
        chain, dims = _torch_chain(torch, layer, f"{pos}.", dims)
        return [chain], dims
    raise _no_export("to_torch", layer, pos)


# ---------------------------------------------------------------- PyTorch -> minigrad


def from_torch(module: Any, loss: Any = None, *, rng: RandomLike = None) -> Sequential:
    """The minigrad Sequential computing what an nn.Sequential of to_torch's modules computes, weights copied bit for bit, with loss (a torch loss) as its loss; Dropout layers draw from rng."""
    torch = _require("torch", "torch", "from_torch")
    rng = generator(rng, "from_torch")
    net = _from_chain(torch, module, "", rng)
    if loss is not None:
        net = Sequential(*net.layers, loss=_from_loss(torch, loss))
        net.training = getattr(module, "training", True)
    return net


def _numpy(tensor: Any) -> np.ndarray:
    return tensor.detach().cpu().numpy().copy()


def _pair(value: Any, where: str, arg: str) -> int:
    """One int from PyTorch's int-or-pair arguments, or an error when the pair differs (minigrad has one per layer)."""
    a, b = (value, value) if isinstance(value, int) else tuple(value)
    if a != b:
        raise ValueError(f"from_torch: {where} has {arg} {tuple(value)}; minigrad's layer takes one {arg} for both axes")
    return a


def _only_what_minigrad_does(torch: Any, m: Any, where: str, translated: tuple[str, ...], *args: Any) -> None:
    """A ValueError naming the first option or buffer of torch module m, beyond `translated`, that differs from a default m's.

    The default module is type(m)(*args) (on the meta device: nothing allocated). This is the one
    place where from_torch refuses what minigrad does not implement, so a new option in PyTorch is
    refused by name until it is translated, never silently dropped.
    """
    cls = type(m)
    try:
        default = cls(*args, device="meta")
    except TypeError:  # modules without parameters take no device
        default = cls(*args)
    defaults = vars(default)
    for name, value in vars(m).items():
        if name.startswith("_") or name == "training" or name in translated:
            continue
        if name not in defaults or value != defaults[name]:
            only = f"{name}={defaults[name]!r} only" if name in defaults else f"no {name}"
            raise ValueError(f"from_torch: {where} sets {name}={value!r}; minigrad implements {only}")
    extra = sorted({n for n, _ in m.named_buffers(recurse=False)} - {n for n, _ in default.named_buffers(recurse=False)})
    if extra:
        raise ValueError(f"from_torch: {where} has {', '.join(extra)}; minigrad implements {cls.__name__} without")


def _from_chain(torch: Any, module: Any, prefix: str, rng: np.random.Generator) -> Sequential:
    nn = torch.nn
    if not isinstance(module, nn.Sequential):
        raise TypeError(f"from_torch: module must be a torch.nn.Sequential (as to_torch returns), got {type(module).__name__}")
    children = list(module)
    layers = []
    for i, child in enumerate(children):
        pos = f"{prefix}{i}"
        if isinstance(child, nn.Flatten):
            if (child.start_dim, child.end_dim) != (1, -1) or i + 1 == len(children) or not isinstance(children[i + 1], nn.Linear):
                raise TypeError(
                    f"from_torch: module {pos} is a Flatten({child.start_dim}, {child.end_dim}) that is not an "
                    "nn.Flatten() right before an nn.Linear, the only place minigrad flattens (Affine does it itself)"
                )
            continue
        try:
            layers.append(_from_module(torch, child, pos, rng))
        except (TypeError, ValueError) as e:  # minigrad's own layer refused a value: say which module gave it
            if str(e).startswith("from_torch:"):
                raise
            raise type(e)(f"from_torch: module {pos} ({type(child).__name__}): {e}") from None
    net = Sequential(*layers)
    net.training = module.training
    return net


def _from_module(torch: Any, m: Any, pos: str, rng: np.random.Generator) -> Any:
    """The minigrad layer for one torch module at position pos."""
    nn, where = torch.nn, f"module {pos} ({type(m).__name__})"
    if type(m) is nn.Linear:
        _only_what_minigrad_does(torch, m, where, ("in_features", "out_features"), m.in_features, m.out_features)
        b = np.zeros(m.out_features, dtype=_numpy(m.weight).dtype) if m.bias is None else _numpy(m.bias)
        return Affine(_numpy(m.weight).T.copy(), b)
    for cls in ACTIVATIONS:
        if type(m) is getattr(nn, cls.__name__):
            _only_what_minigrad_does(torch, m, where, ("inplace",))  # in place or not, the same values
            return cls()
    if type(m) is nn.Conv2d:
        _only_what_minigrad_does(torch, m, where, ("in_channels", "out_channels", "kernel_size", "stride", "padding"),
                                 m.in_channels, m.out_channels, m.kernel_size)
        if isinstance(m.padding, str):
            raise ValueError(f"from_torch: {where} sets padding={m.padding!r}; minigrad implements padding given as a number only")
        b = np.zeros(m.out_channels, dtype=_numpy(m.weight).dtype) if m.bias is None else _numpy(m.bias)
        return Convolution(_numpy(m.weight), b, stride=_pair(m.stride, where, "stride"), pad=_pair(m.padding, where, "padding"))
    if type(m) is nn.MaxPool2d:
        _only_what_minigrad_does(torch, m, where, ("kernel_size", "stride", "padding"), m.kernel_size)
        kh, kw = (m.kernel_size, m.kernel_size) if isinstance(m.kernel_size, int) else m.kernel_size
        return Pooling(kh, kw, stride=_pair(m.stride, where, "stride"), pad=_pair(m.padding, where, "padding"))
    if type(m) in (nn.BatchNorm1d, nn.BatchNorm2d):
        _only_what_minigrad_does(torch, m, where, ("num_features", "eps", "momentum"), m.num_features)
        if m.momentum is None:
            raise ValueError(f"from_torch: {where} sets momentum=None (a cumulative average); minigrad implements a number only")
        bn = BatchNormalization(
            _numpy(m.weight), _numpy(m.bias), momentum=1 - m.momentum,
            running_mean=_numpy(m.running_mean), running_var=_numpy(m.running_var), eps=m.eps,
        )
        bn.training = m.training
        return bn
    if type(m) is nn.Dropout:
        _only_what_minigrad_does(torch, m, where, ("p", "inplace"))
        dropout = Dropout(m.p, rng=rng)
        dropout.training = m.training
        return dropout
    if type(m) is nn.Sequential:
        return _from_chain(torch, m, f"{pos}.", rng)
    raise TypeError(
        f"from_torch: {where} has no minigrad counterpart; from_torch converts Linear, ReLU, Sigmoid, Tanh, Conv2d, "
        "MaxPool2d, BatchNorm1d/2d, Dropout, Flatten before a Linear and nested Sequentials"
    )


def _from_loss(torch: Any, loss: Any) -> Any:
    from ._torch_losses import HalfSquaredError, SigmoidCrossEntropy, WeightDecay

    if type(loss) is WeightDecay:
        raise TypeError(
            f"from_torch: the loss adds MultiLayerNet's weight decay (λ = {loss.weight_decay_lambda}), which a Sequential "
            "cannot: pass loss_fn.loss, and copy the params into a MultiLayerNet(..., weight_decay_lambda=λ) if you need the decay"
        )

    if type(loss) is torch.nn.CrossEntropyLoss:
        _only_what_minigrad_does(torch, loss, "the loss CrossEntropyLoss", ())
        return SoftmaxWithLoss()
    if type(loss) is SigmoidCrossEntropy:
        return SigmoidWithLoss()
    if type(loss) is HalfSquaredError:
        return MeanSquaredError()
    raise TypeError(
        f"from_torch: the loss {type(loss).__name__} has no minigrad counterpart; from_torch converts CrossEntropyLoss, "
        "and the SigmoidCrossEntropy and HalfSquaredError modules to_torch makes"
    )


# ---------------------------------------------------------------- minigrad -> ONNX


def export_onnx(
    model: Sequential,
    path: str | os.PathLike[str],
    *,
    input_shape: tuple[int, ...] | None = None,
    dtype: DTypeLike = np.float32,
) -> None:
    """Write what model.predict computes as an ONNX file at path, atomically: opset 17, input "x" (N, ...) with a dynamic batch N, output "y", weights as initializers in dtype (float32 by default, or float64).

    input_shape is one sample's shape; by default the first Affine's (D,) or the first
    Convolution's (C, H, W) with H and W dynamic.
    """
    onnx = _require("onnx", "onnx", "export_onnx")
    from onnx import TensorProto, helper, numpy_helper

    net = _net(model, "export_onnx")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"export_onnx: dtype must be float32 or float64, got {dtype}")
    elem = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    dims = _input_dims(net) if input_shape is None else [int(d) for d in input_shape]
    graph = _OnnxGraph(helper, numpy_helper, dtype, dict(net.param_keys))
    x_info = helper.make_tensor_value_info("x", elem, ["N", *_symbolic(dims, "x")])
    name, dims = graph.chain(net, "", "x", dims)
    graph.nodes.append(helper.make_node("Identity", [name], ["y"], name="output"))
    y_info = helper.make_tensor_value_info("y", elem, ["N", *_symbolic(dims, "y")])
    doc = f"minigrad {_version()}: {type(net).__name__}.predict (inference: running statistics, no dropout, no loss)"
    proto = helper.make_graph(graph.nodes, type(net).__name__, [x_info], [y_info], graph.initializers, doc_string=doc)
    onnx_model = helper.make_model(
        proto, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=8, producer_name="minigrad", producer_version=_version()
    )
    onnx.checker.check_model(onnx_model, full_check=True)
    atomic_write(path, lambda f: f.write(onnx_model.SerializeToString()))


def _version() -> str:
    from . import __version__

    return __version__


def _symbolic(dims: list[int | None], value: str) -> list[int | str]:
    """The per-sample dims with each unknown size named, for a value_info shape."""
    return [f"{value}_d{i + 1}" if d is None else d for i, d in enumerate(dims)]


def _input_dims(net: Sequential) -> list[int | None]:
    """One sample's shape as the first Affine (D,), Convolution (C, H, W) or BatchNormalization (D,) reads it."""
    for layer in net.layers:
        kind = type(layer)
        if isinstance(layer, Sequential) and layer.last_layer is None and layer.layers:
            return _input_dims(layer)
        if kind is Affine:
            return [layer.params["W"].shape[0]]
        if kind is Convolution:
            return [layer.params["W"].shape[1], None, None]
        if kind is BatchNormalization:
            return [layer.params["gamma"].size]
        if kind not in (*ACTIVATIONS, Dropout):
            break
    raise ValueError("export_onnx: cannot tell the input's shape from the model's first layers; pass input_shape=(...) for one sample")


class _OnnxGraph:
    """The nodes and initializers of an ONNX graph, built layer by layer with one sample's shape tracked."""

    def __init__(self, helper: Any, numpy_helper: Any, dtype: np.dtype, keys: dict[str, str]) -> None:
        self.helper, self.numpy_helper, self.dtype = helper, numpy_helper, dtype
        self.keys = keys  # positional key -> the model's key in params ("0.W" -> "W1" for a preset)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []

    def weight(self, name: str, a: np.ndarray) -> str:
        name = self.keys.get(name, name)
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(a, dtype=self.dtype), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def chain(self, net: Sequential, prefix: str, x: str, dims: list[int | None]) -> tuple[str, list[int | None]]:
        for i, layer in enumerate(net.layers):
            x, dims = self.layer(layer, f"{prefix}{i}", x, dims)
        return x, dims

    def layer(self, layer: Any, pos: str, x: str, dims: list[int | None]) -> tuple[str, list[int | None]]:
        """(output name, output dims) of one layer at position pos reading value x of one-sample shape dims."""
        kind = type(layer)
        if kind is Affine:
            W = layer.params["W"]
            if len(dims) != 1:
                x = self.node("Flatten", [x], f"{pos}.flatten", axis=1)
                dims = [int(np.prod(dims))] if None not in dims else [None]
            if dims[0] not in (None, W.shape[0]):
                raise ValueError(f"export_onnx: layer {pos} (Affine) takes {W.shape[0]} features per sample, but receives {dims[0]}")
            return self.node("Gemm", [x, self.weight(f"{pos}.W", W), self.weight(f"{pos}.b", layer.params["b"])], pos), [W.shape[1]]
        if kind in ACTIVATIONS:
            return self.node({ReLU: "Relu", Sigmoid: "Sigmoid", Tanh: "Tanh"}[kind], [x], pos), dims
        if kind is Convolution:
            W = layer.params["W"]
            FN, C, FH, FW = W.shape
            if len(dims) != 3 or dims[0] != C:
                raise ValueError(f"export_onnx: layer {pos} (Convolution) takes images (N, {C}, H, W), but receives (N, {', '.join(map(str, dims))})")
            s, p = layer.stride, layer.pad
            y = self.node("Conv", [x, self.weight(f"{pos}.W", W), self.weight(f"{pos}.b", layer.params["b"])], pos,
                          kernel_shape=[FH, FW], strides=[s, s], pads=[p, p, p, p])
            return y, [FN, *(None if d is None else conv_output_size(d, f, s, p) for d, f in zip(dims[1:], (FH, FW)))]
        if kind is Pooling:
            if len(dims) != 3:
                raise ValueError(f"export_onnx: layer {pos} (Pooling) takes images (N, C, H, W), but receives (N, {', '.join(map(str, dims))})")
            s, p, k = layer.stride, layer.pad, (layer.pool_h, layer.pool_w)
            y = self.node("MaxPool", [x], pos, kernel_shape=list(k), strides=[s, s], pads=[p, p, p, p])
            return y, [dims[0], *(None if d is None else conv_output_size(d, f, s, p) for d, f in zip(dims[1:], k))]
        if kind is BatchNormalization:
            gamma, beta = layer.params["gamma"], layer.params["beta"]
            if dims[0] not in (None, gamma.size):
                raise ValueError(f"export_onnx: layer {pos} (BatchNormalization) normalizes {gamma.size} features or channels, but receives {dims[0]}")
            names = [self.weight(f"{pos}.{k}", a) for k, a in
                     (("gamma", gamma), ("beta", beta), ("running_mean", layer.running_mean), ("running_var", layer.running_var))]
            return self.node("BatchNormalization", [x, *names], pos, epsilon=layer.eps), dims
        if kind is Dropout:
            return self.node("Identity", [x], pos), dims
        if isinstance(layer, Sequential) and layer.last_layer is None:
            return self.chain(layer, f"{pos}.", x, dims)
        raise _no_export("export_onnx", layer, pos)
