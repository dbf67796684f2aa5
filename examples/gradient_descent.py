"""The chapter's numerical differentiation and gradient descent, with its learning-rate comparison.

Run: python examples/gradient_descent.py
"""

from __future__ import annotations

import argparse
import numpy as np

from minigrad.numerical import gradient_descent, numerical_diff, numerical_gradient


def function_1(x: float) -> float:
    """y = 0.01x² + 0.1x (dy/dx = 0.02x + 0.1)."""
    return 0.01 * x**2 + 0.1 * x


def function_2(x: np.ndarray) -> float:
    """f(x0, x1) = x0² + x1²."""
    return float(np.sum(x**2))


def main() -> None:
    print("numerical_diff of 0.01x² + 0.1x (exact: 0.2 at 5, 0.3 at 10)")
    for x in (5, 10):
        print(f"  x = {x:2d}: {numerical_diff(function_1, x)!r}")

    print("partial derivatives of x0² + x1² at (3, 4) (exact: 6, 8)")
    print("  ∂f/∂x0:", repr(numerical_diff(lambda x0: x0**2 + 4.0**2, 3.0)))
    print("  ∂f/∂x1:", repr(numerical_diff(lambda x1: 3.0**2 + x1**2, 4.0)))

    print("numerical_gradient of x0² + x1²")
    for point in ([3.0, 4.0], [0.0, 2.0], [3.0, 0.0]):
        print(f"  at {tuple(point)}: {numerical_gradient(function_2, np.array(point))}")

    print("gradient_descent from (-3, 4), 100 steps")
    for lr, note in ((0.1, "converges to the minimum"), (10.0, "too large: diverges"), (1e-10, "too small: barely moves")):
        x, history = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=lr, step_num=100)
        print(f"  lr = {lr:<6g} → {x}  ({note}; {len(history)} positions in the history)")


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    main()
