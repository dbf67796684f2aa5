"""conv.py: im2col/col2im, Convolution and Pooling against loops, gradcheck and PyTorch (float64, 1e-10)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import Affine, Convolution, Pooling, ReLU, Sequential, SoftmaxWithLoss
from minigrad.conv import col2im, conv_output_size, im2col
from minigrad.gradcheck import gradcheck


def torch_or_skip():
    """torch, or a skip on a developer's machine without it; under CI (CI=true) a missing torch fails."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        import torch  # .ci/run installs torch==2.13.0: an ImportError here fails the test

        return torch
    return pytest.importorskip("torch")


# ---------------------------------------------------------------- references written as loops over pixels


def conv_loops(x, W, b, stride, pad):
    """The convolution's definition: y[n, f, i, j] = Σ_c,u,v W[f, c, u, v] · xpad[n, c, i·s + u, j·s + v] + b[f]."""
    N, C, H, Wd = x.shape
    FN, _, FH, FW = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    OH, OW = conv_output_size(H, FH, stride, pad), conv_output_size(Wd, FW, stride, pad)
    y = np.empty((N, FN, OH, OW))
    for n in range(N):
        for f in range(FN):
            for i in range(OH):
                for j in range(OW):
                    y[n, f, i, j] = np.sum(W[f] * xp[n, :, i * stride : i * stride + FH, j * stride : j * stride + FW]) + b[f]
    return y


def pool_loops(x, ph, pw, stride, pad):
    """Max pooling's definition, padding with -inf: y[n, c, i, j] = max of the window at (i·s − pad, j·s − pad)."""
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-np.inf)
    OH, OW = conv_output_size(H, ph, stride, pad), conv_output_size(W, pw, stride, pad)
    y = np.empty((N, C, OH, OW))
    for i in range(OH):
        for j in range(OW):
            y[:, :, i, j] = xp[:, :, i * stride : i * stride + ph, j * stride : j * stride + pw].max(axis=(2, 3))
    return y


@st.composite
def conv_cases(draw, max_channels=3):
    """(x, W, b, stride, pad) with small non-square images and filters, strides 1–3, pads up to the filter size − 1."""
    fh, fw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, pad = draw(st.integers(1, 3)), draw(st.integers(0, min(fh, fw) - 1))
    h = draw(st.integers(max(1, fh - 2 * pad), 7))
    w = draw(st.integers(max(1, fw - 2 * pad), 7))
    n, c, fn = draw(st.integers(1, 3)), draw(st.integers(1, max_channels)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return rng.standard_normal((n, c, h, w)), rng.standard_normal((fn, c, fh, fw)), rng.standard_normal(fn), stride, pad


@st.composite
def pool_cases(draw):
    """(x, pool_h, pool_w, stride, pad): overlapping (stride < pool) and not, with pad up to half the pool."""
    ph, pw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, pad = draw(st.integers(1, 3)), draw(st.integers(0, min(ph, pw) // 2))
    h, w = draw(st.integers(max(1, ph - 2 * pad), 7)), draw(st.integers(max(1, pw - 2 * pad), 7))
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    x = np.random.default_rng(draw(st.integers(0, 2**16))).standard_normal((n, c, h, w))
    return x, ph, pw, stride, pad


# ---------------------------------------------------------------- im2col / col2im


@given(conv_cases())
def test_im2col_columns_are_the_patches_under_each_output(case):
    x, W, _, stride, pad = case
    N, C, H, Wd = x.shape
    _, _, FH, FW = W.shape
    col = im2col(x, FH, FW, stride, pad)
    OH, OW = conv_output_size(H, FH, stride, pad), conv_output_size(Wd, FW, stride, pad)
    assert col.shape == (C * FH * FW, N * OH * OW)
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                patch = xp[n, :, i * stride : i * stride + FH, j * stride : j * stride + FW]
                np.testing.assert_array_equal(col[:, (i * OW + j) * N + n], patch.ravel())


@given(conv_cases())
def test_col2im_is_the_adjoint_of_im2col(case):
    """<im2col(x), c> = <x, col2im(c)> for every x and c: col2im adds each patch back where it came from."""
    x, W, _, stride, pad = case
    FH, FW = W.shape[2:]
    col = im2col(x, FH, FW, stride, pad)
    c = np.random.default_rng(1).standard_normal(col.shape)
    back = col2im(c, x.shape, FH, FW, stride, pad)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(col * c), np.sum(x * back), rtol=1e-12, atol=1e-12)


def test_im2col_and_col2im_keep_float32():
    x = np.ones((2, 3, 5, 5), dtype=np.float32)
    col = im2col(x, 3, 3, 1, 1)
    assert col.dtype == np.float32 and col2im(col, x.shape, 3, 3, 1, 1).dtype == np.float32


# ---------------------------------------------------------------- Convolution


@given(conv_cases())
def test_convolution_forward_is_the_sum_over_each_patch(case):
    x, W, b, stride, pad = case
    y = Convolution(W, b, stride, pad).forward(x)
    np.testing.assert_allclose(y, conv_loops(x, W, b, stride, pad), rtol=1e-12, atol=1e-12)


@settings(max_examples=25)
@given(conv_cases())
def test_convolution_passes_gradcheck(case):
    x, W, b, stride, pad = case
    result = gradcheck(Convolution(W, b, stride, pad), x)
    assert result, str(result)


def test_convolution_gradcheck_batch_one_several_channels_non_square():
    rng = np.random.default_rng(3)
    layer = Convolution(rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4), stride=2, pad=1)
    result = gradcheck(layer, rng.standard_normal((1, 3, 6, 9)))
    assert result, str(result)


def test_convolution_need_dx_false_skips_dx_and_fills_the_same_grads():
    rng = np.random.default_rng(4)
    x, W, b = rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    layer = Convolution(W, b, stride=1, pad=1)
    dout = rng.standard_normal(layer.forward(x).shape)
    dx = layer.backward(dout)
    full = {k: g.copy() for k, g in layer.grads.items()}
    assert dx.shape == x.shape
    assert layer.backward(dout, need_dx=False) is None
    for key, g in full.items():
        np.testing.assert_array_equal(layer.grads[key], g)


@pytest.mark.parametrize("stride", [1, 2])
def test_sequential_skips_the_first_convolutions_dx_in_training(monkeypatch, stride):
    rng = np.random.default_rng(5)
    conv = Convolution(rng.standard_normal((2, 1, 3, 3)), np.zeros(2), stride=stride, pad=1)
    net = Sequential(conv, ReLU(), Affine(rng.standard_normal((2 * (6 // stride) ** 2, 3)), np.zeros(3)), loss=SoftmaxWithLoss())
    calls = []
    correlate, add_columns = minigrad.conv._correlate, minigrad.conv._add_columns
    monkeypatch.setattr(minigrad.conv, "_correlate", lambda *a: calls.append("correlate") or correlate(*a))
    monkeypatch.setattr(minigrad.conv, "_add_columns", lambda *a: calls.append("add_columns") or add_columns(*a))
    x, t = rng.standard_normal((4, 1, 6, 6)), np.array([0, 1, 2, 0])
    net.gradient(x, t)
    assert calls == ["correlate"]  # the forward's: neither way of computing dx ran
    calls.clear()
    net.forward(x, t)
    net.backward()  # dx wanted: by a second correlation with stride 1, by col2im's adds otherwise
    assert calls == (["correlate", "correlate"] if stride == 1 else ["correlate", "add_columns"])


@settings(max_examples=25)
@given(conv_cases(), st.sampled_from([1, 64, 400]))
def test_convolution_block_by_block_is_the_whole_im2col_gemm(case, block_bytes):
    """Any blocking of the output positions (whole rows, runs within a row) gives y, dW and dx of one im2col GEMM."""
    x, W, b, stride, pad = case
    FN = len(W)
    layer = Convolution(W, b, stride, pad)
    saved, minigrad.conv.BLOCK_BYTES = minigrad.conv.BLOCK_BYTES, block_bytes
    try:
        y = layer.forward(x)
        dout = np.random.default_rng(0).standard_normal(y.shape)
        dx = layer.backward(dout)
    finally:
        minigrad.conv.BLOCK_BYTES = saved
    col = im2col(x, W.shape[2], W.shape[3], stride, pad)
    d = dout.transpose(1, 2, 3, 0).reshape(FN, -1)
    np.testing.assert_allclose(y, conv_loops(x, W, b, stride, pad), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], (d @ col.T).reshape(W.shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, col2im(W.reshape(FN, -1).T @ d, x.shape, W.shape[2], W.shape[3], stride, pad), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_convolution_keeps_its_dtype(dtype):
    rng = np.random.default_rng(6)
    layer = Convolution(rng.standard_normal((2, 3, 2, 2)).astype(dtype), np.zeros(2, dtype=dtype), pad=1)
    x = rng.standard_normal((2, 3, 4, 4)).astype(dtype)
    y = layer.forward(x)
    dx = layer.backward(np.ones(y.shape, dtype=dtype))
    assert y.dtype == dx.dtype == layer.grads["W"].dtype == layer.grads["b"].dtype == dtype


def test_a_float64_convolution_returns_dx_in_the_inputs_float32():
    rng = np.random.default_rng(7)
    layer = Convolution(rng.standard_normal((2, 1, 2, 2)), np.zeros(2))
    x = rng.standard_normal((1, 1, 3, 3)).astype(np.float32)
    y = layer.forward(x)
    assert y.dtype == np.float64 and layer.backward(np.ones_like(y)).dtype == np.float32


def test_convolution_backward_does_not_modify_dout():
    rng = np.random.default_rng(8)
    layer = Convolution(rng.standard_normal((2, 2, 2, 2)), np.zeros(2))
    y = layer.forward(rng.standard_normal((2, 2, 4, 4)))
    dout = rng.standard_normal(y.shape)
    before = dout.copy()
    layer.backward(dout)
    np.testing.assert_array_equal(dout, before)


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: Convolution(np.zeros((2, 3, 3)), np.zeros(2)), ValueError, ["Convolution", "W", "(FN, C, FH, FW)", "(2, 3, 3)"]),
        (lambda: Convolution(np.zeros((2, 1, 3, 3)), np.zeros(3)), ValueError, ["Convolution", "b", "(2,)", "(3,)"]),
        (lambda: Convolution(np.zeros((2, 1, 3, 3)), np.zeros(2), stride=0), ValueError, ["Convolution", "stride", ">= 1", "0"]),
        (lambda: Convolution(np.zeros((2, 1, 3, 3)), np.zeros(2), pad=-1), ValueError, ["Convolution", "pad", ">= 0", "-1"]),
        (lambda: Convolution(np.zeros((2, 1, 3, 3)), np.zeros(2), stride=1.5), TypeError, ["Convolution", "stride", "integer", "1.5"]),
        (lambda: Convolution(np.zeros((2, 1, 3, 3)), np.zeros(2)).forward(np.zeros((1, 2, 5, 5))), ValueError,
         ["Convolution.forward", "x", "(N, C=1, H, W)", "(1, 2, 5, 5)"]),
        (lambda: Convolution(np.zeros((2, 1, 3, 3)), np.zeros(2)).forward(np.zeros((1, 5, 5))), ValueError,
         ["Convolution.forward", "x", "(1, 5, 5)"]),
        (lambda: Convolution(np.zeros((2, 1, 3, 3)), np.zeros(2)).forward(np.zeros((1, 1, 2, 5))), ValueError,
         ["Convolution.forward", "(1, 1, 2, 5)", "3x3"]),
        (lambda: Convolution(np.zeros((2, 1, 3, 3)), np.zeros(2)).backward(np.zeros((1, 2, 1, 1))), RuntimeError,
         ["Convolution.backward", "before forward"]),
        (lambda: Pooling(2, 2, pad=2), ValueError, ["Pooling", "pad", "at most half", "2"]),
        (lambda: Pooling(0, 2), ValueError, ["Pooling", "pool_h", ">= 1", "0"]),
        (lambda: Pooling(2, "2"), TypeError, ["Pooling", "pool_w", "integer", "'2'"]),
        (lambda: Pooling(2, 2).forward(np.zeros((3, 4))), ValueError, ["Pooling.forward", "x", "(N, C, H, W)", "(3, 4)"]),
        (lambda: Pooling(3, 3).forward(np.zeros((1, 1, 2, 2))), ValueError, ["Pooling.forward", "(1, 1, 2, 2)", "3x3"]),
        (lambda: Pooling(2, 2).backward(np.zeros((1, 1, 1, 1))), RuntimeError, ["Pooling.backward", "before forward"]),
    ],
)
def test_bad_arguments_raise_errors_naming_the_layer_argument_and_shapes(make, error, words):
    with pytest.raises(error) as e:
        make()
    for word in words:
        assert word in str(e.value), (word, str(e.value))


def test_backward_checks_douts_shape():
    layer = Convolution(np.zeros((2, 1, 3, 3)), np.zeros(2))
    layer.forward(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"Convolution.backward: dout must have the output's shape \(1, 2, 2, 2\), got \(1, 2, 2\)"):
        layer.backward(np.zeros((1, 2, 2)))


# ---------------------------------------------------------------- Pooling


@given(pool_cases())
def test_pooling_forward_is_the_max_over_each_window(case):
    x, ph, pw, stride, pad = case
    np.testing.assert_array_equal(Pooling(ph, pw, stride, pad).forward(x), pool_loops(x, ph, pw, stride, pad))


@settings(max_examples=25)
@given(pool_cases())
def test_pooling_passes_gradcheck(case):
    x, ph, pw, stride, pad = case
    result = gradcheck(Pooling(ph, pw, stride, pad), x)
    assert result, str(result)


def test_padding_never_wins_a_max():
    x = -np.arange(1.0, 17.0).reshape(1, 1, 4, 4)  # all negative: a zero pad would win every edge window
    layer = Pooling(2, 2, stride=2, pad=1)
    y = layer.forward(x)
    assert (y < 0).all()
    dx = layer.backward(np.ones_like(y))
    assert dx.shape == x.shape and dx.sum() == y.size  # every window's gradient reached a real pixel


@pytest.mark.parametrize("k, stride, pad", [(2, 1, 1), (2, 2, 1), (3, 1, 1), (3, 2, 1), (2, 1, 0)])
@pytest.mark.parametrize("fill", [-np.inf, "mixed"])
def test_padding_never_takes_the_gradient_even_where_x_is_minus_infinity(k, stride, pad, fill):
    """Issue 21: with x all −inf, PyTorch gives [4, 0, 0, 0] and minigrad gave [1, 0, 0, 0] (the rest into the padding)."""
    torch = torch_or_skip()
    x = np.full((2, 1, 3, 2), -np.inf)
    if fill == "mixed":
        x[0, 0, 1, 1] = 5.0
    layer = Pooling(k, k, stride=stride, pad=pad)
    y = layer.forward(x)
    dout = np.arange(1.0, y.size + 1).reshape(y.shape)
    t = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.max_pool2d(t, k, stride, pad)
    yt.backward(torch.from_numpy(dout))
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_array_equal(layer.backward(dout), t.grad.numpy())


def test_at_a_tie_the_gradient_goes_to_the_first_maximal_element_in_row_major_order():
    x = np.array([[[[1.0, 1.0, 2.0, 0.0], [1.0, 1.0, 2.0, 2.0]]]])  # windows: all 1s; 2s at (0,2), (1,2), (1,3)
    layer = Pooling(2, 2, stride=2)
    layer.forward(x)
    dx = layer.backward(np.array([[[[10.0, 20.0]]]]))
    np.testing.assert_array_equal(dx, [[[[10.0, 0, 20.0, 0], [0, 0, 0, 0]]]])


def test_overlapping_windows_add_up_their_gradients():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0  # the centre is the maximum of all four 2x2 windows
    layer = Pooling(2, 2, stride=1)
    layer.forward(x)
    dx = layer.backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]))
    assert dx[0, 0, 1, 1] == 10.0 and dx.sum() == 10.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pooling_keeps_the_inputs_dtype(dtype):
    x = np.random.default_rng(9).standard_normal((2, 2, 4, 4)).astype(dtype)
    layer = Pooling(2, 2, stride=2, pad=1)
    y = layer.forward(x)
    assert y.dtype == dtype and layer.backward(np.ones_like(y)).dtype == dtype


def test_pooling_output_belongs_to_the_caller():
    x = np.random.default_rng(10).standard_normal((1, 1, 4, 4))
    layer = Pooling(2, 2, stride=2)
    y = layer.forward(x)
    expected = Pooling(2, 2, stride=2)
    expected.forward(x)
    dout = np.ones_like(y)
    y[...] = 100.0  # the caller scribbles on its output: backward must not care
    np.testing.assert_array_equal(layer.backward(dout), expected.backward(dout))


def test_reexported_from_minigrad_and_no_import_circle_with_layers():
    assert minigrad.Convolution is minigrad.conv.Convolution and minigrad.Pooling is minigrad.conv.Pooling
    assert {"Convolution", "Pooling"} <= set(minigrad.__all__)
    for module in (minigrad.layers, minigrad.conv, minigrad.normalization):  # conv and normalization build on layers, not back
        assert not {"Convolution", "Pooling", "BatchNormalization", "Dropout"} & set(vars(module)) - set(module.__all__)


def test_pooling_strides_by_two_unless_told_as_the_book():
    assert Pooling(2, 2).stride == 2 and Pooling(3, 3, stride=1).stride == 1
    assert Pooling(2, 2).forward(np.ones((1, 1, 4, 4))).shape == (1, 1, 2, 2)


# ---------------------------------------------------------------- PyTorch as the oracle (float64, 1e-10)


@settings(max_examples=30)
@given(conv_cases())
def test_convolution_matches_torch_conv2d_values_and_every_gradient(case):
    torch = torch_or_skip()
    x, W, b, stride, pad = case
    layer = Convolution(W, b, stride, pad)
    y = layer.forward(x)
    dout = np.random.default_rng(11).standard_normal(y.shape)
    dx = layer.backward(dout)
    tx, tW, tb = (torch.tensor(a, requires_grad=True) for a in (x, W, b))
    ty = torch.nn.functional.conv2d(tx, tW, tb, stride=stride, padding=pad)
    ty.backward(torch.tensor(dout))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(layer.grads["W"], tW.grad.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(layer.grads["b"], tb.grad.numpy(), rtol=0, atol=1e-10)


@settings(max_examples=30)
@given(pool_cases())
def test_pooling_matches_torch_max_pool2d_values_and_gradient(case):
    torch = torch_or_skip()
    x, ph, pw, stride, pad = case
    layer = Pooling(ph, pw, stride, pad)
    y = layer.forward(x)
    dout = np.random.default_rng(12).standard_normal(y.shape)
    dx = layer.backward(dout)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.max_pool2d(tx, (ph, pw), stride=stride, padding=pad)
    ty.backward(torch.tensor(dout))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=0, atol=1e-10)
