"""Test helpers for users' own suites: Hypothesis strategies for shapes and arrays, and check_layer.

``check_layer(make_layer, input_shapes=[("N", "D")])`` is one line in a test: it draws the named
sizes (batch 1 and odd sizes included), builds the layer, draws well-conditioned inputs away
from the layer's declared kinks, runs :func:`minigrad.gradcheck.gradcheck`, and on failure raises
:class:`GradcheckError` with the report table while Hypothesis shrinks to the smallest failing
shape. Hypothesis is a test-time dependency: it is imported here lazily, never by ``import minigrad``.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence, Union

import numpy as np
from numpy.typing import DTypeLike

from .gradcheck import GradcheckError, gradcheck

__all__ = ["sizes", "shapes", "arrays", "well_conditioned", "labels", "one_hot", "check_layer", "kinks_of"]

Dim = Union[int, str]
InputSpec = Union[Sequence[Dim], Callable[..., Any]]


def _hypothesis() -> Any:
    """The hypothesis strategies module, or an ImportError saying which extra to install."""
    try:
        from hypothesis import strategies
    except ImportError as e:  # pragma: no cover - exercised only without the test extra
        raise ImportError(
            "minigrad.testing needs hypothesis: pip install hypothesis (in a minigrad checkout: pip install '.[test]')"
        ) from e
    return strategies


def sizes(min_size: int = 1, max_size: int = 5) -> Any:
    """Strategy for one dimension in [min_size, max_size]; it shrinks toward min_size (batch 1 by default)."""
    if not 1 <= min_size <= max_size:
        raise ValueError(f"sizes: need 1 <= min_size <= max_size, got {min_size}, {max_size}")
    return _hypothesis().integers(min_size, max_size)


def shapes(min_dims: int = 1, max_dims: int = 3, min_size: int = 1, max_size: int = 5) -> Any:
    """Strategy for array shapes (N, ...) with min_dims..max_dims axes of min_size..max_size each (odd sizes included)."""
    if not 0 <= min_dims <= max_dims:
        raise ValueError(f"shapes: need 0 <= min_dims <= max_dims, got {min_dims}, {max_dims}")
    st = _hypothesis()
    return st.lists(sizes(min_size, max_size), min_size=min_dims, max_size=max_dims).map(tuple)


def well_conditioned(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    dtype: DTypeLike = np.float64,
    low: float = 0.1,
    high: float = 2.0,
    kinks: Sequence[float] = (),
    margin: float = 0.1,
) -> np.ndarray:
    """Values with |v| in [low, high), random sign, at least `margin` away from every kink."""
    if not 0 <= low < high:
        raise ValueError(f"well_conditioned: need 0 <= low < high, got {low}, {high}")
    v = rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)
    for k in kinks:  # push values within margin of a kink out to the margin, on their own side
        near = np.abs(v - k) < margin
        v = np.where(near, k + np.where(v >= k, margin, -margin), v)
    return np.asarray(v).astype(dtype)


def arrays(
    shape: tuple[int, ...] | Any,
    dtype: DTypeLike = np.float64,
    low: float = 0.1,
    high: float = 2.0,
    kinks: Sequence[float] = (),
    margin: float = 0.1,
) -> Any:
    """Strategy for float arrays of `shape` (a tuple or a shapes strategy): |v| in [low, high), away from kinks.

    Values come from a numpy Generator seeded by Hypothesis, so examples are reproducible and
    shrink (the seed toward 0, the shape toward its smallest sizes).
    """
    st = _hypothesis()
    shape_st = shape if hasattr(shape, "example") else st.just(tuple(shape))
    return st.tuples(shape_st, st.integers(0, 2**32 - 1)).map(
        lambda s: well_conditioned(np.random.default_rng(s[1]), s[0], dtype, low, high, kinks, margin)
    )


def labels(n: int, classes: int) -> Any:
    """Strategy for integer class labels of shape (n,) in [0, classes)."""
    st = _hypothesis()
    return st.lists(st.integers(0, classes - 1), min_size=n, max_size=n).map(lambda v: np.array(v, dtype=np.int64))


def one_hot(n: int, classes: int, dtype: DTypeLike = np.float64) -> Any:
    """Strategy for one-hot target rows of shape (n, classes)."""
    return labels(n, classes).map(lambda t: np.eye(classes, dtype=dtype)[t])


def kinks_of(layer: Any) -> tuple[float, ...]:
    """The input values where a layer's derivative jumps: its `kinks`, or its first sub-layer's for a Sequential."""
    found = tuple(getattr(layer, "kinks", ()) or ())
    first = getattr(layer, "layers", None)
    if isinstance(first, (list, tuple)) and first:
        found += tuple(getattr(first[0], "kinks", ()) or ())
    return found


def check_layer(
    make_layer: Callable[..., Any],
    input_shapes: Sequence[InputSpec],
    *,
    dims: dict[str, tuple[int, int]] | None = None,
    dtype: DTypeLike = np.float64,
    low: float = 0.1,
    high: float = 2.0,
    max_examples: int | None = None,
    **gradcheck_options: Any,
) -> None:
    """Run gradcheck on make_layer(...) over random shapes under Hypothesis; raise GradcheckError on failure.

    `input_shapes` lists one spec per input: a shape whose entries are ints or dimension names
    ("N", "D", ...; each name drawn once per example from `dims`, default 1..5), or a callable
    taking any of the drawn names, `rng` and `dtype` that returns the input (e.g. labels).
    `make_layer` receives, by parameter name, any drawn dimension, `rng` (a seeded numpy
    Generator) and `dtype`. Other keyword arguments go to gradcheck.
    """
    st = _hypothesis()
    from hypothesis import given, settings

    dims = dict(dims or {})
    names: list[str] = []
    for spec in input_shapes:
        if callable(spec):
            wanted = [p for p in inspect.signature(spec).parameters if p not in ("rng", "dtype")]
        else:
            if isinstance(spec, (str, bytes)) or not all(isinstance(d, (int, str)) for d in spec):
                raise TypeError(f"check_layer: an input spec must be a shape of ints and names or a callable, got {spec!r}")
            wanted = [d for d in spec if isinstance(d, str)]
        names += [n for n in wanted if n not in names]
    names += [p for p in inspect.signature(make_layer).parameters if p in dims and p not in names]
    for n in names:
        lo, hi = dims.setdefault(n, (1, 5))
        if not 1 <= lo <= hi:
            raise ValueError(f"check_layer: dims[{n!r}] must be (low, high) with 1 <= low <= high, got {(lo, hi)}")
    required = [p.name for p in inspect.signature(make_layer).parameters.values()
                if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    missing = [p for p in required if p not in names and p not in ("rng", "dtype")]
    if missing:
        raise TypeError(f"check_layer: make_layer asks for {missing}, which no input spec or dims names")

    def call(fn: Callable[..., Any], drawn: dict[str, Any]) -> Any:
        wanted = inspect.signature(fn).parameters
        return fn(**{k: v for k, v in drawn.items() if k in wanted})

    @given(data=st.data())
    def run(data: Any) -> None:
        drawn: dict[str, Any] = {n: data.draw(st.integers(*dims[n]), label=n) for n in names}
        seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
        drawn["rng"] = np.random.default_rng(seed)
        drawn["dtype"] = np.dtype(dtype)
        layer = call(make_layer, drawn)
        kinks = kinks_of(layer)
        inputs = []
        for spec in input_shapes:
            if callable(spec):
                inputs.append(call(spec, drawn))
            else:
                shape = tuple(drawn[d] if isinstance(d, str) else d for d in spec)
                inputs.append(well_conditioned(drawn["rng"], shape, dtype, low, high, kinks))
        result = gradcheck(layer, *inputs, **gradcheck_options)
        if not result:
            raise GradcheckError(result)

    extra = {} if max_examples is None else {"max_examples": max_examples}
    settings(database=None, **extra)(run)()
