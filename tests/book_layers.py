"""Correct layers written the way users write them after reading the book: duck-typed, caching and returning
their own outputs, drawing dropout masks from np.random or from a Generator they hold, keeping running
statistics, reusing buffers, and with kinks (ReLU at 0, max ties, max pooling). gradcheck must pass them all.

Shared by the gradcheck catalog, mutant and culprit tests (a helper module, not a test file).
"""

from __future__ import annotations

import numpy as np


class BookLayer:
    """No minigrad base class: the protocol only (forward, backward, params, grads)."""

    def __init__(self) -> None:
        self.params: dict = {}
        self.grads: dict = {}


class BookSigmoid(BookLayer):
    """y = 1 / (1 + e^-x), returned as the layer's own cache (the book's self.out); dx = dout · (1 - y) · y."""

    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out


class BookTanh(BookLayer):
    """y = tanh x, returned as the cache; dx = dout · (1 - y²)."""

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out**2)


class BufferedTanh(BookLayer):
    """tanh computed in place into one buffer reused by every forward, and that buffer returned."""

    def __init__(self) -> None:
        super().__init__()
        self.out = np.empty(0)

    def forward(self, x):
        if self.out.shape != x.shape:
            self.out = np.empty_like(x)
        np.tanh(x, out=self.out)
        return self.out

    def backward(self, dout):
        dx = np.square(self.out)
        np.subtract(1.0, dx, out=dx)
        dx *= dout
        return dx


class Relu:
    """The book's Relu as printed: y = max(x, 0) with mask (x <= 0); backward writes 0 into dout there and returns it."""

    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


class BookReLU(BookLayer, Relu):
    """The book's Relu with params/grads dicts, and a backward that copies dout instead of writing into it."""

    def backward(self, dout):
        dx = dout.copy()
        dx[self.mask] = 0
        return dx


class BookAffine(BookLayer):
    """y = x·W + b, caching x as the book does."""

    def __init__(self, W, b) -> None:
        self.params = {"W": W, "b": b}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["W"].T


class Dropout:
    """The book's dropout as printed (no params): mask = np.random.rand(...) > ratio on every forward; dx = dout · mask."""

    def __init__(self, dropout_ratio: float = 0.5) -> None:
        self.dropout_ratio = dropout_ratio
        self.mask = None

    def forward(self, x, train_flg=True):
        if train_flg:
            self.mask = np.random.rand(*x.shape) > self.dropout_ratio
            return x * self.mask
        return x * (1.0 - self.dropout_ratio)

    def backward(self, dout):
        return dout * self.mask


class BookDropout(BookLayer, Dropout):
    """The book's dropout with (empty) params and grads dicts."""

    def __init__(self, dropout_ratio: float = 0.5) -> None:
        BookLayer.__init__(self)
        Dropout.__init__(self, dropout_ratio)


class GeneratorDropout(BookLayer):
    """Inverted dropout drawing its mask from a Generator it holds: y = x · mask / (1 - p)."""

    def __init__(self, p: float = 0.3, seed: int = 0) -> None:
        super().__init__()
        self.p = p
        self.rng = np.random.default_rng(seed)

    def forward(self, x):
        self.mask = (self.rng.random(x.shape) >= self.p) / (1.0 - self.p)
        return x * self.mask

    def backward(self, dout):
        return dout * self.mask


class RunningBatchNorm(BookLayer):
    """Batch norm over (N, D) in training mode: y = γ x̂ + β, x̂ = (x - μ) / √(σ² + ε); running μ, σ² updated in forward.

    `rebind=True` updates the running statistics the book's way (new arrays); otherwise in place in `buffers`.
    """

    def __init__(self, D: int, rng: np.random.Generator, momentum: float = 0.9, rebind: bool = True) -> None:
        self.params = {"gamma": rng.uniform(0.5, 1.5, D), "beta": rng.uniform(-0.5, 0.5, D)}
        self.grads = {k: np.zeros(D) for k in self.params}
        self.momentum, self.eps, self.rebind = momentum, 1e-5, rebind
        self.running_mean, self.running_var = np.zeros(D), np.ones(D)
        self.buffers = {"running_mean": np.zeros(D), "running_var": np.ones(D)}

    def forward(self, x):
        mu = x.mean(axis=0)
        self.xc = x - mu
        var = np.mean(self.xc**2, axis=0)
        self.std = np.sqrt(var + self.eps)
        self.xn = self.xc / self.std
        m = self.momentum
        if self.rebind:
            self.running_mean = m * self.running_mean + (1 - m) * mu
            self.running_var = m * self.running_var + (1 - m) * var
        else:
            self.buffers["running_mean"] *= m
            self.buffers["running_mean"] += (1 - m) * mu
            self.buffers["running_var"] *= m
            self.buffers["running_var"] += (1 - m) * var
        return self.params["gamma"] * self.xn + self.params["beta"]

    def backward(self, dout):
        N = dout.shape[0]
        self.grads["beta"] = dout.sum(axis=0)
        self.grads["gamma"] = np.sum(self.xn * dout, axis=0)
        dxn = self.params["gamma"] * dout
        dxc = dxn / self.std
        dstd = -np.sum(dxn * self.xc / self.std**2, axis=0)
        dvar = 0.5 * dstd / self.std
        dxc = dxc + (2.0 / N) * self.xc * dvar
        dmu = np.sum(dxc, axis=0)
        return dxc - dmu / N


class RowMax(BookLayer):
    """y = max over the last axis; dx routes dout to the first arg-max (a kink wherever entries tie)."""

    def forward(self, x):
        self.x = x
        self.arg = x.argmax(axis=-1)
        return x.max(axis=-1)

    def backward(self, dout):
        dx = np.zeros_like(self.x)
        np.put_along_axis(dx, self.arg[..., None], dout[..., None], axis=-1)
        return dx


class MaxPool2(BookLayer):
    """Max pooling over 2×2 windows, stride 2, of (N, C, H, W) with even H, W; dx routes dout to the first arg-max."""

    def forward(self, x):
        N, C, H, W = x.shape
        windows = x.reshape(N, C, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, H // 2, W // 2, 4)
        self.shape = x.shape
        self.arg = windows.argmax(axis=-1)
        return windows.max(axis=-1)

    def backward(self, dout):
        N, C, H, W = self.shape
        dw = np.zeros((N, C, H // 2, W // 2, 4))
        np.put_along_axis(dw, self.arg[..., None], dout[..., None], axis=-1)
        return dw.reshape(N, C, H // 2, W // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, H, W)


def relu_at_zero(rng: np.random.Generator, shape: tuple[int, ...], fraction: float = 0.1) -> np.ndarray:
    """N(0, 1) values away from 0, with `fraction` of the elements exactly 0 (ReLU's kink)."""
    x = rng.uniform(0.1, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    x.flat[rng.choice(x.size, int(round(fraction * x.size)), replace=False)] = 0.0
    return x


def rows_with_ties(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Rows whose maximum is tied between two entries in every other row."""
    x = rng.uniform(-1.0, 1.0, (rows, cols))
    for r in range(0, rows, 2):
        i, j = rng.choice(cols, 2, replace=False)
        x[r, i] = x[r, j] = 1.5
    return x


def pooled_relu_outputs(rng: np.random.Generator, shape: tuple[int, int, int, int]) -> np.ndarray:
    """ReLU outputs where a quarter of the 2×2 windows are all zeros (a quarter of the elements tie at 0)."""
    x = np.maximum(rng.standard_normal(shape), 0.0)
    x[x > 0] += 0.1  # positive values away from 0, so only the all-zero windows tie
    N, C, H, W = shape
    windows = rng.random((N, C, H // 2, W // 2)) < 0.25
    mask = windows.repeat(2, axis=2).repeat(2, axis=3)
    x[mask] = 0.0
    return x
