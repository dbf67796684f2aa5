"""gradcheck: a layer's backward against the chapter's central difference, with a report naming the culprit.

``minigrad.gradcheck(layer, *inputs)`` (the package is callable; ``from minigrad.gradcheck import
gradcheck`` is the same function) runs forward and backward with a seeded random upstream gradient
``dout`` (``1`` for a loss), then compares the gradient of every differentiable input and of every
entry of ``params`` against :func:`minigrad.numerical.numerical_gradient` of ``f = Σ dout · y``.
Its parts, each in a module of its own, in the order of the report:

- ``probes``: element by element for small tensors; along a few seeded random directions ``v``
  (``(f(p + h v) - f(p - h v)) / 2h`` against ``<g, v>``) for large ones, falling back to the
  element-wise check (or, for huge tensors, a bisection or a split around kinks) when they fail or
  cannot decide, so that the report names the element.
- ``kinks``: which disagreements are kinks (excluded) and when too little was verified (the rule).
- ``hygiene``: the protocol's rules (inputs, ``dout`` and params unchanged, bit-identical repeats,
  zero ``dout`` → zero gradients, linearity, shapes and dtypes, a deterministic forward): which fail
  and which are notes.
- ``state``: the layer's randomness replayed on every forward; the layer left as it was found.
- ``culprit``: for a failing Sequential or Graph, the first layer whose own backward is wrong.
- ``report``: the result and its table.

Default step and tolerances, chosen by measurement (``python benchmarks/bench_gradcheck.py --sweep``
checks library layers, losses and nets element by element at several shapes and seeds): in
float64 the worst element missed atol=1e-7 + rtol=1e-5·|numerical| by a margin of 2× at h=1e-3,
46× at h=1e-4 (truncation error, ∝ h²), 2545× at h=1e-5, 512× at h=1e-6, 43× at h=1e-7 and
failed below (round-off, ∝ 1/h). h=1e-6 keeps a 500× margin while crossing 10× fewer ReLU kinks
than 1e-5 in the directional check of a whole net.

rtol is PyTorch's 1e-3 (its eps is 1e-6 too; its atol 1e-5, ours 1e-7), not the 1e-5 the step
alone would allow, for the book's code: its SoftmaxWithLoss takes log(y + 1e-7), so its exact
backward (y - t)/N is off from its forward's derivative by 1e-7/y relative, 1.4e-5 where the true
class has y = 0.0073; on 300 draws of 10 classes (N(0, 1) scores, batches of 1-10) 57 failed
element by element at rtol 1e-5, none at 1e-4 or 1e-3 (1e-3 covers y down to 1e-4). The planted
bugs of the mutant catalog are off by at least 0.25 relative (a stale cached x), 250× beyond it.
A float32 layer is compared on a float64 copy (see `promote`); checked in float32 itself the
best step was h=1e-2 (margin 5× against atol=1e-4, rtol=1e-2; round-off dominates below).
"""

from __future__ import annotations

import sys
import types
from typing import Any, Sequence

import numpy as np

from .. import protocol
from .core import DEFAULTS, Check
from .culprit import find_culprit
from .function import as_graph, is_function
from .hygiene import same_bits
from .kinks import MAX_KINK_FRACTION
from .net import BookNet
from .probes import FALLBACK_MAX  # noqa: F401  (a module attribute, as before the split)
from .promote import promoted_check
from .report import GradcheckError, GradcheckResult, Hygiene, TensorCheck
from .state import LayerState

__all__ = ["gradcheck", "GradcheckResult", "GradcheckError", "TensorCheck", "Hygiene", "DEFAULTS"]

MODES = ("auto", "elementwise", "directional")

for _public in (GradcheckResult, GradcheckError, TensorCheck, Hygiene):
    _public.__module__ = __name__  # shown as minigrad.gradcheck.GradcheckError, where users import it from


def gradcheck(
    layer: Any,
    *inputs: Any,
    strict: bool = False,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
    mode: str = "auto",
    elementwise_max: int = 8,
    directions: int = 3,
    wrt: Sequence[int | str] | None = None,
    max_kink_fraction: float = MAX_KINK_FRACTION,
    hygiene: bool = True,
    promote: bool = True,
    dout: Any = None,
    culprit: bool = True,
    raise_on_failure: bool = False,
) -> GradcheckResult:
    """Compare layer.backward with central differences for every differentiable input and param.

    `layer` may also be a net in the book's sense (params, loss(x, t), gradient(x, t)): gradcheck(net,
    x, t) compares gradient with the central difference of loss for every entry of params, and when it
    fails, names the first wrong entry of net.layers (its key, "Affine2") or the last layer
    ("lastLayer") as the culprit. strict=True turns every note (the book's Relu writing into dout,
    its SoftmaxWithLoss ignoring dout) into a failure.

    mode "auto" checks tensors of up to `elementwise_max` elements element by element and larger
    ones along `directions` seeded random directions. `wrt` picks the differentiated inputs by
    index or name (default: only the first for a loss, otherwise every float input). `dout` is the
    upstream gradient (default: 1 for a scalar output, else seeded N(0, 1)). An element whose
    one-sided slopes disagree and bracket the analytic value is a kink: excluded, not failed; a
    tensor fails for kinks only when more than `max_kink_fraction` of it could not be verified.

    Every forward replays the layer's randomness (numpy's and Python's global random state, and
    every Generator or RandomState reachable from the layer), and the layer is left as it was
    found: params bit for bit, and every array, attribute and random state it holds, even on error.
    The inputs are copied. For a failing Sequential or Graph (`culprit=True`), each layer is checked
    on the inputs and dout it receives inside the net and `result.culprit` names the first wrong one.

    `layer` may also be a Python function of Variables, f(*inputs) -> Variable: it runs once and the
    Graph it records is checked (its arguments by their parameter names, wrt by index or name, default
    every float argument; the numbers and arrays it uses inside are held fixed); the culprit is a node name.

    A float32 layer (`promote=True`) gets its hygiene, dtypes and analytic gradients checked as is,
    and its gradients compared with central differences on a float64 deep copy (the same code with
    every float32 array promoted), whose analytic gradients must also match the float32 ones to
    float32 precision. If no float64 copy can be made or run, or with `promote=False`, the check
    runs in float32 with the float32 defaults, and the report says which.
    """
    traced = getattr(layer, "__name__", "f") if is_function(layer) else None
    if traced is not None:  # a Python function of Variables: the Graph it records is checked
        layer, graph_inputs, wrt = as_graph(layer, inputs, wrt)
        inputs = tuple(graph_inputs)
    net = layer if protocol.is_net(layer) else None
    if net is not None:
        layer = BookNet(net)
        if wrt is not None:
            raise ValueError("gradcheck: wrt does not apply to a net, whose params are checked, not its inputs x and t")
        wrt = ()
    protocol.check_layer(layer, "gradcheck")
    if mode not in MODES:
        raise ValueError(f"gradcheck: mode must be one of {MODES}, got {mode!r}")
    if directions < 1:
        raise ValueError(f"gradcheck: directions must be >= 1, got {directions}")
    if not 0 <= max_kink_fraction <= 1:
        raise ValueError(f"gradcheck: max_kink_fraction must be in [0, 1], got {max_kink_fraction}")
    arrays = [_prepare(x, i) for i, x in enumerate(inputs)]
    params = dict(protocol.params(layer))
    saved = {k: np.array(p) for k, p in params.items()}
    state = LayerState(layer, {id(p) for p in params.values()})
    if net is not None:
        layer.replay = state.replay
    options = dict(eps=eps, atol=atol, rtol=rtol, seed=seed, mode=mode, elementwise_max=elementwise_max,
                   directions=directions, wrt=wrt, max_kink_fraction=max_kink_fraction, dout=dout, strict=strict)
    try:
        with np.errstate(all="ignore"):
            try:
                check, result = _run(layer, inputs, arrays, params, saved, state, options, hygiene, promote)
            except ValueError as e:  # the layer writes into an array it held before the check (see LayerState)
                if "read-only" not in str(e) or not state.locked:
                    raise
                _restore(state, params, saved)
                state.upgrade()
                check, result = _run(layer, inputs, arrays, params, saved, state, options, hygiene, promote)
            if culprit and not result and check.deterministic:
                _restore(state, params, saved)
                state.upgrade()  # the layers' own checks lock (or copy) what they hold themselves
                found = find_culprit(net or layer, arrays, check.dout, {**options, "hygiene": hygiene, "promote": promote})
                if found is not None:
                    result.culprit_searched = True
                    result.culprit, result.culprit_result = found
    finally:
        _restore(state, params, saved, final=True)
    if traced is not None:
        result.layer = f"{traced} (its recorded Graph)"
    if net is not None:
        result.layer = type(net).__name__
    if raise_on_failure and not result:
        raise GradcheckError(result)
    return result


def _run(layer: Any, inputs: tuple[Any, ...], arrays: list[np.ndarray], params: dict[str, np.ndarray],
         saved: dict[str, np.ndarray], state: LayerState, options: dict[str, Any], hygiene: bool,
         promote: bool) -> tuple[Check, GradcheckResult]:
    """The check proper: in float64 as is, or a float32 layer's hygiene as is and its gradients on a float64 twin."""
    pristine = [np.asarray(x) for x in inputs], saved
    check = Check(layer, arrays, params, state, hygiene=hygiene, pristine=pristine, **options)
    if check.dtype == "float64" or not promote:
        return check, check.run()
    result = check.run(numerical=False)
    _restore(state, params, saved)
    if check.deterministic:
        _promoted(layer, arrays, params, state, check, result, options)
    return check, result


def _promoted(layer: Any, arrays: list[np.ndarray], params: dict[str, np.ndarray], state: LayerState,
              check: Check, result: GradcheckResult, options: dict[str, Any]) -> None:
    """A float32 layer's gradients compared on its float64 twin (or, failing that, in float32)."""
    promoted = promoted_check(layer, arrays, check, options)
    if promoted is None:
        state.restore()
        check = Check(layer, arrays, params, state, hygiene=False, **options)
        result.tensors = check.run().tensors
        result.note = "float32: no float64 copy could be run; checked in float32 with float32 tolerances"
    else:
        result.tensors = promoted.tensors
        result.dtype = "float32 (compared in float64)"
        result.eps, result.atol, result.rtol = promoted.eps, promoted.atol, promoted.rtol
        result.note = (
            "float32 layer: gradients checked on a float64 copy; hygiene, dtypes and "
            "float32-vs-float64 agreement on the layer itself"
        )


def _restore(state: LayerState, params: dict[str, np.ndarray], saved: dict[str, np.ndarray], final: bool = False) -> None:
    """The layer as it was found: its state, then its params bit for bit (undoing a failing layer's writes)."""
    state.restore(final)
    for k, p in params.items():
        if not same_bits(p, saved[k]):
            p[...] = saved[k]


def _prepare(x: Any, i: int) -> np.ndarray:
    """A private copy of input i as an ndarray (a Python float becomes a 0-d float64 array)."""
    try:
        a = np.array(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"gradcheck: input {i} must be a numeric array, got {type(x).__name__} ({e})") from e
    if a.dtype.kind not in "biuf":
        raise TypeError(f"gradcheck: input {i} must be numeric, got dtype {a.dtype}")
    return a



class _CallableModule(types.ModuleType):
    """minigrad.gradcheck is both this package and, called, the function (as torch.autograd.gradcheck)."""

    def __call__(self, *args: Any, **kwargs: Any) -> GradcheckResult:
        return gradcheck(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
