"""arithmetic.py: every layer's forward formula, gradcheck on random shapes (float64 and float32), dtypes and errors."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from minigrad import DivLayer, Exp, Index, Log, MatMulLayer, Mean, NegLayer, PowLayer, Reshape, SubLayer, Sum, Transpose
from minigrad.testing import check_layer

EXAMPLES = int(os.environ.get("MINIGRAD_GRADCHECK_EXAMPLES", "20"))


def positive(N, D, rng, dtype):
    return rng.uniform(0.5, 2.0, (N, D)).astype(dtype)


# name -> (make layer, input specs for check_layer, the forward formula)
CASES = {
    "SubLayer-broadcast": (SubLayer, [("N", 1), (1, "D")], lambda x, y: x - y),
    "DivLayer": (DivLayer, [("N", "D"), ("N", "D")], lambda x, y: x / y),
    "DivLayer-broadcast": (DivLayer, [("N", "D"), ("D",)], lambda x, y: x / y),
    "NegLayer": (NegLayer, [("N", "D")], lambda x: -x),
    "PowLayer-square": (lambda: PowLayer(2), [("N", "D")], lambda x: x * x),
    "PowLayer-cube": (lambda: PowLayer(3), [("N", "D")], lambda x: x * x * x),
    "PowLayer-root": (lambda: PowLayer(0.5), [positive], np.sqrt),
    "PowLayer-inverse": (lambda: PowLayer(-1), [("N", "D")], lambda x: 1 / x),
    "MatMulLayer": (MatMulLayer, [("N", "D"), ("D", "M")], lambda x, y: x @ y),
    "MatMulLayer-vector": (MatMulLayer, [("D",), ("D", "M")], lambda x, y: x @ y),
    "MatMulLayer-batched": (MatMulLayer, [("N", "H", "D"), ("D", "M")], lambda x, y: x @ y),
    "Exp": (Exp, [("N", "D")], np.exp),
    "Log": (Log, [positive], np.log),
    "Sum": (Sum, [("N", "D")], np.sum),
    "Sum-axis": (lambda: Sum(axis=0), [("N", "D", "M")], lambda x: x.sum(axis=0)),
    "Sum-keepdims": (lambda: Sum(axis=(0, -1), keepdims=True), [("N", "D", "M")], lambda x: x.sum(axis=(0, 2), keepdims=True)),
    "Mean": (Mean, [("N", "D")], np.mean),
    "Mean-axis": (lambda: Mean(axis=1), [("N", "D", "M")], lambda x: x.mean(axis=1)),
    "Reshape": (lambda: Reshape(-1), [("N", "D", "M")], lambda x: x.reshape(-1)),
    "Transpose": (Transpose, [("N", "D", "M")], lambda x: x.T),
    "Transpose-axes": (lambda: Transpose((1, 0, 2)), [("N", "D", "M")], lambda x: x.transpose(1, 0, 2)),
    "Index-slice": (lambda: Index((slice(None), 0)), [("N", "D")], lambda x: x[:, 0]),
    "Index-repeated": (lambda: Index(([0, 0, -1],)), [("N", "D")], lambda x: x[[0, 0, -1]]),
}

DIMS = {"N": (1, 4), "D": (1, 4), "M": (1, 3), "H": (1, 3)}


def build(name, rng, dtype=np.float64):
    make, specs, formula = CASES[name]
    inputs = [s(2, 3, rng, dtype) if callable(s) else rng.uniform(0.5, 2, [{"N": 2, "D": 3, "M": 4, "H": 2}[d]
              if isinstance(d, str) else d for d in s]).astype(dtype) for s in specs]
    return make(), inputs, formula


@pytest.mark.parametrize("name", CASES)
def test_forward_computes_the_formula(name):
    layer, inputs, formula = build(name, np.random.default_rng(0))
    np.testing.assert_allclose(layer.forward(*inputs), formula(*inputs), rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", CASES)
def test_layer_passes_gradcheck_on_random_shapes(name, dtype):
    make, specs, _ = CASES[name]
    check_layer(make, specs, dims=DIMS, dtype=dtype, max_examples=EXAMPLES)


@pytest.mark.parametrize("name", CASES)
def test_float32_in_float32_out_and_dout_untouched(name):
    rng = np.random.default_rng(1)
    layer, inputs, _ = build(name, rng, np.float32)
    out = layer.forward(*inputs)
    assert out.dtype == np.float32
    dout = rng.standard_normal(np.shape(out))  # float64: computed in the layer's float32
    before = dout.copy()
    grads = layer.backward(dout)
    for g, x in zip(grads if isinstance(grads, tuple) else (grads,), inputs):
        assert g.dtype == np.float32 and g.shape == x.shape
        assert not np.shares_memory(g, dout)
    np.testing.assert_array_equal(dout, before)


def test_binary_layers_keep_python_numbers_as_numbers():
    layer = DivLayer()
    assert layer.forward(3, 2) == 1.5
    dx, dy = layer.backward(1.0)
    assert (dx, dy) == (0.5, -0.75)
    assert SubLayer().forward(np.float32(1) * np.ones(2, np.float32), 1.0).dtype == np.float32


@pytest.mark.parametrize(
    "layer, inputs, error, words",
    [
        (Log(), [np.array([1.0, 0.0])], ValueError, ["Log.forward", "> 0", "0.0"]),
        (Log(), [np.array([1.0, np.nan])], ValueError, ["Log.forward"]),
        (PowLayer(0.5), [np.array([-1.0, 4.0])], ValueError, ["PowLayer.forward", "0.5", "-1.0"]),
        (MatMulLayer(), [np.ones((2, 3)), np.ones((2, 3))], ValueError, ["MatMulLayer.forward", "(2, 3)"]),
        (SubLayer(), [np.ones((2, 3)), np.ones(2)], ValueError, ["SubLayer.forward", "(2, 3)", "(2,)"]),
        (Sum(axis=2), [np.ones((2, 3))], ValueError, ["Sum.forward", "axis 2"]),
        (Mean(axis="a"), [np.ones((2, 3))], TypeError, ["Mean.forward", "'a'"]),
        (Reshape(4, 2), [np.ones((2, 3))], ValueError, ["Reshape.forward", "(2, 3)", "(4, 2)"]),
        (Transpose((0, 0)), [np.ones((2, 3))], ValueError, ["Transpose.forward", "(0, 0)"]),
        (Index(5), [np.ones((2, 3))], IndexError, ["Index.forward", "(2, 3)", "5"]),
        (DivLayer(), [np.ones(2), "a"], TypeError, ["DivLayer.forward", "y"]),
    ],
)
def test_bad_input_raises_a_typed_error_naming_layer_and_values(layer, inputs, error, words):
    with pytest.raises(error) as e:
        layer.forward(*inputs)
    for w in words:
        assert w in str(e.value)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones(2))


def test_pow_exponent_must_be_a_number():
    with pytest.raises(TypeError, match="PowLayer.*exponent.*'2'"):
        PowLayer("2")


def test_infinite_results_come_without_runtime_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(Exp().forward(np.array([1000.0]))).all()
        assert np.isinf(DivLayer().forward(np.array([1.0]), np.array([0.0]))).all()
        assert np.isinf(PowLayer(-1).forward(np.array([0.0]))).all()


def test_index_gradient_adds_repeated_positions():
    layer = Index(np.array([0, 0, 2]))
    layer.forward(np.arange(3.0))
    np.testing.assert_array_equal(layer.backward(np.array([1.0, 2.0, 4.0])), [3.0, 0.0, 4.0])
