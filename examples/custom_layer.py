"""Verify a custom layer: Swish y = x · sigmoid(x), once written correctly and once with a planted bug.

    python examples/custom_layer.py

The layer follows the Layer protocol by duck typing (no base class needed). gradcheck compares
its backward with central differences, for the input x and for its parameter beta, and prints a
report; the buggy version forgets the product rule's second term, and the report names x and
the worst element. The last part runs the same check on random shapes with minigrad.testing
(needs hypothesis: pip install hypothesis, or '.[test]' in a checkout; without it that part
says it is skipped).
"""

from __future__ import annotations

import argparse
import numpy as np

from minigrad import GradcheckError
from minigrad.gradcheck import gradcheck
from minigrad.functions import sigmoid


class Swish:
    """y = x · σ(βx); dx = dout · (σ + βx σ (1 - σ)), dβ = Σ dout · x² σ (1 - σ)."""

    def __init__(self, beta: float = 1.0) -> None:
        self.params = {"beta": np.array([beta])}
        self.grads = {"beta": np.zeros(1)}
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = np.asarray(x)
        self.s = sigmoid(self.params["beta"][0] * self.x)
        return self.x * self.s

    def backward(self, dout: np.ndarray) -> np.ndarray:
        if self.x is None:
            raise RuntimeError("Swish.backward called before forward")
        x, s, beta = self.x, self.s, self.params["beta"][0]
        ds = s * (1 - s)
        self.grads["beta"] = np.array([np.sum(dout * x * x * ds)])
        return dout * (s + beta * x * ds)


class BuggySwish(Swish):
    """The planted bug: dx = dout · σ(βx), as if σ did not depend on x."""

    def backward(self, dout: np.ndarray) -> np.ndarray:
        super().backward(dout)
        return dout * self.s


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5))

    print("== the correct Swish ==")
    print(gradcheck(Swish(beta=1.5), x))

    print("\n== Swish with a planted bug ==")
    result = gradcheck(BuggySwish(beta=1.5), x)
    print(result)
    print(f"failed tensors: {result.failed}")

    print("\n== the same, asking for an exception (as a test would) ==")
    try:
        gradcheck(BuggySwish(beta=1.5), x, raise_on_failure=True)
    except GradcheckError as e:
        print(f"GradcheckError:{e}")  # the message starts on a new line with the table

    print("\n== random shapes under Hypothesis: check_layer(Swish, [('N', 'D')]) ==")
    try:
        import hypothesis  # noqa: F401 - check_layer draws its shapes with it
    except ImportError:
        print("skipped: check_layer needs hypothesis (pip install hypothesis, or '.[test]' in a checkout)")
        return
    from minigrad.testing import check_layer

    check_layer(Swish, [("N", "D")], max_examples=25)
    print("Swish: 25 random shapes, all ok")
    try:
        check_layer(BuggySwish, [("N", "D")], max_examples=25)
    except GradcheckError as e:
        shape = e.result["x"].shape
        print(f"BuggySwish: failed, and Hypothesis shrank it to the smallest input, x of shape {shape}")


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    main()
