"""The mutant catalog: deliberately wrong layers, the mistakes people make; gradcheck must flag each, naming the tensor."""

from __future__ import annotations

import numpy as np
import pytest
from book_code import SoftmaxWithLoss as BookSoftmaxWithLoss
from book_layers import BookDropout, BookReLU, GeneratorDropout, MaxPool2, RowMax, RunningBatchNorm

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
        dout[self.mask] = 0
        return dout


class SigmoidUsesX(Sigmoid):
    """dx = dout · x (1 - x): the derivative taken at x instead of at y."""

    def forward(self, x):
        self.x = np.asarray(x).copy()
        return super().forward(x)

    def backward(self, dout):
        return np.asarray(dout) * self.x * (1 - self.x)


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


# --- the new failure modes: randomness, state, max routing, batch norm (book-style, duck-typed) ----


class DropoutNewMaskInBackward(BookDropout):
    """backward draws a fresh np.random mask instead of using forward's."""

    def backward(self, dout):
        return dout * (np.random.rand(*dout.shape) > self.dropout_ratio)


class GeneratorDropoutNewMaskInBackward(GeneratorDropout):
    """backward draws a fresh mask from the layer's Generator."""

    def backward(self, dout):
        return dout * (self.rng.random(dout.shape) >= self.p) / (1.0 - self.p)


class DropoutIgnoresMask(BookDropout):
    """backward passes dout through: dropped units get a gradient."""

    def backward(self, dout):
        return dout.copy()


class InvertedDropoutForgetsScale(GeneratorDropout):
    """backward uses the 0/1 mask without the 1 / (1 - p) that forward applied."""

    def backward(self, dout):
        return dout * (self.mask > 0)


class DropoutFreshGenerator(GeneratorDropout):
    """forward draws from a new unseeded Generator every call: nothing to replay."""

    def forward(self, x):
        self.rng = np.random.default_rng()
        return super().forward(x)


class RowMaxToArgmin(RowMax):
    """The max's gradient routed to the row's smallest element."""

    def forward(self, x):
        y = super().forward(x)
        self.arg = x.argmin(axis=-1)
        return y


class MaxPoolToFirst(MaxPool2):
    """Every window's gradient routed to its first element, whatever the arg-max."""

    def forward(self, x):
        y = super().forward(x)
        self.arg = np.zeros_like(self.arg)
        return y


class ReLUBackwardIgnoresMask(BookReLU):
    """backward forgets the mask."""

    def backward(self, dout):
        return dout.copy()


class ReLUMaskInverted(BookReLU):
    """backward zeroes where x > 0 instead of where x <= 0 (the mask inverted)."""

    def backward(self, dout):
        dx = dout.copy()
        dx[~self.mask] = 0
        return dx


class BatchNormMissingMeanTerm(RunningBatchNorm):
    """dx without the term through the batch mean (and variance)."""

    def backward(self, dout):
        super().backward(dout)
        return self.params["gamma"] * dout / self.std


class BatchNormDgammaWrong(RunningBatchNorm):
    """dgamma = Σ dout, as if it were beta's."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["gamma"] = dout.sum(axis=0)
        return dx


class BatchNormUsesUpdatedRunningStats(RunningBatchNorm):
    """Training forward normalises with the running statistics it has just updated: each call differs."""

    def forward(self, x):
        super().forward(x)
        self.xn = (x - self.running_mean) / np.sqrt(self.running_var + self.eps)
        return self.params["gamma"] * self.xn + self.params["beta"]


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
        "sigmoid backward uses x": (lambda r: (SigmoidUsesX(), [x(r)]), {"x"}),
        "tanh derivative sign": (lambda r: (TanhWrongDerivative(), [x(r)]), {"x"}),
        "mul partials swapped": (lambda r: (MulSwapped(), [x(r), x(r)]), {"x", "y"}),
        "broadcast not summed": (lambda r: (AddForgetsSumTo(), [x(r), x(r, D)]), {"y"}),
        "backward modifies its input": (lambda r: (SigmoidScribblesInput(), [x(r) * 3]), {"x"}),
        "loss forward/backward factor": (lambda r: (LossForwardHalf(), [x(r), x(r)]), {"y"}),
        "float64 gradient of float32": (lambda r: (SigmoidFloat64Grad(), [away_from_zero(r, (N, D), np.float32)]), {"x"}),
        **{name: (lambda r, m=mutant: m(r, dtype), named) for name, (mutant, _, named) in NEW.items()},
    }


def bn(cls):
    return lambda r, dtype: (cls(4, r), [away_from_zero(r, (6, 4), dtype)])


# name -> (make the mutant (rng, dtype), make the correct layer on the same draws, the tensors that must be named)
NEW = {
    "dropout: backward draws a new np.random mask": (
        lambda r, dt: (DropoutNewMaskInBackward(0.5), [away_from_zero(r, (5, 6), dt)]),
        lambda r, dt: (BookDropout(0.5), [away_from_zero(r, (5, 6), dt)]), {"x"}),
    "dropout: backward draws a new Generator mask": (
        lambda r, dt: (GeneratorDropoutNewMaskInBackward(0.4, 1), [away_from_zero(r, (5, 6), dt)]),
        lambda r, dt: (GeneratorDropout(0.4, 1), [away_from_zero(r, (5, 6), dt)]), {"x"}),
    "dropout: backward ignores the mask": (
        lambda r, dt: (DropoutIgnoresMask(0.5), [away_from_zero(r, (5, 6), dt)]),
        lambda r, dt: (BookDropout(0.5), [away_from_zero(r, (5, 6), dt)]), {"x"}),
    "inverted dropout: backward forgets 1/(1-p)": (
        lambda r, dt: (InvertedDropoutForgetsScale(0.4, 2), [away_from_zero(r, (5, 6), dt)]),
        lambda r, dt: (GeneratorDropout(0.4, 2), [away_from_zero(r, (5, 6), dt)]), {"x"}),
    "dropout: a fresh unseeded Generator per forward": (
        lambda r, dt: (DropoutFreshGenerator(0.4), [away_from_zero(r, (5, 6), dt)]),
        lambda r, dt: (GeneratorDropout(0.4), [away_from_zero(r, (5, 6), dt)]), {"output"}),
    "max: gradient routed to the wrong element": (
        lambda r, dt: (RowMaxToArgmin(), [away_from_zero(r, (5, 6), dt)]),
        lambda r, dt: (RowMax(), [away_from_zero(r, (5, 6), dt)]), {"x"}),
    "max pool: gradient routed to the window's first element": (
        lambda r, dt: (MaxPoolToFirst(), [away_from_zero(r, (2, 2, 4, 4), dt)]),
        lambda r, dt: (MaxPool2(), [away_from_zero(r, (2, 2, 4, 4), dt)]), {"x"}),
    "ReLU: backward ignores the mask": (
        lambda r, dt: (ReLUBackwardIgnoresMask(), [away_from_zero(r, (5, 6), dt)]),
        lambda r, dt: (BookReLU(), [away_from_zero(r, (5, 6), dt)]), {"x"}),
    "ReLU: mask inverted in backward": (
        lambda r, dt: (ReLUMaskInverted(), [away_from_zero(r, (5, 6), dt)]),
        lambda r, dt: (BookReLU(), [away_from_zero(r, (5, 6), dt)]), {"x"}),
    "batch norm: dx misses the mean term": (bn(BatchNormMissingMeanTerm), bn(RunningBatchNorm), {"x"}),
    "batch norm: dgamma is dbeta": (bn(BatchNormDgammaWrong), bn(RunningBatchNorm), {"gamma"}),
    "batch norm: forward uses the running stats it updates": (
        bn(BatchNormUsesUpdatedRunningStats), bn(RunningBatchNorm), {"output"}),
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
    if name in NEW:
        correct, inputs = NEW[name][1](np.random.default_rng(7), np.float64)
        assert type(correct) is type(layer).__mro__[1]
        assert gradcheck(correct, *inputs), f"{type(correct).__name__} on the inputs of {name}"
        return
    base = next(c for c in type(layer).__mro__[1:] if c.__module__.startswith("minigrad"))
    correct = base(layer.params["W"].copy(), layer.params["b"].copy()) if base is Affine else base()
    result = gradcheck(correct, *inputs)
    assert result, f"{base.__name__} on the inputs of {name}:\n{result}"


def test_the_catalog_holds_at_least_thirty_distinct_mistakes():
    assert len(CASES) >= 30


# The book's conventions: right gradients where minigrad uses them, so notes by default and failures under strict=True.
# name -> (make (layer, inputs) from rng, the note's check, the tensors it names)
CONVENTIONS = {
    "backward writes into dout (the book's Relu)": (
        lambda r: (ReLUWritesDout(), [away_from_zero(r, (3, 4))]), "dout changed", {"dout"}),
    "a loss ignores dout (the book's SoftmaxWithLoss)": (
        lambda r: (BookSoftmaxWithLoss(), [away_from_zero(r, (3, 10)), r.integers(0, 10, 3)]), "ignores dout", {"x"}),
}


@pytest.mark.parametrize("name", CONVENTIONS)
@pytest.mark.parametrize("seed", range(3))
def test_a_book_convention_passes_with_a_note_and_fails_under_strict(name, seed):
    make, check, named = CONVENTIONS[name]
    result = gradcheck(*_flat(make(np.random.default_rng(seed))))
    assert result and not result.hygiene, f"{name}:\n{result}"
    assert any(n.check == check and set(n.tensors) == named for n in result.notes), f"{name}:\n{result}"
    strict = gradcheck(*_flat(make(np.random.default_rng(seed))), strict=True)
    assert not strict and named <= set(strict.failed) and check in [h.check for h in strict.hygiene], f"{name}:\n{strict}"


def _flat(made):
    layer, inputs = made
    return (layer, *inputs)
