"""gradcheck/function.py: gradcheck of a Python function of Variables checks the Graph it records; culprit is a node name."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import Affine, MulLayer, SoftmaxWithLoss, Variable
from minigrad.gradcheck import gradcheck

rng = np.random.default_rng(0)
X, W = rng.standard_normal((3, 4)), rng.standard_normal(4)


class BadMul(MulLayer):
    """x · y with dy twice too large: the planted bug."""

    def backward(self, dout):
        dx, dy = super().backward(dout)
        return dx, 2 * dy


def test_a_correct_function_passes_with_its_arguments_checked_by_their_names():
    def f(x, w):
        return ((x * w).tanh() / (w * w + 1)).sum(axis=0).exp().mean()

    result = minigrad.gradcheck(f, X, W)
    assert result, str(result)
    assert [t.name for t in result.tensors] == ["x", "w"]  # the constant 1 inside is held fixed, not checked


def test_a_wrong_layer_inside_is_named_by_its_node():
    def named(x, w):
        h = BadMul()(x.tanh(), w)
        h.name = "h"
        return (h * h).sum()

    result = gradcheck(named, X, W)
    assert not result and result.culprit == "h"
    assert "culprit: layer h (BadMul)" in str(result)
    assert str(result).startswith("gradcheck named (its recorded Graph): FAIL")
    assert [t.name for t in result.tensors if not t.ok] == ["w"]
    unnamed = gradcheck(lambda x, w: (BadMul()(x, w) + x).sum(), X, W)
    assert not unnamed and unnamed.culprit == "badmul"


def test_a_layers_parameters_are_checked_and_integer_labels_are_not():
    affine, loss = Affine.from_sizes(4, 3, rng=0), SoftmaxWithLoss()
    result = gradcheck(lambda x, t: loss(affine(x).tanh(), t), X, np.array([0, 2, 1]))
    assert result, str(result)
    assert [t.name for t in result.tensors] == ["x", "affine.W", "affine.b"]
    np.testing.assert_array_equal(affine.params["W"], Affine.from_sizes(4, 3, rng=0).params["W"])  # left as found


def test_wrt_picks_arguments_by_index_or_name():
    def f(x, w):
        return (x * w).sum()

    assert [t.name for t in gradcheck(f, X, W, wrt=[1]).tensors] == ["w"]
    assert [t.name for t in gradcheck(f, X, W, wrt=["x"]).tensors] == ["x"]
    with pytest.raises(ValueError, match="argument 1 of <lambda> does not reach its result"):
        gradcheck(lambda x, w: (x * 2).sum(), X, W, wrt=[1])


def test_a_function_that_returns_no_recorded_variable_is_refused():
    with pytest.raises(TypeError, match="must return a Variable computed from its arguments, got float"):
        gradcheck(lambda x: 1.0, X)
    with pytest.raises(TypeError, match="records nothing"):
        gradcheck(lambda x: Variable(2.0), X)
