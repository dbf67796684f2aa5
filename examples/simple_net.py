"""The chapter's simpleNet: one 2×3 weight matrix, softmax and cross entropy.

Its loss gradient dW by the chapter's numerical_gradient and by backprop, side by side.
Run: python examples/simple_net.py
"""

from __future__ import annotations

import argparse
import numpy as np

from minigrad import Affine, Sequential, SoftmaxWithLoss

# The weights the chapter prints (it draws them at random; fixed here so the output is comparable).
W = np.array([[0.47355232, 0.9977393, 0.84668094], [0.85557411, 0.03563661, 0.69422093]])


def main() -> None:
    net = Sequential(Affine(W.copy(), np.zeros(3)), loss=SoftmaxWithLoss())
    x = np.array([0.6, 0.9])
    t = np.array([0, 0, 1])  # the correct class is 2

    print("scores:", net.predict(x), " predicted class:", int(np.argmax(net.predict(x))))
    print("loss:", net.loss(x, t))

    numerical = net.numerical_gradient(x, t)["0.W"]
    backprop = net.gradient(x, t)["0.W"]
    print("dW by numerical_gradient:\n", numerical)
    print("dW by backprop:\n", backprop)
    print("max |difference|:", np.max(np.abs(numerical - backprop)))


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    main()
