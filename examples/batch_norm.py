"""Batch normalization against none, across weight-init scales (the book's fig. 6-19).

For each of 16 standard deviations of the initial weights, from 1 down to 0.0001 (log-spaced), trains
two 5-hidden-layer ReLU MultiLayerNets (100 units each) from the same weights, one with a
BatchNormalization before each activation, with plain SGD (lr 0.01, batch 100) on 1,000 training
samples, and plots each one's training accuracy per epoch (in inference mode: running statistics) to
``batch_norm.png``. It prints both final accuracies per scale.

Data: the first 1,000 of the shipped 8×8 digits' training samples by default, or of
Fashion-MNIST/MNIST (``--dataset``), where the book uses MNIST.

Run: python examples/batch_norm.py [--dataset digits|fashion-mnist|mnist] [--epochs 20] [--scales 16] [--out DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from minigrad import MultiLayerNet
from minigrad.datasets import DATASETS
from minigrad.optimizers import SGD
from minigrad.plotting import pyplot, suptitle
from minigrad.trainer import LambdaCallback, TrainingError, fit


def train_accuracy_per_epoch(x: np.ndarray, t: np.ndarray, scale: float, batchnorm: bool, args: argparse.Namespace) -> tuple[list[float], str]:
    """Training accuracy before training and after each epoch, for one init scale, with or without batch norm.

    A run whose loss overflows stops there (fit raises TrainingError): its curve ends, and the note says when.
    """
    net = MultiLayerNet(x.shape[1], [100] * 5, int(t.max()) + 1, weight_init_std=scale, use_batchnorm=batchnorm,
                        rng=args.seed, dtype=x.dtype)
    accuracy = [net.accuracy(x, t)]
    record = LambdaCallback(on_epoch_end=lambda epoch, logs: accuracy.append(net.accuracy(x, t)))
    try:
        fit(net, x, t, optimizer=SGD(lr=args.lr), epochs=args.epochs, batch_size=100, rng=args.seed, callbacks=[record], verbose=0)
    except TrainingError as e:
        return accuracy, f"diverged in epoch {e.epoch + 1}"
    return accuracy, f"{accuracy[-1]:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="digits", help="default: digits (shipped)")
    parser.add_argument("--train-size", type=int, default=1000, help="training samples (default: 1000, as the book)")
    parser.add_argument("--epochs", type=int, default=20, help="default: 20, as the book")
    parser.add_argument("--scales", type=int, default=16, help="how many init scales from 1 to 1e-4 (default: 16, as the book)")
    parser.add_argument("--lr", type=float, default=0.01, help="SGD learning rate (default: 0.01, as the book)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("."), help="directory for batch_norm.png (default: .)")
    args = parser.parse_args()
    plt = pyplot()
    args.out.mkdir(parents=True, exist_ok=True)

    (x, t), _ = DATASETS[args.dataset]()
    x, t = x[: args.train_size], t[: args.train_size]
    scales = np.logspace(0, -4, num=args.scales)
    print(f"{args.dataset}: {len(x)} training samples; MultiLayerNet {x.shape[1]}-100x5-{int(t.max()) + 1} (ReLU), "
          f"SGD lr={args.lr}, batch 100, {args.epochs} epochs")
    start = time.perf_counter()
    cols = int(np.ceil(np.sqrt(len(scales))))
    rows = int(np.ceil(len(scales) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.4 * rows), sharex=True, sharey=True, layout="constrained",
                             squeeze=False)
    wins = 0
    for i, (ax, scale) in enumerate(zip(axes.flat, scales)):
        with_bn, with_note = train_accuracy_per_epoch(x, t, float(scale), True, args)
        without, without_note = train_accuracy_per_epoch(x, t, float(scale), False, args)
        wins += len(with_bn) > len(without) or with_bn[-1] > without[-1]
        print(f"w = {scale:.6f}:  final train accuracy with batch norm {with_note}, without {without_note}")
        ax.plot(with_bn, label="Batch Normalization", color="C0")
        ax.plot(without, label="Normal (without BatchNorm)", color="C1", linestyle="--")
        for note, y, name, color in ((with_note, 0.92, "with", "C0"), (without_note, 0.84, "without", "C1")):
            if note.startswith("diverged"):
                ax.text(0.5, y, f"{name} batch norm: {note}", transform=ax.transAxes, ha="center", fontsize=7, color=color)
        ax.set_title(f"W: {scale:.4g}", fontsize=9)
        ax.set_ylim(0, 1.0)
    for ax in axes.flat[len(scales):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("epochs")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy")
    fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
    suptitle(fig, f"training accuracy with and without batch normalization, by init std ({args.dataset}, {len(x)} samples)")
    print(f"batch norm ended higher at {wins} of {len(scales)} scales; {time.perf_counter() - start:.1f} s")
    target = args.out / "batch_norm.png"
    fig.savefig(target, dpi=90)
    plt.close(fig)
    print(f"saved {target}")


if __name__ == "__main__":
    main()
