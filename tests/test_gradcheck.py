"""gradcheck: verdicts, the report, kinks, hygiene, fast mode, float32, and that it restores what it touches."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from minigrad import (
    Affine,
    GradcheckError,
    GradcheckResult,
    Graph,
    MulLayer,
    ReLU,
    Sequential,
    Sigmoid,
    SoftmaxWithLoss,
    Tanh,
    TwoLayerNet,
)
from minigrad.gradcheck import gradcheck
from minigrad.testing import well_conditioned


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def make_affine(r: np.random.Generator, d: int = 4, m: int = 3, cls=Affine, dtype=np.float64) -> Affine:
    return cls(well_conditioned(r, (d, m), dtype), well_conditioned(r, (m,), dtype))


class Square:
    """A duck-typed layer (no base class): y = x²; dx = 2 x dout."""

    def __init__(self) -> None:
        self.params: dict = {}
        self.grads: dict = {}
        self.x = None

    def forward(self, x):
        self.x = np.array(x)
        return self.x**2

    def backward(self, dout):
        return 2 * self.x * dout


class RowMax:
    """y = max over the last axis; dx routes dout to the (first) arg-max: a kink wherever two entries tie."""

    def __init__(self) -> None:
        self.params: dict = {}
        self.grads: dict = {}

    def forward(self, x):
        self.x = np.asarray(x)
        self.arg = self.x.argmax(axis=-1)
        return self.x.max(axis=-1)

    def backward(self, dout):
        dx = np.zeros_like(self.x)
        np.put_along_axis(dx, self.arg[..., None], np.asarray(dout)[..., None], axis=-1)
        return dx


class AffineOneWrongElement(Affine):
    """dW correct except one element, off by 0.5: the report must name exactly that element."""

    where = (2, 3)

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"][self.where] += 0.5
        return dx


class ExplodesOnCall(Affine):
    """Raises on its n-th forward: the check must still leave W and b exactly as they were."""

    def __init__(self, W, b, n):
        super().__init__(W, b)
        self.calls, self.n = 0, n

    def forward(self, x):
        self.calls += 1
        if self.calls == self.n:
            raise FloatingPointError("boom")
        return super().forward(x)


def test_a_correct_layer_gives_a_truthy_result_with_one_row_per_tensor():
    r = rng()
    layer = make_affine(r)
    result = gradcheck(layer, well_conditioned(r, (2, 4)))
    assert result and result.ok and result.failed == []
    assert [t.name for t in result.tensors] == ["x", "W", "b"]
    text = str(result)
    assert text.splitlines()[0].startswith("gradcheck Affine: ok")
    for part in ("eps=1e-06", "atol=1e-07", "rtol=1e-03", "seed=0", "hygiene: ok"):
        assert part in text
    assert len(text.splitlines()) == 2 + 3 + 1  # header, column names, a row per tensor, hygiene


def test_a_single_wrong_element_is_pinpointed_after_the_directional_check_fails():
    r = rng(1)
    layer = make_affine(r, 5, 6, AffineOneWrongElement)
    result = gradcheck(layer, well_conditioned(r, (3, 5)))
    w = result["W"]
    assert not result and result.failed == ["W"]
    assert w.mode == "directional→elementwise" and w.worst == (2, 3)
    assert w.analytic == pytest.approx(w.numerical + 0.5, abs=1e-6)
    assert "(2,3)" in str(result) and "FAIL" in str(result)


def test_a_single_wrong_element_of_a_huge_tensor_is_found_by_bisection():
    r = rng(2)
    layer = make_affine(r, 60, 50, AffineOneWrongElement)  # 3000 elements: beyond the element-wise fallback
    result = gradcheck(layer, well_conditioned(r, (2, 60)))
    w = result["W"]
    assert not result and w.mode == "directional→bisect" and w.worst == (2, 3)
    assert w.analytic - w.numerical == pytest.approx(0.5, abs=1e-6)


def test_raise_on_failure_raises_gradcheck_error_carrying_the_table():
    r = rng(1)
    layer = make_affine(r, 5, 6, AffineOneWrongElement)
    with pytest.raises(GradcheckError) as info:
        gradcheck(layer, well_conditioned(r, (3, 5)), raise_on_failure=True)
    assert isinstance(info.value.result, GradcheckResult)
    assert str(info.value.result) in str(info.value)
    assert isinstance(info.value, AssertionError)


def test_params_and_inputs_are_left_bit_for_bit_as_they_were():
    r = rng(3)
    layer = make_affine(r, 5, 4)
    x = well_conditioned(r, (3, 5))
    before = {k: p.copy() for k, p in layer.params.items()}
    ids = {k: id(p) for k, p in layer.params.items()}
    x_before = x.copy()
    assert gradcheck(layer, x, mode="elementwise")
    assert gradcheck(layer, x, mode="directional")
    for k, p in layer.params.items():
        assert id(p) == ids[k] and p.tobytes() == before[k].tobytes()
    assert x.tobytes() == x_before.tobytes()


@pytest.mark.parametrize("n", [2, 3, 8, 14, 40])  # call 1 is a decoy run whose errors are ignored
def test_params_are_restored_even_when_the_layer_raises_midway(n):
    r = rng(4)
    W, b = well_conditioned(r, (5, 4)), well_conditioned(r, (4,))
    layer = ExplodesOnCall(W.copy(), b.copy(), n)
    with pytest.raises(FloatingPointError):
        gradcheck(layer, well_conditioned(r, (3, 5)), mode="elementwise")
    assert layer.params["W"].tobytes() == W.tobytes() and layer.params["b"].tobytes() == b.tobytes()


def test_a_loss_differentiates_only_its_first_input_with_dout_one():
    r = rng(5)
    t = np.eye(4)[r.integers(0, 4, 3)]  # float one-hot targets: data all the same
    result = gradcheck(SoftmaxWithLoss(), well_conditioned(r, (3, 4)), t)
    assert result and result.loss and [x.name for x in result.tensors] == ["x"]
    assert "dout=1 (loss)" in str(result)


def test_a_whole_sequential_with_a_loss_checks_every_param_and_not_the_labels():
    r = rng(6)
    net = Sequential(make_affine(r, 4, 3), Tanh(), make_affine(r, 3, 2), loss=SoftmaxWithLoss())
    result = gradcheck(net, well_conditioned(r, (5, 4)), r.integers(0, 2, 5))
    assert result and result.loss
    assert [t.name for t in result.tensors] == ["x", "0.W", "0.b", "2.W", "2.b"]


def test_integer_inputs_are_data_and_a_graph_may_return_none_for_them():
    g = Graph(["x", "k"])
    g.add("y", MulLayer(), "x", "k")
    g.add("z", Sigmoid(), "y")
    result = gradcheck(g, well_conditioned(rng(7), (2, 3)), np.array([[1, 2, 3]] * 2))
    assert result and [t.name for t in result.tensors] == ["x"]


def test_a_duck_typed_layer_is_checked_like_any_other():
    result = gradcheck(Square(), well_conditioned(rng(8), (3, 2)))
    assert result and result.layer == "Square"


def test_a_relu_input_exactly_at_zero_is_a_kink_excluded_not_failed():
    x = well_conditioned(rng(9), (2, 4))
    x[1, 2] = 0.0
    result = gradcheck(ReLU(), x, mode="elementwise")
    assert result and result["x"].kinks == 1 and result["x"].failures == 0


def test_max_ties_are_kinks():
    x = well_conditioned(rng(10), (6, 3))
    x[0, 1] = x[0, 0] = 5.0  # a tie for the row's maximum
    result = gradcheck(RowMax(), x, mode="elementwise")
    assert result and result["x"].kinks == 2


def test_too_many_kinks_is_a_failure():
    result = gradcheck(ReLU(), np.zeros((3, 4)), mode="elementwise")
    assert not result and result["x"].status == "KINKS" and result["x"].kinks == 12
    assert result.failed == ["x"]


def test_a_kink_does_not_hide_a_wrong_slope():
    class ReLUHalfSlope(ReLU):
        def backward(self, dout):
            return 0.5 * super().backward(dout)

    x = well_conditioned(rng(11), (2, 4))
    x[0, 0] = 0.0
    result = gradcheck(ReLUHalfSlope(), x, mode="elementwise")
    assert not result and result["x"].failures >= 4


def test_the_whole_two_layer_net_at_batch_100_is_checked_directionally_and_passes():
    r = rng(12)
    net = TwoLayerNet(784, 50, 10, rng=0)
    result = gradcheck(net, r.random((100, 784)), r.integers(0, 10, 100))
    assert result, str(result)
    assert {t.mode for t in result.tensors} == {"directional"}
    assert sum(int(np.prod(t.shape)) for t in result.tensors if t.kind == "param") == 39_760


def test_the_same_seed_gives_the_same_report_and_another_seed_other_directions():
    r = rng(13)
    net = TwoLayerNet(6, 5, 3, rng=1)
    x, t = r.random((4, 6)), r.integers(0, 3, 4)
    assert str(gradcheck(net, x, t, seed=3)) == str(gradcheck(net, x, t, seed=3))
    assert str(gradcheck(net, x, t, seed=3)) != str(gradcheck(net, x, t, seed=4))


def test_a_float32_layer_is_compared_on_a_float64_copy_and_keeps_its_float32_params():
    r = rng(14)
    layer = make_affine(r, 4, 3, dtype=np.float32)
    W = layer.params["W"].copy()
    result = gradcheck(layer, well_conditioned(r, (2, 4), np.float32))
    assert result and "float64 copy" in result.note and result.dtype.startswith("float32")
    assert layer.params["W"].dtype == np.float32 and layer.params["W"].tobytes() == W.tobytes()


def test_a_float32_check_without_promotion_uses_float32_tolerances_and_still_catches_bugs():
    class TanhWrong(Tanh):
        def backward(self, dout):
            return np.asarray(dout) * (1 + self.y * self.y)

    x = well_conditioned(rng(15), (3, 4), np.float32)
    ok = gradcheck(Tanh(), x, promote=False)
    assert ok and ok.eps == 1e-2 and "float32 tolerances" in ok.note
    assert not gradcheck(TanhWrong(), x, promote=False)
    assert not gradcheck(TanhWrong(), x)


def test_a_float32_layer_that_computes_differently_from_its_float64_copy_is_flagged():
    class SigmoidBadInFloat32(Sigmoid):
        def backward(self, dout):
            dx = super().backward(dout)
            return dx * 1.1 if dx.dtype == np.float32 else dx

    result = gradcheck(SigmoidBadInFloat32(), well_conditioned(rng(16), (3, 4), np.float32))
    assert not result and [h.check for h in result.hygiene] == ["float32 vs float64"]


def test_wrt_selects_inputs_by_name_or_index():
    r = rng(17)
    x, y = well_conditioned(r, (2, 3)), well_conditioned(r, (2, 3))
    assert [t.name for t in gradcheck(MulLayer(), x, y, wrt=["y"]).tensors] == ["y"]
    assert [t.name for t in gradcheck(MulLayer(), x, y, wrt=[0]).tensors] == ["x"]
    with pytest.raises(ValueError, match="wrt"):
        gradcheck(MulLayer(), x, y, wrt=["z"])


def test_bad_arguments_are_rejected_with_typed_errors():
    x = np.ones((2, 2))
    with pytest.raises(TypeError, match="not a layer"):
        gradcheck(object(), x)
    with pytest.raises(ValueError, match="mode"):
        gradcheck(ReLU(), x, mode="fast")
    with pytest.raises(ValueError, match="directions"):
        gradcheck(ReLU(), x, directions=0)
    with pytest.raises(TypeError, match="input 0"):
        gradcheck(ReLU(), np.array(["a"]))


def test_importing_minigrad_does_not_import_hypothesis():
    code = "import sys, minigrad, minigrad.gradcheck; assert 'hypothesis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_graph_ending_in_a_loss_is_a_loss_and_its_float_targets_are_not_differentiated():
    r = rng(18)
    g = Graph(["x", "t"])
    g.add("h", make_affine(r, 4, 3), "x")
    g.add("L", SoftmaxWithLoss(), "h", "t")
    result = gradcheck(g, well_conditioned(r, (5, 4)), np.eye(3)[r.integers(0, 3, 5)])
    assert result and result.loss and [t.name for t in result.tensors] == ["x", "h.W", "h.b"]


def test_a_forward_that_returns_its_input_gets_a_note_not_a_failure():
    class Identity(Square):
        def forward(self, x):
            return x

        def backward(self, dout):
            return np.array(dout)

    result = gradcheck(Identity(), well_conditioned(rng(19), (2, 3)))
    assert result and result.hygiene == [] and [n.check for n in result.notes] == ["output aliases"]
    assert "note: output aliases [x]" in str(result)


def test_gradcheck_is_reachable_as_design_fixes_it_and_its_result_types_from_the_package():
    import minigrad
    import minigrad.gradcheck
    from minigrad.gradcheck import GradcheckResult as FromModule
    from minigrad.gradcheck import gradcheck as from_module

    assert minigrad.gradcheck.gradcheck is from_module and minigrad.GradcheckResult is FromModule
    assert {"GradcheckResult", "GradcheckError"} <= set(minigrad.__all__)


def test_a_float32_layer_that_refuses_float64_is_checked_in_float32_and_says_so():
    class Float32Only(Tanh):
        def forward(self, x):
            if np.asarray(x).dtype != np.float32:
                raise TypeError("Float32Only: float32 inputs only")
            return super().forward(x)

    result = gradcheck(Float32Only(), well_conditioned(rng(20), (3, 4), np.float32))
    assert result and result.eps == 1e-2 and "no float64 copy" in result.note
