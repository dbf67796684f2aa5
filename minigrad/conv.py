"""Convolution and pooling (the book's chapter 7): im2col/col2im, Convolution, Pooling.

The memory layout, in one place: inside, images are kept batch-innermost, (C, H, W, N) in memory,
while every layer still takes and returns arrays shaped (N, C, H, W), as the book and PyTorch do
(the returned array is a transposed view). ``im2col`` lays the patches out as columns ordered
(OH, OW, N): a convolution is then one GEMM, ``W.reshape(FN, -1) @ col`` -> (FN, OH·OW·N), which
is already the next layer's (FN, OH, OW, N) memory: no transpose is copied in forward, and a
``dout`` in that layout (ReLU and Pooling keep their input's layout) reshapes back without a copy.
Pooling's windows are strided slices along H and W, which in this layout leave runs of N
contiguous numbers for numpy's loops. Only numpy functions that CuPy also has are used
(``sliding_window_view``, ``pad``, ``ascontiguousarray``, ``reshape``, ``transpose``, ``@``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

from .arguments import integer
from .functions import as_numeric
from .layers import BookParam, Layer

__all__ = ["im2col", "col2im", "conv_output_size", "Convolution", "Pooling"]


def conv_output_size(size: int, filter_size: int, stride: int = 1, pad: int = 0) -> int:
    """(size + 2·pad − filter_size) // stride + 1: the output height (or width) of a convolution or pooling."""
    return (size + 2 * pad - filter_size) // stride + 1


def _padded(x: np.ndarray, pad: int, pad_w: int | None = None, batch_innermost: bool = False) -> np.ndarray:
    """x (N, C, H, W) — or (C, H, W, N) if batch_innermost — as a contiguous (C, H + 2·pad, W + 2·pad_w, N) array, zeros around x.

    pad_w defaults to pad; free of copies when x is batch-innermost in memory and nothing is padded.
    """
    x = x if batch_innermost else x.transpose(1, 2, 3, 0)
    pw = pad if pad_w is None else pad_w
    if not pad and not pw:
        return np.ascontiguousarray(x)
    C, H, W, N = x.shape
    xp = np.empty((C, H + 2 * pad, W + 2 * pw, N), x.dtype)  # np.pad's result, in half its time
    xp[:, :pad] = 0
    xp[:, pad + H :] = 0
    xp[:, pad : pad + H, :pw] = 0
    xp[:, pad : pad + H, pw + W :] = 0
    xp[:, pad : pad + H, pw : pw + W] = x
    return xp


def _windows(xp: np.ndarray, filter_h: int, filter_w: int, stride: int) -> np.ndarray:
    """xp (C, H, W, N) -> a view (C, OH, OW, N, FH, FW): the patch under each output position."""
    return sliding_window_view(xp, (filter_h, filter_w), axis=(1, 2))[:, ::stride, ::stride]


def _columns(windows: np.ndarray) -> np.ndarray:
    """windows (C, OH, OW, N, FH, FW) -> col (C·FH·FW, OH·OW·N), a copy that reads runs of N numbers."""
    C, _, _, _, FH, FW = windows.shape
    return windows.transpose(0, 4, 5, 1, 2, 3).reshape(C * FH * FW, -1)


def _add_columns(img: np.ndarray, col: np.ndarray, stride: int, row: int = 0, column: int = 0) -> None:
    """img (C, H, W, N) += each patch of col (C, FH, FW, OH, OW, N) where _windows took it, outputs counted from (row, column)."""
    _, FH, FW, OH, OW, _ = col.shape
    r, c = row * stride, column * stride
    for i in range(FH):  # a loop over kernel offsets, each adding one strided slice
        for j in range(FW):
            img[:, r + i : r + i + stride * OH : stride, c + j : c + j + stride * OW : stride] += col[:, i, j]


def im2col(x: np.ndarray, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """x (N, C, H, W) -> col (C·FH·FW, OH·OW·N): column (i·OW + j)·N + n holds the patch under output (n, i, j)."""
    return _columns(_windows(_padded(x, pad), filter_h, filter_w, stride))


def col2im(
    col: np.ndarray, x_shape: tuple[int, ...], filter_h: int, filter_w: int, stride: int = 1, pad: int = 0
) -> np.ndarray:
    """col (C·FH·FW, OH·OW·N) -> x (N, C, H, W): each patch added back where im2col took it (overlaps sum)."""
    N, C, H, W = x_shape
    OH, OW = conv_output_size(H, filter_h, stride, pad), conv_output_size(W, filter_w, stride, pad)
    img = np.zeros((C, H + 2 * pad, W + 2 * pad, N), dtype=col.dtype)
    _add_columns(img, col.reshape(C, filter_h, filter_w, OH, OW, N), stride)
    return img[:, pad : pad + H, pad : pad + W].transpose(3, 0, 1, 2)


BLOCK_BYTES = 1 << 20
"""The size of im2col's columns that Convolution makes at a time: a block of output positions whose patches stay in cache."""


def _blocks(OH: int, OW: int, N: int, K: int, itemsize: int) -> list[tuple[int, int, int, int]]:
    """Blocks (row, rows, column, columns) of output positions, in order, with about BLOCK_BYTES of columns each.

    A block is whole rows, or a run of columns of one row: either way one contiguous range of the
    (OH·OW·N) output columns.
    """
    positions = max(1, BLOCK_BYTES // max(1, K * N * itemsize))  # an empty batch (N = 0): one block
    if positions >= OW:
        rows = positions // OW
        return [(r, min(rows, OH - r), 0, OW) for r in range(0, OH, rows)]
    return [(r, 1, c, min(positions, OW - c)) for r in range(OH) for c in range(0, OW, positions)]


def _blockwise(windows: np.ndarray) -> Any:
    """(its output columns, its first output (row, column), its patches) per block of output positions: one GEMM's worth of im2col."""
    C, OH, OW, N, FH, FW = windows.shape
    for row, rows, col, cols in _blocks(OH, OW, N, C * FH * FW, windows.itemsize):
        start = (row * OW + col) * N
        yield slice(start, start + rows * cols * N), (row, col), windows[:, row : row + rows, col : col + cols]


def _correlate(xp: np.ndarray, Wm: np.ndarray, filter_h: int, filter_w: int, stride: int) -> np.ndarray:
    """Wm (FN, C·FH·FW) · im2col of xp (C, H, W, N) -> (FN, OH·OW·N), im2col made a block at a time while it is in cache."""
    windows = _windows(xp, filter_h, filter_w, stride)
    OH, OW, N = windows.shape[1:4]
    y = np.empty((len(Wm), OH * OW * N), Wm.dtype)
    for block, _, patches in _blockwise(windows):
        np.matmul(Wm, _columns(patches), out=y[:, block])
    return y


def _images(x: ArrayLike, where: str, channels: int | None = None) -> np.ndarray:
    """x as a 4-D array (N, C, H, W), checked to have `channels` channels when given."""
    x = as_numeric(x, where, "x")
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        c = "C" if channels is None else f"C={channels}"
        flat = " (images flattened to rows? load them with flatten=False)" if x.ndim == 2 else ""
        raise ValueError(f"{where}: x must have shape (N, {c}, H, W), got {x.shape}{flat}")
    return x


def _check_fits(where: str, x_shape: tuple[int, ...], fh: int, fw: int, pad: int) -> None:
    """A ValueError unless a (fh, fw) window fits in the padded image at least once."""
    h, w = x_shape[2] + 2 * pad, x_shape[3] + 2 * pad
    if h < fh or w < fw:
        raise ValueError(
            f"{where}: x of shape {x_shape} padded by {pad} is {h}x{w}, smaller than the {fh}x{fw} window"
        )


class Convolution(Layer):
    """y = W ⋆ x + b: x (N, C, H, W), W (FN, C, FH, FW), b (FN,) -> y (N, FN, OH, OW), OH = (H + 2·pad − FH) // stride + 1.

    It computes in W's dtype (x is cast to it; dx comes back in x's dtype), as one GEMM over im2col's columns.
    """

    def __init__(self, W: ArrayLike, b: ArrayLike, stride: int = 1, pad: int = 0) -> None:
        super().__init__()
        W = as_numeric(W, "Convolution", "W")
        b = as_numeric(b, "Convolution", "b")
        if W.dtype.kind != "f":
            W = W.astype(np.float64)
        if W.ndim != 4 or 0 in W.shape:
            raise ValueError(f"Convolution: W must have shape (FN, C, FH, FW) with every size >= 1, got {W.shape}")
        if b.shape != W.shape[:1]:
            raise ValueError(f"Convolution: b must have shape ({W.shape[0]},) to match W {W.shape}, got {b.shape}")
        if b.dtype != W.dtype:
            b = b.astype(W.dtype)
        self.stride = integer(stride, "Convolution", "stride", 1)
        self.pad = integer(pad, "Convolution", "pad", 0)
        if self.pad >= min(W.shape[2:]):
            raise ValueError(
                f"Convolution: pad must be less than the filter size ({min(W.shape[2:]) - 1} at most for a "
                f"{W.shape[2]}x{W.shape[3]} filter), so that every output sees the image; got {self.pad}"
            )
        self.params = {"W": W, "b": b}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}
        self.xp: np.ndarray | None = None
        """The padded input (C, H + 2·pad, W + 2·pad, N) of the latest forward: backward takes its patches again."""

    W, b, dW, db = BookParam(), BookParam(), BookParam(grad=True), BookParam(grad=True)
    """The book's names for params["W"], params["b"] (the live arrays) and grads["W"], grads["b"]."""

    def forward(self, x: ArrayLike) -> np.ndarray:
        self.xp = None  # a forward that raises leaves nothing for backward
        W, b = self.params["W"], self.params["b"]
        FN, C, FH, FW = W.shape
        x = _images(x, "Convolution.forward", C)
        _check_fits("Convolution.forward", x.shape, FH, FW, self.pad)
        self.x_shape, self.x_dtype = x.shape, x.dtype
        if x.dtype != W.dtype:
            x = x.astype(W.dtype)
        xp = _padded(x, self.pad)
        y = _correlate(xp, W.reshape(FN, -1), FH, FW, self.stride)  # (FN, OH·OW·N)
        y += b[:, None]
        N, OH, OW = x.shape[0], conv_output_size(x.shape[2], FH, self.stride, self.pad), conv_output_size(x.shape[3], FW, self.stride, self.pad)
        self.xp, self.y_shape = xp, (N, FN, OH, OW)
        return y.reshape(FN, OH, OW, N).transpose(3, 0, 1, 2)  # batch-innermost memory, seen as (N, FN, OH, OW)

    def backward(self, dout: ArrayLike, need_dx: bool = True) -> np.ndarray | None:
        """dW = dout·colᵀ, db = Σ dout over N, OH, OW, and dx = col2im(Wᵀ·dout) (None when need_dx is False).

        With stride 1, dx is the same as the correlation of dout, padded by FH − 1 − pad, with W
        flipped and its channels swapped: the forward's blocked GEMM, without col2im's scattered adds.
        """
        xp, W = self._cache(self.xp), self.params["W"]
        FN, C, FH, FW = W.shape
        N, _, OH, OW = self.y_shape
        dout = self._dout(dout, self.y_shape).astype(W.dtype, copy=False)
        d = dout.transpose(1, 2, 3, 0).reshape(FN, -1)  # (FN, OH·OW·N): a view when dout is batch-innermost
        dWt, part = np.zeros((C * FH * FW, FN), W.dtype), np.empty((C * FH * FW, FN), W.dtype)
        full = self.stride == 1 and self.pad < min(FH, FW)  # dx as a correlation
        dxp = np.zeros_like(xp) if need_dx and not full else None
        for block, origin, patches in _blockwise(_windows(xp, FH, FW, self.stride)):
            np.matmul(_columns(patches), d[:, block].T, out=part)  # the columns again: cheaper than keeping them all
            dWt += part
            if dxp is not None:
                rows, cols = patches.shape[1:3]
                _add_columns(dxp, (W.reshape(FN, -1).T @ d[:, block]).reshape(C, FH, FW, rows, cols, N), self.stride, *origin)
        self.grads["W"] = dWt.T.reshape(W.shape)
        self.grads["b"] = d.sum(axis=1)
        if not need_dx:
            return None
        H, W_ = self.x_shape[2:]
        if full:
            dp = _padded(d.reshape(FN, OH, OW, N), FH - 1 - self.pad, FW - 1 - self.pad, batch_innermost=True)
            flipped = W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(C, -1)
            dx = _correlate(dp, flipped, FH, FW, 1).reshape(C, H, W_, N).transpose(3, 0, 1, 2)
        else:
            p = self.pad
            dx = dxp[:, p : p + H, p : p + W_].transpose(3, 0, 1, 2)
        return dx if dx.dtype == self.x_dtype or self.x_dtype.kind != "f" else dx.astype(self.x_dtype)

    def __repr__(self) -> str:
        return f"Convolution(W={self.params['W'].shape}, b={self.params['b'].shape}, stride={self.stride}, pad={self.pad})"


class Pooling(Layer):
    """y = max over each pool_h×pool_w window of x (N, C, H, W), per channel -> (N, C, OH, OW); padding never wins.

    The stride is 2 unless given, as the book's Pooling.

    The gradient of a window goes to one maximal element of x: at a tie, the first in row-major
    order within the window (as PyTorch), never the padding, even where x is −∞. Overlapping
    windows (stride < pool size) add up their gradients.
    """

    def __init__(self, pool_h: int, pool_w: int, stride: int = 2, pad: int = 0) -> None:
        super().__init__()
        self.pool_h = integer(pool_h, "Pooling", "pool_h", 1)
        self.pool_w = integer(pool_w, "Pooling", "pool_w", 1)
        self.stride = integer(stride, "Pooling", "stride", 1)
        self.pad = integer(pad, "Pooling", "pad", 0)
        if self.pad > min(self.pool_h, self.pool_w) // 2:
            raise ValueError(
                f"Pooling: pad must be at most half the pool size ({min(self.pool_h, self.pool_w) // 2} for a "
                f"{self.pool_h}x{self.pool_w} pool), so that every window holds a real element; got {self.pad}"
            )
        self.x: np.ndarray | None = None

    def _windows(self, x: np.ndarray) -> list[np.ndarray]:
        """One strided view (N, C, OH, OW) per offset in the window, in row-major order."""
        s, (OH, OW) = self.stride, self.y_shape[2:]
        return [x[:, :, i : i + s * OH : s, j : j + s * OW : s] for i in range(self.pool_h) for j in range(self.pool_w)]

    def forward(self, x: ArrayLike) -> np.ndarray:
        self.x = None  # a forward that raises leaves nothing for backward
        x = _images(x, "Pooling.forward")
        _check_fits("Pooling.forward", x.shape, self.pool_h, self.pool_w, self.pad)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        self.x_shape = x.shape
        if self.pad:  # -inf padding: it never wins a max
            p = self.pad
            x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
        N, C, H, W = self.x_shape
        self.y_shape = (N, C, conv_output_size(H, self.pool_h, self.stride, self.pad),
                        conv_output_size(W, self.pool_w, self.stride, self.pad))
        windows = self._windows(x)
        y = np.empty_like(windows[0])  # in x's memory layout, as every array this layer makes
        np.copyto(y, windows[0])
        for window in windows[1:]:  # a loop over the pool_h·pool_w offsets, each a strided view of the batch
            np.maximum(y, window, out=y)
        self.x, self.y = x, y
        return y.copy(order="K")  # backward keeps its own y

    def backward(self, dout: ArrayLike) -> np.ndarray:
        """dx = dout at each window's first maximal element, 0 elsewhere; overlapping windows add up."""
        x, y = self._cache(self.x), self.y
        d = np.empty_like(y)
        np.copyto(d, self._dout(dout, self.y_shape, x.dtype))  # dout in y's memory layout: the loops below run on like strides
        N, C, OH, OW = y.shape
        ph, pw, s = self.pool_h, self.pool_w, self.stride
        if s == ph == pw and not self.pad and x.shape[2:] == (OH * s, OW * s):  # the windows tile x: one pass over it, as (…, OH, ph, OW, pw)
            hit = np.equal(x.reshape(N, C, OH, ph, OW, pw), y[:, :, :, None, :, None])
            free = np.ones_like(y, dtype=bool)  # windows whose maximum has not been given the gradient yet
            for i in range(ph):
                for j in range(pw):
                    h = hit[:, :, :, i, :, j]  # a view: ties are settled in place
                    h &= free
                    free ^= h
            return np.multiply(d[:, :, :, None, :, None], hit).reshape(x.shape)
        dx = np.zeros_like(x)  # keeps x's memory layout
        free = np.ones_like(y, dtype=bool)
        p = self.pad
        real = np.zeros((1, 1, *x.shape[2:]), dtype=bool)  # padding never takes a gradient, even where it ties (x = -inf)
        real[:, :, p : p + self.x_shape[2], p : p + self.x_shape[3]] = True
        for window, target, inside in zip(self._windows(x), self._windows(dx), self._windows(real)):
            hit = np.equal(window, y)
            hit &= inside
            hit &= free
            free ^= hit
            target += d * hit
        return dx[:, :, p : p + self.x_shape[2], p : p + self.x_shape[3]] if p else dx

    def __repr__(self) -> str:
        return f"Pooling(pool_h={self.pool_h}, pool_w={self.pool_w}, stride={self.stride}, pad={self.pad})"
