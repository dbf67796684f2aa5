"""What gradcheck returns: one row per tensor, the findings, the culprit, and the table str() prints."""

from __future__ import annotations

import textwrap

from dataclasses import dataclass, field
from typing import Any


class GradcheckError(AssertionError):
    """Raised by gradcheck(..., raise_on_failure=True): the message is the report table; .result holds it."""

    def __init__(self, result: GradcheckResult) -> None:
        super().__init__("\n" + str(result))
        self.result = result


@dataclass
class TensorCheck:
    """One tensor's comparison: worst element, errors, how many checks failed, were kinks, or were left unresolved."""

    name: str
    kind: str  # "input" or "param"
    shape: tuple[int, ...]
    mode: str  # elementwise, directional, directional→elementwise, directional→bisect, directional→split
    max_abs: float = 0.0
    max_rel: float = 0.0
    worst: tuple[int, ...] | str | None = None  # an element index, or "dir 2" for a direction
    analytic: float = float("nan")
    numerical: float = float("nan")
    failures: int = 0
    checked: int = 0
    kinks: int = 0
    unresolved: int = 0  # elements a budget-limited split left neither verified nor excluded
    too_many_kinks: bool = False

    @property
    def verified(self) -> int:
        """Checks that agreed: neither failed, nor a kink, nor left unresolved."""
        return self.checked - self.failures - self.kinks - self.unresolved

    @property
    def ok(self) -> bool:
        """True when no check failed and enough was verified (see kinks.too_little_verified)."""
        return self.failures == 0 and not self.too_many_kinks

    @property
    def status(self) -> str:
        return "ok" if self.ok else ("FAIL" if self.failures else "KINKS")


@dataclass
class Hygiene:
    """A finding about state or protocol: its name, the tensors involved and what was seen."""

    check: str
    tensors: tuple[str, ...]
    detail: str

    def __str__(self) -> str:
        return f"{self.check} [{', '.join(self.tensors)}]: {self.detail}"


@dataclass
class GradcheckResult:
    """Truthy only when every tensor agrees and no hygiene check failed (notes never fail); str() is a short table."""

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
    notes: list[Hygiene] = field(default_factory=list)
    """Findings that do not fail the check (e.g. an output that aliases an input): worth knowing, not wrong."""
    culprit: str | None = None
    """For a failing Sequential or Graph: the first layer whose own backward is wrong ("3", "2.1", a node name)."""
    culprit_result: GradcheckResult | None = None
    """That layer's own check, on the inputs and dout it receives inside the net."""
    culprit_searched: bool = False

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

    def _repr_html_(self) -> str:
        """The report as an HTML table, for Jupyter."""
        from ..jupyter import report_html

        return report_html(str(self))

    def __str__(self) -> str:
        return self.format()

    def format(self, width: int | None = None) -> str:
        """The report; with `width` (a terminal's columns) and lines wider than it, a narrower table and wrapped prose."""
        full = self._lines(compact=False)
        if width is None or max(map(len, full)) <= width:
            return "\n".join(full)
        wrapped = []
        for line in self._lines(compact=True):
            table = line.lstrip().split(" ", 1)[0] in {t.name for t in self.tensors} | {"tensor"}
            indent = " " * (len(line) - len(line.lstrip()))
            wrapped += [line] if table or len(line) <= width else textwrap.wrap(
                line, width, initial_indent="", subsequent_indent=indent + "  ", break_on_hyphens=False)
        return "\n".join(wrapped)

    def _lines(self, compact: bool) -> list[str]:
        settings = (f"{self.dtype}, eps={self.eps:.0e}, atol={self.atol:.0e}, rtol={self.rtol:.0e}, seed={self.seed}, "
                    f"dout={self.dout}")
        status = f"gradcheck {self.layer}: {'ok' if self.ok else 'FAIL'}"
        head = [status, f"  ({settings})"] if compact else [f"{status}  ({settings})"]
        lines = [*head, *_table(self.tensors, compact)]
        if self.note:
            lines.append(f"note: {self.note}")
        for t in self.tensors:
            if t.too_many_kinks:
                lines.append(
                    f"kinks: {t.name}: only {t.verified} of {t.checked} checks verified ({t.kinks} kinks"
                    + (f", {t.unresolved} unresolved" if t.unresolved else "")
                    + "); more than half must be"
                )
        lines.append("hygiene: " + ("ok" if not self.hygiene else "FAIL " + ", ".join(h.check for h in self.hygiene)))
        lines += [f"  {h}" for h in self.hygiene]
        lines += [f"note: {n}" for n in self.notes]
        if self.culprit is not None and self.culprit_result is not None:
            lines.append(f"culprit: layer {self.culprit} ({self.culprit_result.layer}), checked alone on the "
                         "inputs and dout it receives in the net:")
            lines += ["  " + line for line in self.culprit_result._lines(compact)]
        elif self.culprit_searched:
            lines.append("culprit: none (every layer passes alone on the inputs and dout it receives in the net)")
        return lines

    __repr__ = __str__


def _table(tensors: list[TensorCheck], compact: bool = False) -> list[str]:
    """The table's lines; compact (for a narrow terminal) leaves out mode, max rel, and kinks when there are none."""
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
        for t in tensors
    ]
    if compact:
        dropped = {"mode", "max rel"} | ({"kinks"} if not any(t.kinks for t in tensors) else set())
        keep = [i for i, c in enumerate(cols) if c not in dropped]
        cols, rows = [cols[i] for i in keep], [[r[i] for i in keep] for r in rows]
    widths = [max(len(r[i]) for r in [cols, *rows]) for i in range(len(cols))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [cols, *rows]]


def _index(worst: Any) -> str:
    if worst is None:
        return "-"
    if isinstance(worst, str):
        return worst
    return "(" + ",".join(map(str, worst)) + ")"
