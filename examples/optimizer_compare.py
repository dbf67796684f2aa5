"""The chapter's optimizer comparison: paths of SGD, Momentum, Nesterov, AdaGrad, RMSprop and Adam.

Each optimizer starts at (-7, 2) on f(x, y) = x²/20 + y² (gradient (x/10, 2y)) and takes 30 steps;
their paths over the contours go to ``optimizer_compare.png``. A second figure,
``optimizer_compare_digits.png``, trains the same MultiLayerNet on the 8×8 digits with each
optimizer and plots the training loss per iteration.

Run: python examples/optimizer_compare.py [--out DIR] [--steps 30]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from minigrad import MultiLayerNet
from minigrad.datasets import load_digits
from minigrad.optimizers import get_optimizer
from minigrad.plotting import legend_below, plain_log_axis, pyplot

# Learning rates for the 2-D function as in the chapter (RMSprop and Nesterov chosen alike).
PATH_LRS = {"sgd": 0.95, "momentum": 0.1, "nesterov": 0.1, "adagrad": 1.5, "rmsprop": 0.15, "adam": 0.3}
# Learning rates for the digits net.
NET_LRS = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.05, "rmsprop": 0.002, "adam": 0.002}
LABELS = {"sgd": "SGD", "momentum": "Momentum", "nesterov": "Nesterov", "adagrad": "AdaGrad", "rmsprop": "RMSprop", "adam": "Adam"}



def f(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """f(x, y) = x²/20 + y²."""
    return x**2 / 20.0 + y**2


def df(p: np.ndarray) -> np.ndarray:
    """∇f = (x/10, 2y)."""
    return p * np.array([0.1, 2.0])


def path(name: str, steps: int) -> np.ndarray:
    """The positions (steps + 1, 2) an optimizer visits from (-7, 2)."""
    params = {"p": np.array([-7.0, 2.0])}
    optimizer = get_optimizer(name, lr=PATH_LRS[name])
    positions = [params["p"].copy()]
    for _ in range(steps):
        optimizer.update(params, {"p": df(params["p"])})
        positions.append(params["p"].copy())
    return np.array(positions)


def train_digits(name: str, iters: int, seed: int) -> list[float]:
    """Training loss per iteration of a 64-100-100-10 ReLU net on the digits with this optimizer."""
    (x_train, t_train), _ = load_digits()
    net = MultiLayerNet(64, [100, 100], 10, rng=seed, dtype=x_train.dtype)
    optimizer = get_optimizer(name, lr=NET_LRS[name])
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(iters):
        batch = rng.choice(len(x_train), 64)
        losses.append(net.loss(x_train[batch], t_train[batch]))
        net.backward()
        optimizer.update(net.params, net.grads)
    return losses


def smooth(values: list[float], width: int = 10) -> np.ndarray:
    """A moving average, so the curves can be told apart."""
    return np.convolve(values, np.ones(width) / width, mode="valid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="steps on the 2-D function (default 30)")
    parser.add_argument("--iters", type=int, default=400, help="iterations on the digits (default 400)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("."), help="directory for the PNGs (default: .)")
    args = parser.parse_args()
    plt = pyplot()
    args.out.mkdir(parents=True, exist_ok=True)

    xs, ys = np.meshgrid(np.arange(-8.5, 2.5, 0.05), np.arange(-2.75, 2.75, 0.05))
    fig, axes = plt.subplots(2, 3, figsize=(12, 6), sharex=True, sharey=True, layout="constrained")
    for ax, name in zip(axes.flat, PATH_LRS):
        p = path(name, args.steps)
        ax.contour(xs, ys, f(xs, ys), levels=np.geomspace(0.05, 30, 12), colors="0.75", linewidths=0.8)
        ax.plot(p[:, 0], p[:, 1], "o-", color="tab:red", markersize=3, linewidth=1)
        ax.plot(0, 0, "+", color="k", markersize=10)
        ax.set(xlim=(-8, 2), ylim=(-2.5, 2.5), title=f"{LABELS[name]} (lr={PATH_LRS[name]})")  # where the paths are
        print(f"{LABELS[name]:9s} after {args.steps} steps: ({p[-1, 0]: .4f}, {p[-1, 1]: .4f}), f = {f(*p[-1]):.2e}")
    for ax in axes[-1]:
        ax.set_xlabel("x")
    for ax in axes[:, 0]:
        ax.set_ylabel("y")
    fig.suptitle(f"{args.steps} steps on f(x, y) = x²/20 + y² from (-7, 2)")
    target = args.out / "optimizer_compare.png"
    fig.savefig(target, dpi=100)
    plt.close(fig)
    print(f"saved {target}")

    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    for name in NET_LRS:
        losses = train_digits(name, args.iters, args.seed)
        ax.plot(smooth(losses), label=f"{LABELS[name]} (lr={NET_LRS[name]})", linewidth=1.2)
        print(f"{LABELS[name]:9s} digits loss over the last 50 iterations: {np.mean(losses[-50:]):.4f}")
    ax.set(xlabel="iteration", ylabel="training loss (moving average of 10)", yscale="log",
           title="MultiLayerNet 64-100-100-10 on the 8×8 digits, batch 64")
    plain_log_axis(ax.yaxis)
    legend_below(ax, ncol=3)
    target = args.out / "optimizer_compare_digits.png"
    fig.savefig(target, dpi=100)
    plt.close(fig)
    print(f"saved {target}")


if __name__ == "__main__":
    main()
