"""Layers: objects with forward and backward that compose into a computational graph.

The protocol (any object with these members is a layer; subclassing Layer is optional):

- ``forward(*inputs)`` computes the output and caches what ``backward`` needs. The inputs are
  borrowed until ``backward``: the caller must not change them in between. The output is read-only
  to the caller: it may be the layer's own cache (the book's ``self.out = ...; return self.out``).
- ``backward(dout)`` returns one gradient per differentiable input, in input order (a single array
  for one input, a tuple for several), each with its input's shape, and overwrites ``grads``. It
  never modifies ``dout`` or the inputs.
- ``params`` and ``grads`` are dicts with the same keys; ``params`` holds the live arrays.
- Optional: ``training`` (bool, True when built) on a layer that behaves differently in inference,
  and ``buffers``, a dict of state arrays outside ``params`` (running statistics), updated in place.

Calling a Layer, ``layer(*inputs)``, is its forward, unless an input's type defines
``__layer_call__(layer, inputs)``: then that input handles the call. minigrad.variable's Variable
does, to record the layer; this module knows nothing of it.
"""

from __future__ import annotations

import functools
import math
import threading
from typing import Any, Callable, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .arguments import RandomLike, float_dtype, generator, integer, number
from .functions import as_numeric, sigmoid, sum_to, tanh

__all__ = ["Layer", "MulLayer", "AddLayer", "Affine", "Sigmoid", "ReLU", "Tanh", "init_weight", "BookParam"]

Operand = Union[np.ndarray, int, float]


_ieee = threading.local()
"""depth: how many of minigrad's forward/backward calls this thread is inside (only the outermost sets numpy's errstate)."""


def _beyond_range_is_inf(method: Callable[..., Any]) -> Callable[..., Any]:
    """method computing by IEEE rules without RuntimeWarnings: a value beyond the float range is ±inf (inf − inf nan).

    Finite inputs never warn: Affine at 1e308 gives inf, which fit reports as a TrainingError naming
    the layer. Nested calls (a layer inside a Sequential) cost nothing more than a counter.
    """

    @functools.wraps(method)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        depth = getattr(_ieee, "depth", 0)
        if depth:
            return method(*args, **kwargs)
        _ieee.depth = 1
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                return method(*args, **kwargs)
        finally:
            _ieee.depth = 0

    return wrapped


class Layer:
    """Base class: forward(*inputs) -> y, backward(dout) -> dx or (dx, dy, ...); params/grads dicts."""

    kinks: tuple[float, ...] = ()
    """Input values where the layer's derivative jumps (ReLU: 0); gradcheck keeps away from them."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every minigrad layer's forward and backward compute by IEEE rules (_beyond_range_is_inf): the one place that says so."""
        super().__init_subclass__(**kwargs)
        if cls.__module__.partition(".")[0] == "minigrad":
            for name in ("forward", "backward"):
                if name in vars(cls):
                    setattr(cls, name, _beyond_range_is_inf(vars(cls)[name]))

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, *inputs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    def backward(self, dout: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement backward")

    def __call__(self, *inputs: Any) -> Any:
        """forward(*inputs); an input whose type defines __layer_call__ (a Variable) takes the call over, to record it."""
        for x in inputs:
            take_over = getattr(type(x), "__layer_call__", None)
            if take_over is not None:
                return take_over(self, inputs)
        return self.forward(*inputs)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}={v.shape}" for k, v in self.params.items())
        return f"{type(self).__name__}({shapes})"

    def _cache(self, value: Any) -> Any:
        """value, or a clear error if forward has not filled it yet."""
        if value is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward (or after a forward that raised)")
        return value

    def _dout(self, dout: ArrayLike, shape: tuple[int, ...], dtype: np.dtype | None = None) -> np.ndarray:
        """dout as an array, checked to have the output's shape, in the layer's float `dtype` (never promoted).

        The one place where a layer's gradients get their dtype: a float32 layer given a float64
        dout computes, and returns grads and dx, in float32.
        """
        d = as_numeric(dout, type(self).__name__ + ".backward", "dout")
        if d.shape != shape:
            raise ValueError(
                f"{type(self).__name__}.backward: dout must have the output's shape {shape}, got {d.shape}"
            )
        if dtype is not None and d.dtype != dtype and dtype.kind == "f" and d.dtype.kind == "f":
            d = d.astype(dtype)
        return d


class BookParam:
    """The book's attribute for a parameter: layer.W is params["W"] (the live array), layer.dW is grads["W"].

    Assigning layer.W = array (the book's load_params) replaces params["W"] with that array, which
    must have the parameter's shape; it is cast to the parameter's dtype.
    """

    def __init__(self, grad: bool = False) -> None:
        self.grad = grad

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.key = name, name[1:] if self.grad else name

    def __get__(self, layer: Any, owner: type | None = None) -> Any:
        if layer is None:
            return self
        return (layer.grads if self.grad else layer.params)[self.key]

    def __set__(self, layer: Any, value: ArrayLike) -> None:
        where = f"{type(layer).__name__}.{self.name}"
        if self.grad:
            raise AttributeError(f"{where} is the gradient backward computes; it cannot be assigned")
        old = layer.params[self.key]
        a = as_numeric(value, where, self.name)
        if a.shape != old.shape:
            raise ValueError(f"{where}: the parameter has shape {old.shape}, got an array of shape {a.shape}")
        layer.params[self.key] = a if a.dtype == old.dtype else a.astype(old.dtype)


def _operand(x: Any, where: str, arg: str) -> Operand:
    """A Python number as is (so it keeps numpy's weak scalar typing), anything else as an array."""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return x
    return as_numeric(x, where, arg)


def _broadcast(x: Operand, y: Operand, where: str) -> tuple[int, ...]:
    """The broadcast shape of x and y (each an array or a Python number), or a ValueError naming both shapes."""
    x_shape = x.shape if isinstance(x, np.ndarray) else ()
    y_shape = y.shape if isinstance(y, np.ndarray) else ()
    if x_shape == y_shape:  # the common case, without numpy's general rule
        return x_shape
    try:
        return np.broadcast_shapes(x_shape, y_shape)
    except ValueError:
        raise ValueError(f"{where}: x of shape {x_shape} and y of shape {y_shape} do not broadcast") from None


class MulLayer(Layer):
    """out = x · y (broadcasting); dx = dout · y, dy = dout · x, each summed to its input's shape."""

    def __init__(self) -> None:
        super().__init__()
        self.x: Operand | None = None
        self.y: Operand | None = None

    def forward(self, x: ArrayLike, y: ArrayLike) -> Any:
        self.x = None  # a forward that raises leaves nothing for backward
        x = _operand(x, "MulLayer.forward", "x")
        self.y = _operand(y, "MulLayer.forward", "y")
        self.shape = _broadcast(x, self.y, "MulLayer.forward")
        out = x * self.y
        self.x, self.dtype = x, np.result_type(out)
        return out

    def backward(self, dout: ArrayLike) -> tuple[Any, Any]:
        x, y = self._cache(self.x), self.y
        dout = self._dout(dout, self.shape, self.dtype)
        return sum_to(dout * y, np.shape(x)), sum_to(dout * x, np.shape(y))


class AddLayer(Layer):
    """out = x + y (broadcasting); dx = dout, dy = dout, each summed to its input's shape."""

    def __init__(self) -> None:
        super().__init__()
        self.shapes: tuple[tuple[int, ...], tuple[int, ...]] | None = None

    def forward(self, x: ArrayLike, y: ArrayLike) -> Any:
        self.shapes = None  # a forward that raises leaves nothing for backward
        x = _operand(x, "AddLayer.forward", "x")
        y = _operand(y, "AddLayer.forward", "y")
        self.shape = _broadcast(x, y, "AddLayer.forward")
        out = x + y
        self.shapes, self.dtype = (np.shape(x), np.shape(y)), np.result_type(out)
        return out

    def backward(self, dout: ArrayLike) -> tuple[Any, Any]:
        x_shape, y_shape = self._cache(self.shapes)
        dout = self._dout(dout, self.shape, self.dtype)
        return sum_to(dout, x_shape).copy(), sum_to(dout, y_shape).copy()  # never hand out dout


def _is_size(value: Any) -> bool:
    """Whether value is a plain positive integer (a layer size rather than an array)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


def init_weight(
    input_size: int,
    output_size: int,
    weight_init: str | float = "he",
    rng: RandomLike = None,
    dtype: DTypeLike = np.float64,
) -> np.ndarray:
    """W ~ N(0, s²) of shape (input_size, output_size), s = √(2/D) "he", √(1/D) "xavier", or s given."""
    input_size = integer(input_size, "init_weight", "input_size", least=1)
    output_size = integer(output_size, "init_weight", "output_size", least=1)
    dtype = float_dtype(dtype, "init_weight")
    if isinstance(weight_init, str):
        scales = {"he": np.sqrt(2.0 / input_size), "xavier": np.sqrt(1.0 / input_size)}
        if weight_init not in scales:
            raise ValueError(
                f"init_weight: weight_init must be 'he', 'xavier' or a standard deviation, got {weight_init!r}"
            )
        scale = scales[weight_init]
    else:
        try:
            scale = number(weight_init, "init_weight", "weight_init", low=0, open_low=True)
        except (TypeError, ValueError):
            raise ValueError(
                f"init_weight: weight_init must be 'he', 'xavier' or a standard deviation (a finite number > 0), got {weight_init!r}"
            ) from None
    draw = generator(rng, "init_weight").standard_normal((input_size, output_size))
    return (scale * draw).astype(dtype)  # drawn in float64: float32 and float64 nets start alike


class Affine(Layer):
    """y = x·W + b for x (N, D) — or (N, ...) flattened to (N, D), or one sample (D,) — W (D, M), b (M,).

    It computes in W's dtype: other inputs are cast to it, and dx comes back in the input's dtype.
    """

    def __init__(self, W: ArrayLike, b: ArrayLike) -> None:
        super().__init__()
        if _is_size(W) and _is_size(b):
            raise TypeError(
                f"Affine(W, b) takes the weight and bias arrays, as the book's does; for a layer from "
                f"{W} inputs to {b} outputs call Affine.from_sizes({W}, {b})"
            )
        W = as_numeric(W, "Affine", "W")
        b = as_numeric(b, "Affine", "b")
        if W.dtype.kind != "f":
            W = W.astype(np.float64)
        if W.ndim != 2:
            raise ValueError(f"Affine: W must have shape (D, M), got {W.shape}")
        if b.shape != W.shape[1:]:
            raise ValueError(f"Affine: b must have shape ({W.shape[1]},) to match W {W.shape}, got {b.shape}")
        if b.dtype != W.dtype:
            b = b.astype(W.dtype)
        self.params = {"W": W, "b": b}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}
        self.x: np.ndarray | None = None
        """The latest input as rows (N, D), as the book's Affine keeps it."""

    W = BookParam()
    """The book's name for params["W"], the live array."""
    b = BookParam()
    """The book's name for params["b"], the live array."""
    dW = BookParam(grad=True)
    """The book's name for grads["W"]."""
    db = BookParam(grad=True)
    """The book's name for grads["b"]."""

    @classmethod
    def from_sizes(
        cls,
        input_size: int,
        output_size: int,
        weight_init: str | float = "he",
        weight_init_std: float = 0.01,
        rng: RandomLike = None,
        dtype: DTypeLike = np.float64,
    ) -> Affine:
        """An Affine with W drawn by `weight_init` ("he", "xavier" or the book's "std") and b = 0."""
        scale = weight_init_std if weight_init == "std" else weight_init
        W = init_weight(input_size, output_size, scale, rng, dtype)
        return cls(W, np.zeros(output_size, dtype=dtype))

    def forward(self, x: ArrayLike) -> np.ndarray:
        self.x = None  # a forward that raises leaves nothing for backward
        W, b = self.params["W"], self.params["b"]
        x = as_numeric(x, "Affine.forward", "x")
        self.x_shape, self.x_dtype = x.shape, x.dtype
        if x.ndim != 2 or x.shape[1] != W.shape[0]:
            x = self._rows(x, W.shape[0])
        if x.dtype != W.dtype:  # the layer computes in its own dtype (float32 pixels into a float64 net)
            x = x.astype(W.dtype)
        self.x = x
        y = x @ W
        y += b
        if len(self.x_shape) == 1:
            y = y[0]
        self.y_shape = y.shape
        return y

    @staticmethod
    def _rows(x: np.ndarray, features: int) -> np.ndarray:
        """x (N, ...) with `features` values per sample, or one sample, as rows (N, features)."""
        if x.ndim == 0 or (math.prod(x.shape[1:]) if x.ndim > 1 else x.size) != features:
            raise ValueError(
                f"Affine.forward: x must have shape (N, {features}) or (N, ...) with "
                f"{features} features per sample, got {x.shape}"
            )
        return x.reshape(-1, features)

    def backward(self, dout: ArrayLike, need_dx: bool = True) -> np.ndarray | None:
        """dW = xᵀ·dout, db = Σ_N dout, and dx = dout·Wᵀ in x's shape (None when need_dx is False)."""
        x, W = self._cache(self.x), self.params["W"]
        dout = self._dout(dout, self.y_shape, W.dtype)
        if dout.ndim == 1:  # one sample
            dout = dout.reshape(1, -1)
        self.grads["W"] = x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        if not need_dx:
            return None
        dx = dout @ W.T
        if dx.shape != self.x_shape:
            dx = dx.reshape(self.x_shape)
        return dx if dx.dtype == self.x_dtype or self.x_dtype.kind != "f" else dx.astype(self.x_dtype)


class Sigmoid(Layer):
    """y = 1 / (1 + e^-x); dx = dout · y (1 - y)."""

    def __init__(self) -> None:
        super().__init__()
        self.y: np.ndarray | None = None

    def forward(self, x: ArrayLike) -> np.ndarray:
        self.y = None  # a forward that raises leaves nothing for backward
        self.y = sigmoid(as_numeric(x, "Sigmoid.forward", "x"))
        return self.y.copy()  # the caller owns the output; backward keeps its own y

    def backward(self, dout: ArrayLike) -> np.ndarray:
        y = self._cache(self.y)
        return self._dout(dout, y.shape, y.dtype) * y * (1 - y)

    @property
    def out(self) -> np.ndarray | None:
        """The book's name for the cached output y."""
        return self.y


class Tanh(Layer):
    """y = tanh(x); dx = dout · (1 - y²)."""

    def __init__(self) -> None:
        super().__init__()
        self.y: np.ndarray | None = None

    def forward(self, x: ArrayLike) -> np.ndarray:
        self.y = None  # a forward that raises leaves nothing for backward
        self.y = tanh(as_numeric(x, "Tanh.forward", "x"))
        return self.y.copy()  # the caller owns the output; backward keeps its own y

    def backward(self, dout: ArrayLike) -> np.ndarray:
        y = self._cache(self.y)
        return self._dout(dout, y.shape, y.dtype) * (1 - y * y)


class ReLU(Layer):
    """y = max(x, 0); dx = dout where x > 0, else 0. mask is the book's: True where x <= 0 (zeroed)."""

    kinks = (0.0,)

    def __init__(self) -> None:
        super().__init__()
        self.mask: np.ndarray | None = None

    def forward(self, x: ArrayLike) -> np.ndarray:
        self.mask = None  # a forward that raises leaves nothing for backward
        x = as_numeric(x, "ReLU.forward", "x")
        self.mask, self.dtype = x <= 0, x.dtype
        return np.maximum(x, 0)

    def backward(self, dout: ArrayLike) -> np.ndarray:
        mask = self._cache(self.mask)
        d = self._dout(dout, mask.shape, self.dtype)
        with np.errstate(invalid="ignore"):
            dx = d * np.logical_not(mask)  # a tenth of np.where's time; the same numbers wherever dout is finite
        return dx if np.isfinite(dx).all() else np.where(mask, 0, d)  # inf·0 would be nan where the gradient is 0
