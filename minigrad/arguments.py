"""Arguments: the one home of the rules for the numbers, sizes, dtypes and generators users pass.

Every numeric argument takes Python and numpy numbers alike (``np.float32(0.25)``, ``np.int64(3)``);
``bool`` is never a number here. A wrong kind raises TypeError, a value out of range ValueError, each
naming where, the argument, what it expects and what it got.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Union

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["integer", "number", "float_dtype", "generator", "RandomLike"]

RandomLike = Union[np.random.Generator, int, None]
"""What an `rng` argument takes: a Generator (used as is), a seed (an integer >= 0) or None (fresh entropy)."""


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def integer(value: Any, where: str, arg: str, least: int | None = None) -> int:
    """value as an int (Python or numpy integer, not bool) >= least, or a TypeError/ValueError naming where and arg."""
    if _is_bool(value):
        raise TypeError(f"{where}: {arg} must be an integer, got bool {value!r}")
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"{where}: {arg} must be an integer, got {type(value).__name__} {value!r:.80}") from None
    if least is not None and n < least:
        raise ValueError(f"{where}: {arg} must be an integer >= {least}, got {n}")
    return n


def number(
    value: Any, where: str, arg: str, *, low: float = -math.inf, high: float = math.inf, open_low: bool = False,
    open_high: bool = False,
) -> float:
    """value as a finite float in [low, high] (open at an end when asked), or a TypeError/ValueError naming where and arg."""
    if _is_bool(value) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where}: {arg} must be a number, got {type(value).__name__} {value!r:.80}")
    x = float(value) if not isinstance(value, int) or abs(value) < 2**1023 else math.inf * (1 if value > 0 else -1)  # no OverflowError
    inside = (low < x if open_low else low <= x) and (x < high if open_high else x <= high)
    if not (math.isfinite(x) and inside):
        kind = "a number" if math.isfinite(low) and math.isfinite(high) else "a finite number"
        raise ValueError(f"{where}: {arg} must be {kind}{_span(low, high, open_low, open_high)}, got {value!r:.80}")
    return x


def _span(low: float, high: float, open_low: bool, open_high: bool) -> str:
    """' > 0', ' in [0, 1)' or '' (any finite number): the range number() holds a value to, in words."""
    if math.isinf(low) and math.isinf(high):
        return ""
    if math.isinf(high):
        return f" {'>' if open_low else '>='} {low:g}"
    if math.isinf(low):
        return f" {'<' if open_high else '<='} {high:g}"
    return f" in {'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"


def float_dtype(dtype: DTypeLike, where: str, arg: str = "dtype") -> np.dtype:
    """dtype as a numpy floating dtype (float16/32/64/longdouble), or a TypeError naming where and arg."""
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{where}: {arg} must be a float dtype such as np.float64 or np.float32, got {dtype!r}") from None
    if d.kind != "f":
        raise TypeError(f"{where}: {arg} must be a float dtype such as np.float64 or np.float32, got {d}")
    return d


def generator(rng: Any, where: str, arg: str = "rng") -> np.random.Generator:
    """rng as a numpy Generator: a Generator as is, a seed (integer >= 0) or None through default_rng; else a named error."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (np.random.SeedSequence, np.random.BitGenerator)):
        return np.random.default_rng(rng)
    if _is_bool(rng) or not isinstance(rng, (int, np.integer)):
        raise TypeError(f"{where}: {arg} must be a numpy Generator, an integer seed >= 0 or None, got {type(rng).__name__} {rng!r:.80}")
    return np.random.default_rng(integer(rng, where, arg if "seed" in arg else f"{arg} (a seed)", least=0))
