"""Layers that behave differently in training and in inference: BatchNormalization and Dropout.

Each has a boolean ``training`` (True when built); ``Sequential.train()`` / ``.eval()`` set it on
every layer, and ``predict``/``accuracy`` always run in inference mode.

BatchNormalization's running variance averages the *unbiased* batch variance m/(m − 1)·σ² (m values
per feature), as PyTorch does, while normalizing each training batch by the biased σ². The book
averages the biased σ²; minigrad does not, because the running variance stands for the population
variance that inference divides by, and the biased estimate undershoots it by a factor (m − 1)/m
(12.5% at a batch of 8). A minigrad layer and ``torch.nn.BatchNorm*d`` with
``momentum = 1 − minigrad's momentum`` and the same ``eps`` therefore hold the same running
statistics after the same batches, and exchange ``running_mean`` / ``running_var`` as they are.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .arguments import RandomLike, generator, number
from .functions import as_numeric
from .layers import BookParam, Layer

__all__ = ["BatchNormalization", "Dropout"]


def _vector(value: Any, where: str, arg: str, size: int | None = None, dtype: Any = None) -> np.ndarray:
    """value as a 1-D float array (of `size` elements and `dtype` when given), or an error naming `where.arg`."""
    a = as_numeric(value, where, arg)
    if a.ndim != 1 or (size is not None and a.size != size):
        expected = "a 1-D array" if size is None else f"shape ({size},)"
        raise ValueError(f"{where}: {arg} must have {expected}, got shape {a.shape}")
    if dtype is not None:
        return a.astype(dtype, copy=True)
    return a if a.dtype.kind == "f" else a.astype(np.float64)


class BatchNormalization(Layer):
    """y = γ·(x − μ)/√(σ² + eps) + β; μ, σ² of the batch (training) or running (inference); x (N, D) or (N, C, H, W).

    Statistics are per feature for (N, D), per channel for (N, C, H, W) as PyTorch's BatchNorm2d
    (gamma of size C), or per activation as the book's flattening when gamma has size C·H·W.
    Training also moves running ← momentum·running + (1 − momentum)·batch (variance: unbiased, see
    the module docstring); inference uses the running statistics and leaves them alone.
    """

    def __init__(
        self,
        gamma: ArrayLike,
        beta: ArrayLike,
        momentum: float = 0.9,
        running_mean: ArrayLike | None = None,
        running_var: ArrayLike | None = None,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        gamma = _vector(gamma, "BatchNormalization", "gamma")
        beta = _vector(beta, "BatchNormalization", "beta", gamma.size, gamma.dtype)
        momentum = number(momentum, "BatchNormalization", "momentum", low=0, high=1, open_high=True)
        eps = number(eps, "BatchNormalization", "eps", low=0, open_low=True)
        d, dt = gamma.size, gamma.dtype
        if d == 0:
            raise ValueError("BatchNormalization: gamma must have at least one element (one per feature or channel), got shape (0,)")
        mean = np.zeros(d, dt) if running_mean is None else _vector(running_mean, "BatchNormalization", "running_mean", d, dt)
        var = np.ones(d, dt) if running_var is None else _vector(running_var, "BatchNormalization", "running_var", d, dt)
        self.params = {"gamma": gamma, "beta": beta}
        self.grads = {"gamma": np.zeros_like(gamma), "beta": np.zeros_like(beta)}
        self.buffers: dict[str, np.ndarray] = {"running_mean": mean, "running_var": var}
        self.check_state("BatchNormalization")
        self.momentum, self.eps = momentum, eps
        self.training = True
        self.xn: np.ndarray | None = None

    gamma, beta, dgamma, dbeta = BookParam(), BookParam(), BookParam(grad=True), BookParam(grad=True)
    """The book's names for params["gamma"], params["beta"] (the live arrays) and grads["gamma"], grads["beta"]."""

    @property
    def running_mean(self) -> np.ndarray:
        """The running mean, shape gamma's: the live array in buffers."""
        return self.buffers["running_mean"]

    @property
    def running_var(self) -> np.ndarray:
        """The running (unbiased) variance, shape gamma's: the live array in buffers."""
        return self.buffers["running_var"]

    def check_state(self, where: str) -> None:
        """A ValueError naming where and the array unless the running statistics are finite and running_var >= 0."""
        for name, a in self.buffers.items():
            if not np.isfinite(a).all():
                raise ValueError(f"{where}: {name} must be finite, got {a[~np.isfinite(a)].flat[0]} in it")
        var = self.buffers["running_var"]
        if (var < 0).any():
            raise ValueError(f"{where}: running_var must be >= 0 (it is a variance), got {var.min()} in it")

    def _layout(self, x: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The axes reduced over and the shape that gamma and the statistics broadcast as, for x."""
        d = self.params["gamma"].size
        if x.ndim == 2 and x.shape[1] == d:
            return (0,), (d,)
        if x.ndim == 4 and x.shape[1] == d:
            return (0, 2, 3), (d, 1, 1)
        if x.ndim == 4 and math.prod(x.shape[1:]) == d:
            return (0,), x.shape[1:]
        raise ValueError(
            f"BatchNormalization.forward: x must have shape (N, {d}), (N, {d}, H, W) or (N, C, H, W) with "
            f"C·H·W = {d}, got {x.shape}"
        )

    def forward(self, x: ArrayLike) -> np.ndarray:
        self.xn = None  # a forward that raises leaves nothing for backward
        x = as_numeric(x, "BatchNormalization.forward", "x")
        gamma, beta = self.params["gamma"], self.params["beta"]
        axes, shape = self._layout(x)
        self.x_dtype = x.dtype
        x = x.astype(gamma.dtype, copy=False)
        if self.training:
            m = x.size // math.prod(shape)
            if m < 2:
                raise ValueError(
                    f"BatchNormalization.forward: training needs at least 2 values per feature, got x of shape "
                    f"{x.shape}; use a batch of at least 2, or eval() for one sample"
                )
            mu = x.mean(axis=axes, keepdims=True)
            xc = x - mu
            var = np.mean(xc * xc, axis=axes, keepdims=True)
            self.std = np.sqrt(var + self.eps)
            self._track(self.running_mean, mu)
            self._track(self.running_var, var * (m / (m - 1)))
        else:
            xc = x - self.running_mean.reshape(shape)
            self.std = np.sqrt(self.running_var.reshape(shape) + self.eps)
        self.xn, self.axes, self.shape, self.batch_stats = xc / self.std, axes, shape, self.training
        return gamma.reshape(shape) * self.xn + beta.reshape(shape)

    def _track(self, running: np.ndarray, batch: np.ndarray) -> None:
        """running ← momentum·running + (1 − momentum)·batch, in place."""
        running *= self.momentum
        running += (1 - self.momentum) * batch.reshape(running.shape)

    def backward(self, dout: ArrayLike) -> np.ndarray:
        """dβ = Σ dout, dγ = Σ dout·x̂; dx = (dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))/σ in training, dx̂/σ in inference."""
        xn = self._cache(self.xn)
        dout = self._dout(dout, xn.shape, xn.dtype)
        axes, shape = self.axes, self.shape
        self.grads["beta"] = dout.sum(axis=axes).reshape(-1)
        self.grads["gamma"] = (dout * xn).sum(axis=axes).reshape(-1)
        dxn = dout * self.params["gamma"].reshape(shape)
        if self.batch_stats:  # the batch's μ and σ depend on x too
            dxn = dxn - dxn.mean(axis=axes, keepdims=True) - xn * np.mean(dxn * xn, axis=axes, keepdims=True)
        dx = dxn / self.std
        return dx if dx.dtype == self.x_dtype or self.x_dtype.kind != "f" else dx.astype(self.x_dtype)

    def __repr__(self) -> str:
        return f"BatchNormalization({self.params['gamma'].size}, momentum={self.momentum}, eps={self.eps})"


class Dropout(Layer):
    """Training: y = x·mask/(1 − r), mask ~ Bernoulli(1 − r) drawn from self.rng; inference: y = x. dx = dout·mask/(1 − r)."""

    def __init__(self, dropout_ratio: float = 0.5, rng: RandomLike = None) -> None:
        super().__init__()
        self.dropout_ratio = number(dropout_ratio, "Dropout", "dropout_ratio", low=0, high=1, open_high=True)
        self.rng = generator(rng, "Dropout")
        self.training = True
        self.mask: np.ndarray | None = None

    def forward(self, x: ArrayLike) -> np.ndarray:
        self.mask = None  # a forward that raises leaves nothing for backward
        x = as_numeric(x, "Dropout.forward", "x")
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        if self.training:
            keep = self.rng.random(x.shape) >= self.dropout_ratio  # drawn in float64: every dtype gets the same mask
            self.mask = keep.astype(x.dtype)
            self.mask *= 1 / (1 - self.dropout_ratio)
        else:
            self.mask = np.ones(x.shape, x.dtype)
        return x * self.mask

    def backward(self, dout: ArrayLike) -> np.ndarray:
        mask = self._cache(self.mask)
        return self._dout(dout, mask.shape, mask.dtype) * mask

    def __repr__(self) -> str:
        return f"Dropout({self.dropout_ratio})"
