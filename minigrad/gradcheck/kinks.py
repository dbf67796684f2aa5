"""The kink rule: which disagreements are kinks (excluded), which are failures, and when too little was verified.

A kink is a point where the function is not differentiable (ReLU at 0, a max with a tie): the
one-sided slopes (f(x + h) - f(x)) / h and (f(x) - f(x - h)) / h differ, and the central difference
is their mean, which a correct analytic gradient need not match. A check (an element, or a
direction) that misses the tolerance is a kink when both slopes are finite and the analytic value
lies between them (within the tolerance): a correct layer picks one of the one-sided derivatives
there. Everything else that misses is a failure. A kink is excluded, never counted as verified.

The rule: a tensor fails for kinks ("KINKS") when more than `max_kink_fraction` (default one half)
of its checks were kinks or left unresolved, i.e. when no more than half of it was verified; a
tensor with a single element at a kink is therefore not verified at all, and fails.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .report import TensorCheck

MAX_KINK_FRACTION = 0.5


def too_little_verified(t: TensorCheck, max_kink_fraction: float) -> bool:
    """True when kinks and unresolved checks exceed max_kink_fraction of the tensor's checks."""
    return t.checked > 0 and t.kinks + t.unresolved > max_kink_fraction * t.checked


def is_kink(ana: Any, num: Any, sp: Any, sm: Any, allowed: Any) -> Any:
    """Misses the tolerance, yet lies between the finite one-sided slopes sp and sm: a kink (elementwise on arrays)."""
    missed = ~(np.abs(ana - num) <= allowed)  # (gradcheck runs under np.errstate(all="ignore"))
    inside = (ana >= np.minimum(sp, sm) - allowed) & (ana <= np.maximum(sp, sm) + allowed)
    return missed & np.isfinite(ana) & np.isfinite(num) & np.isfinite(sp) & np.isfinite(sm) & inside


def judge(t: TensorCheck, g: np.ndarray, num: np.ndarray, allowed: np.ndarray, slopes: Any,
          index: Callable[[Any], Any], max_kink_fraction: float) -> None:
    """Fill t from analytic g vs numerical num (same shape): failures, kinks, the verdict and the worst check."""
    err = np.abs(g - num)
    finite = np.isfinite(g) & np.isfinite(num)
    bad = ~(finite & (err <= allowed))
    kink = bad & is_kink(g, num, *slopes, allowed) if slopes is not None and bad.any() else np.zeros_like(bad)
    t.failures = int((bad & ~kink).sum())
    t.kinks = int(kink.sum())
    t.too_many_kinks = too_little_verified(t, max_kink_fraction)
    scale = np.maximum(np.abs(g), np.abs(num))
    rel = np.where(scale > 0, err / np.where(scale > 0, scale, 1), 0.0)
    score = np.where(finite, err / np.where(allowed > 0, allowed, 1e-300), np.inf)
    counted = ~kink
    if counted.any():
        t.max_abs = float(np.max(np.where(finite, err, np.inf)[counted]))
        t.max_rel = float(np.max(np.where(finite, rel, np.inf)[counted]))
        flat = int(np.argmax(np.where(counted, score, -1.0).ravel()))
    else:
        flat = 0
    pos = np.unravel_index(flat, num.shape) if num.ndim else ()
    t.worst = index(tuple(int(i) for i in pos))
    t.analytic, t.numerical = float(g[pos]), float(num[pos])
