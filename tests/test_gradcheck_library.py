"""The table: every layer, loss and net in the library passes gradcheck under Hypothesis, float64 and float32."""

from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

from minigrad import (
    AddLayer,
    Affine,
    BatchNormalization,
    Dropout,
    Convolution,
    Graph,
    MeanSquaredError,
    MulLayer,
    MultiLayerNet,
    Pooling,
    ReLU,
    Sequential,
    Sigmoid,
    SigmoidWithLoss,
    SimpleConvNet,
    SoftmaxWithLoss,
    Tanh,
    TwoLayerNet,
)
from minigrad.testing import check_layer, well_conditioned

# examples per case and dtype; the "ci" profile is derandomized, "dev" explores fresh ones each run
EXAMPLES = int(os.environ.get("MINIGRAD_GRADCHECK_EXAMPLES", "20"))


def weights(rng, shape, dtype):
    return well_conditioned(rng, shape, dtype, low=0.1, high=1.0)


def affine(rng, d, m, dtype):
    return Affine(weights(rng, (d, m), dtype), weights(rng, (m,), dtype))


def with_biases(net, rng):
    """The presets start with b = 0, where a dead ReLU unit feeds the next layer exactly 0: its kink. Move b off it."""
    for name, p in net.params.items():
        if name.endswith(".b") or name[:1] == "b" and name[1:].isdigit():  # "0.b" in a Sequential, "b1" in a preset
            p[...] = weights(rng, p.shape, p.dtype)
    return net


def labels(N, C, rng):
    return rng.integers(0, C, N)


def one_hot(N, C, rng):
    return np.eye(C)[rng.integers(0, C, N)]


def batch_norm(rng, size, dtype, training):
    """A BatchNormalization with random gamma, beta and running statistics, in the given mode."""
    bn = BatchNormalization(weights(rng, (size,), dtype), weights(rng, (size,), dtype),
                            running_mean=weights(rng, (size,), dtype), running_var=rng.uniform(0.5, 2, size))
    bn.training = training
    return bn


def inference(layer):
    """layer with its training flag off."""
    layer.training = False
    return layer


def rows(N, D, rng, dtype):
    """(N + 2, D) inputs: BatchNormalization in training needs 3 values per feature (see test_normalization)."""
    return well_conditioned(rng, (N + 2, D), dtype)


def fan_out_graph(rng, D, M, dtype):
    """x feeds both an Affine and a product with itself, then both meet: x's gradient is a sum of three paths."""
    g = Graph(["x", "s"])
    g.add("h", affine(rng, D, M, dtype), "x")
    g.add("a", Tanh(), "h")
    g.add("xs", MulLayer(), "x", "s")
    g.add("sq", MulLayer(), "xs", "x")
    g.add("p", Affine(weights(rng, (D, M), dtype), np.zeros(M, dtype=dtype)), "sq")
    g.add("out", AddLayer(), "a", "p")
    return g


# name -> (make_layer, input specs); make_layer may take dims (N, D, M, C, H), rng and dtype
CASES = {
    "MulLayer": (lambda: MulLayer(), [("N", "D"), ("N", "D")]),
    "MulLayer-broadcast": (lambda: MulLayer(), [("N", "D"), ("D",)]),
    "AddLayer-broadcast": (lambda: AddLayer(), [("N", 1), (1, "D")]),
    "Affine": (lambda rng, D, M, dtype: affine(rng, D, M, dtype), [("N", "D")]),
    "Affine-4d": (lambda rng, D, M, dtype: affine(rng, 2 * D, M, dtype), [("N", 2, 1, "D")]),
    "Sigmoid": (lambda: Sigmoid(), [("N", "D", "M")]),
    "Tanh": (lambda: Tanh(), [("N", "D")]),
    "ReLU": (lambda: ReLU(), [("N", "D", "M")]),
    "Convolution": (
        lambda rng, D, M, dtype: Convolution(weights(rng, (M, D, 3, 2), dtype), weights(rng, (M,), dtype), stride=2, pad=1),
        [("N", "D", "H", "M")],
    ),
    "Pooling": (lambda: Pooling(3, 2, stride=1, pad=1), [("N", "D", "H", "M")]),
    "SoftmaxWithLoss-labels": (lambda: SoftmaxWithLoss(), [("N", "C"), labels]),
    "SoftmaxWithLoss-onehot": (lambda: SoftmaxWithLoss(), [("N", "C"), one_hot]),
    "SigmoidWithLoss": (lambda: SigmoidWithLoss(), [("N", "D"), lambda N, D, rng: rng.uniform(0, 1, (N, D))]),
    "MeanSquaredError": (lambda: MeanSquaredError(), [("N", "D"), lambda N, D, rng: rng.standard_normal((N, D))]),
    "Sequential": (lambda rng, D, M, dtype: Sequential(affine(rng, D, M, dtype), Tanh(), affine(rng, M, 3, dtype)), [("N", "D")]),
    "Sequential-loss": (
        lambda rng, D, H, C, dtype: Sequential(
            affine(rng, D, H, dtype), Sigmoid(), affine(rng, H, C, dtype), loss=SoftmaxWithLoss()
        ),
        [("N", "D"), labels],
    ),
    "TwoLayerNet": (
        lambda rng, D, H, C, dtype: with_biases(TwoLayerNet(D, H, C, weight_init_std=0.5, rng=rng, dtype=dtype), rng),
        [("N", "D"), labels],
    ),
    "MultiLayerNet-relu": (
        lambda rng, D, H, C, dtype: with_biases(MultiLayerNet(D, [H, 3], C, activation="relu", rng=rng, dtype=dtype), rng),
        [("N", "D"), one_hot],
    ),
    "MultiLayerNet-sigmoid": (
        lambda rng, D, H, C, dtype: with_biases(MultiLayerNet(D, [H, 3], C, activation="sigmoid", rng=rng, dtype=dtype), rng),
        [("N", "D"), labels],
    ),
    "MultiLayerNet-tanh": (
        lambda rng, D, H, C, dtype: with_biases(MultiLayerNet(D, [H], C, activation="tanh", rng=rng, dtype=dtype), rng),
        [("N", "D"), labels],
    ),
    "SimpleConvNet": (
        lambda rng, C, dtype: with_biases(
            SimpleConvNet((2, 5, 6), {"filter_num": 3, "filter_size": 3, "pad": 1}, hidden_size=4, output_size=C,
                          weight_init_std=0.5, rng=rng, dtype=dtype), rng),
        [("N", 2, 5, 6), labels],
    ),
    "BatchNormalization-train": (lambda rng, D, dtype: batch_norm(rng, D, dtype, True), [rows]),
    "BatchNormalization-eval": (lambda rng, D, dtype: batch_norm(rng, D, dtype, False), [("N", "D")]),
    "BatchNormalization-4d-train": (lambda rng, D, dtype: batch_norm(rng, D, dtype, True), [(3, "D", "H", "M")]),
    "BatchNormalization-4d-eval": (lambda rng, D, dtype: batch_norm(rng, D, dtype, False), [("N", "D", "H", "M")]),
    "BatchNormalization-per-activation": (lambda rng, D, H, dtype: batch_norm(rng, D * H * 2, dtype, True), [(3, "D", "H", 2)]),
    # In training, a bias just before BatchNormalization has a gradient of exactly 0 (the batch mean takes it
    # away), which float32 computes as round-off of cancelling sums, too coarse to compare with the float64
    # copy's: float32 checks this net in inference mode, float64 in training mode.
    "Dropout-train": (lambda rng: Dropout(0.4, rng=rng), [("N", "D", "M")]),
    "Dropout-eval": (lambda rng: inference(Dropout(0.4, rng=rng)), [("N", "D")]),
    "MultiLayerNet-dropout": (
        lambda rng, D, H, C, dtype: with_biases(MultiLayerNet(D, [H, 3], C, activation="sigmoid", use_dropout=True,
                                                              dropout_ratio=0.3, rng=rng, dtype=dtype), rng),
        [("N", "D"), labels],
    ),
    "MultiLayerNet-batchnorm-decay": (
        lambda rng, D, H, C, dtype: with_biases(MultiLayerNet(D, [H, 3], C, activation="tanh", use_batchnorm=True,
                                                              weight_decay_lambda=0.1, rng=rng, dtype=dtype), rng
                                                ).train(dtype == np.float64),
        [rows, lambda N, C, rng: labels(N + 2, C, rng)],
    ),
    "SimpleConvNet-batchnorm": (
        lambda rng, C, dtype: with_biases(
            SimpleConvNet((2, 5, 6), {"filter_num": 3, "filter_size": 3, "pad": 1}, hidden_size=4, output_size=C,
                          weight_init_std=0.5, rng=rng, dtype=dtype, use_batchnorm=True), rng).eval(),
        [("N", 2, 5, 6), labels],
    ),
    "Graph-fan-out": (lambda rng, D, M, dtype: fan_out_graph(rng, D, M, dtype), [("N", "D"), ("N", "D")]),
}

DIMS = {"N": (1, 5), "D": (1, 5), "M": (1, 4), "H": (1, 6), "C": (2, 5)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", CASES)
def test_library_layer_passes_gradcheck_on_random_shapes(name, dtype):
    make, specs = CASES[name]
    built = []

    def counted(rng, dtype, N=1, D=1, M=1, H=1, C=2):
        sizes = {"N": N, "D": D, "M": M, "H": H, "C": C, "rng": rng, "dtype": dtype}
        wanted = inspect.signature(make).parameters
        built.append(1)
        return make(**{k: v for k, v in sizes.items() if k in wanted})

    check_layer(counted, specs, dims=DIMS, dtype=dtype, max_examples=EXAMPLES)
    assert len(built) >= EXAMPLES // 2  # Hypothesis really ran the examples (each one passed)
