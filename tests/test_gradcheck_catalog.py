"""The catalog of correct layers written the book's way: every one passes gradcheck on every seed, and is left as found."""

from __future__ import annotations

import numpy as np
import pytest
from book_layers import (
    BookAffine,
    BookDropout,
    BookReLU,
    BookSigmoid,
    BookTanh,
    BufferedTanh,
    GeneratorDropout,
    MaxPool2,
    RowMax,
    RunningBatchNorm,
    pooled_relu_outputs,
    relu_at_zero,
    rows_with_ties,
)

from minigrad import (
    Affine,
    BatchNormalization,
    Convolution,
    Dropout,
    Pooling,
    ReLU,
    Sequential,
    SoftmaxWithLoss,
)
from minigrad.gradcheck import gradcheck

SEEDS = range(5)


def normal(r, *shape):
    return r.standard_normal(shape)


# name -> make(rng) -> (layer, inputs)
CATALOG = {
    "sigmoid returning its cache": lambda r: (BookSigmoid(), [normal(r, 4, 5)]),
    "tanh returning its cache": lambda r: (BookTanh(), [normal(r, 4, 5)]),
    "tanh into one reused buffer": lambda r: (BufferedTanh(), [normal(r, 4, 5)]),
    "affine caching x": lambda r: (BookAffine(normal(r, 5, 3), normal(r, 3)), [normal(r, 4, 5)]),
    "ReLU, 10% of inputs at 0": lambda r: (BookReLU(), [relu_at_zero(r, (20, 50))]),
    "row max with ties": lambda r: (RowMax(), [rows_with_ties(r, 30, 8)]),
    "max pool over ReLU outputs": lambda r: (MaxPool2(), [pooled_relu_outputs(r, (2, 3, 8, 8))]),
    "dropout with np.random.rand": lambda r: (BookDropout(0.4), [normal(r, 6, 7)]),
    "dropout with its own Generator": lambda r: (GeneratorDropout(0.3, seed=int(r.integers(100))), [normal(r, 6, 7)]),
    "batch norm, running stats rebound": lambda r: (RunningBatchNorm(5, r), [normal(r, 8, 5)]),
    "batch norm, running stats in buffers": lambda r: (RunningBatchNorm(5, r, rebind=False), [normal(r, 8, 5)]),
    "a net of them with dropout and a loss": lambda r: (
        Sequential(BookAffine(normal(r, 6, 8), normal(r, 8)), BookTanh(), GeneratorDropout(0.25, seed=3),
                   BookAffine(normal(r, 8, 8), normal(r, 8)), RunningBatchNorm(8, r), BookSigmoid(),
                   BookAffine(normal(r, 8, 3), normal(r, 3)), loss=SoftmaxWithLoss()),
        [normal(r, 5, 6), r.integers(0, 3, 5)],
    ),
    "library Dropout": lambda r: (Dropout(0.5, rng=int(r.integers(100))), [normal(r, 6, 7)]),
    "library BatchNormalization, training": lambda r: (
        BatchNormalization(r.uniform(0.5, 1.5, 5), r.uniform(-0.5, 0.5, 5)), [normal(r, 8, 5)]),
    "library Pooling over ReLU outputs": lambda r: (Pooling(2, 2, stride=2), [pooled_relu_outputs(r, (2, 3, 8, 8))]),
    "library conv net with dropout and batch norm": lambda r: (
        Sequential(Convolution(0.3 * normal(r, 4, 2, 3, 3), 0.1 * normal(r, 4)), ReLU(), Pooling(2, 2, stride=2),
                   Dropout(0.3, rng=1), Affine(0.3 * normal(r, 36, 5), 0.1 * normal(r, 5)),
                   BatchNormalization(np.ones(5), np.zeros(5)), loss=SoftmaxWithLoss()),
        [normal(r, 4, 2, 8, 8), r.integers(0, 5, 4)],
    ),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", CATALOG)
def test_a_correct_book_style_layer_passes_on_every_seed(name, seed):
    layer, inputs = CATALOG[name](np.random.default_rng(seed))
    result = gradcheck(layer, *inputs, seed=seed)
    assert result, f"{name}, seed {seed}:\n{result}"
    assert result.culprit is None


@pytest.mark.parametrize("name", ["ReLU, 10% of inputs at 0", "row max with ties", "max pool over ReLU outputs",
                                  "library Pooling over ReLU outputs"])
def test_kinks_are_excluded_element_by_element_in_fast_mode_and_everything_else_verified(name):
    layer, inputs = CATALOG[name](np.random.default_rng(0))
    x = inputs[0]
    t = gradcheck(layer, *inputs)["x"]
    assert t.mode == "directional→elementwise" and t.checked == x.size and t.failures == 0
    assert 0 < t.kinks < x.size / 2 and t.verified == x.size - t.kinks
    if name.startswith("ReLU"):
        assert t.kinks == np.count_nonzero(x == 0) == x.size // 10


@pytest.mark.parametrize("fraction", [0.005, 0.02, 0.1])
def test_kinks_in_a_huge_tensor_are_found_by_splitting_directions(fraction):
    r = np.random.default_rng(1)
    x = relu_at_zero(r, (60, 50), fraction)  # 3000 elements: beyond the element-wise fallback
    t = gradcheck(BookReLU(), x)["x"]
    assert t.ok and t.mode == "directional→split" and t.failures == 0
    assert 0 < t.kinks <= fraction * 3000 and t.verified >= 3000 * (1 - 2 * fraction)
    if fraction < 0.1:  # every kink found within the probe budget
        assert t.kinks == fraction * 3000 and t.unresolved == 0


def test_a_wrong_element_among_kinks_in_a_huge_tensor_is_still_caught():
    class HalfSlopeAt(BookReLU):
        def backward(self, dout):
            dx = super().backward(dout)
            dx[7, 7] *= 0.5
            return dx

    x = relu_at_zero(np.random.default_rng(2), (60, 50), 0.02)
    x[7, 7] = 1.0
    t = gradcheck(HalfSlopeAt(), x)["x"]
    assert not t.ok and t.failures == 1 and t.worst == (7, 7)


def test_a_tensor_with_too_little_verified_fails_with_kinks_and_says_why():
    result = gradcheck(BookReLU(), relu_at_zero(np.random.default_rng(2), (4, 5), fraction=0.6))
    assert not result and result["x"].status == "KINKS" and result["x"].kinks == 12
    assert "kinks: x: only 8 of 20 checks verified (12 kinks); more than half must be" in str(result)


def test_dropout_masks_are_replayed_and_the_random_states_left_as_found():
    np.random.seed(5)
    layer = GeneratorDropout(0.5, seed=9)
    states = np.random.get_state()[1].copy(), layer.rng.bit_generator.state
    assert gradcheck(layer, np.ones((4, 4)))
    assert gradcheck(BookDropout(), np.ones((4, 4)))
    assert np.array_equal(np.random.get_state()[1], states[0]) and layer.rng.bit_generator.state == states[1]


@pytest.mark.parametrize("rebind", [True, False], ids=["rebound", "in buffers"])
def test_running_statistics_and_caches_are_left_as_they_were(rebind):
    r = np.random.default_rng(3)
    layer = RunningBatchNorm(4, r, rebind=rebind)
    layer.forward(normal(r, 6, 4))  # a previous batch: stats moved once, caches filled
    before = {k: np.copy(v) for k, v in vars(layer).items() if isinstance(v, np.ndarray)}
    buffers = {k: v.copy() for k, v in layer.buffers.items()}
    ids = {k: id(v) for k, v in layer.buffers.items()}
    assert gradcheck(layer, normal(r, 6, 4))
    after = {k: v for k, v in vars(layer).items() if isinstance(v, np.ndarray)}
    assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)
    assert all(id(v) == ids[k] and np.array_equal(v, buffers[k]) for k, v in layer.buffers.items())


def test_a_forward_that_cannot_be_replayed_gets_one_clear_finding():
    class FreshEntropyDropout(GeneratorDropout):
        def forward(self, x):
            self.rng = np.random.default_rng()  # a new, unseeded Generator on every call
            return super().forward(x)

    result = gradcheck(FreshEntropyDropout(), np.ones((5, 6)))
    assert not result and [h.check for h in result.hygiene] == ["not deterministic"] and result.tensors == []
    assert "forward(x) twice gave different outputs: max |difference|" in str(result)


def test_the_library_batch_normalization_keeps_its_running_statistics_through_gradcheck():
    r = np.random.default_rng(4)
    bn = BatchNormalization(np.ones(3), np.zeros(3))
    bn.forward(normal(r, 5, 3))
    buffers = {k: (id(v), v.copy()) for k, v in bn.buffers.items()}
    assert gradcheck(bn, normal(r, 5, 3))
    assert all(id(v) == buffers[k][0] and np.array_equal(v, buffers[k][1]) for k, v in bn.buffers.items())


def test_a_layer_writing_into_a_buffer_it_held_before_the_check_passes_and_gets_it_back():
    r = np.random.default_rng(5)
    layer = BufferedTanh()
    x = normal(r, 4, 5)
    layer.forward(normal(r, 4, 5))  # its buffer now has x's shape: the check's forwards write into it
    buffer, contents = layer.out, layer.out.copy()
    assert gradcheck(layer, x)
    assert layer.out is buffer and np.array_equal(buffer, contents) and buffer.flags.writeable


def test_arrays_a_layer_holds_are_writeable_again_after_a_check_that_raised():
    class RaisesInBackward(BookSigmoid):
        def backward(self, dout):
            raise FloatingPointError("boom")

    layer = RaisesInBackward()
    layer.forward(np.ones((2, 2)))
    held = layer.out
    with pytest.raises(FloatingPointError):
        gradcheck(layer, np.ones((2, 2)))
    assert layer.out is held and held.flags.writeable
