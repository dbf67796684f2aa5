"""The book's ch. 8 DeepConvNet on Fashion-MNIST, and the test images it gets wrong (the book's misclassified_mnist.py).

Trains DeepConvNet (six 3x3 convolutions, three 2x2 poolings, Affine -> ReLU -> Dropout -> Affine ->
Dropout) with Adam (lr 0.001, batch 100, as the book), prints the test accuracy, then draws the first
misclassified test images with their true and predicted classes into a PNG. The default is a quick
run: 1 epoch on the first 10,000 training images. ``--model`` shows a trained net instead: a model.npz
of ``minigrad train --model deep-cnn`` or of ``--save``, or a pickle of the book's save_params
(read by DeepConvNet.load_params, which runs nothing from the file).

Run: python examples/misclassified_fashion.py [--epochs N] [--train-size N] [--model PATH] [--save PATH] [--out PNG]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from minigrad import DeepConvNet, load_model, save_model
from minigrad.datasets import FASHION_MNIST_CLASSES as CLASSES
from minigrad.datasets import load_fashion_mnist
from minigrad.optimizers import Adam
from minigrad.plotting import pyplot
from minigrad.trainer import fit


def show_misclassified(x: np.ndarray, t: np.ndarray, y: np.ndarray, accuracy: float, path: str, count: int = 20) -> int:
    """A grid of the first `count` test images whose predicted class y differs from t; returns how many were wrong in all."""
    wrong = np.flatnonzero(y != t)
    plt = pyplot()
    cols = 5
    rows = max(1, -(-min(count, len(wrong)) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.5 * rows), layout="constrained", squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, i in zip(axes.flat, wrong[:count]):
        ax.imshow(x[i, 0], cmap="gray_r")
        ax.set_title(f"#{i} true: {CLASSES[t[i]]}\npredicted: {CLASSES[y[i]]}", fontsize=8, color="red")
    fig.suptitle(f"DeepConvNet: {len(wrong)} of {len(t)} Fashion-MNIST test images misclassified "
                 f"(test accuracy {accuracy:.4f}); the first {min(count, len(wrong))}")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return len(wrong)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1, help="training epochs (default: 1)")
    parser.add_argument("--train-size", type=int, default=10000, help="training images used (default: 10000; 60000 for all)")
    parser.add_argument("--model", metavar="PATH", help="a trained DeepConvNet (.npz of minigrad, or the book's .pkl) instead of training")
    parser.add_argument("--save", metavar="PATH", help="write the trained model here (load it with minigrad.load_model)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="misclassified_fashion.png", help="the PNG to write (default: misclassified_fashion.png)")
    args = parser.parse_args()

    (x, t), (x_test, t_test) = load_fashion_mnist(flatten=False)
    if args.model and args.model.endswith(".pkl"):
        net = DeepConvNet()
        net.load_params(args.model)
    elif args.model:
        net = load_model(args.model)
    else:
        net = DeepConvNet(rng=args.seed, dtype=np.float32)
        start = time.perf_counter()
        fit(net, x[: args.train_size], t[: args.train_size], optimizer=Adam(lr=0.001), epochs=args.epochs, batch_size=100,
            rng=args.seed, verbose=0)
        print(f"trained DeepConvNet {args.epochs} epoch(s) on {min(args.train_size, len(x))} images in {time.perf_counter() - start:.1f} s")
        if args.save:
            save_model(args.save, net)
    x_test = x_test.astype(net.params["W1"].dtype)
    y = np.concatenate([net.predict(x_test[i : i + 500]).argmax(axis=1) for i in range(0, len(x_test), 500)])
    accuracy = float(np.mean(y == t_test))
    wrong = show_misclassified(x_test, t_test, y, accuracy, args.out)
    print(f"test accuracy {accuracy:.4f}: {wrong} of {len(t_test)} misclassified; wrote {args.out}")


if __name__ == "__main__":
    main()
