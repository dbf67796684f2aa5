"""losses.py: values from logits, backward against numerical_gradient, labels vs one-hot, stability, errors."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import MeanSquaredError, SigmoidWithLoss, SoftmaxWithLoss
from minigrad.functions import mean_squared_error, softmax
from minigrad.numerical import numerical_gradient


def numeric(loss, x, t):
    return numerical_gradient(lambda _: loss.forward(x, t), x)


@given(n=st.integers(1, 6), c=st.integers(2, 6), seed=st.integers(0, 2**16))
def test_softmax_with_loss_backward_matches_numerical_gradient(n, c, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c)) * 3
    t = rng.integers(0, c, n)
    loss = SoftmaxWithLoss()
    value = loss.forward(x, t)
    assert value == pytest.approx(np.mean(-np.log(softmax(x)[np.arange(n), t])), rel=1e-12)
    dx = loss.backward()
    np.testing.assert_allclose(dx, numeric(loss, x, t), rtol=1e-6, atol=1e-9)
    one_hot = np.eye(c)[t]
    assert loss.forward(x, one_hot) == pytest.approx(value, rel=1e-15)
    # the two paths round y - 1 differently: agreement to a few ulps of 1/n where y ≈ 1 cancels
    np.testing.assert_allclose(loss.backward(), dx, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dx, (softmax(x) - one_hot) / n, rtol=1e-12, atol=1e-15)


@given(n=st.integers(1, 6), d=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_sigmoid_with_loss_and_mse_backward_match_numerical_gradient(n, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) * 3
    for loss, t in ((SigmoidWithLoss(), rng.integers(0, 2, (n, d)).astype(float)), (MeanSquaredError(), rng.standard_normal((n, d)))):
        loss.forward(x, t)
        np.testing.assert_allclose(loss.backward(), numeric(loss, x, t), rtol=1e-6, atol=1e-9)


def test_softmax_with_loss_takes_target_rows_that_do_not_sum_to_one():
    rng = np.random.default_rng(5)
    x, t = rng.standard_normal((3, 4)), rng.random((3, 4))
    loss = SoftmaxWithLoss()
    assert loss.forward(x, t) == pytest.approx(-np.sum(t * np.log(softmax(x))) / 3, rel=1e-12)
    np.testing.assert_allclose(loss.backward(), numeric(loss, x, t), rtol=1e-6, atol=1e-9)


def test_backward_scales_with_dout():
    x, t = np.array([[1.0, 2.0, 0.5]]), np.array([1])
    loss = SoftmaxWithLoss()
    loss.forward(x, t)
    np.testing.assert_allclose(loss.backward(2.5), 2.5 * loss.backward(1.0), rtol=1e-15)


def test_softmax_with_loss_single_sample_and_chapter_value():
    y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    logits = np.log(y + 1e-7)  # softmax(logits) = (y + 1e-7) / Σ(y + 1e-7), nearly y
    assert SoftmaxWithLoss().forward(logits, 2) == pytest.approx(0.510825457099338, rel=1e-5)
    loss = SoftmaxWithLoss()
    loss.forward(np.array([0.0, 0.0]), np.array([0, 1]))
    np.testing.assert_allclose(loss.backward(), [0.5, -0.5])


def test_losses_are_finite_for_huge_logits():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = SoftmaxWithLoss()
        assert loss.forward(np.array([[1e4, -1e4, 0.0]]), np.array([1])) == 2e4
        assert np.all(np.isfinite(loss.backward()))
        bce = SigmoidWithLoss()
        assert bce.forward(np.array([800.0, -800.0]), np.array([0.0, 1.0])) == 800.0
        np.testing.assert_allclose(bce.backward(), [0.5, -0.5])


def test_mean_squared_error_layer_matches_the_function():
    y, t = np.array([[0.5, 0.2], [0.1, 0.9]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    loss = MeanSquaredError()
    assert loss.forward(y, t) == mean_squared_error(y, t)
    np.testing.assert_allclose(loss.backward(), (y - t) / 2)


def test_loss_keeps_float32():
    x = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    for loss, t in ((SoftmaxWithLoss(), np.array([0])), (SoftmaxWithLoss(), np.array([[0.0, 1.0, 0.0]])),
                    (SigmoidWithLoss(), np.zeros((1, 3))), (MeanSquaredError(), np.zeros((1, 3)))):
        assert isinstance(loss.forward(x, t), float)
        assert loss.backward().dtype == np.float32


def test_loss_leaves_inputs_untouched():
    x, t = np.array([[1.0, 2.0, 3.0]]), np.array([2])
    loss = SoftmaxWithLoss()
    loss.forward(x, t)
    loss.backward()
    np.testing.assert_array_equal(x, [[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(t, [2])


def test_bad_targets_and_misuse_are_named():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"SoftmaxWithLoss.forward: label 3 in t is out of range for 3 classes"):
        SoftmaxWithLoss().forward(x, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"SoftmaxWithLoss.forward: label -1 in t is out of range"):
        SoftmaxWithLoss().forward(x, np.array([0, -1]))
    with pytest.raises(ValueError, match=r"SoftmaxWithLoss.forward: t must be integer labels of shape \(2,\) or one-hot rows of shape \(2, 3\), got shape \(3,\)"):
        SoftmaxWithLoss().forward(x, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"SoftmaxWithLoss.forward: x must have shape \(N, C\) or \(C,\), got \(2, 3, 1\)"):
        SoftmaxWithLoss().forward(np.zeros((2, 3, 1)), np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match=r"SigmoidWithLoss.forward: t must be in \[0, 1\], got values in \[0.0, 2.0\]"):
        SigmoidWithLoss().forward(np.zeros(2), np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match=r"MeanSquaredError.forward: t must have shape \(2, 3\), got \(3,\)"):
        MeanSquaredError().forward(x, np.zeros(3))
    with pytest.raises(RuntimeError, match=r"SoftmaxWithLoss.backward called before forward"):
        SoftmaxWithLoss().backward()
    loss = SoftmaxWithLoss()
    loss.forward(x, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"SoftmaxWithLoss.backward: dout must be a scalar, got shape \(2,\)"):
        loss.backward(np.ones(2))
    with pytest.raises(TypeError, match=r"SoftmaxWithLoss.forward: x must be numeric"):
        SoftmaxWithLoss().forward([["a"]], [0])
