"""Every numeric argument of the public constructors and fit: numpy scalars accepted, bool and nonsense refused by name.

One table runs each call through the same rules (minigrad.arguments is their one home): the error is
a TypeError or ValueError naming where, the argument and what it got, never a ZeroDivisionError,
numpy's internals, or a silently truncated value.
"""

from __future__ import annotations

import numpy as np
import pytest

from minigrad import (
    Affine, BatchNormalization, Convolution, Dropout, MultiLayerNet, Pooling, ReLU, Sequential, SimpleConvNet, SoftmaxWithLoss,
    TwoLayerNet,
)
from minigrad.arguments import float_dtype, generator, integer, number
from minigrad.layers import init_weight
from minigrad.trainer import Trainer, fit


def tiny_net() -> Sequential:
    return Sequential(Affine(np.eye(2), np.zeros(2)), loss=SoftmaxWithLoss())


X, T = np.eye(2)[[0, 1, 0, 1]], np.array([0, 1, 0, 1])

NUMPY_SCALARS = [
    lambda: Dropout(np.float32(0.25)),
    lambda: Dropout(np.float64(0.5), rng=np.int64(3)),
    lambda: BatchNormalization(np.ones(2), np.zeros(2), momentum=np.float32(0.9), eps=np.float64(1e-5)),
    lambda: BatchNormalization(np.ones(2), np.zeros(2), momentum=np.float16(0.5), eps=np.float32(1e-3)),
    lambda: MultiLayerNet(4, [3], 2, weight_decay_lambda=np.float64(0.1), dropout_ratio=np.float32(0.2), use_dropout=True),
    lambda: MultiLayerNet(np.int64(4), [np.int32(3)], np.int16(2), rng=np.uint8(7)),
    lambda: TwoLayerNet(np.int64(4), np.int64(3), 2, weight_init_std=np.float32(0.1)),
    lambda: SimpleConvNet((np.int64(1), np.int64(8), np.int64(8)), {"filter_num": np.int32(2), "filter_size": np.int64(3)},
                          hidden_size=np.int64(4), output_size=np.int64(3), rng=0),
    lambda: Convolution(np.ones((1, 1, 3, 3)), np.zeros(1), stride=np.int64(2), pad=np.int8(1)),
    lambda: Pooling(np.int64(2), np.int32(2), stride=np.int16(2), pad=np.uint8(1)),
    lambda: init_weight(np.int64(3), np.int32(2), np.float32(0.5), rng=np.int64(0), dtype=np.float32),
    lambda: fit(tiny_net(), X, T, epochs=np.int64(1), batch_size=np.int32(2), rng=np.int64(0), verbose=0),
]


@pytest.mark.parametrize("call", NUMPY_SCALARS, ids=range(len(NUMPY_SCALARS)))
def test_every_numeric_argument_takes_numpy_scalars(call):
    call()


def test_numpy_scalars_give_what_python_numbers_give():
    a, b = Dropout(np.float32(0.25), rng=1), Dropout(0.25, rng=1)
    assert a.dropout_ratio == b.dropout_ratio and type(a.dropout_ratio) is float
    x = np.ones((4, 5))
    np.testing.assert_array_equal(a.forward(x), b.forward(x))
    net = MultiLayerNet(4, 3, 2, rng=0)  # one hidden layer, given as its size
    assert net.config["hidden_size_list"] == [3] and all(type(v) is int for v in net.config["hidden_size_list"])


REFUSED = [  # (call, error, words the message must hold)
    (lambda: SimpleConvNet((1, 8, 8), {"stride": 0}), ValueError, ["SimpleConvNet", "conv_param['stride']", ">= 1", "0"]),
    (lambda: SimpleConvNet((1, 8.5, 8)), TypeError, ["SimpleConvNet", "input_dim[1]", "integer", "8.5"]),
    (lambda: SimpleConvNet((1, 8, 8), {"pad": True}), TypeError, ["SimpleConvNet", "conv_param['pad']", "bool"]),
    (lambda: SimpleConvNet(28), ValueError, ["SimpleConvNet", "input_dim", "(C, H, W)"]),
    (lambda: BatchNormalization(np.ones(0), np.zeros(0)), ValueError, ["BatchNormalization", "gamma", "at least one"]),
    (lambda: BatchNormalization(np.ones(2), np.zeros(2), momentum=True), TypeError, ["BatchNormalization", "momentum", "bool"]),
    (lambda: BatchNormalization(np.ones(2), np.zeros(2), eps=np.float64("nan")), ValueError, ["BatchNormalization", "eps", "nan"]),
    (lambda: BatchNormalization(np.ones(2), np.zeros(2), running_var=-np.ones(2)), ValueError, ["running_var", ">= 0", "-1"]),
    (lambda: BatchNormalization(np.ones(2), np.zeros(2), running_mean=[np.nan, 0]), ValueError, ["running_mean", "finite", "nan"]),
    (lambda: Convolution(np.ones((0, 1, 3, 3)), np.zeros(0)), ValueError, ["Convolution", "W", ">= 1", "(0, 1, 3, 3)"]),
    (lambda: Convolution(np.ones((1, 1, 3, 3)), np.zeros(1), pad=10**20), ValueError, ["Convolution", "pad", "filter size", "10000"]),
    (lambda: Convolution(np.ones((1, 1, 3, 3)), np.zeros(1), pad=3000), ValueError, ["Convolution", "pad", "2 at most", "3000"]),
    (lambda: Convolution(np.ones((1, 1, 3, 3)), np.zeros(1), stride=True), TypeError, ["Convolution", "stride", "bool"]),
    (lambda: Convolution(np.ones((1, 1, 3, 3)), np.zeros(1), stride=1.0), TypeError, ["Convolution", "stride", "integer", "1.0"]),
    (lambda: Pooling(True, 2), TypeError, ["Pooling", "pool_h", "bool"]),
    (lambda: Dropout(True), TypeError, ["Dropout", "dropout_ratio", "bool"]),
    (lambda: Dropout(0.5, rng=-1), ValueError, ["Dropout", "rng", ">= 0", "-1"]),
    (lambda: Dropout(0.5, rng=1.5), TypeError, ["Dropout", "rng", "Generator", "1.5"]),
    (lambda: MultiLayerNet(4, [3], 2, dtype=np.int32), TypeError, ["MultiLayerNet", "dtype", "float", "int32"]),
    (lambda: MultiLayerNet(4, [3], 2, weight_decay_lambda=np.inf), ValueError, ["MultiLayerNet", "weight_decay_lambda", "inf"]),
    (lambda: MultiLayerNet(4, [3], 2, weight_decay_lambda=True), TypeError, ["MultiLayerNet", "weight_decay_lambda", "bool"]),
    (lambda: MultiLayerNet(4, [3.5], 2), TypeError, ["MultiLayerNet", "hidden_size_list[0]", "3.5"]),
    (lambda: MultiLayerNet(4, "64", 2), TypeError, ["MultiLayerNet", "hidden_size_list", "'64'"]),
    (lambda: MultiLayerNet(4, [3], 2, rng=-1), ValueError, ["MultiLayerNet", "rng", ">= 0", "-1"]),
    (lambda: TwoLayerNet(4, 3, 2, dtype=np.int64), TypeError, ["TwoLayerNet", "dtype", "int64"]),
    (lambda: TwoLayerNet(4, 3, 2, rng=-1), ValueError, ["TwoLayerNet", "rng", "-1"]),
    (lambda: SimpleConvNet((1, 8, 8), {"filter_size": 3}, rng=-1), ValueError, ["SimpleConvNet", "rng", "-1"]),
    (lambda: init_weight(3, True), TypeError, ["init_weight", "output_size", "bool"]),
    (lambda: fit(tiny_net(), X, T, rng=-1, verbose=0), ValueError, ["fit", "rng", "-1"]),
    (lambda: fit(tiny_net(), X, T, epochs=True, verbose=0), TypeError, ["fit", "epochs", "bool"]),
    (lambda: Trainer(tiny_net(), rng=-1), ValueError, ["Trainer", "rng", "-1"]),
]


@pytest.mark.parametrize("call, error, words", REFUSED, ids=range(len(REFUSED)))
def test_nonsense_is_refused_by_name(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert type(info.value) is error
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_the_rules_themselves():
    assert integer(np.int8(-3), "f", "n") == -3 and type(integer(np.uint64(5), "f", "n")) is int
    with pytest.raises(TypeError, match=r"^f: n must be an integer, got bool np\.True_|^f: n must be an integer, got bool True"):
        integer(np.bool_(True), "f", "n")
    assert number(np.float32(0.5), "f", "x", low=0, high=1) == 0.5
    with pytest.raises(ValueError, match=r"^f: x must be a finite number, got 10\*\*400|^f: x must be a finite number, got 1000"):
        number(10**400, "f", "x")
    with pytest.raises(ValueError, match=r"^f: x must be a number in \(0, 1\], got 0"):
        number(0, "f", "x", low=0, high=1, open_low=True)
    assert float_dtype("float32", "f") == np.float32
    with pytest.raises(TypeError, match=r"^f: dtype must be a float dtype .* got bool"):
        float_dtype(bool, "f")
    g = np.random.default_rng(0)
    assert generator(g, "f") is g
    assert generator(3, "f").random() == np.random.default_rng(3).random()
    with pytest.raises(TypeError, match=r"^f: rng must be a numpy Generator, an integer seed >= 0 or None, got bool True"):
        generator(True, "f")
    ReLU()  # parameter-free layers take nothing
