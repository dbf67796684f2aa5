"""A deeper MultiLayerNet (ReLU, He init) trained with fit: validation split, early stopping, best checkpoint.

Holds out part of the training set for validation, trains with Adam, keeps the best model by
validation accuracy in ``deep_net_best.npz`` (ModelCheckpoint), stops when validation loss stops
improving (EarlyStopping), reloads the best model to report its test accuracy, and plots the
History (loss and accuracy, train vs validation) to ``deep_net.png``.

Run: python examples/deep_net.py [--dataset digits|fashion-mnist|mnist] [--out DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from minigrad import MultiLayerNet
from minigrad.datasets import DATASETS
from minigrad.optimizers import get_optimizer
from minigrad.serialization import load_model
from minigrad.trainer import EarlyStopping, ModelCheckpoint, fit
from minigrad.plotting import pyplot

DEFAULT_EPOCHS = {"digits": 40, "fashion-mnist": 15, "mnist": 15}



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="digits")
    parser.add_argument("--hidden", type=int, nargs="+", default=[100, 100, 100, 100, 100])
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, help="at most this many epochs (default: 40 digits, 15 otherwise)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=2)
    parser.add_argument("--out", type=Path, default=Path("."), help="directory for the PNG and checkpoint (default: .)")
    args = parser.parse_args()
    plt = pyplot()
    args.out.mkdir(parents=True, exist_ok=True)

    (x_all, t_all), (x_test, t_test) = DATASETS[args.dataset]()
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(x_all))
    n_val = len(x_all) // 10
    val, train = order[:n_val], order[n_val:]
    x_train, t_train, x_val, t_val = x_all[train], t_all[train], x_all[val], t_all[val]

    classes = int(t_all.max()) + 1
    net = MultiLayerNet(x_train.shape[1], args.hidden, classes, activation="relu", weight_init="he", rng=rng, dtype=x_train.dtype)
    optimizer = get_optimizer(args.optimizer, lr=args.lr, weight_decay=args.weight_decay)
    best = args.out / "deep_net_best.npz"
    sizes = "-".join(map(str, [x_train.shape[1], *args.hidden, classes]))
    print(f"{args.dataset}: {len(x_train)} train / {len(x_val)} validation / {len(x_test)} test; net {sizes}; {optimizer}")

    start = time.perf_counter()
    history = fit(
        net, x_train, t_train,
        optimizer=optimizer,
        epochs=args.epochs or DEFAULT_EPOCHS[args.dataset],
        batch_size=args.batch_size,
        validation_data=(x_val, t_val),
        rng=rng,
        callbacks=[
            EarlyStopping(monitor="val_loss", patience=args.patience),
            ModelCheckpoint(best, monitor="val_accuracy"),
        ],
        verbose=args.verbose,
    )
    elapsed = time.perf_counter() - start
    best_net = load_model(best)
    print(f"{len(history.epoch)} epochs in {elapsed:.1f} s; last model test accuracy {net.accuracy(x_test, t_test):.4f}, "
          f"best-by-validation model ({best}) test accuracy {best_net.accuracy(x_test, t_test):.4f}")

    h, epochs = history.history, np.array(history.epoch) + 1
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    ax_loss.plot(epochs, h["loss"], label="train (mean over the epoch's batches)")
    ax_loss.plot(epochs, h["val_loss"], label="validation", linestyle="--")
    ax_loss.set(xlabel="epoch", ylabel="loss", yscale="log", title="loss")
    ax_acc.plot(epochs, h["accuracy"], label="train")
    ax_acc.plot(epochs, h["val_accuracy"], label="validation", linestyle="--")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    best_epoch = epochs[int(np.argmax(h["val_accuracy"]))]
    for ax in (ax_loss, ax_acc):
        ax.axvline(best_epoch, color="0.6", linewidth=0.8, label=f"best checkpoint (epoch {best_epoch})")
        ax.legend()
    fig.suptitle(f"MultiLayerNet {sizes} (ReLU, He) on {args.dataset}, {args.optimizer} lr={args.lr}, batch {args.batch_size}")
    target = args.out / "deep_net.png"
    fig.savefig(target, dpi=100)
    plt.close(fig)
    print(f"saved {target}")


if __name__ == "__main__":
    main()
