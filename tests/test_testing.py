"""minigrad.testing: strategies cover batch 1 and odd sizes, stay off kinks; check_layer passes, fails and shrinks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import find, given, settings

from minigrad import Affine, GradcheckError, ReLU, Tanh
from minigrad.testing import (
    arrays,
    check_layer,
    kinks_of,
    labels,
    one_hot,
    shapes,
    sizes,
    well_conditioned,
)


def test_shapes_include_batch_one_and_odd_sizes():
    assert find(shapes(min_dims=2), lambda s: s[0] == 1) == (1, 1)
    assert find(shapes(min_dims=2), lambda s: s[0] > 1 and s[0] % 2 == 1 and s[1] % 2 == 1) == (3, 1)
    assert find(sizes(), lambda n: True) == 1


@settings(max_examples=50)
@given(arrays(shapes(), kinks=(0.0, 1.0), margin=0.1))
def test_arrays_stay_off_the_declared_kinks_and_inside_the_range(x):
    assert x.dtype == np.float64
    assert np.all(np.abs(x) >= 0.1 - 1e-12) and np.all(np.abs(x) < 2.0)
    assert np.all(np.abs(x - 1.0) >= 0.1 - 1e-12)


@settings(max_examples=20)
@given(arrays((3, 2), dtype=np.float32), labels(4, 3), one_hot(4, 3))
def test_arrays_keep_the_dtype_and_targets_are_valid(x, t, onehot):
    assert x.dtype == np.float32 and x.shape == (3, 2)
    assert t.shape == (4,) and t.dtype.kind == "i" and np.all((0 <= t) & (t < 3))
    assert np.array_equal(onehot.sum(axis=1), np.ones(4))


def test_well_conditioned_is_reproducible_from_the_generator():
    a = well_conditioned(np.random.default_rng(5), (4, 3), kinks=(0.0,))
    b = well_conditioned(np.random.default_rng(5), (4, 3), kinks=(0.0,))
    assert a.tobytes() == b.tobytes()


def test_kinks_are_read_from_the_layer_and_a_sequentials_first_layer():
    from minigrad import Sequential

    assert kinks_of(ReLU()) == (0.0,)
    assert kinks_of(Tanh()) == ()
    assert kinks_of(Sequential(ReLU(), Tanh())) == (0.0,)


def test_check_layer_is_one_line_for_a_correct_layer():
    check_layer(lambda rng, D, M: Affine(rng.standard_normal((D, M)), rng.standard_normal(M)), [("N", "D")],
                dims={"M": (1, 3)}, max_examples=15)
    check_layer(ReLU, [("N", "D", 3)], max_examples=15)


class TanhWrongFromThreeColumns(Tanh):
    """Correct for fewer than 3 columns, wrong from 3 on: Hypothesis must shrink to exactly (1, 3)."""

    def backward(self, dout):
        dx = super().backward(dout)
        if dx.shape[-1] >= 3:
            dx[..., 2] *= 2
        return dx


def test_check_layer_fails_with_the_table_and_shrinks_to_the_smallest_failing_shape():
    with pytest.raises(GradcheckError) as info:
        check_layer(TanhWrongFromThreeColumns, [("N", "D")], dims={"N": (1, 5), "D": (1, 5)}, max_examples=40)
    result = info.value.result
    assert result.failed == ["x"] and result["x"].shape == (1, 3)
    assert "tensor" in str(info.value) and "FAIL" in str(info.value)


def test_check_layer_rejects_a_spec_it_cannot_read():
    with pytest.raises(TypeError, match="input spec"):
        check_layer(ReLU, ["N"])
    with pytest.raises(TypeError, match="make_layer asks for"):
        check_layer(lambda K: ReLU(), [("N",)], max_examples=1)
