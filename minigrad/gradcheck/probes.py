"""The numerical probes: element by element, along random directions, and the two fallbacks for huge tensors.

Each probe perturbs the tensor x in place (the layer's live param, or gradcheck's private copy of an
input), evaluates the check's objective f (Σ dout · y, or the loss) and restores x bit for bit.

- elementwise: the chapter's numerical_gradient, recording f(x ± h) for the one-sided slopes.
- directional: (f(x + h v) - f(x - h v)) / 2h against <g, v> for a few seeded v (fast mode).
- bisect: halves a failing direction's support to one element (huge tensors, no kinks).
- split: verifies a huge tensor around its kinks, halving every group of elements that meets one.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..numerical import numerical_gradient
from .kinks import is_kink, judge, too_little_verified
from .report import TensorCheck

FALLBACK_MAX = 2048
"""A directional failure on a tensor up to this size is re-checked element by element; beyond, bisected or split."""


def elementwise(c: Any, name: str, kind: str, x: np.ndarray, g: np.ndarray, mode: str) -> TensorCheck:
    """numerical_gradient on x in place, recording f(x ± h) per element for the one-sided slopes."""
    h = c.eps
    values: list[float] = []
    base = x.copy()
    order_ok = [True]

    def f(_: np.ndarray) -> float:
        k, plus = divmod(len(values), 2)
        if k < x.size:
            moved = x.flat[k] > base.flat[k] if plus == 0 else x.flat[k] < base.flat[k]
            order_ok[0] = order_ok[0] and bool(moved)
        values.append(c.objective())
        return values[-1]

    num = numerical_gradient(f, x, h=h).astype(np.float64)
    t = TensorCheck(name, kind, x.shape, mode, checked=x.size)
    if x.size == 0:
        return t
    fp = np.array(values[0::2]).reshape(x.shape)
    fm = np.array(values[1::2]).reshape(x.shape)
    slopes = ((fp - c.f0) / h, (c.f0 - fm) / h) if order_ok[0] and len(values) == 2 * x.size else None
    judge(t, g, num, c.allowed(num), slopes, lambda idx: idx, c.max_kink_fraction)
    return t


def step(c: Any, x: np.ndarray, base: np.ndarray, v: np.ndarray, g: np.ndarray, h: float,
         gv: float | None = None) -> tuple[float, float, float]:
    """f(x + h v), f(x - h v) and the analytic <g, Δ>/2h for the step Δ actually taken in x's dtype.

    In float64 the step is h v to ~1e-10 relative and the analytic value is <g, v> (`gv` if known).
    """
    try:
        if x.dtype == np.float64:  # x = base ± h v, computed in x itself (no temporary of x's size)
            np.multiply(v, h, out=x)
            x += base
            fp = c.objective()
            np.multiply(v, -h, out=x)
            x += base
            fm = c.objective()
            ana = float(g.ravel() @ v.ravel()) if gv is None else gv
        else:
            hv = h * v
            np.add(base, hv, out=x, casting="unsafe")
            plus = x.astype(np.float64)
            fp = c.objective()
            np.subtract(base, hv, out=x, casting="unsafe")
            fm = c.objective()
            ana = float(g.ravel() @ (plus - x.astype(np.float64)).ravel()) / (2 * h)
    finally:
        x[...] = base
    return fp, fm, ana


def probe(c: Any, x: np.ndarray, base: np.ndarray, v: np.ndarray, g: np.ndarray,
          support: int) -> tuple[str, float, float, float, float]:
    """One direction over `support` elements: "ok", "kink" or "fail", with analytic, numerical and the one-sided slopes.

    A direction that misses is measured again with h/10, then h/100 (a smaller step only shrinks the
    truncation error; its round-off stayed within the same tolerances in the sweep): in a net many
    ReLU units move at once, and a step of h often crosses some unit's kink.
    """
    gv = float(g.ravel() @ v.ravel())
    for h in (c.eps, c.eps / 10, c.eps / 100):
        fp, fm, ana = step(c, x, base, v, g, h, gv)
        num = (fp - fm) / (2 * h)
        allowed = c.allowed(num, support)
        if abs(ana - num) <= allowed:
            return "ok", ana, num, (fp - c.f0) / h, (c.f0 - fm) / h
    sp, sm = (fp - c.f0) / h, (c.f0 - fm) / h
    return ("kink" if is_kink(ana, num, sp, sm, allowed) else "fail"), ana, num, sp, sm


def directional(c: Any, name: str, kind: str, x: np.ndarray, g: np.ndarray, base: np.ndarray) -> TensorCheck:
    """A few seeded directions v: (f(x + h v) - f(x - h v)) / 2h against <g, v>; fall back when they cannot decide.

    v is uniform in [-1, 1) per element, so each element moves by up to h as in the element-wise
    check, and a direction screens at rtol/√n for n elements (Check.allowed). A kinked direction is
    replaced by a new draw, up to twice `directions` draws; if fewer than `directions` were clean,
    or one missed, the tensor is checked again element by element (or split or bisected beyond
    FALLBACK_MAX elements): the elements decide, so that kinks are excluded element by element, a
    direction no element confirms is not a failure, and the report names the failing element. `base` holds x's values (x is restored to it after each step).
    """
    t = TensorCheck(name, kind, x.shape, "directional")
    anas, nums, sps, sms, vs = [], [], [], [], []
    while len(anas) - t.kinks < c.directions and len(anas) < 2 * c.directions:
        v = c.rng.random(x.shape)
        v *= 2.0
        v -= 1.0  # uniform in [-1, 1), bit for bit 2.0 * random - 1.0
        outcome, ana, num, sp, sm = probe(c, x, base, v, g, x.size)
        t.kinks += outcome == "kink"
        for seq, value in ((anas, ana), (nums, num), (sps, sp), (sms, sm), (vs, v)):
            seq.append(value)
    t.checked = len(anas)
    atol, rtol = c.atol, c.rtol / math.sqrt(x.size)  # Check.allowed, inlined: the common case in plain floats
    if t.kinks == 0 and len(anas) == c.directions and all(abs(a - n) <= atol + rtol * abs(n) for a, n in zip(anas, nums)):
        return _passed(c, t, anas, nums, x.size)  # the common case, in plain floats (numpy is slow on 3 numbers)
    nums_a = np.array(nums)
    judge(t, np.array(anas), nums_a, c.allowed(nums_a, x.size), (np.array(sps), np.array(sms)),
          lambda i: f"dir {i[0]}", c.max_kink_fraction)
    clean = len(anas) - t.kinks
    t.too_many_kinks = False
    if t.failures == 0 and clean >= c.directions:
        return t
    if x.size <= FALLBACK_MAX:
        # the elements decide: a direction that no element confirms is not a failure (it sums every element's
        # error, and <g, v> may cancel far below the elements' scale), and one over several kinks need not
        # bracket the analytic value
        return elementwise(c, name, kind, x, g, "directional→elementwise")
    if t.kinks == 0:
        worst = int(t.worst.split()[1]) if isinstance(t.worst, str) else 0
        b, outcome = bisect(c, t, x, g, base, vs[worst])
        if outcome != "fail":  # the element found agrees or is a kink: the direction crossed kinks
            return split(c, name, kind, x, g, base)
        return b
    return split(c, name, kind, x, g, base)


def _passed(c: Any, t: TensorCheck, anas: list[float], nums: list[float], support: int) -> TensorCheck:
    """Every direction agreed: the worst one (largest error relative to its allowance), as kinks.judge would report it."""
    errs = [abs(a - n) for a, n in zip(anas, nums)]
    scores = [e / c.allowed(n, support) if c.allowed(n, support) > 0 else e / 1e-300 for e, n in zip(errs, nums)]
    rels = [e / max(abs(a), abs(n)) if max(abs(a), abs(n)) > 0 else 0.0 for e, a, n in zip(errs, anas, nums)]
    k = max(range(len(scores)), key=scores.__getitem__)
    t.max_abs, t.max_rel, t.worst = max(errs), max(rels), f"dir {k}"
    t.analytic, t.numerical = float(anas[k]), float(nums[k])
    return t


def bisect(c: Any, t: TensorCheck, x: np.ndarray, g: np.ndarray, base: np.ndarray, v: np.ndarray) -> tuple[TensorCheck, str]:
    """Halve the failing direction's support, keeping the half with the larger discrepancy, to one element.

    Returns t naming that element, and the element's own outcome ("ok", "kink" or "fail").
    """
    h = c.eps
    flat_v = v.ravel()
    idx = np.arange(x.size)

    def discrepancy(sub: np.ndarray) -> float:
        w = np.zeros(x.size)
        w[sub] = flat_v[sub]
        fp, fm, ana = step(c, x, base, w.reshape(x.shape), g, h)
        return (fp - fm) / (2 * h) - ana

    total = discrepancy(idx)
    while idx.size > 1:
        left, right = idx[: idx.size // 2], idx[idx.size // 2:]
        d_left = discrepancy(left)
        d_right = total - d_left  # both sides are linear in the direction
        idx, total = (left, d_left) if abs(d_left) >= abs(d_right) else (right, d_right)
    k = int(idx[0])
    e = np.zeros(x.size)
    e[k] = 1.0
    outcome, _, num, _, _ = probe(c, x, base, e.reshape(x.shape), g, 1)
    pos = np.unravel_index(k, x.shape)
    t.mode = "directional→bisect"
    t.worst = tuple(int(i) for i in pos)
    t.analytic, t.numerical = float(g[pos]), num
    t.max_abs = max(t.max_abs, abs(t.analytic - num))
    return t, outcome


def split(c: Any, name: str, kind: str, x: np.ndarray, g: np.ndarray, base: np.ndarray) -> TensorCheck:
    """Verify a huge tensor around its kinks: a random ±1 direction over a group of elements that meets a
    kink (or fails) is halved, until each group passes or is one element (a kink, excluded, or a failure).

    At most FALLBACK_MAX groups are probed; elements still in unprobed groups are counted unresolved.
    """
    t = TensorCheck(name, kind, x.shape, "directional→split", checked=x.size)
    signs = np.where(c.rng.random(x.size) < 0.5, -1.0, 1.0)
    stack = [np.arange(x.size)]
    worst_score = -1.0
    probes = 0
    while stack and probes < FALLBACK_MAX:
        idx = stack.pop()
        w = np.zeros(x.size)
        w[idx] = signs[idx]
        outcome, ana, num, _, _ = probe(c, x, base, w.reshape(x.shape), g, idx.size)
        probes += 1
        if outcome != "ok" and idx.size > 1:
            half = idx.size // 2
            stack += [idx[half:], idx[:half]]
            continue
        if outcome == "kink":
            t.kinks += 1
            continue
        err = abs(ana - num)
        score = err / c.allowed(num, idx.size)
        t.failures += outcome == "fail"
        if score > worst_score:
            worst_score = score
            t.max_abs = max(t.max_abs, err)
            t.max_rel = max(t.max_rel, err / max(abs(ana), abs(num)) if max(abs(ana), abs(num)) > 0 else 0.0)
            if idx.size == 1:
                k = int(idx[0])
                t.worst = tuple(int(i) for i in np.unravel_index(k, x.shape))
                t.analytic, t.numerical = ana * signs[k], num * signs[k]
            else:
                t.worst, t.analytic, t.numerical = f"{idx.size} elements", ana, num
    t.unresolved = int(sum(s.size for s in stack))
    t.too_many_kinks = too_little_verified(t, c.max_kink_fraction)
    return t
