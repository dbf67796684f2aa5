"""What minigrad's guarantees cost a training step: the step with each one dropped, against the fused step.

The hand-fused reference (bench_step.reference_step) is free to do three things minigrad promises
not to. This script builds fit's step with each promise dropped in turn, by small subclasses
written here (never shipped), and times them all against the reference the way ab_step.py does
(CPU time, single-threaded BLAS, interleaved step by step):

- readable grads: SGD scales each gradient in place (g *= lr; W -= g) as the fused step does,
  so `net.grads` no longer hold the gradient after the step;
- a checked, exact loss: the fused step's softmax cross entropy, with no checks of the scores or
  the labels, and the book's log of the picked probability (inf when that probability underflows);
- checked layers: Affine and ReLU without input checks, shape bookkeeping or dtype casts.

Run: python benchmarks/guarantees.py [--configs 0 1 4 5] [--steps 2000]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ab_step import race, single_threaded_blas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, nargs="+", default=[0, 1, 4, 5], help="indices into bench_step.CONFIGS")
    parser.add_argument("--steps", type=int, default=2000, help="steps of each variant (a tenth of it at batch 1000)")
    args = parser.parse_args()
    single_threaded_blas()

    import numpy as np

    from bench_step import CONFIGS, LR, assert_same_step, config_name, reference_step, reference_weights
    from minigrad import Affine, MultiLayerNet, ReLU, Sequential, SoftmaxWithLoss
    from minigrad.optimizers import SGD

    class InPlaceSGD(SGD):
        def _step(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
            g *= self.lr
            p -= g

    class UncheckedLoss(SoftmaxWithLoss):
        def forward(self, x: np.ndarray, t: np.ndarray) -> float:
            y = np.array(x, order="F")
            y -= y.max(axis=1, keepdims=True)
            np.exp(y, out=y)
            y /= y.sum(axis=1, keepdims=True)
            self.y, self.t = y, t
            return -float(np.log(y[np.arange(len(y)), t]).sum()) / len(y)

        def backward(self, dout: float = 1.0) -> np.ndarray:
            dx = self.y * (dout / len(self.y))
            dx[np.arange(len(dx)), self.t] -= dout / len(dx)
            return dx

    class UncheckedAffine(Affine):
        def forward(self, x: np.ndarray) -> np.ndarray:
            self.x = x
            y = x @ self.params["W"]
            y += self.params["b"]
            return y

        def backward(self, dout: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
            self.grads["W"] = self.x.T @ dout
            self.grads["b"] = dout.sum(axis=0)
            return dout @ self.params["W"].T if need_dx else None

    class UncheckedReLU(ReLU):
        def forward(self, x: np.ndarray) -> np.ndarray:
            self.mask = x > 0
            return np.maximum(x, 0)

        def backward(self, dout: np.ndarray) -> np.ndarray:
            return dout * self.mask

    variants = {  # name: (unchecked layers, unchecked loss, in-place SGD)
        "minigrad": (False, False, False),
        "- readable grads": (False, False, True),
        "- checked exact loss": (False, True, False),
        "- checked layers": (True, False, False),
        "all three dropped": (True, True, True),
    }
    print("CPU time per step, single-threaded BLAS: each variant's ratio to the hand-fused step")
    print(f"{'net':<14} {'batch':>5} {'dtype':>7} {'reference ms':>12} " + " ".join(f"{v:>20}" for v in variants))
    for index in args.configs:
        hidden, batch, dtype = CONFIGS[index]
        rng = np.random.default_rng(0)
        x = rng.random((batch, 784)).astype(dtype)
        t = rng.integers(0, 10, batch)
        base = MultiLayerNet(784, hidden, 10, rng=1, dtype=dtype)

        def build(layers_unchecked: bool, loss_unchecked: bool, in_place: bool) -> Callable[[], Any]:
            layers = [
                (UncheckedAffine if layers_unchecked else Affine)(layer.params["W"].copy(), layer.params["b"].copy())
                if isinstance(layer, Affine) else (UncheckedReLU if layers_unchecked else ReLU)()
                for layer in base.layers
            ]
            net = Sequential(*layers, loss=UncheckedLoss() if loss_unchecked else SoftmaxWithLoss())
            optimizer = (InPlaceSGD if in_place else SGD)(lr=LR)

            def step() -> None:
                net.loss(x, t)
                net.backward(need_dx=False, optimizer=optimizer)
            step()  # each variant must still take the reference's step
            weights = reference_weights(base)
            reference_step(*weights, x, t)
            assert_same_step(net.params, *weights)
            return step

        weights = reference_weights(base)
        contenders = {"reference": lambda: reference_step(*weights, x, t)}
        contenders.update({name: build(*flags) for name, flags in variants.items()})
        mean = race(contenders, args.steps if batch < 1000 else args.steps // 10)
        ratios = " ".join(f"{mean[v] / mean['reference']:>20.3f}" for v in variants)
        print(f"{config_name(hidden):<14} {batch:>5} {np.dtype(dtype).name:>7} {mean['reference'] * 1e3:>12.3f} {ratios}",
              flush=True)


if __name__ == "__main__":
    main()
