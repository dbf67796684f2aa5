"""layers.py: every layer's forward values, backward against numerical_gradient, dtypes, hygiene, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import Affine, AddLayer, MulLayer, ReLU, Sigmoid, SoftmaxWithLoss, Tanh
from minigrad.layers import init_weight
from minigrad.numerical import numerical_gradient


def away_from_zero(rng, shape, dtype):
    """Values in ±[0.1, 2): well inside the smooth pieces of ReLU."""
    return (rng.uniform(0.1, 2.0, shape) * rng.choice([-1.0, 1.0], shape)).astype(dtype)


# name -> (make layer and inputs from (rng, n, d, dtype), the expected forward from the inputs and layer)
CASES = {
    "MulLayer": (lambda rng, n, d, dt: (MulLayer(), [away_from_zero(rng, (n, d), dt), away_from_zero(rng, (n, d), dt)]),
                 lambda layer, x, y: x * y),
    "MulLayer-broadcast": (lambda rng, n, d, dt: (MulLayer(), [away_from_zero(rng, (n, d), dt), away_from_zero(rng, (d,), dt)]),
                           lambda layer, x, y: x * y),
    "AddLayer-broadcast": (lambda rng, n, d, dt: (AddLayer(), [away_from_zero(rng, (n, 1), dt), away_from_zero(rng, (1, d), dt)]),
                           lambda layer, x, y: x + y),
    "Affine": (lambda rng, n, d, dt: (Affine(away_from_zero(rng, (2 * d, 3), dt), away_from_zero(rng, (3,), dt)),
                                      [away_from_zero(rng, (n, 2, d), dt)]),
               lambda layer, x: x.reshape(len(x), -1) @ layer.params["W"] + layer.params["b"]),
    "Sigmoid": (lambda rng, n, d, dt: (Sigmoid(), [away_from_zero(rng, (n, d), dt)]), lambda layer, x: 1 / (1 + np.exp(-x))),
    "Tanh": (lambda rng, n, d, dt: (Tanh(), [away_from_zero(rng, (n, d), dt)]), lambda layer, x: np.tanh(x)),
    "ReLU": (lambda rng, n, d, dt: (ReLU(), [away_from_zero(rng, (n, d), dt)]), lambda layer, x: np.where(x > 0, x, 0)),
}


def build(name, seed=0, n=3, d=4, dtype=np.float64):
    rng = np.random.default_rng(seed)
    layer, inputs = CASES[name][0](rng, n, d, dtype)
    return layer, inputs, rng


def as_tuple(g):
    return g if isinstance(g, tuple) else (g,)


@pytest.mark.parametrize("name", CASES)
def test_forward_computes_the_layers_formula(name):
    layer, inputs, _ = build(name)
    np.testing.assert_allclose(layer.forward(*inputs), CASES[name][1](layer, *inputs), rtol=1e-12)


@pytest.mark.parametrize("name", CASES)
@given(n=st.integers(1, 5), d=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_backward_matches_numerical_gradient_for_random_shapes(name, n, d, seed):
    layer, inputs, rng = build(name, seed, n, d)
    out = layer.forward(*inputs)
    dout = rng.standard_normal(np.shape(out))
    grads = as_tuple(layer.backward(dout))
    analytic = dict(zip([f"input {i}" for i in range(len(inputs))], grads)) | dict(layer.grads)
    tensors = dict(zip([f"input {i}" for i in range(len(inputs))], inputs)) | dict(layer.params)
    for key, tensor in tensors.items():
        numeric = numerical_gradient(lambda _: float(np.sum(layer.forward(*inputs) * dout)), tensor)
        assert analytic[key].shape == tensor.shape, key
        np.testing.assert_allclose(analytic[key], numeric, rtol=1e-6, atol=1e-8, err_msg=f"{name} {key}")


@pytest.mark.parametrize("name", CASES)
def test_float32_in_float32_out(name):
    layer, inputs, rng = build(name, dtype=np.float32)
    out = layer.forward(*inputs)
    assert out.dtype == np.float32
    grads = as_tuple(layer.backward(rng.standard_normal(out.shape).astype(np.float32)))
    assert all(g.dtype == np.float32 for g in grads)
    assert all(g.dtype == np.float32 for g in layer.grads.values())


@pytest.mark.parametrize("name", CASES)
def test_forward_and_backward_leave_inputs_dout_and_params_untouched(name):
    layer, inputs, rng = build(name)
    saved = [a.copy() for a in inputs]
    params = {k: v.copy() for k, v in layer.params.items()}
    out = layer.forward(*inputs)
    dout = rng.standard_normal(out.shape)
    dout_saved = dout.copy()
    first = as_tuple(layer.backward(dout))
    for g in first:  # a downstream consumer scribbling on the gradients must not reach dout
        g[...] = 7.0
    np.testing.assert_array_equal(dout, dout_saved)
    for a, b in zip(inputs, saved):
        np.testing.assert_array_equal(a, b)
    for k, v in layer.params.items():
        np.testing.assert_array_equal(v, params[k])


@pytest.mark.parametrize("name", CASES)
def test_gradients_are_overwritten_not_accumulated(name):
    layer, inputs, rng = build(name)
    out = layer.forward(*inputs)
    dout = rng.standard_normal(out.shape)
    first = [g.copy() for g in as_tuple(layer.backward(dout))]
    first_params = {k: v.copy() for k, v in layer.grads.items()}
    layer.forward(*inputs)
    second = as_tuple(layer.backward(dout))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    for k, v in layer.grads.items():
        np.testing.assert_array_equal(v, first_params[k])


@pytest.mark.parametrize("name", CASES)
def test_output_belongs_to_the_caller(name):
    layer, inputs, rng = build(name)
    out = layer.forward(*inputs)
    dout = rng.standard_normal(out.shape)
    expected = [g.copy() for g in as_tuple(layer.backward(dout))]
    out = layer.forward(*inputs)
    out[...] = np.nan  # the caller reuses its output buffer
    for a, b in zip(expected, as_tuple(layer.backward(dout))):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", CASES)
def test_backward_before_forward_names_the_layer(name):
    layer, _, _ = build(name)
    with pytest.raises(RuntimeError, match=rf"{type(layer).__name__}.backward called before forward"):
        layer.backward(np.ones((3, 4)))


@pytest.mark.parametrize("name", CASES)
def test_dout_of_the_wrong_shape_is_rejected(name):
    layer, inputs, _ = build(name)
    out = layer.forward(*inputs)
    expected = re.escape(f"{type(layer).__name__}.backward: dout must have the output's shape {out.shape}")
    with pytest.raises(ValueError, match=expected):
        layer.backward(np.ones(out.shape + (2,)))


@pytest.mark.parametrize("name", CASES)
def test_non_numeric_input_is_rejected(name):
    layer, inputs, _ = build(name)
    bad = [np.full(np.shape(a), "x") for a in inputs]
    with pytest.raises(TypeError, match=rf"{type(layer).__name__}.forward: x must be numeric, got dtype <U1"):
        layer.forward(*bad)


def test_mul_and_add_work_on_python_scalars_as_the_price_demo_does():
    mul = MulLayer()
    assert mul.forward(100, 2) == 200
    dx, dy = mul.backward(1.1)
    assert (dx, dy) == (2.2, 110.00000000000001)
    add = AddLayer()
    assert add.forward(200, 450) == 650
    assert add.backward(1.1) == (1.1, 1.1)


def test_mul_keeps_float32_with_a_python_float():
    x = np.ones(3, dtype=np.float32)
    assert MulLayer().forward(x, 1.1).dtype == np.float32


def test_mul_rejects_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"MulLayer.forward: x of shape \(2, 3\) and y of shape \(2,\) do not broadcast"):
        MulLayer().forward(np.ones((2, 3)), np.ones(2))


def test_affine_flattens_images_and_returns_dx_in_their_shape():
    rng = np.random.default_rng(0)
    layer = Affine(rng.standard_normal((12, 5)), np.zeros(5))
    x = rng.standard_normal((2, 1, 3, 4))
    assert layer.forward(x).shape == (2, 5)
    assert layer.backward(np.ones((2, 5))).shape == (2, 1, 3, 4)


def test_affine_takes_one_sample_as_a_vector():
    layer = Affine(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -0.5]))
    np.testing.assert_array_equal(layer.forward(np.array([1.0, 1.0])), [4.5, 5.5])
    np.testing.assert_array_equal(layer.backward(np.array([1.0, 0.0])), [1.0, 3.0])
    np.testing.assert_array_equal(layer.grads["W"], [[1.0, 0.0], [1.0, 0.0]])


def test_affine_shares_the_arrays_it_was_given():
    W, b = np.ones((2, 3)), np.zeros(3)
    layer = Affine(W, b)
    assert layer.params["W"] is W and layer.params["b"] is b
    assert set(layer.grads) == {"W", "b"}


def test_affine_rejects_mismatched_shapes_and_dtypes():
    layer = Affine(np.ones((4, 3)), np.zeros(3))
    with pytest.raises(ValueError, match=r"Affine.forward: x must have shape \(N, 4\) .* got \(2, 5\)"):
        layer.forward(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"Affine: b must have shape \(3,\) to match W \(4, 3\), got \(4,\)"):
        Affine(np.ones((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match=r"Affine: W must have shape \(D, M\), got \(4,\)"):
        Affine(np.ones(4), np.zeros(4))


def test_affine_computes_in_its_own_dtype_and_returns_dx_in_the_inputs():
    layer = Affine(np.ones((2, 1), dtype=np.float32), np.zeros(1, dtype=np.float32))
    out = layer.forward(np.array([[1, 2]], dtype=np.uint8))
    assert out.dtype == np.float32 and out[0, 0] == 3.0
    wide = Affine(np.ones((2, 1)), np.zeros(1))
    assert wide.forward(np.array([[0.5, 0.25]], dtype=np.float32)).dtype == np.float64
    dx = wide.backward(np.ones((1, 1)))
    assert dx.dtype == np.float32 and wide.grads["W"].dtype == np.float64


@pytest.mark.parametrize(("method", "scale"), [("he", np.sqrt(2 / 400)), ("xavier", np.sqrt(1 / 400)), (0.01, 0.01)])
def test_weight_initialisation_scales(method, scale):
    W = init_weight(400, 300, method, rng=0)
    assert W.shape == (400, 300)
    assert W.std() == pytest.approx(scale, rel=0.02)


def test_from_sizes_is_seeded_and_keeps_the_dtype():
    a = Affine.from_sizes(5, 3, weight_init="std", weight_init_std=0.01, rng=1, dtype=np.float32)
    b = Affine.from_sizes(5, 3, weight_init="std", weight_init_std=0.01, rng=1, dtype=np.float64)
    assert a.params["W"].dtype == np.float32 and a.params["b"].dtype == np.float32
    np.testing.assert_array_equal(a.params["W"], b.params["W"].astype(np.float32))
    np.testing.assert_array_equal(b.params["W"], Affine.from_sizes(5, 3, "std", rng=1).params["W"])
    with pytest.raises(ValueError, match=r"init_weight: weight_init must be 'he', 'xavier' or a standard deviation, got 'normal'"):
        Affine.from_sizes(5, 3, weight_init="normal")


def test_relu_derivative_at_zero_is_zero():
    layer = ReLU()
    layer.forward(np.array([-1.0, 0.0, 1.0]))
    np.testing.assert_array_equal(layer.backward(np.ones(3)), [0.0, 0.0, 1.0])


def test_book_names_mean_what_the_book_means():
    relu = ReLU()
    relu.forward(np.array([-1.0, 0.0, 2.0]))
    assert relu.mask.tolist() == [True, True, False]  # the book's mask: the entries backward zeroes

    class BookStyleReLU(ReLU):  # the book's backward, on a copy so it does not write into dout
        def backward(self, dout):
            dx = dout.copy()
            dx[self.mask] = 0
            return dx

    x = np.array([[-1.0, 0.5], [2.0, -3.0]])
    book, ours = BookStyleReLU(), ReLU()
    book.forward(x), ours.forward(x)
    dout = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert np.array_equal(book.backward(dout), ours.backward(dout))
    sig = Sigmoid()
    y = sig.forward(np.array([0.0]))
    assert sig.out is sig.y and sig.out[0] == y[0] == 0.5
    affine = Affine(np.ones((2, 3)), np.zeros(3))
    affine.forward(np.ones((4, 1, 2)))
    affine.backward(np.ones((4, 3)))
    assert affine.x.shape == (4, 2) and affine.dW is affine.grads["W"] and affine.db is affine.grads["b"]
    assert np.array_equal(affine.dW, np.full((2, 3), 4.0)) and np.array_equal(affine.db, np.full(3, 4.0))
    loss = SoftmaxWithLoss()
    value = loss.forward(np.array([[0.0, 0.0]]), np.array([1]))
    assert loss.loss == value == pytest.approx(np.log(2)) and np.allclose(loss.y, 0.5) and loss.t.tolist() == [1]


def test_affine_from_sizes_is_named_when_sizes_are_given_to_the_constructor():
    with pytest.raises(TypeError, match=r"Affine\.from_sizes\(64, 10\)"):
        Affine(64, 10)


def test_every_minigrad_layer_computes_beyond_the_float_range_as_inf_without_a_warning():
    """Issue 21: Affine at 1e308 leaked numpy's 'overflow encountered in matmul'; beyond the range is ±inf, quietly."""
    import warnings

    from minigrad import AddLayer, BatchNormalization, Convolution, Dropout, MulLayer, Sequential

    big = np.full((2, 1, 2, 2), 1e308)
    cases = [
        (Affine(np.full((4, 2), 1e308), np.zeros(2)), (big.reshape(2, 4),)),
        (Convolution(np.full((1, 1, 2, 2), 1e308), np.zeros(1)), (big,)),
        (MulLayer(), (big, big)),
        (AddLayer(), (big, big)),
        (Dropout(0.5, rng=0), (big,)),
        (BatchNormalization(np.ones(1), np.zeros(1)), (np.array([[1e308], [-1e308], [1e308]]),)),
        (Sequential(Affine(np.full((4, 2), 1e308), np.zeros(2)), ReLU()), (big.reshape(2, 4),)),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for layer, inputs in cases:
            y = layer.forward(*inputs)
            layer.backward(np.full(np.shape(y), 1e308))
    assert np.geterr()["over"] == "warn"  # numpy's own setting is left as it was
