"""Why initialisation matters: activation histograms per init, and gradient norms per layer.

1. ``weight_init_activations.png`` — 1,000 samples of N(0, 1) noise through 5 layers of 100 units
   (Affine + activation, b = 0), for sigmoid with W ~ N(0, 1), N(0, 0.01²) and Xavier, and for ReLU
   with N(0, 0.01²), Xavier and He: the histogram of each layer's activations. Sigmoid with std 1
   saturates at 0 and 1; std 0.01 collapses to 0.5 (every unit says the same thing); Xavier keeps
   them spread. ReLU with std 0.01 or Xavier fades layer by layer; He keeps the spread.
2. ``weight_init_gradients.png`` — the norm ‖dW‖ of each layer's weight gradient in a 10-hidden-layer
   MultiLayerNet on a batch of the 8×8 digits, just after initialisation: with sigmoid the gradient
   vanishes towards the first layers; ReLU with He init keeps it the same size throughout.

Run: python examples/weight_init.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from minigrad import Affine, MultiLayerNet, ReLU, Sigmoid
from minigrad.datasets import load_digits
from minigrad.plotting import pyplot

ACTIVATIONS = {"sigmoid": Sigmoid, "relu": ReLU}
# (activation, weight_init, weight_init_std, label) — "std" is the book's weight_init_std.
HISTOGRAM_CASES = [
    ("sigmoid", "std", 1.0, "sigmoid, std 1"),
    ("sigmoid", "std", 0.01, "sigmoid, std 0.01"),
    ("sigmoid", "xavier", None, "sigmoid, Xavier"),
    ("relu", "std", 0.01, "ReLU, std 0.01"),
    ("relu", "xavier", None, "ReLU, Xavier"),
    ("relu", "he", None, "ReLU, He"),
]
GRADIENT_CASES = [
    ("sigmoid", 0.01, "sigmoid, std 0.01"),
    ("sigmoid", "xavier", "sigmoid, Xavier"),
    ("relu", 0.01, "ReLU, std 0.01"),
    ("relu", "he", "ReLU, He"),
]



def activations(activation: str, weight_init: str, std: float | None, x: np.ndarray, layers: int, seed: int) -> list[np.ndarray]:
    """Each layer's output for input x through `layers` × (Affine(100, 100) → activation)."""
    rng = np.random.default_rng(seed)
    outputs = []
    for _ in range(layers):
        affine = Affine.from_sizes(x.shape[1], 100, weight_init=weight_init, weight_init_std=std or 0.01, rng=rng)
        x = ACTIVATIONS[activation]().forward(affine.forward(x))
        outputs.append(x)
    return outputs


def gradient_norms(activation: str, weight_init: str | float, x: np.ndarray, t: np.ndarray, depth: int, seed: int) -> list[float]:
    """‖dW‖ of each Affine in a fresh MultiLayerNet with `depth` hidden layers of 100, on one batch."""
    net = MultiLayerNet(x.shape[1], [100] * depth, 10, activation=activation, weight_init=weight_init, rng=seed, dtype=x.dtype)
    grads = net.gradient(x, t)
    return [float(np.linalg.norm(grads[f"W{i + 1}"])) for i in range(depth + 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=5, help="layers in the histogram net (default 5)")
    parser.add_argument("--depth", type=int, default=10, help="hidden layers in the gradient net (default 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("."), help="directory for the PNGs (default: .)")
    args = parser.parse_args()
    plt = pyplot()
    args.out.mkdir(parents=True, exist_ok=True)

    x = np.random.default_rng(args.seed).standard_normal((1000, 100))
    fig, axes = plt.subplots(len(HISTOGRAM_CASES), args.layers, figsize=(2.2 * args.layers, 1.6 * len(HISTOGRAM_CASES)),
                             sharex=True)
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.04, top=0.93, wspace=0.08, hspace=0.12)
    for r, (row, (activation, init, std, label)) in enumerate(zip(axes, HISTOGRAM_CASES)):
        outs = activations(activation, init, std, x, args.layers, args.seed)
        for i, (ax, a) in enumerate(zip(row, outs)):
            values = a.ravel() if activation == "sigmoid" else a[a > 0]  # ReLU: the units that fire
            counts, edges = np.histogram(values, bins=30, range=(0, 1))
            ax.stairs(counts, edges, fill=True, color="tab:blue" if activation == "sigmoid" else "tab:orange")
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(label, fontsize=9)
            if r == 0:
                ax.set_title(f"layer {i + 1}", fontsize=10)
        spread = ", ".join(f"{a.std():.3f}" for a in outs)
        print(f"{label:18s} activation std per layer: {spread}")
    fig.suptitle("Activations per layer (ReLU: only the units > 0), 1000 samples of N(0, 1) noise, 100 units per layer")
    target = args.out / "weight_init_activations.png"
    fig.savefig(target, dpi=90)
    plt.close(fig)
    print(f"saved {target}")

    (x_train, t_train), _ = load_digits()
    batch = np.random.default_rng(args.seed).choice(len(x_train), 256, replace=False)
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    layers = np.arange(1, args.depth + 2)
    for activation, init, label in GRADIENT_CASES:
        norms = gradient_norms(activation, init, x_train[batch], t_train[batch], args.depth, args.seed)
        ax.plot(layers, norms, "o-", label=label)
        print(f"{label:18s} ‖dW‖ first layer {norms[0]:.2e}, last layer {norms[-1]:.2e}")
    ax.set(xlabel="layer (1 = nearest the input)", ylabel="‖dW‖ (log scale)", yscale="log", xticks=layers,
           title=f"Gradient norms per layer at initialisation\n{args.depth} hidden layers of 100 units, one digits batch of 256")
    ax.legend()
    target = args.out / "weight_init_gradients.png"
    fig.savefig(target, dpi=100)
    plt.close(fig)
    print(f"saved {target}")


if __name__ == "__main__":
    main()
