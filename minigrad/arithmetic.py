"""The rest of arithmetic as layers, beside the book's MulLayer and AddLayer: what a Variable's operators run.

Binary layers broadcast as numpy does, and each input's gradient is summed back to its shape;
gradients keep the output's float dtype. Each is a Layer (forward caches what backward needs).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .functions import _float, as_numeric, sum_to
from .layers import Layer, Operand, _broadcast, _operand

__all__ = [
    "SubLayer",
    "DivLayer",
    "NegLayer",
    "PowLayer",
    "MatMulLayer",
    "Exp",
    "Log",
    "Sum",
    "Mean",
    "Reshape",
    "Transpose",
    "Index",
]


class _Binary(Layer):
    """What SubLayer and DivLayer share: both operands kept, the broadcast shape and the output's dtype."""

    def __init__(self) -> None:
        super().__init__()
        self.x: Operand | None = None
        self.y: Operand | None = None

    def _inputs(self, x: ArrayLike, y: ArrayLike) -> tuple[Operand, Operand]:
        self.x = None  # a forward that raises leaves nothing for backward
        where = f"{type(self).__name__}.forward"
        x, y = _operand(x, where, "x"), _operand(y, where, "y")
        self.shape = _broadcast(x, y, where)
        return x, y

    def _keep(self, x: Operand, y: Operand, out: Any) -> Any:
        self.x, self.y, self.dtype = x, y, np.result_type(out)
        return out


class SubLayer(_Binary):
    """out = x - y (broadcasting); dx = dout, dy = -dout, each summed to its input's shape."""

    def forward(self, x: ArrayLike, y: ArrayLike) -> Any:
        x, y = self._inputs(x, y)
        return self._keep(x, y, x - y)

    def backward(self, dout: ArrayLike) -> tuple[Any, Any]:
        x, y = self._cache(self.x), self.y
        dout = self._dout(dout, self.shape, self.dtype)
        return sum_to(dout, np.shape(x)).copy(), sum_to(-dout, np.shape(y))  # never hand out dout


class DivLayer(_Binary):
    """out = x / y (broadcasting); dx = dout / y, dy = -dout · x / y², each summed to its input's shape."""

    def forward(self, x: ArrayLike, y: ArrayLike) -> Any:
        x, y = self._inputs(x, y)
        with np.errstate(divide="ignore", over="ignore"):  # x / 0 is ±inf, as in numpy without the warning
            return self._keep(x, y, x / y)

    def backward(self, dout: ArrayLike) -> tuple[Any, Any]:
        x, y = self._cache(self.x), self.y
        dout = self._dout(dout, self.shape, self.dtype)
        with np.errstate(divide="ignore", over="ignore"):
            dx = dout / y
            return sum_to(dx, np.shape(x)), sum_to(-dx * x / y, np.shape(y))


class NegLayer(Layer):
    """out = -x; dx = -dout."""

    def __init__(self) -> None:
        super().__init__()
        self.shape: tuple[int, ...] | None = None

    def forward(self, x: ArrayLike) -> Any:
        self.shape = None  # a forward that raises leaves nothing for backward
        x = _operand(x, "NegLayer.forward", "x")
        out = -x
        self.shape, self.dtype = np.shape(x), np.result_type(out)
        return out

    def backward(self, dout: ArrayLike) -> Any:
        return -self._dout(dout, self._cache(self.shape), self.dtype)


class PowLayer(Layer):
    """out = x ** c for a number c; dx = dout · c · x^(c-1)."""

    def __init__(self, c: float) -> None:
        super().__init__()
        if isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)):
            raise TypeError(f"PowLayer: the exponent c must be a number, got {c!r} ({type(c).__name__})")
        self.c = c
        self.x: Operand | None = None

    def forward(self, x: ArrayLike) -> Any:
        self.x = None  # a forward that raises leaves nothing for backward
        x = _operand(x, "PowLayer.forward", "x")
        if isinstance(x, np.ndarray) and x.dtype.kind != "f" and self.c < 0:
            x = x.astype(np.float64)  # numpy refuses integers to negative integer powers
        if float(self.c) != round(self.c) and np.any(np.less(x, 0)):
            raise ValueError(f"PowLayer.forward: x must be >= 0 for the fractional exponent {self.c}, got a minimum of {np.min(x)}")
        with np.errstate(divide="ignore", over="ignore"):  # 0 ** -1 is inf
            out = x**self.c
        self.x, self.dtype = x, np.result_type(out)
        return out

    def backward(self, dout: ArrayLike) -> Any:
        x = self._cache(self.x)
        dout = self._dout(dout, np.shape(x), self.dtype)
        with np.errstate(divide="ignore", over="ignore"):
            return dout * self.c * x ** (self.c - 1)


class MatMulLayer(Layer):
    """out = x @ y (numpy's matmul: (N, D) @ (D, M) -> (N, M), 1-D and batched too); dx = dout @ yᵀ, dy = xᵀ @ dout."""

    def __init__(self) -> None:
        super().__init__()
        self.x: np.ndarray | None = None
        self.y: np.ndarray | None = None

    def forward(self, x: ArrayLike, y: ArrayLike) -> np.ndarray:
        self.x = None  # a forward that raises leaves nothing for backward
        x, y = as_numeric(x, "MatMulLayer.forward", "x"), as_numeric(y, "MatMulLayer.forward", "y")
        if x.ndim == 0 or y.ndim == 0 or x.shape[-1] != y.shape[0 if y.ndim == 1 else -2]:
            raise ValueError(
                f"MatMulLayer.forward: x @ y needs x (..., D) and y (D,) or (..., D, M) with one D, got {x.shape} and {y.shape}"
            )
        out = x @ y
        self.y, self.shape, self.dtype = y, out.shape, out.dtype
        self.x = x
        return out

    def backward(self, dout: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._cache(self.x), self.y
        dout = self._dout(dout, self.shape, self.dtype)
        x2 = x.reshape(1, -1) if x.ndim == 1 else x  # 1-D operands as a row and a column, as matmul reads them
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        d = dout.reshape(np.broadcast_shapes(x2.shape[:-2], y2.shape[:-2]) + (x2.shape[-2], y2.shape[-1]))
        dx = sum_to(d @ np.swapaxes(y2, -1, -2), x2.shape).reshape(x.shape)
        dy = sum_to(np.swapaxes(x2, -1, -2) @ d, y2.shape).reshape(y.shape)
        return dx, dy


class Exp(Layer):
    """y = e^x; dx = dout · y."""

    def __init__(self) -> None:
        super().__init__()
        self.y: np.ndarray | None = None

    def forward(self, x: ArrayLike) -> np.ndarray:
        self.y = None  # a forward that raises leaves nothing for backward
        with np.errstate(over="ignore"):  # beyond the float range e^x is inf
            self.y = np.exp(as_numeric(x, "Exp.forward", "x"))
        return self.y.copy()  # the caller owns the output; backward keeps its own y

    def backward(self, dout: ArrayLike) -> np.ndarray:
        y = self._cache(self.y)
        with np.errstate(over="ignore", invalid="ignore"):
            return self._dout(dout, y.shape, y.dtype) * y


class Log(Layer):
    """y = ln x for x > 0; dx = dout / x."""

    def __init__(self) -> None:
        super().__init__()
        self.x: np.ndarray | None = None

    def forward(self, x: ArrayLike) -> np.ndarray:
        self.x = None  # a forward that raises leaves nothing for backward
        x = _float(x, "Log.forward", "x")
        if not np.all(x > 0):  # nan included
            raise ValueError(f"Log.forward: x must be > 0 everywhere, got a minimum of {np.min(x)}")
        self.x = x
        return np.log(x)

    def backward(self, dout: ArrayLike) -> np.ndarray:
        x = self._cache(self.x)
        return self._dout(dout, x.shape, x.dtype) / x


def _axes(axis: int | tuple[int, ...] | None, ndim: int, where: str) -> tuple[int, ...]:
    """axis (None: all, an int or a tuple, negatives allowed) as sorted non-negative axes, or a ValueError."""
    axes = range(ndim) if axis is None else (axis,) if isinstance(axis, (int, np.integer)) else axis
    try:
        found = sorted({int(a) + ndim if int(a) < 0 else int(a) for a in axes})
    except (TypeError, ValueError):
        raise TypeError(f"{where}: axis must be None, an int or a tuple of ints, got {axis!r}") from None
    if any(not 0 <= a < ndim for a in found):
        raise ValueError(f"{where}: axis {axis!r} is out of range for an input of {ndim} dimensions")
    return tuple(found)


class Sum(Layer):
    """y = Σ x over axis (None: all; keepdims as numpy's); dx = dout broadcast back to x's shape."""

    def __init__(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> None:
        super().__init__()
        self.axis, self.keepdims = axis, bool(keepdims)
        self.shape: tuple[int, ...] | None = None

    def forward(self, x: ArrayLike) -> np.ndarray:
        self.shape = None  # a forward that raises leaves nothing for backward
        x = as_numeric(x, f"{type(self).__name__}.forward", "x")
        self.axes = _axes(self.axis, x.ndim, f"{type(self).__name__}.forward")
        y = self._reduce(x)
        self.shape, self.dtype, self.y_shape = x.shape, y.dtype, y.shape
        return y

    def _reduce(self, x: np.ndarray) -> np.ndarray:
        return np.sum(x, axis=self.axes, keepdims=self.keepdims)

    def backward(self, dout: ArrayLike) -> np.ndarray:
        shape = self._cache(self.shape)
        dout = self._dout(dout, self.y_shape, self.dtype)
        kept = dout.reshape([1 if i in self.axes else n for i, n in enumerate(shape)])
        return np.broadcast_to(kept * self._scale(), shape).copy()

    def _scale(self) -> float:
        return 1.0


class Mean(Sum):
    """y = mean of x over axis (None: all; keepdims as numpy's); dx = dout / n broadcast back, n the values averaged."""

    def _reduce(self, x: np.ndarray) -> np.ndarray:
        return np.mean(x, axis=self.axes, keepdims=self.keepdims)

    def _scale(self) -> float:
        n = 1
        for a in self.axes:
            n *= self._cache(self.shape)[a]
        return 1.0 / n


class Reshape(Layer):
    """y = x reshaped to `shape` (one -1 allowed); dx = dout reshaped back to x's shape."""

    def __init__(self, *shape: int) -> None:
        super().__init__()
        self.shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        self.x_shape: tuple[int, ...] | None = None

    def forward(self, x: ArrayLike) -> np.ndarray:
        self.x_shape = None  # a forward that raises leaves nothing for backward
        x = as_numeric(x, "Reshape.forward", "x")
        try:
            y = x.reshape(self.shape)
        except (TypeError, ValueError) as e:
            raise ValueError(f"Reshape.forward: cannot reshape x of shape {x.shape} to {self.shape} ({e})") from None
        self.x_shape, self.y_shape, self.dtype = x.shape, y.shape, x.dtype
        return y

    def backward(self, dout: ArrayLike) -> np.ndarray:
        x_shape = self._cache(self.x_shape)
        return self._dout(dout, self.y_shape, self.dtype).reshape(x_shape).copy()  # never hand out dout


class Transpose(Layer):
    """y = x with its axes permuted (None: reversed, as x.T); dx = dout permuted back."""

    def __init__(self, axes: tuple[int, ...] | None = None) -> None:
        super().__init__()
        self.axes = None if axes is None else tuple(axes)
        self.order: tuple[int, ...] | None = None

    def forward(self, x: ArrayLike) -> np.ndarray:
        self.order = None  # a forward that raises leaves nothing for backward
        x = as_numeric(x, "Transpose.forward", "x")
        order = tuple(range(x.ndim))[::-1] if self.axes is None else self.axes
        if sorted(a % max(x.ndim, 1) for a in order) != list(range(x.ndim)) or len(order) != x.ndim:
            raise ValueError(f"Transpose.forward: axes {self.axes} are not a permutation of x's {x.ndim} axes")
        y = x.transpose(order)
        self.order, self.y_shape, self.dtype = order, y.shape, x.dtype
        return y

    def backward(self, dout: ArrayLike) -> np.ndarray:
        order = self._cache(self.order)
        return self._dout(dout, self.y_shape, self.dtype).transpose(np.argsort(order)).copy()


class Index(Layer):
    """y = x[key] (numpy indexing: ints, slices, arrays); dx = zeros of x's shape with dout added at key (repeats summed)."""

    def __init__(self, key: Any) -> None:
        super().__init__()
        self.key = key
        self.shape: tuple[int, ...] | None = None

    def forward(self, x: ArrayLike) -> np.ndarray:
        self.shape = None  # a forward that raises leaves nothing for backward
        x = as_numeric(x, "Index.forward", "x")
        try:
            y = x[self.key]
        except (IndexError, TypeError, ValueError) as e:
            raise type(e)(f"Index.forward: x of shape {x.shape} cannot be indexed by {self.key!r} ({e})") from None
        self.shape, self.y_shape, self.dtype = x.shape, np.shape(y), x.dtype
        return y

    def backward(self, dout: ArrayLike) -> np.ndarray:
        shape = self._cache(self.shape)
        dx = np.zeros(shape, dtype=self.dtype if self.dtype.kind == "f" else np.float64)
        np.add.at(dx, self.key, self._dout(dout, self.y_shape, dx.dtype))
        return dx
