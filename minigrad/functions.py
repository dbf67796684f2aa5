"""Pure array math: activations, losses and shape helpers. One home for each formula."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "sigmoid",
    "relu",
    "tanh",
    "softmax",
    "log_softmax",
    "softmax_with_cross_entropy",
    "cross_entropy_error",
    "softmax_cross_entropy",
    "nll_loss",
    "mean_squared_error",
    "binary_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "sigmoid_cross_entropy",
    "squared_error",
    "sum_to",
    "batch_size",
    "binary_batch_size",
    "as_numeric",
    "check_targets",
    "predicted_labels",
]

DELTA = 1e-7
"""The chapter's guard against log(0) in cross_entropy_error on probabilities."""


def as_numeric(x: ArrayLike, where: str, arg: str) -> np.ndarray:
    """x as an ndarray of a numeric (bool, int or float) dtype, or a TypeError naming `where.arg`."""
    if type(x) is np.ndarray and x.dtype.kind in "biuf":  # the common case, first
        return x
    try:
        a = np.asarray(x)
    except (TypeError, ValueError) as e:  # ragged lists and the like
        raise TypeError(f"{where}: {arg} must be a numeric array, got {type(x).__name__} ({e})") from e
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{where}: {arg} must be numeric, got dtype {a.dtype} ({type(x).__name__})")
    return a


def _float(x: ArrayLike, where: str, arg: str) -> np.ndarray:
    """x as a float array: float dtypes are kept, anything else numeric becomes float64."""
    a = as_numeric(x, where, arg)
    return a if a.dtype.kind == "f" else a.astype(np.float64)


def sigmoid(x: ArrayLike) -> np.ndarray:
    """1 / (1 + exp(-x)), elementwise, without overflow for any finite x."""
    x = _float(x, "sigmoid", "x")
    z = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def relu(x: ArrayLike) -> np.ndarray:
    """max(x, 0), elementwise."""
    x = as_numeric(x, "relu", "x")
    return np.maximum(x, 0)


def tanh(x: ArrayLike) -> np.ndarray:
    """tanh(x), elementwise."""
    return np.tanh(_float(x, "tanh", "x"))


_NO_OVERFLOW = {
    np.dtype(f): np.finfo(f).max * np.finfo(f).eps / 4 for f in (np.float16, np.float32, np.float64, np.longdouble)
}
"""Per float dtype, half an ulp of its largest value: x - m cannot overflow for a smaller m (x >= -max)."""


def _shifted(x: np.ndarray) -> np.ndarray:
    """x - max over the last axis, as a new array: its exp lies in (0, 1], never overflowing.

    The copy is column-major: rows of scores are short (one per class), and numpy reduces an
    (N, C) array over C several times faster when each column's N values are contiguous.
    """
    s = np.array(x, order="F")
    m = s.max(axis=-1, keepdims=True)
    if m.size and -np.inf < m.min() and m.max() < _NO_OVERFLOW[x.dtype]:
        s -= m
    else:  # a gap beyond the float range gives -inf (exp 0); a row of all -inf (or with inf, nan) gives nan, as PyTorch
        with np.errstate(over="ignore", invalid="ignore"):
            s -= m
    return s


def softmax(x: ArrayLike) -> np.ndarray:
    """exp(x - max) / Σ exp(x - max) over the last axis; (C,) or (N, C)."""
    e = np.exp(_shifted(_float(x, "softmax", "x")))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def log_softmax(x: ArrayLike) -> np.ndarray:
    """log softmax over the last axis: x - max - log Σ exp(x - max); exact for logits of any size."""
    s = _shifted(_float(x, "log_softmax", "x"))
    s -= np.log(np.exp(s).sum(axis=-1, keepdims=True))
    return s


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def check_targets(y: np.ndarray, t: ArrayLike, where: str, kind: str = "class") -> np.ndarray:
    """Validate targets t for outputs y: the one home of the target rules of every loss, accuracy and fit.

    kind "class" (y: scores or probabilities (C,) or (N, C)): integer labels of shape y.shape[:-1] in
    [0, C), returned as given; or rows of y's shape (one-hot of any numeric dtype, or a distribution)
    with finite entries >= 0. kind "binary": y's shape, values in [0, 1]. kind "value": y's shape,
    finite values. Targets other than labels come back as a float array in y's dtype.
    """
    if y.size == 0:
        raise ValueError(
            f"{where}: the input is empty (shape {y.shape}); a loss needs at least one sample"
            + (" and one class" if kind == "class" else "")
        )
    t = as_numeric(t, where, "t")
    if t.shape == y.shape:  # one-hot rows, a distribution, or per-element targets, in y's dtype
        lo, hi = t.min(), t.max()  # a NaN fails every comparison below
        ok = {"class": lo >= 0 and hi < np.inf, "binary": lo >= 0 and hi <= 1, "value": -np.inf < lo and hi < np.inf}[kind]
        if not ok:
            want = {"class": "finite and >= 0", "binary": "in [0, 1]", "value": "finite"}[kind]
            raise ValueError(f"{where}: t must be {want}, got values in [{lo}, {hi}]")
        if t.dtype.kind == "f" and t.dtype != y.dtype and max(-lo, hi) > np.finfo(y.dtype).max:
            raise ValueError(f"{where}: t holds values in [{lo}, {hi}], beyond the range of the input's {y.dtype}")
        return t.astype(y.dtype, copy=False)
    if kind == "class" and t.dtype.kind in "iu" and t.shape == y.shape[:-1]:
        classes = y.shape[-1]
        # one pass: read as unsigned, a negative label is huge, so max() >= classes catches both ends
        if t.size and t.view(_UNSIGNED[t.itemsize]).max() >= classes:
            bad = t[(t < 0) | (t >= classes)].flat[0]
            raise ValueError(f"{where}: label {bad} in t is out of range for {classes} classes")
        return t
    if kind != "class":
        raise ValueError(f"{where}: t must have shape {y.shape}, got {t.shape}")
    raise ValueError(
        f"{where}: t must be integer labels of shape {y.shape[:-1]} or one-hot rows of shape "
        f"{y.shape}, got shape {t.shape} with dtype {t.dtype}"
    )


def predicted_labels(y: np.ndarray, t: ArrayLike, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(argmax of scores y, the target classes): t checked by check_targets, one-hot rows taken by argmax."""
    t = check_targets(y, t, where)
    return y.argmax(axis=-1), t.argmax(axis=-1) if t.shape == y.shape else t


def _mean(terms: np.ndarray, n: int) -> float:
    """Σ terms / n, also where the sum overflows but the mean does not (then the terms are scaled first)."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = terms.sum()
        if not np.isfinite(total) and np.isfinite(terms).all():
            return float((terms / n).sum())
    return float(total) / n


def batch_size(y: np.ndarray) -> int:
    """N for a batch (N, C, ...), 1 for a single sample (C,)."""
    return y.shape[0] if y.ndim > 1 else 1


def binary_batch_size(y: np.ndarray) -> int:
    """N = len(y) for binary targets, where each element of a 1-D y is a sample of its own."""
    return y.shape[0] if y.ndim else 1


@functools.lru_cache(maxsize=8)
def _arange(n: int) -> np.ndarray:
    """np.arange(n), cached read-only: training meets the same batch size step after step."""
    rows = np.arange(n)
    rows.flags.writeable = False
    return rows


def target_index(t: np.ndarray) -> tuple[np.ndarray, ...]:
    """The index that picks, for integer labels t, entry t out of the last axis of scores shaped t.shape + (C,)."""
    if t.ndim == 1:  # a batch of labels, the usual case: its row numbers are cached
        return _arange(t.shape[0]), t
    return (*np.indices(t.shape, sparse=True), t)


def _target_sum(a: np.ndarray, t: np.ndarray) -> Any:
    """Σ_n Σ_k t_nk a_nk for target rows t of a's shape, or Σ_n a_n,t_n for integer labels t."""
    return (t * a).sum() if t.shape == a.shape else a[target_index(t)].sum()


def nll_loss(log_p: np.ndarray, t: np.ndarray) -> float:
    """-Σ t log p / N for log-probabilities (C,) or (N, C) and targets already checked by check_targets."""
    with np.errstate(over="ignore", invalid="ignore"):
        if t.shape == log_p.shape:
            terms = np.where(t != 0, t * log_p, 0)  # 0 · log 0 counts as 0
        else:
            terms = log_p[target_index(t)]
    return -_mean(terms, batch_size(log_p))


def _probabilities(y: ArrayLike, where: str) -> np.ndarray:
    """y as a float array of probabilities in [0, 1], or a ValueError naming `where`."""
    y = _float(y, where, "y")
    if y.size and not (y.min() >= 0 and y.max() <= 1):
        raise ValueError(f"{where}: y must be probabilities in [0, 1], got values in [{y.min()}, {y.max()}]")
    return y


def cross_entropy_error(y: ArrayLike, t: ArrayLike) -> float:
    """-Σ t log(y + 1e-7) / N for probabilities y (C,) or (N, C); t one-hot or integer labels."""
    y = _probabilities(y, "cross_entropy_error")
    if y.ndim not in (1, 2):
        raise ValueError(f"cross_entropy_error: y must have shape (C,) or (N, C), got {y.shape}")
    t = check_targets(y, t, "cross_entropy_error")
    return nll_loss(np.log(y + DELTA), t)


def softmax_cross_entropy(x: ArrayLike, t: ArrayLike) -> float:
    """cross_entropy_error(softmax(x), t) computed from the logits x, without a log of 0."""
    x = _float(x, "softmax_cross_entropy", "x")
    return softmax_with_cross_entropy(x, check_targets(x, t, "softmax_cross_entropy"))[1]


def softmax_with_cross_entropy(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, float]:
    """(softmax(x), its cross entropy against t) from one exp pass, for float logits and checked t.

    With log softmax = s - log Σe^s (s = x - max), the loss is Σ_n [log Σe^s_n · Σ_k t_nk - Σ_k t_nk s_nk] / N,
    which for labels is Σ_n [log Σe^s_n - s_n,t_n] / N: exact for logits of any size.
    """
    s = _shifted(x)
    n = batch_size(x)
    with np.errstate(over="ignore", invalid="ignore"):  # extreme logits: see the rescue below
        picked = _target_sum(s, t)
        np.exp(s, out=s)
        total = s.sum(axis=-1, keepdims=True)
        log_total = np.log(total)
        if t.shape == x.shape:  # rows of t need not sum to 1
            log_total *= t.sum(axis=-1, keepdims=True)
        loss = float(log_total.sum() - picked) / n
        if not math.isfinite(loss):  # a gap x - max or a sum beyond the float range, or 0 · -inf
            loss = _scaled_cross_entropy(x, t, log_total, n)
    s /= total
    return s, loss


def _scaled_cross_entropy(x: np.ndarray, t: np.ndarray, log_total: np.ndarray, n: int) -> float:
    """The loss of softmax_with_cross_entropy from (x - max) / N, for logits whose gaps or sums overflow."""
    gap = x / n - x.max(axis=-1, keepdims=True) / n
    if t.shape == x.shape:
        picked = np.where(t != 0, t * gap, 0).sum()  # a zero target times a gap of -inf counts as 0
    else:
        picked = gap[target_index(t)].sum()
    return float((log_total / n).sum() - picked)


def mean_squared_error(y: ArrayLike, t: ArrayLike) -> float:
    """0.5 Σ (y - t)² for one sample, divided by N for a batch (N, ...)."""
    y = _float(y, "mean_squared_error", "y")
    return squared_error(y, check_targets(y, t, "mean_squared_error", "value"))


def squared_error(y: np.ndarray, t: np.ndarray) -> float:
    """0.5 Σ (y - t)² / N for float y and checked targets t of its shape, without overflow where the mean fits."""
    n = batch_size(y)
    with np.errstate(over="ignore", invalid="ignore"):
        d = y - t
        total = 0.5 * np.sum(d * d)
        if not np.isfinite(total) and np.isfinite(y).all():  # (y - t)² overflowed: scale by √(0.5/N) first
            c = math.sqrt(0.5 / n)
            d = y * c - t * c
            return float(np.sum(d * d))
    return float(total) / n


def binary_cross_entropy(y: ArrayLike, t: ArrayLike) -> float:
    """-Σ [t log(y + 1e-7) + (1 - t) log(1 - y + 1e-7)] / N for probabilities y (N,) or (N, ...)."""
    y = _probabilities(y, "binary_cross_entropy")
    t = check_targets(y, t, "binary_cross_entropy", "binary")
    return -_mean(t * np.log(y + DELTA) + (1 - t) * np.log(1 - y + DELTA), binary_batch_size(y))


def sigmoid_binary_cross_entropy(x: ArrayLike, t: ArrayLike) -> float:
    """binary_cross_entropy(sigmoid(x), t) from logits: Σ [max(x, 0) - x t + log(1 + e^-|x|)] / N."""
    x = _float(x, "sigmoid_binary_cross_entropy", "x")
    return sigmoid_cross_entropy(x, check_targets(x, t, "sigmoid_binary_cross_entropy", "binary"))


def sigmoid_cross_entropy(x: np.ndarray, t: np.ndarray) -> float:
    """sigmoid_binary_cross_entropy for float logits x and targets t already checked by check_targets."""
    with np.errstate(invalid="ignore"):  # only non-finite logits reach it: inf - inf
        terms = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
    return _mean(terms, binary_batch_size(x))


def sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a broadcast gradient g back down to `shape` (the inverse of numpy broadcasting)."""
    g = np.asarray(g)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)
