"""The hygiene checks: does the layer keep the protocol's own rules? Which findings fail, and which are notes.

FAIL (the layer breaks a rule of the Layer protocol, or its gradients cannot be trusted):
  forward/backward changed inputs or params; a repeat gave different gradients (accumulation, a
  stale cache); backward(0) was not 0; backward not linear in dout; grads keys, gradient shapes or
  dtypes wrong; float32 disagrees with its float64 copy; forward(x) twice gave different outputs
  although gradcheck replayed the layer's randomness.
NOTE (the book's conventions and other habits that give right gradients where minigrad uses them;
  never fails, unless strict=True, which turns every note into a failure): backward wrote into the
  dout it was given (the book's Relu); a scalar loss's backward ignores dout (the book's
  SoftmaxWithLoss returns the gradient for dout = 1); forward returned (a view of) an input or
  param; backward returned the very dout it was given. A non-scalar layer that ignores dout fails
  (zero dout, not linear).
What forward returns may be the layer's own cache (the book's `self.out = ...; return self.out`):
gradcheck treats it as read-only, as every caller in minigrad does, and never writes into it.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def same_bits(a: Any, b: Any) -> bool:
    """True when a and b have the same shape, dtype and bytes (NaN payloads and -0.0 included)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        as_int = np.dtype(f"u{a.dtype.itemsize}")
        return bool(np.array_equal(a.view(as_int), b.view(as_int)))
    return bool(np.array_equal(a, b))


def changed(c: Any, before: list[np.ndarray], p_before: dict[str, np.ndarray], when: str) -> None:
    """FAIL when forward or backward modified an input or a param (and undo it)."""
    bad = [c.labels[i] for i, a in enumerate(c.arrays) if not same_bits(a, before[i])]
    if bad:
        c.fail(f"{when} changed inputs", bad, f"{when} modified input(s) it only borrows")
        for i, a in enumerate(c.arrays):
            a[...] = before[i]
    bad = [k for k, p in c.params.items() if not same_bits(p, p_before[k])]
    if bad:
        c.fail(f"{when} changed params", bad, f"{when} modified parameter(s)")
        for k in bad:
            c.params[k][...] = p_before[k]


def output_aliases(c: Any, out: Any) -> None:
    """NOTE when forward returned (a view of) an input or a param."""
    if not isinstance(out, np.ndarray):
        return
    aliased = [c.labels[i] for i, a in enumerate(c.arrays) if np.may_share_memory(out, a)]
    aliased += [k for k, p in c.params.items() if np.may_share_memory(out, p)]
    if aliased:
        c.note("output aliases", aliased, "forward returned (a view of) an input or param: fine for minigrad, "
               "which never writes into an output, but a caller that does would change them")


def dout_kept(c: Any, d: Any, given: Any, g: Any) -> None:
    """NOTE when backward wrote into its dout, or handed that dout back as a gradient."""
    if not isinstance(given, np.ndarray):
        return
    if not same_bits(d, given):
        c.note("dout changed", ["dout"], "backward wrote into the dout it was given (the book's Relu does): minigrad's "
               "Sequential and Graph hand each layer a dout of its own, so it matters only to a caller that reads "
               "dout again after backward")
    if any(isinstance(x, np.ndarray) and np.may_share_memory(x, d) for x in (g if isinstance(g, tuple) else (g,))):
        c.note("returns dout", ["dout"], "backward returned (a view of) the dout it was given, which its caller still owns")


def shapes(c: Any, in_grads: list[Any], p_grads: dict[str, Any]) -> None:
    """FAIL when grads keys differ from params keys, or a gradient's shape or dtype is not its tensor's."""
    missing = [k for k in c.params if k not in p_grads]
    extra = [k for k in p_grads if k not in c.params]
    if missing or extra:
        c.fail("grads keys", missing + extra, f"params and grads keys differ: missing {missing}, extra {extra}")
    pairs = [(c.labels[i], c.arrays[i], in_grads[i]) for i in c.diff]
    pairs += [(k, p, p_grads[k]) for k, p in c.params.items() if k in p_grads]
    for name, a, g in pairs:
        if g is None:
            continue
        if g.shape != a.shape:
            c.fail("gradient shape", [name], f"d{name} has shape {g.shape}, {name} has {a.shape}")
        elif g.dtype != a.dtype:
            c.fail("gradient dtype", [name], f"d{name} has dtype {g.dtype}, {name} has {a.dtype}")


def deterministic(c: Any, first: Any, again: Any) -> bool:
    """FAIL (and False) when forward(x) twice gave different outputs, randomness replayed."""
    if same_bits(first, again):
        return True
    a, b = np.asarray(first, dtype=np.float64), np.asarray(again, dtype=np.float64)
    if a.shape != b.shape:
        detail = f"shapes {a.shape} and {b.shape}"
    else:
        diff = np.where(np.isnan(a) & np.isnan(b), 0.0, np.abs(a - b))
        k = int(np.argmax(np.nan_to_num(diff, nan=np.inf)))
        pos = np.unravel_index(k, a.shape) if a.ndim else ()
        detail = f"max |difference| {float(diff[pos]):.3g} at {tuple(int(i) for i in pos)} ({a[pos]:.6g} vs {b[pos]:.6g})"
    replayed = ", ".join(c.state.random_names) or "no random state was seen moving"
    c.fail("not deterministic", ["output"], f"forward(x) twice gave different outputs: {detail}; gradcheck "
           f"replayed the layer's randomness ({replayed}) and compared no gradient")
    return False


def repeat_zero_linear(c: Any, first: dict[str, Any], again: dict[str, Any]) -> None:
    """FAIL on a repeat that differs, nonzero gradients for dout = 0, or a backward not linear in dout.

    A scalar loss whose backward gives the same gradients for dout = 0 as for dout = 1 ignores dout,
    as the book's SoftmaxWithLoss does: a NOTE, not checked for linearity.
    """
    bad = [k for k in first if not same_bits(first[k], again[k])]
    if bad:
        c.fail("repeat", bad, "a second forward+backward gave different gradients (accumulation or stale cache?)")
    zero = c.flatten(c.split(c.analytic(c.scaled(0.0))[0]))
    bad = [k for k, g in zero.items() if g is not None and np.any(g != 0)]
    if bad and c.loss and c.out_shape == () and all(same_bits(zero[k], first[k]) for k in bad):
        c.note("ignores dout", bad, "backward(dout) returns the gradient for dout = 1 whatever dout is (the book's "
               "SoftmaxWithLoss does): right as the last layer of a net, where dout is 1; wrong where the loss is "
               "scaled or used inside a larger graph")
        return
    if bad:
        c.fail("zero dout", bad, "backward(0) gave nonzero gradients")
    dtype = np.asarray(c.dout).dtype
    d2 = 0.5 if c.out_shape == () else c.rng.standard_normal(c.out_shape).astype(dtype)
    a, b = 0.75, -1.25
    g2 = c.flatten(c.split(c.analytic(d2)[0]))
    mix = a * np.asarray(c.dout) + b * np.asarray(d2)
    g12 = c.flatten(c.split(c.analytic(float(mix) if c.out_shape == () else mix.astype(dtype))[0]))
    tol = 1e-10 if c.dtype == "float64" else 1e-4  # round-off of a·g1 + b·g2, relative to its scale
    bad, scales, errs = [], {}, {}
    for k, g in g12.items():
        g1, gb = first[k], g2[k]
        if g is None or g1 is None or gb is None:
            continue
        if np.shape(g) != np.shape(g1) or np.shape(g) != np.shape(gb):
            bad.append(k)
            continue
        scales[k] = abs(a) * np.max(np.abs(g1), initial=0.0) + abs(b) * np.max(np.abs(gb), initial=0.0)
        errs[k] = np.max(np.abs(g - (a * g1 + b * gb)), initial=0.0)
    # the floor: round-off of the largest gradient in the check. A gradient that is 0 in exact arithmetic (a bias
    # in front of a training-mode batch norm) comes out as round-off of its neighbours' size, not of its own.
    floor = max(scales.values(), default=0.0)
    bad += [k for k in scales if not errs[k] <= tol * max(scales[k], floor)]
    if bad:
        c.fail("not linear", bad, "backward(a·d1 + b·d2) differs from a·backward(d1) + b·backward(d2)")
