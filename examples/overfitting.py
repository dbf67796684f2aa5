"""Overfitting on 300 samples, and two cures: weight decay (the book's fig. 6-21) and dropout (fig. 6-23).

Trains three 6-hidden-layer ReLU MultiLayerNets (100 units each, He init, the same initial weights)
on only 300 training samples with plain SGD (lr 0.01, batch 100): one as is (the book's fig. 6-20),
one with weight decay λ = 0.1 in the loss, one with Dropout (ratio 0.2) after each activation. After
every epoch it measures the accuracy on the 300 training samples and on the test set, both in
inference mode, and plots train vs test per epoch: ``overfit_weight_decay.png`` (none vs weight
decay) and ``overfit_dropout.png`` (none vs dropout). It prints the final accuracies and gaps.

Data: the first 300 of the shipped 8×8 digits' training samples and their 360 test samples by
default; ``--dataset fashion-mnist`` or ``mnist`` takes 300 training samples and the first
``--test-size`` test samples, where the book uses MNIST (all 10,000).

Run: python examples/overfitting.py [--dataset digits|fashion-mnist|mnist] [--epochs 301] [--out DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from minigrad import MultiLayerNet
from minigrad.datasets import DATASETS
from minigrad.optimizers import SGD
from minigrad.plotting import pyplot
from minigrad.trainer import LambdaCallback, fit


def curves(data: tuple, args: argparse.Namespace, **extend: float) -> dict[str, list[float]]:
    """Train and test accuracy after each epoch for a MultiLayerNet with the given chapter-6 options."""
    (x, t), (x_test, t_test) = data
    net = MultiLayerNet(x.shape[1], [100] * 6, int(t.max()) + 1, rng=args.seed, dtype=x.dtype, **extend)
    acc: dict[str, list[float]] = {"train": [], "test": []}

    def record(epoch: int, logs: object) -> None:
        acc["train"].append(net.accuracy(x, t))
        acc["test"].append(net.accuracy(x_test, t_test))

    fit(net, x, t, optimizer=SGD(lr=args.lr), epochs=args.epochs, batch_size=100, rng=args.seed,
        callbacks=[LambdaCallback(on_epoch_end=record)], verbose=0)
    return acc


def plot(plt: object, runs: dict[str, dict[str, list[float]]], title: str, target: Path) -> None:
    """Train (solid) and test (dashed) accuracy per epoch, one panel per run."""
    fig, axes = plt.subplots(1, len(runs), figsize=(5.5 * len(runs), 4), sharey=True, layout="constrained")  # type: ignore[attr-defined]
    for ax, (name, acc) in zip(axes, runs.items()):
        epochs = np.arange(1, len(acc["train"]) + 1)
        ax.plot(epochs, acc["train"], label="train", color="C0")
        ax.plot(epochs, acc["test"], label="test", color="C1", linestyle="--")
        gap = acc["train"][-1] - acc["test"][-1]
        ax.set(xlabel="epochs", title=f"{name}: final train {acc['train'][-1]:.3f}, test {acc['test'][-1]:.3f} (gap {gap:.3f})",
               ylim=(0, 1.02))
        ax.title.set_fontsize(9)
        ax.legend(loc="lower right")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy")
    fig.suptitle(title)
    fig.savefig(target, dpi=90)
    plt.close(fig)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="digits", help="default: digits (shipped)")
    parser.add_argument("--train-size", type=int, default=300, help="training samples (default: 300, as the book)")
    parser.add_argument("--test-size", type=int, default=1000, help="test samples for fashion-mnist/mnist (default: 1000)")
    parser.add_argument("--epochs", type=int, default=301, help="default: 301 (the book: 201 for weight decay, 301 for dropout)")
    parser.add_argument("--weight-decay", type=float, default=0.1, help="λ (default: 0.1, as the book)")
    parser.add_argument("--dropout", type=float, default=0.2, help="dropout ratio (default: 0.2, as the book's code)")
    parser.add_argument("--lr", type=float, default=0.01, help="SGD learning rate (default: 0.01, as the book)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("."), help="directory for the two PNGs (default: .)")
    args = parser.parse_args()
    plt = pyplot()
    args.out.mkdir(parents=True, exist_ok=True)

    (x, t), (x_test, t_test) = DATASETS[args.dataset]()
    if args.dataset != "digits":
        x_test, t_test = x_test[: args.test_size], t_test[: args.test_size]
    data = (x[: args.train_size], t[: args.train_size]), (x_test, t_test)
    print(f"{args.dataset}: {args.train_size} training and {len(x_test)} test samples; MultiLayerNet "
          f"{x.shape[1]}-100x6-{int(t.max()) + 1} (ReLU, He), SGD lr={args.lr}, batch 100, {args.epochs} epochs")
    start = time.perf_counter()
    runs = {
        "no regularization": curves(data, args),
        f"weight decay λ={args.weight_decay}": curves(data, args, weight_decay_lambda=args.weight_decay),
        f"dropout {args.dropout}": curves(data, args, use_dropout=True, dropout_ratio=args.dropout),
    }
    for name, acc in runs.items():
        print(f"{name:<22} final train accuracy {acc['train'][-1]:.3f}, test {acc['test'][-1]:.3f}, "
              f"gap {acc['train'][-1] - acc['test'][-1]:.3f}; best test {max(acc['test']):.3f}")
    print(f"{time.perf_counter() - start:.1f} s")
    none, decay, drop = runs.values()
    names = list(runs)
    for stem, other in (("overfit_weight_decay", names[1]), ("overfit_dropout", names[2])):
        target = args.out / f"{stem}.png"
        plot(plt, {names[0]: none, other: runs[other]},
             f"{args.train_size} training samples ({args.dataset}): no regularization vs {other}", target)
        print(f"saved {target}")


if __name__ == "__main__":
    main()
