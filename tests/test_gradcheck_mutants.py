"""The mutant catalog: deliberately wrong layers, the mistakes people make; gradcheck must flag each, naming the tensor."""

from __future__ import annotations

import numpy as np
import pytest

from minigrad import (
    AddLayer,
    Affine,
    MeanSquaredError,
    MulLayer,
    ReLU,
    Sigmoid,
    SoftmaxWithLoss,
    Tanh,
)
from minigrad.gradcheck import gradcheck


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
    """Values in ±[0.2, 1.5): inside ReLU's smooth pieces, sigmoid/tanh well away from saturation."""
    return (rng.uniform(0.2, 1.5, shape) * rng.choice([-1.0, 1.0], shape)).astype(dtype)


def make_affine(rng: np.random.Generator, d: int = 4, m: int = 2, cls=Affine, dtype=np.float64) -> Affine:
    return cls(away_from_zero(rng, (d, m), dtype), away_from_zero(rng, (m,), dtype))


# --- the mutants ----------------------------------------------------------------------------------


class MSEWithoutMean(MeanSquaredError):
    """Missing /N: dy = dout · (y - t)."""

    def backward(self, dout=1.0):
        return self.diff * dout


class SoftmaxLossForgetsN(SoftmaxWithLoss):
    """Missing /N in the one-hot branch of the softmax loss."""

    def backward(self, dout=1.0):
        return (self.y - self.t) * dout


class AffineTransposedDW(Affine):
    """dW = (xᵀ·dout)ᵀ: right shape only when W is square."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] = self.grads["W"].T.copy()
        return dx


class AffineBiasWrongAxis(Affine):
    """db summed over the feature axis instead of the batch axis (a shape error unless N == M)."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = np.asarray(dout).sum(axis=1)
        return dx


class AffineBiasMean(Affine):
    """db = mean over the batch instead of the sum."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = np.asarray(dout).mean(axis=0)
        return dx


class AffineBatchOfOne(Affine):
    """dW from the first sample only: correct for batch size 1, wrong for any other."""

    def backward(self, dout):
        dx = super().backward(dout)
        dout = np.asarray(dout)
        self.grads["W"] = np.outer(self.x[0], dout[0])
        return dx


class AffineForgetsBias(Affine):
    """A forgotten parameter gradient: grads["b"] is never written."""

    def backward(self, dout):
        x, W = self.x, self.params["W"]
        dout = np.asarray(dout)
        self.grads["W"] = x.T @ dout
        return (dout @ W.T).reshape(self.x_shape)


class AffineAccumulates(Affine):
    """dW += ...: gradients accumulate across calls."""

    def backward(self, dout):
        old = self.grads["W"].copy()
        dx = super().backward(dout)
        self.grads["W"] = old + self.grads["W"]
        return dx


class AffineStaleCache(Affine):
    """Caches x only on the first forward: later backwards use the first batch's x."""

    def forward(self, x):
        first = self.x
        y = super().forward(x)
        if first is not None:
            self.x = first
        return y


class AffineScalesParams(Affine):
    """Forward renormalises W in place: it modifies its own parameter."""

    def forward(self, x):
        W = self.params["W"]
        W *= 1.0 + 1e-3
        return super().forward(x)


class ReLUSignError(ReLU):
    """dx = -dout where x > 0."""

    def backward(self, dout):
        return -super().backward(dout)


class ReLUWritesDout(ReLU):
    """The book's in-place ReLU backward: dout[x <= 0] = 0, handing dout back."""

    def backward(self, dout):
        dout[~self.mask] = 0
        return dout


class SigmoidUsesX(Sigmoid):
    """dx = dout · x (1 - x): the derivative taken at x instead of at y."""

    def forward(self, x):
        self.x = np.asarray(x).copy()
        return super().forward(x)

    def backward(self, dout):
        return np.asarray(dout) * self.x * (1 - self.x)


class SigmoidReturnsCache(Sigmoid):
    """Forward hands out the array backward needs: the caller's changes corrupt backward."""

    def forward(self, x):
        super().forward(x)
        return self.y


class TanhWrongDerivative(Tanh):
    """dx = dout · (1 + y²): the sign inside the derivative is wrong."""

    def backward(self, dout):
        return np.asarray(dout) * (1 + self.y * self.y)


class MulSwapped(MulLayer):
    """dx = dout · x, dy = dout · y: the two partial derivatives swapped."""

    def backward(self, dout):
        return dout * self.x, dout * self.y


class AddForgetsSumTo(AddLayer):
    """dy = dout without summing back over broadcast axes."""

    def backward(self, dout):
        return np.array(dout), np.array(dout)


class SigmoidScribblesInput(Sigmoid):
    """Backward clips the input it only borrowed."""

    def forward(self, x):
        self.x = x
        return super().forward(x)

    def backward(self, dout):
        np.clip(self.x, -1, 1, out=self.x)
        return super().backward(dout)


class LossForwardHalf(MeanSquaredError):
    """Forward and backward disagree by a factor: forward reports half the loss backward differentiates."""

    def forward(self, y, t):
        return 0.5 * super().forward(y, t)


class SigmoidFloat64Grad(Sigmoid):
    """A float32 layer whose backward returns float64 gradients."""

    def backward(self, dout):
        return super().backward(dout).astype(np.float64)


def cases(dtype=np.float64):
    """name -> (make (layer, inputs) from rng, the tensors that must be named)."""
    N, D, M = 3, 4, 2
    x = lambda rng, *s: away_from_zero(rng, s or (N, D), dtype)
    labels = lambda rng: rng.integers(0, M, N)
    onehot = lambda rng: np.eye(M, dtype=dtype)[labels(rng)]
    affine = lambda rng, d, m, cls: make_affine(rng, d, m, cls, dtype)
    return {
        "missing /N in MSE": (lambda r: (MSEWithoutMean(), [x(r), x(r)]), {"y"}),
        "missing /N in softmax loss": (lambda r: (SoftmaxLossForgetsN(), [x(r, N, M), onehot(r)]), {"x"}),
        "transposed dW": (lambda r: (affine(r, 3, 3, AffineTransposedDW), [x(r, N, 3)]), {"W"}),
        "db over the wrong axis": (lambda r: (affine(r, D, M, AffineBiasWrongAxis), [x(r)]), {"b"}),
        "db as a mean": (lambda r: (affine(r, D, M, AffineBiasMean), [x(r)]), {"b"}),
        "correct only for batch 1": (lambda r: (affine(r, D, M, AffineBatchOfOne), [x(r)]), {"W"}),
        "forgotten db": (lambda r: (affine(r, D, M, AffineForgetsBias), [x(r)]), {"b"}),
        "dW accumulates": (lambda r: (affine(r, D, M, AffineAccumulates), [x(r)]), {"W"}),
        "stale cached x": (lambda r: (affine(r, D, M, AffineStaleCache), [x(r)]), {"W"}),
        "forward modifies W": (lambda r: (affine(r, D, M, AffineScalesParams), [x(r)]), {"W"}),
        "ReLU sign error": (lambda r: (ReLUSignError(), [x(r)]), {"x"}),
        "backward writes into dout": (lambda r: (ReLUWritesDout(), [x(r)]), {"dout"}),
        "sigmoid backward uses x": (lambda r: (SigmoidUsesX(), [x(r)]), {"x"}),
        "forward returns its cache": (lambda r: (SigmoidReturnsCache(), [x(r)]), {"x"}),
        "tanh derivative sign": (lambda r: (TanhWrongDerivative(), [x(r)]), {"x"}),
        "mul partials swapped": (lambda r: (MulSwapped(), [x(r), x(r)]), {"x", "y"}),
        "broadcast not summed": (lambda r: (AddForgetsSumTo(), [x(r), x(r, D)]), {"y"}),
        "backward modifies its input": (lambda r: (SigmoidScribblesInput(), [x(r) * 3]), {"x"}),
        "loss forward/backward factor": (lambda r: (LossForwardHalf(), [x(r), x(r)]), {"y"}),
        "float64 gradient of float32": (lambda r: (SigmoidFloat64Grad(), [away_from_zero(r, (N, D), np.float32)]), {"x"}),
    }


CASES = cases()
CASES32 = cases(np.float32)


@pytest.mark.parametrize("name", CASES)
def test_gradcheck_flags_the_mutant_and_names_the_wrong_tensor(name):
    make, culprits = CASES[name]
    layer, inputs = make(np.random.default_rng(7))
    result = gradcheck(layer, *inputs)
    assert not result, f"{name} passed gradcheck:\n{result}"
    assert culprits <= set(result.failed), f"{name}: expected {culprits} named, got {result.failed}\n{result}"


@pytest.mark.parametrize("name", CASES)
def test_the_mutant_is_flagged_in_every_mode(name):
    make, culprits = CASES[name]
    for mode in ("elementwise", "directional"):
        layer, inputs = make(np.random.default_rng(11))
        result = gradcheck(layer, *inputs, mode=mode)
        assert not result and culprits <= set(result.failed), f"{name} in {mode} mode:\n{result}"


@pytest.mark.parametrize("name", CASES32)
def test_the_float32_mutant_is_flagged_too(name):
    make, culprits = CASES32[name]
    layer, inputs = make(np.random.default_rng(13))
    result = gradcheck(layer, *inputs)
    assert not result and culprits <= set(result.failed), f"{name} in float32:\n{result}"
    assert any(np.asarray(a).dtype == np.float32 for a in inputs)


@pytest.mark.parametrize("name", CASES)
def test_the_correct_layer_on_the_same_inputs_passes(name):
    """The control: the mutant's library base class, on the mutant's inputs, is not flagged."""
    make, _ = CASES[name]
    layer, inputs = make(np.random.default_rng(7))
    base = next(c for c in type(layer).__mro__[1:] if c.__module__.startswith("minigrad"))
    correct = base(layer.params["W"].copy(), layer.params["b"].copy()) if base is Affine else base()
    result = gradcheck(correct, *inputs)
    assert result, f"{base.__name__} on the inputs of {name}:\n{result}"


def test_the_catalog_holds_at_least_fifteen_distinct_mistakes():
    assert len(CASES) >= 15
