"""The chapter's numerical tools: central differences and gradient descent."""

from __future__ import annotations

from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["numerical_diff", "numerical_gradient", "gradient_descent"]


def numerical_diff(f: Callable[[float], float], x: float, h: float = 1e-4) -> float:
    """(f(x + h) - f(x - h)) / 2h: the central difference of a function of one number."""
    return (f(x + h) - f(x - h)) / (2 * h)


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """∂f/∂x for a float array x of any shape, by central differences, one element at a time.

    Each element of x is perturbed in place (so `f` may ignore its argument and read x through a
    model, as the chapter does) and restored bit for bit afterwards, even if `f` raises.
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        kind = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(
            f"numerical_gradient: x must be a float ndarray (it is perturbed in place by ±h), got "
            f"{kind}; pass e.g. np.array([3.0, 4.0]) or x.astype(np.float64)"
        )
    if not x.flags.writeable:
        raise ValueError("numerical_gradient: x must be writeable (it is perturbed in place)")
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        saved = x[idx]
        try:
            x[idx] = saved + h
            f_plus = f(x)
            x[idx] = saved - h
            f_minus = f(x)
        finally:
            x[idx] = saved
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def gradient_descent(
    f: Callable[[np.ndarray], float], init_x: ArrayLike, lr: float = 0.01, step_num: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """x ← x - lr · ∇f(x), step_num times from a copy of init_x.

    Returns the final x and the history of positions, shape (step_num + 1, *x.shape): the start
    first, the final x last.
    """
    if step_num < 0:
        raise ValueError(f"gradient_descent: step_num must be >= 0, got {step_num}")
    x = np.array(init_x)  # a copy: init_x is never modified
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    history = [x.copy()]
    for _ in range(step_num):
        x -= lr * numerical_gradient(f, x)
        history.append(x.copy())
    return x, np.array(history)
