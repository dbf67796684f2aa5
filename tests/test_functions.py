"""functions.py: the chapter's exact values, numerical stability, dtypes and bad input."""

import warnings
from decimal import Context, Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad.functions import (
    DELTA,
    binary_cross_entropy,
    cross_entropy_error,
    log_softmax,
    mean_squared_error,
    relu,
    sigmoid,
    sigmoid_binary_cross_entropy,
    softmax,
    softmax_cross_entropy,
    sum_to,
    tanh,
)

T = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
Y_FOR_2 = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
Y_FOR_7 = np.array([0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0])


def test_mean_squared_error_gives_the_chapters_values():
    assert mean_squared_error(Y_FOR_2, T) == 0.097500000000000031  # the book prints 0.097500000000000031
    assert mean_squared_error(Y_FOR_7, T) == 0.59750000000000003


def exact_cross_entropy(p: float) -> Decimal:
    """-ln(p + 1e-7) to 40 digits, p + 1e-7 rounded to a float64 first as the code does."""
    return -Decimal(float(np.float64(p) + DELTA)).ln(Context(prec=40))


def test_cross_entropy_error_gives_the_chapters_values():
    """The chapter's numbers are -ln(y_t + 1e-7) correctly rounded to float64; minigrad gives them to within numpy's log.

    The book prints 0.510825457099338 (0.51082545709933802) and 2.302584092994546
    (2.3025840929945458): each is the float64 nearest the exact value. numpy's np.log is not
    correctly rounded (numpy 1.24 gives 2.3025840929945454 here, one ulp below; the exact value
    lies 0.46 ulp from the book's float and 0.54 ulp from numpy 1.24's), so the promise is: within
    one ulp of the exact value, which on numpy >= 2 is the chapter's float bit for bit.
    """
    for y, p, book in ((Y_FOR_2, 0.6, 0.510825457099338), (Y_FOR_7, 0.1, 2.302584092994546)):
        exact = exact_cross_entropy(p)
        assert float(exact) == book  # the chapter's number is the correctly rounded one
        got = cross_entropy_error(y, T)
        assert abs(Decimal(got) - exact) < Decimal(float(np.spacing(book))), (got, book)


def test_cross_entropy_error_takes_labels_or_one_hot_and_averages_a_batch():
    y = np.stack([Y_FOR_2, Y_FOR_7])
    one_hot = np.stack([T, T])
    expected = (0.510825457099338 + 2.302584092994546) / 2
    assert cross_entropy_error(y, one_hot) == pytest.approx(expected, rel=1e-15)
    assert cross_entropy_error(y, np.array([2, 2])) == pytest.approx(expected, rel=1e-15)
    assert cross_entropy_error(Y_FOR_2, 2) == cross_entropy_error(Y_FOR_2, T)


def test_mean_squared_error_divides_a_batch_by_n():
    y = np.stack([Y_FOR_2, Y_FOR_7])
    assert mean_squared_error(y, np.stack([T, T])) == pytest.approx((0.0975 + 0.5975) / 2, rel=1e-15)


@pytest.mark.parametrize("x", [-1e308, -1000.0, -40.0, 0.0, 40.0, 1000.0, 1e308])
def test_sigmoid_is_stable_for_any_finite_input(x):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = sigmoid(np.array([x]))
    assert np.all(np.isfinite(y)) and 0.0 <= y[0] <= 1.0
    assert y[0] == pytest.approx(1 / (1 + np.exp(-np.clip(x, -700, 700))), rel=1e-12, abs=1e-300)


def test_sigmoid_relu_tanh_values_and_float32():
    x = np.array([-2.0, 0.0, 3.0], dtype=np.float32)
    for f in (sigmoid, relu, tanh, softmax, log_softmax):
        assert f(x).dtype == np.float32
    np.testing.assert_allclose(sigmoid(x), [0.11920292, 0.5, 0.95257413], rtol=1e-6)
    np.testing.assert_array_equal(relu(x), [0.0, 0.0, 3.0])
    np.testing.assert_allclose(tanh(x), np.tanh(x.astype(np.float64)), rtol=1e-6)


def test_softmax_is_shift_invariant_and_stable_for_huge_logits():
    a = np.array([0.3, 2.9, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        big = softmax(np.array([1010.0, 1000.0, 990.0]))
        np.testing.assert_allclose(softmax(a + 1000), softmax(a), rtol=1e-12)
        assert np.all(np.isfinite(softmax(np.array([1e308, -1e308, 0.0]))))
    np.testing.assert_allclose(big, [9.99954600e-01, 4.53978686e-05, 2.06106005e-09], rtol=1e-6)
    np.testing.assert_allclose(softmax(a), [0.01821127, 0.24519181, 0.73659691], rtol=1e-6)


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=6), elements=st.floats(-1e6, 1e6)))
def test_softmax_rows_sum_to_one_and_match_log_softmax(x):
    y = softmax(x)
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(log_softmax(x)), y, rtol=1e-9, atol=1e-300)


def _row_by_row(f, x):
    return np.array([f(row) for row in x.reshape(-1, x.shape[-1])]).reshape(x.shape)


def test_softmax_and_log_softmax_agree_for_any_memory_layout_of_their_input():
    x = np.random.default_rng(0).standard_normal((4, 7, 5)) * 30
    for view in (x, x[0], np.asfortranarray(x[0]), x[:, 2, :], x[1, :, ::2], x.transpose(1, 0, 2)):
        for f in (softmax, log_softmax):
            np.testing.assert_allclose(f(view), _row_by_row(f, view), rtol=1e-15, atol=0)


def test_softmax_cross_entropy_is_exact_from_logits_where_probabilities_underflow():
    x = np.array([[1000.0, 0.0, -1000.0]])
    assert softmax_cross_entropy(x, np.array([0])) == 0.0
    assert softmax_cross_entropy(x, np.array([2])) == 2000.0  # softmax would give p = 0 here
    assert softmax_cross_entropy(np.log(Y_FOR_2[[0, 2]]), 1) == pytest.approx(-np.log(0.6 / 0.7), rel=1e-12)


def test_softmax_cross_entropy_picks_labels_on_any_leading_shape():
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((3, 4, 5)), rng.integers(0, 5, (3, 4))
    per_position = [-log_softmax(x[i, j])[t[i, j]] for i in range(3) for j in range(4)]
    assert softmax_cross_entropy(x, t) == pytest.approx(sum(per_position) / 3, rel=1e-14)  # divided by N = 3
    assert softmax_cross_entropy(x[0, 0], t[0, 0]) == pytest.approx(per_position[0], rel=1e-14)
    assert softmax_cross_entropy(x[0], t[0]) == pytest.approx(sum(per_position[:4]) / 4, rel=1e-14)


def test_binary_cross_entropy_from_logits_matches_probabilities_and_is_stable():
    x = np.array([-3.0, -0.5, 0.0, 2.0])
    t = np.array([0.0, 1.0, 1.0, 0.0])
    assert sigmoid_binary_cross_entropy(x, t) == pytest.approx(binary_cross_entropy(sigmoid(x), t), rel=1e-6)
    assert sigmoid_binary_cross_entropy(np.array([1000.0, -1000.0]), np.array([0.0, 1.0])) == 1000.0
    assert binary_cross_entropy(np.array([[0.5]]), np.array([[1.0]])) == pytest.approx(np.log(2), rel=1e-6)


@pytest.mark.parametrize(
    ("g_shape", "shape"), [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 3), (2, 1)), ((4, 2, 3), (1, 3)), ((2, 3), ())]
)
def test_sum_to_inverts_broadcasting(g_shape, shape):
    g = np.arange(np.prod(g_shape), dtype=float).reshape(g_shape)
    out = sum_to(g, shape)
    assert out.shape == shape
    assert np.sum(out) == np.sum(g)


def test_bad_input_names_the_function_and_argument():
    with pytest.raises(TypeError, match=r"sigmoid: x must be numeric"):
        sigmoid(np.array(["a"]))
    with pytest.raises(ValueError, match=r"cross_entropy_error: label 10 in t is out of range for 10 classes"):
        cross_entropy_error(Y_FOR_2[None], np.array([10]))
    with pytest.raises(ValueError, match=r"cross_entropy_error: t must be integer labels of shape \(2,\)"):
        cross_entropy_error(np.stack([Y_FOR_2, Y_FOR_7]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"mean_squared_error: t must have shape \(10,\), got \(3,\)"):
        mean_squared_error(Y_FOR_2, np.zeros(3))
    with pytest.raises(ValueError, match=r"cross_entropy_error: y must have shape \(C,\) or \(N, C\)"):
        cross_entropy_error(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_softmax_never_warns_at_the_ends_of_the_float_range(dtype):
    info = np.finfo(dtype)
    edge = info.max * info.eps / 4  # row maxima below it take the path without np.errstate
    rows = np.array([[-info.max, np.nextafter(edge, dtype(0))], [-info.max, edge], [-info.max, info.max]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for row in rows:
            y = softmax(row)
            assert y.dtype == dtype
            np.testing.assert_array_equal(y, [0, 1])
            assert softmax_cross_entropy(row[None], np.array([1])) == 0.0


def test_a_row_of_all_minus_infinity_gives_nan_quietly_as_pytorch():
    """Issue 21: softmax of a row of all -inf leaked a RuntimeWarning (inf - inf); the row is nan, the others exact."""
    x = np.array([[-np.inf, -np.inf, -np.inf], [0.0, 1.0, 2.0], [-np.inf, 0.0, -np.inf]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, log_p = softmax(x), log_softmax(x)
    assert np.isnan(p[0]).all() and np.isnan(log_p[0]).all()
    np.testing.assert_allclose(p[1], np.exp([0, 1, 2]) / np.exp([0, 1, 2]).sum(), rtol=1e-15)
    np.testing.assert_array_equal(p[2], [0, 1, 0])
    try:
        import torch
    except ImportError:
        return
    np.testing.assert_allclose(p, torch.softmax(torch.from_numpy(x), -1).numpy(), rtol=1e-15, atol=0)  # nan where torch has nan
