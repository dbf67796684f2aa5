"""Loss layers: forward(y, t) -> float, backward(dout=1.0) -> dy. Targets t are data, never differentiated."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .functions import (
    as_numeric,
    batch_size,
    binary_batch_size,
    check_targets,
    sigmoid,
    sigmoid_cross_entropy,
    softmax_with_cross_entropy,
    squared_error,
    target_index,
)
from .layers import Layer

__all__ = ["Loss", "SoftmaxWithLoss", "SigmoidWithLoss", "MeanSquaredError"]


class Loss(Layer):
    """Base class for losses: forward(y, t) -> float; backward(dout=1.0) -> dy only."""

    def forward(self, y: Any, t: Any) -> float:
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    def backward(self, dout: float = 1.0) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement backward")

    def _scale(self, dout: ArrayLike, n: int) -> float:
        """dout / N, checking that dout is a number."""
        if type(dout) is float:  # the usual 1.0
            return dout / n
        d = as_numeric(dout, f"{type(self).__name__}.backward", "dout")
        if d.ndim != 0:
            raise ValueError(f"{type(self).__name__}.backward: dout must be a scalar, got shape {d.shape}")
        return float(d) / n

    def _float_input(self, x: ArrayLike, arg: str) -> np.ndarray:
        x = as_numeric(x, f"{type(self).__name__}.forward", arg)
        return x if x.dtype.kind == "f" else x.astype(np.float64)



class SoftmaxWithLoss(Loss):
    """L = -Σ t log softmax(x) / N for logits x (N, C) or (C,); dx = dout · (softmax(x) - t) / N for one-hot t."""

    def __init__(self) -> None:
        super().__init__()
        self.y: np.ndarray | None = None
        """softmax(x) from the latest forward (the book's y)."""
        self.t: np.ndarray | None = None
        self.loss: float | None = None
        """The latest forward's loss (the book's loss)."""

    def forward(self, x: ArrayLike, t: ArrayLike) -> float:
        self.y = None  # a forward that raises leaves nothing for backward
        x = self._float_input(x, "x")
        if x.ndim not in (1, 2):
            raise ValueError(f"SoftmaxWithLoss.forward: x must have shape (N, C) or (C,), got {x.shape}")
        self.t = check_targets(x, t, "SoftmaxWithLoss.forward")
        self.y, self.loss = softmax_with_cross_entropy(x, self.t)
        return self.loss

    def backward(self, dout: float = 1.0) -> np.ndarray:
        y, t = self._cache(self.y), self.t
        scale = self._scale(dout, batch_size(y))
        if t.shape == y.shape:  # target rows, which need not sum to 1: d/dx = y Σ_k t_k - t
            return (y * t.sum(axis=-1, keepdims=True) - t) * scale
        dx = y * scale
        dx[target_index(t)] -= scale
        return dx


class SigmoidWithLoss(Loss):
    """L = binary cross entropy of sigmoid(x) against t in [0, 1], from logits x (N, ...); dx = dout · (σ(x) - t) / N."""

    def __init__(self) -> None:
        super().__init__()
        self.y: np.ndarray | None = None
        self.t: np.ndarray | None = None

    def forward(self, x: ArrayLike, t: ArrayLike) -> float:
        self.y = None  # a forward that raises leaves nothing for backward
        x = self._float_input(x, "x")
        self.t = check_targets(x, t, "SigmoidWithLoss.forward", "binary")
        self.y = sigmoid(x)
        return sigmoid_cross_entropy(x, self.t)

    def backward(self, dout: float = 1.0) -> np.ndarray:
        y, t = self._cache(self.y), self.t
        return (y - t) * self._scale(dout, binary_batch_size(y))


class MeanSquaredError(Loss):
    """L = 0.5 Σ (y - t)² / N for y (N, ...) or one sample (C,); dy = dout · (y - t) / N."""

    def __init__(self) -> None:
        super().__init__()
        self.diff: np.ndarray | None = None

    def forward(self, y: ArrayLike, t: ArrayLike) -> float:
        self.diff = None  # a forward that raises leaves nothing for backward
        y = self._float_input(y, "y")
        t = check_targets(y, t, "MeanSquaredError.forward", "value")
        loss = squared_error(y, t)
        with np.errstate(over="ignore"):  # beyond the float range the gradient is inf, as the loss is
            self.diff = y - t
        return loss

    def backward(self, dout: float = 1.0) -> np.ndarray:
        diff = self._cache(self.diff)
        return diff * self._scale(dout, batch_size(diff))
