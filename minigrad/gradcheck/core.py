"""One gradcheck run: forward and backward as a caller makes them, the objective f, and the order of the checks."""

from __future__ import annotations

import inspect
import math
import os
import traceback
from typing import Any, Sequence

import numpy as np

from .. import protocol
from ..losses import Loss
from . import hygiene, probes
from .net import BookNet
from .report import GradcheckResult, Hygiene, TensorCheck
from .state import LayerState

DEFAULTS: dict[str, dict[str, float]] = {
    "float64": {"eps": 1e-6, "atol": 1e-7, "rtol": 1e-3},
    "float32": {"eps": 1e-2, "atol": 1e-4, "rtol": 1e-2},
}
"""Step h and tolerances per precision (see the package docstring for the measurement)."""


def input_names(layer: Any, n: int) -> list[str]:
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


_LIBRARIES = (os.path.dirname(np.__file__) + os.sep, os.path.dirname(os.path.dirname(__file__)) + os.sep)
"""numpy's and minigrad's directories: frames there are not the user's code."""
_HERE = os.path.dirname(__file__) + os.sep


def raised(e: BaseException, name: str, method: str) -> None:
    """e with a note saying which of the layer's methods raised, and where: the last frame in the user's code.

    Frames in numpy and minigrad are skipped unless nothing else is left (one of minigrad's own layers
    raising), and gradcheck's own always (a call with the wrong arguments raises there: no line to show).
    The exception keeps its type, so a caller that catches it still does.
    """
    if not getattr(e, "_gradcheck_noted", False) and hasattr(e, "add_note"):
        frames = [f for f in traceback.extract_tb(e.__traceback__) if not f.filename.startswith(_HERE)]
        mine = [f for f in frames if not f.filename.startswith(_LIBRARIES)] or frames
        where = f" at {mine[-1].filename}, line {mine[-1].lineno}, in {mine[-1].name}" if mine else ""
        e.add_note(f"gradcheck: {name}.{method} raised {type(e).__name__}{where}")
        e._gradcheck_noted = True  # type: ignore[attr-defined]


def _copy(g: Any) -> Any:
    return None if g is None else np.array(g)


class Check:
    """One run over a layer: the analytic runs, the hygiene checks, then the numerical probes per tensor."""

    def __init__(self, layer: Any, arrays: list[np.ndarray], params: dict[str, np.ndarray], state: LayerState, *,
                 eps: float | None, atol: float | None, rtol: float | None, seed: int, mode: str,
                 elementwise_max: int, directions: int, wrt: Sequence[int | str] | None,
                 max_kink_fraction: float, hygiene: bool, dout: Any = None, strict: bool = False,
                 pristine: tuple[list[np.ndarray], dict[str, np.ndarray]] | None = None) -> None:
        self.layer, self.arrays, self.params, self.state = layer, arrays, params, state
        self.pristine = pristine  # the inputs and params as given, if the caller keeps them (saves copies)
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
        self.do_hygiene, self.strict = hygiene, strict
        self.given_dout = dout
        self.rng = np.random.default_rng(seed)
        self.names = input_names(layer, len(arrays))
        clash = set(self.names) & set(params)
        self.labels = [f"input {n}" if n in clash else n for n in self.names]
        self.hygiene: list[Hygiene] = []
        self.notes: list[Hygiene] = []
        book = isinstance(layer, BookNet)
        self.name = type(layer.net if book else layer).__name__
        self.methods = ("loss", "gradient") if book else ("forward", "backward")
        self.deterministic = True
        self.dout: Any = None

    def fail(self, check: str, tensors: Sequence[str], detail: str) -> None:
        found = Hygiene(check, tuple(tensors), detail)
        if found not in self.hygiene:  # the same finding in several runs is reported once
            self.hygiene.append(found)

    def note(self, check: str, tensors: Sequence[str], detail: str) -> None:
        """A finding that does not fail the check, unless strict (then every note fails)."""
        if self.strict:
            return self.fail(check, tensors, detail + " (strict=True: every note fails)")
        found = Hygiene(check, tuple(tensors), detail)
        if found not in self.notes:
            self.notes.append(found)

    # -- analytic side -------------------------------------------------------------------------

    def forward(self, arrays: list[np.ndarray] | None = None) -> Any:
        """layer.forward with the layer's randomness replayed: every forward draws the same numbers."""
        self.state.replay()
        try:
            out = self.layer.forward(*(self.arrays if arrays is None else arrays))
        except Exception as e:
            raised(e, self.name, self.methods[0])
            raise
        if self.state.moved is None:
            self.state.learn()
        return out

    def run(self, numerical: bool = True) -> GradcheckResult:
        self.loss = isinstance(self.layer, Loss)
        self.dout: Any = None  # chosen from the first output: 1 for a scalar, else N(0, 1) of its shape
        self.decoy()
        raw, out = self.analytic(None, checked=True)
        if not self.loss and self.out_shape == ():  # a scalar output: a loss if backward gives dy only
            rest = raw[0][1:] if isinstance(raw[0], tuple) else ()
            self.loss = not isinstance(raw[0], tuple) or all(g is None for g in rest)
        self.diff = self.differentiated()
        grads = self.split(raw)
        self.first = self.flatten(grads)
        hygiene.shapes(self, *grads)
        kind = "given" if self.given_dout is not None else (
            "1 (loss)" if self.loss else "1 (scalar output)" if self.out_shape == () else "N(0,1)")
        report = GradcheckResult(self.name, self.dtype, self.eps, self.atol, self.rtol, self.seed, self.loss, kind)
        if self.dtype == "float32":
            report.note = "float32: checked in float32 with float32 tolerances (nothing promoted)"
        report.hygiene, report.notes = self.hygiene, self.notes
        if self.do_hygiene:
            raw2, out2 = self.analytic(self.dout)
            self.deterministic = hygiene.deterministic(self, out, out2)
            if not self.deterministic:
                return report
            hygiene.repeat_zero_linear(self, self.first, self.flatten(self.split(raw2)))
        else:
            self.deterministic = hygiene.deterministic(self, out, np.array(self.forward()))
            if not self.deterministic:
                return report
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
            self.forward(other)
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

    def choose_dout(self, out: Any) -> None:
        """dout from the first output: the given one, 1 for a scalar, else seeded N(0, 1) of the output's shape."""
        self.out_shape = np.shape(out)
        out_dtype = np.asarray(out).dtype
        if out_dtype.kind != "f":
            raise TypeError(f"gradcheck: {self.name}.forward must return floats, got dtype {out_dtype}")
        if self.given_dout is not None:
            d = np.array(self.given_dout, dtype=out_dtype)
            if d.shape != self.out_shape:
                raise ValueError(f"gradcheck: dout must have {self.name}'s output shape {self.out_shape}, got {d.shape}")
            self.dout = float(d) if self.out_shape == () else d
        elif self.out_shape == ():
            self.dout = 1.0
        else:
            self.dout = self.rng.standard_normal(self.out_shape).astype(out_dtype)
        self.dout64 = np.asarray(self.dout, dtype=np.float64)

    def analytic(self, dout: Any, checked: bool = False) -> tuple[tuple[Any, dict[str, Any]], Any]:
        """forward, then backward(a private copy of dout): what backward returned, a copy of grads, and forward's output."""
        before, p_before = self.pristine if checked and self.pristine else ([], {})
        if checked and not self.pristine:
            before, p_before = [a.copy() for a in self.arrays], {k: p.copy() for k, p in self.params.items()}
        out = self.forward()
        if checked:
            hygiene.changed(self, before, p_before, "forward")
            hygiene.output_aliases(self, out)
        if self.dout is None:
            self.choose_dout(out)
            dout = self.dout
            self.f0 = self.value(out)  # f at the unperturbed point
        out = np.array(out)  # a copy: forward's next call may overwrite the layer's own cache
        d = np.array(dout) if isinstance(dout, np.ndarray) else dout
        try:
            g = self.layer.backward(d)
        except Exception as e:
            raised(e, self.name, self.methods[1])
            raise
        if checked:
            hygiene.changed(self, before, p_before, "backward")
            hygiene.dout_kept(self, d, dout, g)
        g = tuple(_copy(x) for x in g) if isinstance(g, tuple) else _copy(g)
        return (g, {k: _copy(v) for k, v in protocol.grads(self.layer).items()}), out

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
            return float(out) * float(self.dout64)  # dout = 1 unless given
        return float(np.dot(np.asarray(out, dtype=np.float64).ravel(), self.dout64.ravel()))

    def allowed(self, numerical: Any, support: int = 1) -> Any:
        """atol + rtol·|numerical| for an element; a direction over `support` elements screens at rtol/√support.

        A direction sums its elements' errors, so one wrong element among n hides below rtol·|<g, v>|
        unless rtol shrinks with √n (the size of <g, v> for random v); a direction that misses is then
        decided element by element at rtol (see probes).
        """
        return self.atol + self.rtol / math.sqrt(max(support, 1)) * np.abs(numerical)

    def compare(self, name: str, kind: str, x: np.ndarray, g: Any) -> TensorCheck:
        g = np.zeros(x.shape) if g is None else np.asarray(g, dtype=np.float64)
        if g.shape != x.shape:  # reported by the shape check; compare what can be compared
            g = np.broadcast_to(g, x.shape) if g.size == 1 else np.full(x.shape, np.nan)
        mode = self.mode
        if mode == "auto":
            mode = "elementwise" if x.size <= self.elementwise_max else "directional"
        if mode == "elementwise" or x.size == 0:
            return probes.elementwise(self, name, kind, x, g, "elementwise")
        return probes.directional(self, name, kind, x, g, x.copy())
