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
from minigrad.datasets import load_fashion_mnist
from minigrad.optimizers import Adam
from minigrad.plotting import pyplot
from minigrad.trainer import Trainer

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def show_filters(plt, before: np.ndarray, after: np.ndarray, path: Path) -> None:
    """Two 3x10 grids of the filters W (FN, 1, FH, FW), each shown on its own grey scale (as imshow does)."""
    fig = plt.figure(figsize=(10, 6.6), layout="constrained")
    for row, (title, W) in enumerate((("before training", before), ("after training", after))):
        for i, w in enumerate(W[:, 0]):
            ax = fig.add_subplot(6, 10, row * 30 + i + 1)
            ax.imshow(w, cmap="gray_r", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(title, fontsize=9, rotation=0, ha="right", va="center")
    fig.suptitle(f"SimpleConvNet: the first layer's {len(before)} filters (5x5) before and after training")
    fig.savefig(path, dpi=90)
    plt.close(fig)


def show_predictions(plt, net: SimpleConvNet, x: np.ndarray, t: np.ndarray, accuracy: float, path: Path) -> None:
    """The first 12 test images with predicted and true classes."""
    predicted = net.predict(x[:12]).argmax(axis=1)
    fig, axes = plt.subplots(2, 6, figsize=(12, 4.8), layout="constrained")
    for ax, image, p, true in zip(axes.flat, x[:12, 0], predicted, t[:12]):
        ax.imshow(image, cmap="gray_r")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"predicted: {CLASSES[p]}\ntrue: {CLASSES[true]}", fontsize=9, color="green" if p == true else "red")
    fig.suptitle(f"Fashion-MNIST test images (test accuracy {accuracy:.4f})")
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
