"""numerical.py: the chapter's numerical_diff, numerical_gradient and gradient_descent."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad.numerical import gradient_descent, numerical_diff, numerical_gradient


def function_1(x):
    return 0.01 * x**2 + 0.1 * x


def function_2(x):
    return np.sum(x**2)


def test_numerical_diff_gives_the_chapters_values():
    assert numerical_diff(function_1, 5) == 0.1999999999990898
    assert numerical_diff(function_1, 10) == 0.2999999999986347


@pytest.mark.parametrize(("point", "grad"), [((3.0, 4.0), (6, 8)), ((0.0, 2.0), (0, 4)), ((3.0, 0.0), (6, 0))])
def test_numerical_gradient_of_the_chapters_function(point, grad):
    np.testing.assert_allclose(numerical_gradient(function_2, np.array(point)), grad, atol=1e-9)


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=4, max_side=3), elements=st.floats(-10, 10)))
def test_numerical_gradient_handles_any_shape_and_restores_x_bit_for_bit(x):
    before = x.copy()
    grad = numerical_gradient(lambda a: np.sum(a**3), x)
    assert grad.shape == x.shape
    np.testing.assert_allclose(grad, 3 * before**2, atol=1e-6, rtol=1e-6)
    assert x.tobytes() == before.tobytes()


def test_numerical_gradient_restores_x_even_when_f_raises():
    x = np.array([0.1, 0.2, 0.3])
    before = x.tobytes()
    calls = []

    def f(a):
        calls.append(1)
        if len(calls) == 3:
            raise ZeroDivisionError("boom")
        return float(np.sum(a))

    with pytest.raises(ZeroDivisionError):
        numerical_gradient(f, x)
    assert x.tobytes() == before


def test_numerical_gradient_perturbs_in_place_so_f_may_ignore_its_argument():
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    grad = numerical_gradient(lambda _: float(np.sum(W**2)), W)
    np.testing.assert_allclose(grad, 2 * W, rtol=1e-9)


def test_numerical_gradient_rejects_integer_arrays_instead_of_returning_garbage():
    with pytest.raises(TypeError, match=r"numerical_gradient: x must be a float ndarray.*int64.*np.array\(\[3.0, 4.0\]\)"):
        numerical_gradient(function_2, np.array([3, 4]))


def test_gradient_descent_reaches_the_minimum_with_lr_0_1():
    init = np.array([-3.0, 4.0])
    x, history = gradient_descent(function_2, init, lr=0.1, step_num=100)
    assert np.max(np.abs(x)) < 1e-8
    assert init.tolist() == [-3.0, 4.0]  # init_x is not modified
    assert history.shape == (101, 2)
    np.testing.assert_array_equal(history[0], init)
    np.testing.assert_array_equal(history[-1], x)


def test_gradient_descent_diverges_with_lr_10_and_stalls_with_lr_1e_10():
    x_big, _ = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=10.0, step_num=100)
    assert np.max(np.abs(x_big)) > 1e10
    x_small, _ = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=1e-10, step_num=100)
    np.testing.assert_allclose(x_small, [-2.99999994, 3.99999992], rtol=1e-9)


def test_gradient_descent_keeps_float32():
    x, history = gradient_descent(function_2, np.array([1.0, 1.0], dtype=np.float32), lr=0.1, step_num=3)
    assert x.dtype == np.float32 and history.dtype == np.float32
