"""What the first convolution learns (the book's fig. 7-24), and what the trained net predicts.

1. ``convnet_filters.png`` — the 30 filters (5x5) of SimpleConvNet's first layer, before training
   (the book's N(0, 0.01²) noise) and after training on Fashion-MNIST: blobs and edges appear.
2. ``convnet_predictions.png`` — the first 12 test images with the predicted and the true class
   (green when right, red when wrong), and the test accuracy in the title.

By default it trains 2 epochs on the first 10,000 training images (Adam lr 0.001, float32). With
``--model PATH`` it shows a model saved by ``examples/train_convnet.py --save PATH`` instead, beside
the filters of a fresh net from the same seed.

Run: python examples/convnet_filters.py [--epochs N] [--train-size N] [--model PATH] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from minigrad import SimpleConvNet, load_model
from minigrad.datasets import FASHION_MNIST_CLASSES as CLASSES
from minigrad.datasets import load_fashion_mnist
from minigrad.optimizers import Adam
from minigrad.plotting import pyplot, suptitle
from minigrad.trainer import Trainer


def show_filters(plt, before: np.ndarray, after: np.ndarray, path: Path) -> None:
    """Two grids of the filters W (FN, 1, FH, FW), 10 a row, each block titled, each filter on its own grey scale (as imshow does)."""
    fig = plt.figure(figsize=(10, 7.2), layout="constrained")
    rows = -(-len(before) // 10)
    for block, (title, W) in zip(fig.subfigures(2, 1, hspace=0.04), (("before training", before), ("after training", after))):
        block.suptitle(title, fontsize=11, x=0.02, ha="left")
        for i, w in enumerate(W[:, 0]):
            ax = block.add_subplot(rows, 10, i + 1)
            ax.imshow(w, cmap="gray_r", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(str(i + 1), fontsize=7, pad=2)
    suptitle(fig, f"SimpleConvNet: the first layer's {len(before)} filters ({before.shape[2]}x{before.shape[3]}) before "
             "and after training")
    fig.savefig(path, dpi=90)
    plt.close(fig)


def show_predictions(plt, net: SimpleConvNet, x: np.ndarray, t: np.ndarray, accuracy: float, path: Path) -> None:
    """The first 12 test images with predicted and true classes; a wrong one marked by ✗, a dashed frame and colour."""
    predicted = net.predict(x[:12]).argmax(axis=1)
    fig, axes = plt.subplots(2, 6, figsize=(12, 5), layout="constrained")
    for ax, image, p, true in zip(axes.flat, x[:12, 0], predicted, t[:12]):
        ax.imshow(image, cmap="gray_r")
        ax.set_xticks([])
        ax.set_yticks([])
        right = p == true
        # told apart by the mark, the wording and the frame, not by colour alone (blue/orange: safe for colour-blind readers)
        color = "tab:blue" if right else "tab:orange"
        ax.set_title(f"✓ {CLASSES[p]}" if right else f"✗ {CLASSES[p]}\n(true: {CLASSES[true]})", fontsize=10,
                     color=color, fontweight="normal" if right else "bold")
        for spine in ax.spines.values():
            spine.set(color=color, linewidth=1 if right else 3, linestyle="-" if right else "--")
    wrong = int((predicted != t[:12]).sum())
    suptitle(fig, f"Fashion-MNIST test images: ✓ predicted right, ✗ wrong ({wrong} of 12; test accuracy {accuracy:.4f})")
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="training epochs (default: 2)")
    parser.add_argument("--train-size", type=int, default=10000, help="training images used (default: 10000)")
    parser.add_argument("--model", metavar="PATH", help="show a SimpleConvNet saved by train_convnet.py --save instead of training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=".", help="directory for the PNGs (default: the current one)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plt = pyplot()

    (x, t), (x_test, t_test) = load_fashion_mnist(flatten=False)
    if args.model:
        net = load_model(args.model)
        fresh = SimpleConvNet(**{**net.config, "rng": args.seed})
        before = fresh.params["W1"].copy()
    else:
        net = SimpleConvNet(rng=args.seed, dtype=np.float32)  # the book's N(0, 0.01²) init, as in its figure
        before = net.params["W1"].copy()
        trainer = Trainer(net, Adam(lr=0.001), rng=args.seed, verbose=0)
        trainer.fit(x[: args.train_size], t[: args.train_size], epochs=args.epochs, batch_size=100)
        print(f"trained {args.epochs} epoch(s) on {min(args.train_size, len(x))} images")
    x_test = x_test.astype(net.params["W1"].dtype)
    accuracy = Trainer(net, verbose=0).evaluate(x_test, t_test, batch_size=100)["accuracy"]
    print(f"test accuracy {accuracy:.4f}")
    show_filters(plt, before, net.params["W1"], out / "convnet_filters.png")
    show_predictions(plt, net, x_test, t_test, accuracy, out / "convnet_predictions.png")
    print(f"wrote {out / 'convnet_filters.png'} and {out / 'convnet_predictions.png'}")


if __name__ == "__main__":
    main()
