"""GradcheckResult.culprit: in a failing net, the first layer whose own backward is wrong, named every time."""

from __future__ import annotations

import numpy as np
import pytest
from book_layers import BookAffine, BookDropout, BookReLU, BookSigmoid, BookTanh, GeneratorDropout, RunningBatchNorm

from minigrad import AddLayer, Graph, MulLayer, Sequential, SoftmaxWithLoss
from minigrad.gradcheck import gradcheck


def away(r, *shape):
    return r.uniform(0.2, 1.5, shape) * r.choice([-1.0, 1.0], shape)


# one planted bug per kind of layer, all duck-typed (no minigrad base class)
class AffineDbMean(BookAffine):
    """db = mean over the batch instead of the sum."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = dout.mean(axis=0)
        return dx


class AffineBatchOfOne(BookAffine):
    """dW from the first sample only."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] = np.outer(self.x[0], dout[0])
        return dx


class TanhWrongSign(BookTanh):
    """dx = dout · (1 + y²)."""

    def backward(self, dout):
        return dout * (1.0 + self.out**2)


class SigmoidAtX(BookSigmoid):
    """The derivative taken at x instead of at y."""

    def forward(self, x):
        self.x = x
        return super().forward(x)

    def backward(self, dout):
        return dout * self.x * (1 - self.x)


class ReLUIgnoresMask(BookReLU):
    """backward forgets the mask: dx = dout everywhere."""

    def backward(self, dout):
        return dout.copy()


class DropoutNewMask(GeneratorDropout):
    """backward draws a fresh mask instead of using forward's."""

    def backward(self, dout):
        return dout * (self.rng.random(dout.shape) >= self.p) / (1.0 - self.p)


class BatchNormNoMeanTerm(RunningBatchNorm):
    """dx misses the term through the batch mean."""

    def backward(self, dout):
        super().backward(dout)
        return self.params["gamma"] * dout / self.std


class SoftmaxLossNoN(SoftmaxWithLoss):
    """The loss's dx forgets /N."""

    def backward(self, dout=1.0):
        return super().backward(dout) * self.t.shape[0] if hasattr(self, "t") else super().backward(dout) * 4


def chain(r, bug_at: int | None):
    """An 8-layer Sequential (+ softmax loss) of book-style layers; layer `bug_at` replaced by its buggy twin."""
    D = 6
    makers = [
        lambda wrong: (AffineDbMean if wrong else BookAffine)(away(r, D, D), away(r, D)),
        lambda wrong: (TanhWrongSign if wrong else BookTanh)(),
        lambda wrong: (DropoutNewMask if wrong else GeneratorDropout)(0.25, seed=4),
        lambda wrong: (AffineBatchOfOne if wrong else BookAffine)(away(r, D, D), away(r, D)),
        lambda wrong: (ReLUIgnoresMask if wrong else BookReLU)(),
        lambda wrong: (BatchNormNoMeanTerm if wrong else RunningBatchNorm)(D, r),
        lambda wrong: (SigmoidAtX if wrong else BookSigmoid)(),
        lambda wrong: (AffineDbMean if wrong else BookAffine)(away(r, D, 3), away(r, 3)),
    ]
    return Sequential(*(make(i == bug_at) for i, make in enumerate(makers)), loss=SoftmaxWithLoss())


@pytest.mark.parametrize("depth", range(8))
def test_culprit_names_the_planted_bug_at_every_depth_of_a_chain(depth):
    r = np.random.default_rng(depth)
    net = chain(r, depth)
    result = gradcheck(net, away(r, 5, 6), r.integers(0, 3, 5))
    assert not result and result.culprit == str(depth), str(result)
    assert not result.culprit_result and result.culprit_result.layer == type(net[depth]).__name__
    assert f"culprit: layer {depth} ({type(net[depth]).__name__}), checked alone" in str(result)


def test_a_correct_net_has_no_culprit_and_a_buggy_loss_is_named_loss():
    r = np.random.default_rng(11)
    x, t = away(r, 5, 6), r.integers(0, 3, 5)
    result = gradcheck(chain(r, None), x, t)
    assert result and result.culprit is None and "culprit" not in str(result)
    net = Sequential(BookAffine(away(r, 6, 3), away(r, 3)), BookTanh(), loss=SoftmaxLossNoN())
    result = gradcheck(net, x, t)
    assert not result and result.culprit == "loss"


def test_a_bug_inside_a_nested_sequential_is_named_by_its_path():
    r = np.random.default_rng(12)
    inner = Sequential(BookTanh(), AffineDbMean(away(r, 4, 4), away(r, 4)), BookSigmoid())
    net = Sequential(BookAffine(away(r, 5, 4), away(r, 4)), inner, BookAffine(away(r, 4, 2), away(r, 2)))
    result = gradcheck(net, away(r, 3, 5))
    assert not result and result.culprit == "1.1"
    assert result.culprit_result.culprit == "1" and result.culprit_result.culprit_result.layer == "AffineDbMean"


@pytest.mark.parametrize("bad", ["h", "a", "xs", "p", "out"])
def test_a_bug_in_a_graph_with_fan_out_is_named_by_its_node(bad):
    class MulSwapped(MulLayer):
        def backward(self, dout):
            dx, dy = super().backward(dout)
            return dx * 1.5, dy

    class AddHalf(AddLayer):
        def backward(self, dout):
            dx, dy = super().backward(dout)
            return dx, 0.5 * dy

    r = np.random.default_rng(13)
    g = Graph(["x", "s"])
    g.add("h", (AffineDbMean if bad == "h" else BookAffine)(away(r, 4, 3), away(r, 3)), "x")
    g.add("a", (TanhWrongSign if bad == "a" else BookTanh)(), "h")
    g.add("xs", (MulSwapped if bad == "xs" else MulLayer)(), "x", "s")
    g.add("p", (AffineDbMean if bad == "p" else BookAffine)(away(r, 4, 3), away(r, 3)), "xs")
    g.add("out", (AddHalf if bad == "out" else AddLayer)(), "a", "p")
    result = gradcheck(g, away(r, 5, 4), away(r, 5, 4))
    assert not result and result.culprit == bad, str(result)


def test_no_single_layer_is_blamed_when_each_passes_alone():
    """Two layers share one weight array: each layer's dW is right, the net's "0.W" misses the other's share."""
    r = np.random.default_rng(14)
    W = away(r, 4, 4)
    net = Sequential(BookAffine(W, away(r, 4)), BookTanh(), BookAffine(W, away(r, 4)))
    result = gradcheck(net, away(r, 3, 4))
    assert not result and result.culprit is None and result.culprit_result is None
    assert "culprit: none (every layer passes alone" in str(result)


def test_the_culprit_search_leaves_the_net_as_it_was_found():
    r = np.random.default_rng(15)
    net = chain(r, 3)
    before = {k: v.copy() for k, v in net.params.items()}
    stats = net[5].running_mean.copy()
    state = net[2].rng.bit_generator.state
    np.random.seed(1)
    global_before = np.random.get_state()[1].copy()
    x, t = away(r, 5, 6), r.integers(0, 3, 5)
    assert gradcheck(net, x, t).culprit == "3"
    assert all(np.array_equal(before[k], v) for k, v in net.params.items())
    assert np.array_equal(net[5].running_mean, stats) and net[2].rng.bit_generator.state == state
    assert np.array_equal(np.random.get_state()[1], global_before)


def test_a_book_dropout_drawing_from_np_random_inside_a_net_is_replayed():
    r = np.random.default_rng(16)
    net = Sequential(BookAffine(away(r, 5, 6), away(r, 6)), BookDropout(0.5), BookAffine(away(r, 6, 2), away(r, 2)))
    assert gradcheck(net, away(r, 4, 5))


@pytest.mark.parametrize("bad", [0, 2, 3, 5])
def test_a_planted_bug_in_a_library_conv_net_is_named(bad):
    from minigrad import Affine, BatchNormalization, Convolution, Dropout, Pooling, ReLU

    class ConvDbMean(Convolution):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["b"] = self.grads["b"] / dout.shape[0]
            return dx

    class PoolingHalved(Pooling):
        def backward(self, dout):
            return 0.5 * super().backward(dout)

    class DropoutNoMask(Dropout):
        def backward(self, dout):
            return dout.copy()

    class BatchNormNoGamma(BatchNormalization):
        def backward(self, dout):
            dx = super().backward(dout)
            return dx / self.params["gamma"]

    r = np.random.default_rng(17 + bad)
    layers = [
        (ConvDbMean if bad == 0 else Convolution)(0.3 * r.standard_normal((4, 2, 3, 3)), 0.1 * r.standard_normal(4)),
        ReLU(),
        (PoolingHalved if bad == 2 else Pooling)(2, 2, stride=2),
        (DropoutNoMask if bad == 3 else Dropout)(0.3, rng=1),
        Affine(0.3 * r.standard_normal((36, 5)), 0.1 * r.standard_normal(5)),
        (BatchNormNoGamma if bad == 5 else BatchNormalization)(r.uniform(0.5, 1.5, 5), np.zeros(5)),
    ]
    net = Sequential(*layers, loss=SoftmaxWithLoss())
    result = gradcheck(net, r.standard_normal((4, 2, 8, 8)), r.integers(0, 5, 4))
    assert not result and result.culprit == str(bad), str(result)


def test_the_guide_culprit_example_prints_what_the_guide_shows():
    import contextlib
    import io
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "gradcheck.md").read_text(encoding="utf-8")
    section = page[page.index("## Which layer is wrong"):]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "docs/gradcheck.md", "exec"), {})
    assert printed.getvalue() == shown


def test_the_report_fits_a_narrow_terminal_when_asked_and_keeps_its_figures():
    import numpy as np

    from minigrad import Affine, Sequential, SoftmaxWithLoss
    from minigrad.gradcheck import gradcheck

    class BuggyTanh:
        def __init__(self):
            self.params, self.grads = {}, {}

        def forward(self, x):
            self.out = np.tanh(x)
            return self.out

        def backward(self, dout):
            return dout * (1 + self.out**2)

    r = np.random.default_rng(0)
    net = Sequential(Affine(r.normal(size=(4, 5)), r.normal(size=5)), BuggyTanh(),
                     Affine(r.normal(size=(5, 3)), r.normal(size=3)), loss=SoftmaxWithLoss())
    result = gradcheck(net, r.normal(size=(6, 4)), r.integers(0, 3, 6))
    assert result.format() == str(result) == result.format(width=500)  # wide enough: the full table
    narrow = result.format(width=80)
    assert max(map(len, narrow.splitlines())) <= 80 < max(map(len, str(result).splitlines()))
    worst = result["0.W"]
    row = next(line for line in narrow.splitlines() if line.startswith("0.W "))
    assert f"{worst.analytic:.6g}" in row and f"{worst.numerical:.6g}" in row and row.endswith("FAIL")
    assert "culprit: layer 1 (BuggyTanh)" in narrow
