"""normalization.py: BatchNormalization and Dropout — formulas, running statistics, masks, gradients, PyTorch."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad import Affine, BatchNormalization, Dropout, ReLU, Sequential, SoftmaxWithLoss
from minigrad import layers as layers_module
from minigrad.gradcheck import gradcheck


def bn_for(x_shape, per_activation=False, seed=0, dtype=np.float64, **kwargs):
    """A BatchNormalization for inputs of x_shape with random gamma, beta and running statistics."""
    rng = np.random.default_rng(seed)
    d = int(np.prod(x_shape[1:])) if per_activation or len(x_shape) == 2 else x_shape[1]
    return BatchNormalization(rng.uniform(0.5, 2, d).astype(dtype), rng.standard_normal(d).astype(dtype),
                              running_mean=rng.standard_normal(d), running_var=rng.uniform(0.5, 2, d), **kwargs)


def reference(x, gamma, beta, axes, mean=None, var=None, eps=1e-5):
    """y = γ (x − μ)/√(σ² + eps) + β, statistics over `axes` (batch) or given, written out longhand."""
    keep = tuple(1 if a in axes else s for a, s in enumerate(x.shape))
    mu = x.mean(axis=axes).reshape(keep) if mean is None else mean.reshape(keep)
    var = x.var(axis=axes).reshape(keep) if var is None else var.reshape(keep)
    return gamma.reshape(keep) * (x - mu) / np.sqrt(var + eps) + beta.reshape(keep)


LAYOUTS = {  # name -> (x shape, per_activation, axes of the statistics)
    "2-D per feature": ((6, 4), False, (0,)),
    "4-D per channel": ((3, 2, 4, 5), False, (0, 2, 3)),
    "4-D per activation (the book)": ((5, 2, 3, 3), True, (0,)),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_batch_normalization_normalizes_with_batch_statistics_in_training_and_running_ones_in_inference(layout):
    shape, per_activation, axes = LAYOUTS[layout]
    x = np.random.default_rng(1).normal(3.0, 2.0, shape)
    bn = bn_for(shape, per_activation)
    gamma, beta = bn.params["gamma"], bn.params["beta"]
    np.testing.assert_allclose(bn.forward(x), reference(x, gamma, beta, axes), rtol=1e-12)
    bn.training = False
    mean, var = bn.running_mean.copy(), bn.running_var.copy()
    np.testing.assert_allclose(bn.forward(x), reference(x, gamma, beta, axes, mean, var), rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean, mean)  # inference never moves them
    np.testing.assert_array_equal(bn.running_var, var)


def test_training_moves_the_running_statistics_by_momentum_with_the_unbiased_variance():
    x = np.random.default_rng(2).normal(1.0, 3.0, (8, 3))
    bn = BatchNormalization(np.ones(3), np.zeros(3), momentum=0.8)
    assert not bn.running_mean.any() and (bn.running_var == 1).all()  # zeros and ones from construction
    buffers = dict(bn.buffers)
    bn.forward(x)
    np.testing.assert_allclose(bn.running_mean, 0.2 * x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(bn.running_var, 0.8 + 0.2 * x.var(axis=0, ddof=1), rtol=1e-14)
    assert bn.buffers["running_mean"] is buffers["running_mean"] is bn.running_mean  # updated in place
    assert bn.buffers["running_var"] is buffers["running_var"] is bn.running_var


def test_batch_normalization_keeps_float32_and_returns_dx_in_the_inputs_dtype():
    bn = bn_for((4, 3), dtype=np.float32)
    assert all(a.dtype == np.float32 for a in (*bn.params.values(), *bn.buffers.values()))
    for training in (True, False):
        bn.training = training
        y = bn.forward(np.ones((4, 3), np.float32) + np.arange(12, dtype=np.float32).reshape(4, 3))
        assert y.dtype == np.float32
        assert bn.backward(np.ones_like(y)).dtype == np.float32
        assert all(g.dtype == np.float32 for g in bn.grads.values())
        assert all(b.dtype == np.float32 for b in bn.buffers.values())


def test_batch_normalization_errors_name_the_argument_and_the_shapes():
    with pytest.raises(ValueError, match=r"BatchNormalization: beta must have shape \(3,\), got shape \(4,\)"):
        BatchNormalization(np.ones(3), np.zeros(4))
    with pytest.raises(ValueError, match=r"BatchNormalization: running_var must have shape \(3,\), got shape \(2,\)"):
        BatchNormalization(np.ones(3), np.zeros(3), running_var=np.ones(2))
    with pytest.raises(ValueError, match=r"BatchNormalization: momentum must be a number in \[0, 1\), got 1.5"):
        BatchNormalization(np.ones(3), np.zeros(3), momentum=1.5)
    with pytest.raises(ValueError, match=r"BatchNormalization: eps must be a finite number > 0, got 0"):
        BatchNormalization(np.ones(3), np.zeros(3), eps=0)
    bn = BatchNormalization(np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match=r"BatchNormalization.forward: x must have shape \(N, 3\), .*got \(2, 4\)"):
        bn.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"training needs at least 2 values per feature, got x of shape \(1, 3\)"):
        bn.forward(np.ones((1, 3)))
    with pytest.raises(RuntimeError, match="BatchNormalization.backward called before forward"):
        bn.backward(np.ones((2, 3)))
    bn.training = False
    assert bn.forward(np.ones((1, 3))).shape == (1, 3)  # one sample is fine in inference
    with pytest.raises(ValueError, match=r"BatchNormalization.backward: dout must have the output's shape \(1, 3\), got \(2, 3\)"):
        bn.backward(np.ones((2, 3)))


def test_dropout_keeps_each_element_with_probability_one_minus_ratio_scaled_by_its_inverse():
    d = Dropout(0.3, rng=0)
    y = d.forward(np.ones((200, 500)))
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.005  # 100,000 draws: 4.5 standard deviations
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-15)
    np.testing.assert_array_equal(d.backward(np.full(y.shape, 2.0)), 2 * y)
    d.training = False
    x = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_array_equal(d.forward(x), x)  # inference: the identity
    np.testing.assert_array_equal(d.backward(x), x)


def test_dropout_masks_come_only_from_its_own_generator_bit_for_bit():
    x = np.random.default_rng(0).standard_normal((4, 6))
    a, b = Dropout(0.5, rng=7), Dropout(0.5, rng=np.random.default_rng(7))
    np.random.seed(1)  # numpy's global state plays no part
    first = [a.forward(x) for _ in range(3)]
    np.random.seed(2)
    second = [b.forward(x) for _ in range(3)]
    for p, q in zip(first, second):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(first[0], first[1])  # a new mask each forward
    assert Dropout(0.5, rng=8).forward(x).tolist() != first[0].tolist()
    assert Dropout(0.5, rng=7).forward(x.astype(np.float32)).dtype == np.float32
    np.testing.assert_array_equal(Dropout(0.5, rng=7).forward(x.astype(np.float32)) != 0, first[0] != 0)


def test_dropout_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"Dropout: dropout_ratio must be a number in \[0, 1\), got 1"):
        Dropout(1)
    with pytest.raises(RuntimeError, match="Dropout.backward called before forward"):
        Dropout().backward(np.ones(3))


def test_both_layers_are_exported_from_the_package_and_layers_does_not_import_them_back():
    import minigrad
    import minigrad.normalization

    assert minigrad.normalization.BatchNormalization is minigrad.BatchNormalization
    assert minigrad.normalization.Dropout is minigrad.Dropout
    assert {"BatchNormalization", "Dropout"} <= set(minigrad.__all__)
    assert not hasattr(layers_module, "BatchNormalization") and not hasattr(layers_module, "Dropout")


# ------------------------------------------------------------------------------- gradients


# From 3 values per feature: at 2 the normalized values are ±1 whatever x, so dx in training is only the
# ~1e-7 eps term left after O(1) terms cancel, below what gradcheck's 1e-10-relative linearity check resolves.
@settings(max_examples=25)
@given(n=st.integers(3, 5), d=st.integers(1, 4), training=st.booleans(), seed=st.integers(0, 2**16))
def test_batch_normalization_2d_passes_gradcheck_in_both_modes(n, d, training, seed):
    bn = bn_for((n, d), seed=seed)
    bn.training = training
    x = np.random.default_rng(seed).normal(0.5, 2.0, (n, d))
    result = gradcheck(bn, x, seed=seed)
    assert result, str(result)


@settings(max_examples=15)
@given(n=st.integers(1, 3), c=st.integers(1, 3), hw=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       per_activation=st.booleans(), training=st.booleans(), seed=st.integers(0, 2**16))
def test_batch_normalization_4d_passes_gradcheck_in_both_modes(n, c, hw, per_activation, training, seed):
    shape = (n, c, *hw)
    m = n if per_activation else n * hw[0] * hw[1]
    if training and m < 3:
        n, shape = 3, (3, c, *hw)
    bn = bn_for(shape, per_activation, seed=seed)
    bn.training = training
    x = np.random.default_rng(seed).normal(-1.0, 1.5, shape)
    result = gradcheck(bn, x, seed=seed)
    assert result, str(result)


@settings(max_examples=15)
@given(n=st.integers(1, 4), d=st.integers(1, 6), ratio=st.sampled_from([0.0, 0.2, 0.5, 0.8]), seed=st.integers(0, 2**16))
def test_dropout_in_training_mode_passes_gradcheck_which_replays_its_generator(n, d, ratio, seed):
    x = np.random.default_rng(seed).standard_normal((n, d))
    dropout = Dropout(ratio, rng=seed)
    state = dropout.rng.bit_generator.state
    result = gradcheck(dropout, x, seed=seed)  # every forward of the check draws the same mask
    assert result, str(result)
    assert dropout.rng.bit_generator.state == state  # and the generator is left where it was


@settings(max_examples=10)
@given(seed=st.integers(0, 2**16), training=st.booleans())
def test_a_whole_net_with_batch_normalization_and_dropout_passes_gradcheck(seed, training):
    rng = np.random.default_rng(seed)
    net = Sequential(
        Affine.from_sizes(5, 6, rng=rng), bn_for((4, 6), seed=seed), ReLU(), Dropout(0.3, rng=seed),
        Affine.from_sizes(6, 3, rng=rng), loss=SoftmaxWithLoss(),
    )
    net.train(training)
    x, t = rng.standard_normal((4, 5)), rng.integers(0, 3, 4)
    buffers = {k: b.copy() for k, b in net.buffers.items()}
    result = gradcheck(net, x, t, seed=seed)
    assert result, str(result)
    for k, b in net.buffers.items():  # the check leaves the running statistics as they were
        np.testing.assert_array_equal(b, buffers[k])


# ------------------------------------------------------------------------------- PyTorch as the oracle


@pytest.fixture(scope="module")
def torch():
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        import torch  # CI installs it (.ci/run): a missing torch must fail there, not skip

        return torch
    return pytest.importorskip("torch")


@pytest.mark.parametrize("shape", [(7, 4), (3, 5, 4, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_normalization_matches_torch_batch_norm_in_float64(torch, shape, training):
    F = torch.nn.functional
    rng = np.random.default_rng(11)
    bn = bn_for(shape, seed=3, momentum=0.85, eps=1e-3)
    bn.training = training
    x, dout = rng.normal(2.0, 3.0, shape), rng.standard_normal(shape)
    t_mean, t_var = torch.tensor(bn.running_mean.copy()), torch.tensor(bn.running_var.copy())
    tx = torch.tensor(x, requires_grad=True)
    tg = torch.tensor(bn.params["gamma"].copy(), requires_grad=True)
    tb = torch.tensor(bn.params["beta"].copy(), requires_grad=True)
    ty = F.batch_norm(tx, t_mean, t_var, tg, tb, training=training, momentum=1 - bn.momentum, eps=bn.eps)
    ty.backward(torch.tensor(dout))
    y = bn.forward(x)
    dx = bn.backward(dout)
    for ours, theirs in [(y, ty), (dx, tx.grad), (bn.grads["gamma"], tg.grad), (bn.grads["beta"], tb.grad),
                         (bn.running_mean, t_mean), (bn.running_var, t_var)]:
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-10)
