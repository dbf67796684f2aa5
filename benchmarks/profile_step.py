"""Where a training step's time goes: each layer's forward and backward in minigrad beside the same
piece of the hand-fused step (bench_step.reference_step, cut at the same places), for 784-50-10.

The two steps alternate, step by step, and each piece's time is averaged, so slow drifts of the
machine fall on both alike. The last column is what minigrad spends beyond the fused code.

Run: python benchmarks/profile_step.py [--batch 100] [--dtype float64] [--steps 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from minigrad import MultiLayerNet
from minigrad.optimizers import SGD

PIECES = ["Affine 0 forward", "ReLU forward", "Affine 2 forward", "loss forward", "loss backward",
          "Affine 2 backward", "Affine 2 SGD update", "ReLU backward", "Affine 0 backward (no dx)",
          "Affine 0 SGD update"]
LR = 0.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--steps", type=int, default=2000, help="steps of each, alternating")
    args = parser.parse_args()
    dtype = np.dtype(args.dtype)

    rng = np.random.default_rng(0)
    x = rng.random((args.batch, 784)).astype(dtype)
    t = rng.integers(0, 10, args.batch)
    net = MultiLayerNet(784, [50], 10, rng=1, dtype=dtype)
    optimizer = SGD(lr=LR)
    affine0, relu, affine2, loss = *net.layers, net.last_layer
    W1, b1, W2, b2 = (p.copy() for p in net.params.values())
    clock = time.perf_counter

    def minigrad_step() -> list[float]:  # the step fit takes: each layer's update right after its backward
        marks = [clock()]
        h = affine0.forward(x); marks.append(clock())
        r = relu.forward(h); marks.append(clock())
        s = affine2.forward(r); marks.append(clock())
        loss.forward(s, t); marks.append(clock())
        d = loss.backward(1.0); marks.append(clock())
        optimizer.begin_step()
        d = affine2.backward(d); marks.append(clock())
        optimizer.apply(affine2.params, affine2.grads, "2."); marks.append(clock())
        d = relu.backward(d); marks.append(clock())
        affine0.backward(d, need_dx=False); marks.append(clock())
        optimizer.apply(affine0.params, affine0.grads, "0."); marks.append(clock())
        return marks

    def sgd(*pairs: tuple[np.ndarray, np.ndarray]) -> None:
        for p, g in pairs:
            g *= LR
            p -= g

    def fused_step() -> list[float]:  # bench_step.reference_step, cut at the same places
        n = len(x)
        marks = [clock()]
        h = x @ W1; h += b1; marks.append(clock())
        mask = h > 0; h *= mask; marks.append(clock())
        a = h @ W2; a += b2; marks.append(clock())
        a -= a.max(axis=1, keepdims=True); np.exp(a, out=a); a /= a.sum(axis=1, keepdims=True)
        rows = np.arange(n); -float(np.log(a[rows, t]).sum()) / n; marks.append(clock())
        a[rows, t] -= 1; a *= 1 / n; marks.append(clock())
        dW2 = h.T @ a; db2 = a.sum(axis=0); d = a @ W2.T; marks.append(clock())
        sgd((W2, dW2), (b2, db2)); marks.append(clock())
        d *= mask; marks.append(clock())
        dW1 = x.T @ d; db1 = d.sum(axis=0); marks.append(clock())
        sgd((W1, dW1), (b1, db1)); marks.append(clock())
        return marks

    totals = {"minigrad": np.zeros(len(PIECES)), "fused": np.zeros(len(PIECES))}
    for i in range(2 * args.steps):
        name, step = ("minigrad", minigrad_step) if i % 2 else ("fused", fused_step)
        totals[name] += np.diff(step())
    mg, fused = (totals[k] / args.steps * 1e6 for k in ("minigrad", "fused"))

    print(f"784-50-10, batch {args.batch}, {dtype.name}: microseconds per step, mean of {args.steps}")
    print(f"{'piece':<26} {'minigrad':>9} {'fused':>9} {'extra':>8}")
    for piece, a, b in zip(PIECES, mg, fused):
        print(f"{piece:<26} {a:>9.1f} {b:>9.1f} {a - b:>+8.1f}")
    print(f"{'whole step':<26} {mg.sum():>9.1f} {fused.sum():>9.1f} {mg.sum() - fused.sum():>+8.1f}"
          f"   ratio {mg.sum() / fused.sum():.3f}")


if __name__ == "__main__":
    main()
