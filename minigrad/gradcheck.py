"""gradcheck: a layer's backward against the chapter's central difference, with a report naming the culprit.

``gradcheck(layer, *inputs)`` runs forward and backward with a seeded random upstream gradient
``dout`` (``1`` for a loss), then compares the gradient of every differentiable input and of every
entry of ``params`` against :func:`minigrad.numerical.numerical_gradient` of ``f = Σ dout · y``.
Small tensors are checked element by element; large ones along a few seeded random directions
``v`` (``(f(p + h v) - f(p - h v)) / 2h`` against ``<g, v>``), falling back to the element-wise
check (or, for huge tensors, a bisection) on a tensor that fails, so the report names the element.
It also checks state hygiene: inputs, ``dout`` and params unchanged, bit-identical repeats, zero
``dout`` → zero gradients, linearity in ``dout``, gradient shapes and dtypes.

Default step and tolerances, chosen by measurement (``python benchmarks/bench_gradcheck.py --sweep``
checks library layers, losses and nets element by element at several shapes and seeds): in
float64 the worst element missed atol=1e-7 + rtol=1e-5·|numerical| by a margin of 2× at h=1e-3,
46× at h=1e-4 (truncation error, ∝ h²), 2545× at h=1e-5, 512× at h=1e-6, 43× at h=1e-7 and
failed below (round-off, ∝ 1/h). h=1e-6 keeps a 500× margin while crossing 10× fewer ReLU kinks
than 1e-5 in the directional check of a whole net; a wrong factor, sign, transposition or
missing term is off by ≥ 1e-2 relative, 1000× beyond rtol (PyTorch: eps 1e-6, atol 1e-5, rtol 1e-3).
A float32 layer is compared on a float64 copy (see `promote`); checked in float32 itself the
best step was h=1e-2 (margin 5× against atol=1e-4, rtol=1e-2; round-off dominates below).
"""

from __future__ import annotations

import copy
import inspect
import math
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .losses import Loss
from .numerical import numerical_gradient

__all__ = ["gradcheck", "GradcheckResult", "GradcheckError", "TensorCheck", "Hygiene", "DEFAULTS"]

DEFAULTS: dict[str, dict[str, float]] = {
    "float64": {"eps": 1e-6, "atol": 1e-7, "rtol": 1e-5},
    "float32": {"eps": 1e-2, "atol": 1e-4, "rtol": 1e-2},
}
"""Step h and tolerances per precision (see the module docstring for the measurement)."""

MODES = ("auto", "elementwise", "directional")
FALLBACK_MAX = 2048
"""A directional failure on a tensor up to this size is re-checked element by element; beyond, bisected."""


class GradcheckError(AssertionError):
    """Raised by gradcheck(..., raise_on_failure=True): the message is the report table; .result holds it."""

    def __init__(self, result: GradcheckResult) -> None:
        super().__init__("\n" + str(result))
        self.result = result


@dataclass
class TensorCheck:
    """One tensor's comparison: worst element, errors, how many checks failed and how many were kinks."""

    name: str
    kind: str  # "input" or "param"
    shape: tuple[int, ...]
    mode: str  # elementwise, directional, directional→elementwise, directional→bisect
    max_abs: float = 0.0
    max_rel: float = 0.0
    worst: tuple[int, ...] | str | None = None  # an element index, or "dir 2" for a direction
    analytic: float = float("nan")
    numerical: float = float("nan")
    failures: int = 0
    checked: int = 0
    kinks: int = 0
    too_many_kinks: bool = False

    @property
    def ok(self) -> bool:
        """True when no check failed and the kinks stayed within the allowed fraction."""
        return self.failures == 0 and not self.too_many_kinks

    @property
    def status(self) -> str:
        return "ok" if self.ok else ("FAIL" if self.failures else "KINKS")


@dataclass
class Hygiene:
    """A failed state-hygiene check: its name, the tensors involved and what was seen."""

    check: str
    tensors: tuple[str, ...]
    detail: str

    def __str__(self) -> str:
        return f"{self.check} [{', '.join(self.tensors)}]: {self.detail}"


@dataclass
class GradcheckResult:
    """Truthy only when every tensor agrees and every hygiene check passed; str() is a short table."""

    layer: str
    dtype: str
    eps: float
    atol: float
    rtol: float
    seed: int
    loss: bool
    dout: str = "N(0,1)"
    tensors: list[TensorCheck] = field(default_factory=list)
    hygiene: list[Hygiene] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tensors) and not self.hygiene

    def __bool__(self) -> bool:
        return self.ok

    @property
    def failed(self) -> list[str]:
        """Names of the tensors that failed a gradient or hygiene check, in report order."""
        names = [t.name for t in self.tensors if not t.ok]
        for h in self.hygiene:
            names += [n for n in h.tensors if n not in names]
        return names

    def __getitem__(self, name: str) -> TensorCheck:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(f"GradcheckResult: no tensor named {name!r}; tensors are {[t.name for t in self.tensors]}")

    def __str__(self) -> str:
        head = (
            f"gradcheck {self.layer}: {'ok' if self.ok else 'FAIL'}  ({self.dtype}, eps={self.eps:.0e}, "
            f"atol={self.atol:.0e}, rtol={self.rtol:.0e}, seed={self.seed}, "
            f"dout={self.dout})"
        )
        cols = ["tensor", "shape", "mode", "max abs", "max rel", "worst", "analytic", "numerical", "failed", "kinks", "status"]
        rows = [
            [
                t.name,
                "x".join(map(str, t.shape)) or "()",
                t.mode,
                f"{t.max_abs:.1e}",
                f"{t.max_rel:.1e}",
                _index(t.worst),
                f"{t.analytic:.6g}",
                f"{t.numerical:.6g}",
                f"{t.failures}/{t.checked}",
                str(t.kinks),
                t.status,
            ]
            for t in self.tensors
        ]
        widths = [max(len(r[i]) for r in [cols, *rows]) for i in range(len(cols))]
        lines = [head, "  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        if self.note:
            lines.append(f"note: {self.note}")
        lines.append("hygiene: " + ("ok" if not self.hygiene else "FAIL " + ", ".join(h.check for h in self.hygiene)))
        lines += [f"  {h}" for h in self.hygiene]
        return "\n".join(lines)

    __repr__ = __str__


def _index(worst: Any) -> str:
    if worst is None:
        return "-"
    if isinstance(worst, str):
        return worst
    return "(" + ",".join(map(str, worst)) + ")"


def gradcheck(
    layer: Any,
    *inputs: Any,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
    mode: str = "auto",
    elementwise_max: int = 8,
    directions: int = 3,
    wrt: Sequence[int | str] | None = None,
    max_kink_fraction: float = 0.1,
    hygiene: bool = True,
    promote: bool = True,
    raise_on_failure: bool = False,
) -> GradcheckResult:
    """Compare layer.backward with central differences for every differentiable input and param.

    mode "auto" checks tensors of up to `elementwise_max` elements element by element and larger
    ones along `directions` seeded random directions. `wrt` picks the differentiated inputs by
    index or name (default: only the first for a loss, otherwise every float input). An element
    whose one-sided slopes disagree and bracket the analytic value is a kink: excluded, not failed,
    unless more than `max_kink_fraction` of a tensor's checks are kinks. The layer's params are
    perturbed in place and restored bit for bit, even on error; the inputs are copied.

    A float32 layer (`promote=True`) gets its hygiene, dtypes and analytic gradients checked as is,
    and its gradients compared with central differences on a float64 deep copy (the same code with
    every float32 array promoted), whose analytic gradients must also match the float32 ones to
    float32 precision. If no float64 copy can be made or run, or with `promote=False`, the check
    runs in float32 with the float32 defaults, and the report says which.
    """
    for member in ("forward", "backward", "params", "grads"):
        if not hasattr(layer, member):
            raise TypeError(f"gradcheck: {type(layer).__name__} is not a layer: it lacks {member}")
    if mode not in MODES:
        raise ValueError(f"gradcheck: mode must be one of {MODES}, got {mode!r}")
    if directions < 1:
        raise ValueError(f"gradcheck: directions must be >= 1, got {directions}")
    if not 0 <= max_kink_fraction <= 1:
        raise ValueError(f"gradcheck: max_kink_fraction must be in [0, 1], got {max_kink_fraction}")
    arrays = [_prepare(x, i) for i, x in enumerate(inputs)]
    params = dict(layer.params)
    saved = {k: np.array(p) for k, p in params.items()}
    options = dict(eps=eps, atol=atol, rtol=rtol, seed=seed, mode=mode, elementwise_max=elementwise_max,
                   directions=directions, wrt=wrt, max_kink_fraction=max_kink_fraction)
    try:
        with np.errstate(all="ignore"):
            check = _Check(layer, arrays, params, hygiene=hygiene, **options)
            if check.dtype == "float64" or not promote:
                result = check.run()
            else:
                result = check.run(numerical=False)
                promoted = _promoted_check(layer, arrays, check, options)
                if promoted is None:
                    check = _Check(layer, arrays, params, hygiene=False, **options)
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
    finally:
        for k, p in params.items():  # undo anything a failing layer or an exception left behind
            if not _same_bits(p, saved[k]):
                p[...] = saved[k]
    if raise_on_failure and not result:
        raise GradcheckError(result)
    return result


def _prepare(x: Any, i: int) -> np.ndarray:
    """A private copy of input i as an ndarray (a Python float becomes a 0-d float64 array)."""
    try:
        a = np.array(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"gradcheck: input {i} must be a numeric array, got {type(x).__name__} ({e})") from e
    if a.dtype.kind not in "biuf":
        raise TypeError(f"gradcheck: input {i} must be numeric, got dtype {a.dtype}")
    return a


def _same_bits(a: Any, b: Any) -> bool:
    """True when a and b have the same shape, dtype and bytes (NaN payloads and -0.0 included)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        as_int = np.dtype(f"u{a.dtype.itemsize}")
        return bool(np.array_equal(a.view(as_int), b.view(as_int)))
    return bool(np.array_equal(a, b))


def _copy(g: Any) -> Any:
    return None if g is None else np.array(g)


def _input_names(layer: Any, n: int) -> list[str]:
    """Input names: a Graph's `inputs`, else forward's positional parameter names, else input0, input1, ..."""
    names: list[str] = []
    declared = getattr(layer, "inputs", None)
    if isinstance(declared, (list, tuple)) and len(declared) == n and all(isinstance(s, str) for s in declared):
        names = list(declared)
    else:
        try:
            sig = inspect.signature(layer.forward)
            kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            names = [p.name for p in sig.parameters.values() if p.kind in kinds][:n]
        except (TypeError, ValueError):
            names = []
    names += [f"input{i}" for i in range(len(names), n)]
    return names


def _float64_twin(layer: Any) -> Any:
    """A deep copy of layer with every float32 (or float16) array in its object graph cast to float64.

    Arrays shared between attributes (a layer's `W` and `params["W"]`) stay shared in the copy.
    """
    twin = copy.deepcopy(layer)
    cast: dict[int, np.ndarray] = {}
    seen: set[int] = set()

    def convert(obj: Any) -> Any:
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind == "f" and obj.dtype.itemsize < 8:
                if id(obj) not in cast:
                    cast[id(obj)] = obj.astype(np.float64)
                return cast[id(obj)]
            return obj
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, type, types.ModuleType, types.FunctionType)):
            return obj
        seen.add(id(obj))
        if isinstance(obj, dict):
            for k in list(obj):
                obj[k] = convert(obj[k])
        elif isinstance(obj, list):
            obj[:] = [convert(o) for o in obj]
        elif type(obj) is tuple:
            return tuple(convert(o) for o in obj)
        elif hasattr(obj, "__dict__"):
            for k, v in list(vars(obj).items()):
                vars(obj)[k] = convert(v)
        return obj

    return convert(twin)


def _promoted_check(layer: Any, arrays: list[np.ndarray], check32: _Check, options: dict[str, Any]) -> GradcheckResult | None:
    """The numerical comparison on a float64 twin of a float32 layer, plus float32-vs-float64 agreement."""
    try:
        twin = _float64_twin(layer)
        arrays64 = [a.astype(np.float64) if a.dtype.kind == "f" else a.copy() for a in arrays]
        check64 = _Check(twin, arrays64, dict(twin.params), hygiene=False, **options)
        if check64.dtype != "float64":
            return None
        result = check64.run()
    except Exception:  # a layer that cannot be copied or run in float64: the caller checks in float32
        return None
    g32, g64 = check32.first, check64.first
    bad = []
    for k, g in g32.items():
        ref = g64.get(k)
        if g is None or ref is None or np.shape(g) != np.shape(ref):
            continue
        scale = np.max(np.abs(ref), initial=0.0)
        if not np.max(np.abs(g.astype(np.float64) - ref), initial=0.0) <= 1e-3 * scale + 1e-6:
            bad.append(k)
    if bad:
        check32.fail("float32 vs float64", bad, "the float32 gradients differ from the float64 copy's by more than 1e-3 of their scale")
    return result


class _Check:
    """One gradcheck run: the analytic runs, the hygiene checks and the numerical comparison."""

    def __init__(self, layer: Any, arrays: list[np.ndarray], params: dict[str, np.ndarray], *, eps: float | None,
                 atol: float | None, rtol: float | None, seed: int, mode: str, elementwise_max: int,
                 directions: int, wrt: Sequence[int | str] | None, max_kink_fraction: float, hygiene: bool) -> None:
        self.layer, self.arrays, self.params = layer, arrays, params
        floats = [a.dtype for a in (*arrays, *params.values()) if a.dtype.kind == "f"]
        low = min(floats, key=lambda d: d.itemsize) if floats else np.dtype(np.float64)
        self.dtype = "float64" if low.itemsize >= 8 else "float32"
        d = DEFAULTS[self.dtype]
        self.eps = d["eps"] if eps is None else float(eps)
        self.atol = d["atol"] if atol is None else float(atol)
        self.rtol = d["rtol"] if rtol is None else float(rtol)
        if self.eps <= 0 or self.atol < 0 or self.rtol < 0:
            raise ValueError(f"gradcheck: need eps > 0, atol >= 0, rtol >= 0, got {self.eps}, {self.atol}, {self.rtol}")
        self.seed, self.mode, self.elementwise_max = seed, mode, elementwise_max
        self.directions, self.wrt, self.max_kink_fraction = directions, wrt, max_kink_fraction
        self.do_hygiene = hygiene
        self.rng = np.random.default_rng(seed)
        self.names = _input_names(layer, len(arrays))
        clash = set(self.names) & set(params)
        self.labels = [f"input {n}" if n in clash else n for n in self.names]
        self.hygiene: list[Hygiene] = []
        self.name = type(layer).__name__

    def fail(self, check: str, tensors: Sequence[str], detail: str) -> None:
        found = Hygiene(check, tuple(tensors), detail)
        if found not in self.hygiene:  # the same finding in several runs is reported once
            self.hygiene.append(found)

    # -- analytic side -------------------------------------------------------------------------

    def forward(self) -> Any:
        return self.layer.forward(*self.arrays)

    def scribble(self, out: Any) -> None:
        """Act as the caller who owns the output: overwrite it with NaN before backward."""
        if not isinstance(out, np.ndarray) or not out.flags.writeable or out.dtype.kind != "f":
            return
        aliased = [self.labels[i] for i, a in enumerate(self.arrays) if np.shares_memory(out, a)]
        aliased += [k for k, p in self.params.items() if np.shares_memory(out, p)]
        if aliased:
            self.fail("output aliases", aliased, "forward returned (a view of) an input or param, which the caller may change")
            return
        out[...] = np.nan

    def run(self, numerical: bool = True) -> GradcheckResult:
        self.loss = isinstance(self.layer, Loss)
        self.dout: Any = None  # chosen from the first output: 1 for a scalar, else N(0, 1) of its shape
        self.decoy()
        raw = self.analytic(None, checked=True)
        if not self.loss and self.out_shape == ():  # a scalar output: a loss if backward gives dy only
            rest = raw[0][1:] if isinstance(raw[0], tuple) else ()
            self.loss = not isinstance(raw[0], tuple) or all(g is None for g in rest)
        self.diff = self.differentiated()
        grads = self.split(raw)
        self.first = self.flatten(grads)
        self.check_shapes(*grads)
        if self.do_hygiene:
            self.hygiene_checks(grads)
        kind = "1 (loss)" if self.loss else "1 (scalar output)" if self.out_shape == () else "N(0,1)"
        report = GradcheckResult(self.name, self.dtype, self.eps, self.atol, self.rtol, self.seed, self.loss, kind)
        if self.dtype == "float32":
            report.note = "float32: checked in float32 with float32 tolerances (nothing promoted)"
        report.hygiene = self.hygiene
        if not numerical:
            return report
        in_grads, p_grads = grads
        for i in self.diff:
            report.tensors.append(self.compare(self.labels[i], "input", self.arrays[i], in_grads[i]))
        for k, p in self.params.items():
            if p.dtype.kind == "f":
                report.tensors.append(self.compare(k, "param", p, p_grads.get(k)))
        return report

    def decoy(self) -> None:
        """A forward on other input values first (0.75 x), so a stale cache shows up as a wrong gradient."""
        other = [a * 0.75 if a.dtype.kind == "f" else a.copy() for a in self.arrays]
        try:
            self.layer.forward(*other)
        except Exception:  # best effort: some layers reject other values; the real runs decide
            pass

    def differentiated(self) -> list[int]:
        floats = [i for i, a in enumerate(self.arrays) if a.dtype.kind == "f"]
        if self.wrt is None:
            return floats[:1] if self.loss else floats
        chosen = []
        for w in self.wrt:
            i = self.names.index(w) if isinstance(w, str) and w in self.names else w
            if not isinstance(i, int) or not 0 <= i < len(self.arrays):
                raise ValueError(f"gradcheck: wrt entry {w!r} is not an input index or name of {self.names}")
            if i not in floats:
                raise TypeError(f"gradcheck: input {self.names[i]} has dtype {self.arrays[i].dtype}; only float inputs are differentiated")
            chosen.append(i)
        return chosen

    def analytic(self, dout: Any, checked: bool = False) -> tuple[Any, dict[str, Any]]:
        """forward, the caller scribbles on the output, backward(dout): what backward returned and a copy of grads."""
        layer = self.layer
        before = [a.copy() for a in self.arrays] if checked else []
        p_before = {k: p.copy() for k, p in self.params.items()} if checked else {}
        out = self.forward()
        if checked:
            self.changed(before, p_before, "forward")
        if self.dout is None:
            self.out_shape = np.shape(out)
            out_dtype = np.asarray(out).dtype
            if out_dtype.kind != "f":
                raise TypeError(f"gradcheck: {self.name}.forward must return floats, got dtype {out_dtype}")
            if self.out_shape == ():
                self.dout = 1.0
            else:
                self.dout = self.rng.standard_normal(self.out_shape).astype(out_dtype)
            self.dout64 = np.asarray(self.dout, dtype=np.float64)
            dout = self.dout
            self.f0 = self.value(out)  # f at the unperturbed point, before the caller scribbles on y
        self.scribble(out)
        d = np.array(dout) if isinstance(dout, np.ndarray) else dout
        g = layer.backward(d)
        if checked:
            self.changed(before, p_before, "backward")
            if isinstance(dout, np.ndarray) and not _same_bits(d, dout):
                self.fail("dout changed", ["dout"], "backward wrote into the dout it was given")
        g = tuple(_copy(x) for x in g) if isinstance(g, tuple) else _copy(g)
        return g, {k: _copy(v) for k, v in layer.grads.items()}

    def split(self, raw: tuple[Any, dict[str, Any]]) -> tuple[list[Any], dict[str, Any]]:
        """backward's return value as one gradient (or None) per input, in input order."""
        g, p_grads = raw
        gs = list(g) if isinstance(g, tuple) else [g]
        n = len(self.arrays)
        if len(gs) == n:
            return gs, p_grads
        if len(gs) == len(self.diff):
            in_grads: list[Any] = [None] * n
            for i, x in zip(self.diff, gs):
                in_grads[i] = x
            return in_grads, p_grads
        raise ValueError(
            f"gradcheck: {self.name}.backward returned {len(gs)} gradients for {n} inputs "
            f"({len(self.diff)} differentiable)"
        )

    def changed(self, before: list[np.ndarray], p_before: dict[str, np.ndarray], when: str) -> None:
        bad = [self.labels[i] for i, a in enumerate(self.arrays) if not _same_bits(a, before[i])]
        if bad:
            self.fail(f"{when} changed inputs", bad, f"{when} modified input(s) it only borrows")
            for i, a in enumerate(self.arrays):
                a[...] = before[i]
        bad = [k for k, p in self.params.items() if not _same_bits(p, p_before[k])]
        if bad:
            self.fail(f"{when} changed params", bad, f"{when} modified parameter(s)")
            for k in bad:
                self.params[k][...] = p_before[k]

    def check_shapes(self, in_grads: list[Any], p_grads: dict[str, Any]) -> None:
        missing = [k for k in self.params if k not in p_grads]
        extra = [k for k in p_grads if k not in self.params]
        if missing or extra:
            self.fail("grads keys", missing + extra, f"params and grads keys differ: missing {missing}, extra {extra}")
        pairs = [(self.labels[i], self.arrays[i], in_grads[i]) for i in self.diff]
        pairs += [(k, p, p_grads[k]) for k, p in self.params.items() if k in p_grads]
        for name, a, g in pairs:
            if g is None:
                continue
            if g.shape != a.shape:
                self.fail("gradient shape", [name], f"d{name} has shape {g.shape}, {name} has {a.shape}")
            elif g.dtype != a.dtype:
                self.fail("gradient dtype", [name], f"d{name} has dtype {g.dtype}, {name} has {a.dtype}")

    def hygiene_checks(self, grads: tuple[list[Any], dict[str, Any]]) -> None:
        first = self.flatten(grads)
        again = self.flatten(self.split(self.analytic(self.dout)))
        bad = [k for k in first if not _same_bits(first[k], again[k])]
        if bad:
            self.fail("repeat", bad, "a second forward+backward gave different gradients (accumulation or stale cache?)")
        zero = self.flatten(self.split(self.analytic(self.scaled(0.0))))
        bad = [k for k, g in zero.items() if g is not None and np.any(g != 0)]
        if bad:
            self.fail("zero dout", bad, "backward(0) gave nonzero gradients")
        d2 = 0.5 if self.out_shape == () else self.rng.standard_normal(self.out_shape).astype(np.asarray(self.dout).dtype)
        a, b = 0.75, -1.25
        g2 = self.flatten(self.split(self.analytic(d2)))
        mix = a * np.asarray(self.dout) + b * np.asarray(d2)
        g12 = self.flatten(self.split(self.analytic(float(mix) if self.out_shape == () else mix.astype(np.asarray(self.dout).dtype))))
        tol = 1e-10 if self.dtype == "float64" else 1e-4  # round-off of a·g1 + b·g2, relative to its scale
        bad = []
        for k, g in g12.items():
            g1, gb = first[k], g2[k]
            if g is None or g1 is None or gb is None:
                continue
            if np.shape(g) != np.shape(g1) or np.shape(g) != np.shape(gb):
                bad.append(k)
                continue
            scale = abs(a) * np.max(np.abs(g1), initial=0.0) + abs(b) * np.max(np.abs(gb), initial=0.0)
            err = np.max(np.abs(g - (a * g1 + b * gb)), initial=0.0)
            if not err <= tol * scale:
                bad.append(k)
        if bad:
            self.fail("not linear", bad, "backward(a·d1 + b·d2) differs from a·backward(d1) + b·backward(d2)")

    def scaled(self, s: float) -> Any:
        return s * 1.0 if self.out_shape == () else (np.asarray(self.dout) * s).astype(np.asarray(self.dout).dtype)

    def flatten(self, grads: tuple[list[Any], dict[str, Any]]) -> dict[str, Any]:
        in_grads, p_grads = grads
        flat = {self.labels[i]: in_grads[i] for i in self.diff}
        flat.update({k: p_grads.get(k) for k in self.params})
        return flat

    # -- numerical side ------------------------------------------------------------------------

    def objective(self) -> float:
        """f = y for a loss, else Σ dout · y, in float64."""
        return self.value(self.forward())

    def value(self, out: Any) -> float:
        if np.shape(out) != self.out_shape:
            raise ValueError(f"gradcheck: {self.name}.forward returned shape {np.shape(out)}, first {self.out_shape}")
        if self.out_shape == ():
            return float(out)  # dout = 1
        return float(np.dot(np.asarray(out, dtype=np.float64).ravel(), self.dout64.ravel()))

    def allowed(self, numerical: np.ndarray) -> np.ndarray:
        return self.atol + self.rtol * np.abs(numerical)

    def compare(self, name: str, kind: str, x: np.ndarray, g: Any) -> TensorCheck:
        g = np.zeros(x.shape) if g is None else np.asarray(g, dtype=np.float64)
        if g.shape != x.shape:  # reported by the shape check; compare what can be compared
            g = np.broadcast_to(g, x.shape) if g.size == 1 else np.full(x.shape, np.nan)
        mode = self.mode
        if mode == "auto":
            mode = "elementwise" if x.size <= self.elementwise_max else "directional"
        if mode == "elementwise" or x.size == 0:
            return self.elementwise(name, kind, x, g, "elementwise")
        return self.directional(name, kind, x, g)

    def elementwise(self, name: str, kind: str, x: np.ndarray, g: np.ndarray, mode: str) -> TensorCheck:
        """numerical_gradient on x in place, recording f(x ± h) per element for the one-sided slopes."""
        h = self.eps
        values: list[float] = []
        base = x.copy()
        order_ok = [True]

        def f(_: np.ndarray) -> float:
            k, plus = divmod(len(values), 2)
            if k < x.size:
                moved = x.flat[k] > base.flat[k] if plus == 0 else x.flat[k] < base.flat[k]
                order_ok[0] = order_ok[0] and bool(moved)
            values.append(self.objective())
            return values[-1]

        num = numerical_gradient(f, x, h=h).astype(np.float64)
        t = TensorCheck(name, kind, x.shape, mode, checked=x.size)
        if x.size == 0:
            return t
        fp = np.array(values[0::2]).reshape(x.shape)
        fm = np.array(values[1::2]).reshape(x.shape)
        slopes = ((fp - self.f0) / h, (self.f0 - fm) / h) if order_ok[0] and len(values) == 2 * x.size else None
        self.judge(t, g, num, slopes, lambda idx: idx)
        return t

    def judge(self, t: TensorCheck, g: np.ndarray, num: np.ndarray, slopes: Any, index: Callable[[Any], Any]) -> None:
        """Fill t from analytic g vs numerical num (same shape): failures, kinks, the worst element."""
        err = np.abs(g - num)
        allowed = self.allowed(num)
        finite = np.isfinite(g) & np.isfinite(num)
        bad = ~(finite & (err <= allowed))
        kink = np.zeros_like(bad)
        if slopes is not None:
            sp, sm = slopes  # a kink: the slopes either side differ and the analytic value is one of them
            inside = (g >= np.minimum(sp, sm) - allowed) & (g <= np.maximum(sp, sm) + allowed)
            kink = bad & finite & np.isfinite(sp) & np.isfinite(sm) & inside
        failed = bad & ~kink
        t.failures = int(failed.sum())
        t.kinks = int(kink.sum())
        t.too_many_kinks = t.kinks > max(1, math.ceil(self.max_kink_fraction * t.checked))
        with np.errstate(all="ignore"):
            scale = np.maximum(np.abs(g), np.abs(num))
            rel = np.where(scale > 0, err / np.where(scale > 0, scale, 1), 0.0)
            score = np.where(finite, err / np.where(allowed > 0, allowed, 1e-300), np.inf)
        counted = ~kink
        err_c = np.where(finite, err, np.inf)
        if counted.any():
            t.max_abs = float(np.max(err_c[counted]))
            t.max_rel = float(np.max(np.where(finite, rel, np.inf)[counted]))
            flat = int(np.argmax(np.where(counted, score, -1.0).ravel()))
        else:
            flat = 0
        pos = np.unravel_index(flat, num.shape) if num.ndim else ()
        t.worst = index(tuple(int(i) for i in pos))
        t.analytic, t.numerical = float(g[pos]), float(num[pos])

    def step(self, x: np.ndarray, base: np.ndarray, v: np.ndarray, g: np.ndarray, h: float | None = None) -> tuple[float, float, float]:
        """f(x + h v), f(x - h v) and the analytic <g, Δ>/2h for the step Δ actually taken in x's dtype."""
        h = self.eps if h is None else h
        hv = h * v
        try:
            np.add(base, hv, out=x, casting="unsafe")
            plus = x.astype(np.float64) if x.dtype != np.float64 else None
            fp = self.objective()
            np.subtract(base, hv, out=x, casting="unsafe")
            fm = self.objective()
            if plus is None:  # float64: the step is h v to ~1e-10 relative
                ana = float(g.ravel() @ v.ravel())
            else:
                ana = float(g.ravel() @ (plus - x.astype(np.float64)).ravel()) / (2 * h)
        finally:
            x[...] = base
        return fp, fm, ana

    def directional(self, name: str, kind: str, x: np.ndarray, g: np.ndarray) -> TensorCheck:
        """A few seeded directions v: (f(x + h v) - f(x - h v)) / 2h against <g, v>; fall back on failure.

        v is uniform in [-1, 1) per element, so each element moves by up to h as in the element-wise
        check, and the same tolerances apply to the directional derivative (no inflation). In a net
        many ReLU units move at once, so a step of h often crosses some unit's kink: a direction that
        fails is measured again with h/10, then h/100 (a smaller step only shrinks the truncation
        error; its round-off stayed within the same tolerances in the sweep), and one whose one-sided
        slopes still bracket the analytic value is a kink, replaced by a new draw.
        """
        base = x.copy()
        t = TensorCheck(name, kind, x.shape, "directional")
        anas, nums, sps, sms, vs = [], [], [], [], []
        while len(anas) - t.kinks < self.directions and len(anas) < 2 * self.directions:
            v = 2.0 * self.rng.random(x.shape) - 1.0
            for h in (self.eps, self.eps / 10, self.eps / 100):
                fp, fm, ana = self.step(x, base, v, g, h)
                num = (fp - fm) / (2 * h)
                allowed = self.atol + self.rtol * abs(num)
                if abs(ana - num) <= allowed:
                    break
            sp, sm = (fp - self.f0) / h, (self.f0 - fm) / h
            if not abs(ana - num) <= allowed and min(sp, sm) - allowed <= ana <= max(sp, sm) + allowed:
                t.kinks += 1
            anas.append(ana)
            nums.append(num)
            sps.append(sp)
            sms.append(sm)
            vs.append(v)
        t.checked = len(anas)
        self.judge(t, np.array(anas), np.array(nums), (np.array(sps), np.array(sms)), lambda i: f"dir {i[0]}")
        t.too_many_kinks = len(anas) - t.kinks < self.directions
        if t.failures == 0:
            return t
        if x.size <= FALLBACK_MAX:
            e = self.elementwise(name, kind, x, g, "directional→elementwise")
            if e.ok:  # every element agrees, yet a direction did not: report the directions
                t.mode = "directional (elements agree)"
                return t
            return e
        worst = int(t.worst.split()[1]) if isinstance(t.worst, str) else 0
        return self.bisect(t, x, g, base, vs[worst])

    def bisect(self, t: TensorCheck, x: np.ndarray, g: np.ndarray, base: np.ndarray, v: np.ndarray) -> TensorCheck:
        """Halve the failing direction's support, keeping the half with the larger discrepancy, to one element."""
        h = self.eps
        flat_v = v.ravel()
        idx = np.arange(x.size)

        def discrepancy(sub: np.ndarray) -> float:
            w = np.zeros(x.size)
            w[sub] = flat_v[sub]
            fp, fm, ana = self.step(x, base, w.reshape(x.shape), g)
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
        fp, fm, _ = self.step(x, base, e.reshape(x.shape), g)
        pos = np.unravel_index(k, x.shape)
        num = (fp - fm) / (2 * h)
        t.mode = "directional→bisect"
        t.worst = tuple(int(i) for i in pos)
        t.analytic, t.numerical = float(g[pos]), num
        t.max_abs = max(t.max_abs, abs(t.analytic - num))
        return t
