"""The chapter's training loop, by hand: TwoLayerNet, random mini-batches, gradient, SGD step, repeat.

Each iteration samples a mini-batch with ``rng.choice`` (the book's ``np.random.choice``); once per
"epoch" (train_size / batch_size iterations) it prints the train and test accuracy, and at the end
plots accuracy against epoch (the chapter's figure 4-12) to ``train_neuralnet.png``.

Run: python examples/train_neuralnet.py [--dataset digits|fashion-mnist|mnist] [--out DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from minigrad import TwoLayerNet
from minigrad.datasets import DATASETS
from minigrad.optimizers import SGD
from minigrad.plotting import pyplot

# The book's settings for MNIST (10,000 iterations, 50 hidden units); fewer for the small digits set.
DEFAULT_ITERS = {"digits": 2000, "fashion-mnist": 10000, "mnist": 10000}



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="digits")
    parser.add_argument("--iters", type=int, help="iterations (default: 2000 for digits, 10000 otherwise)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--hidden", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("."), help="directory for the PNG (default: .)")
    args = parser.parse_args()
    plt = pyplot()

    (x_train, t_train), (x_test, t_test) = DATASETS[args.dataset](normalize=True, one_hot_label=True)
    rng = np.random.default_rng(args.seed)
    network = TwoLayerNet(x_train.shape[1], args.hidden, t_train.shape[1], rng=rng, dtype=x_train.dtype)
    optimizer = SGD(lr=args.lr)

    iters_num = args.iters or DEFAULT_ITERS[args.dataset]
    train_size = x_train.shape[0]
    iter_per_epoch = max(train_size // args.batch_size, 1)
    train_loss_list: list[float] = []
    train_acc_list: list[float] = []
    test_acc_list: list[float] = []

    start = time.perf_counter()
    for i in range(iters_num):
        batch_mask = rng.choice(train_size, args.batch_size)
        x_batch, t_batch = x_train[batch_mask], t_train[batch_mask]
        loss = network.loss(x_batch, t_batch)  # forward
        network.backward()  # backprop fills network.grads (network.gradient does both)
        optimizer.update(network.params, network.grads)  # W ← W − lr·dW, in place
        train_loss_list.append(loss)
        if i % iter_per_epoch == 0:
            train_acc = network.accuracy(x_train, t_train)
            test_acc = network.accuracy(x_test, t_test)
            train_acc_list.append(train_acc)
            test_acc_list.append(test_acc)
            print(f"epoch {len(train_acc_list) - 1:3d}  train acc {train_acc:.4f}  test acc {test_acc:.4f}")
    print(f"{iters_num} iterations in {time.perf_counter() - start:.1f} s; final test accuracy {test_acc_list[-1]:.4f}")

    epochs = np.arange(len(train_acc_list))
    fig, (ax_loss, ax) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    ax_loss.plot(train_loss_list, linewidth=0.8)
    ax_loss.set(xlabel="iteration", ylabel="loss", title="training loss per mini-batch")
    ax.plot(epochs, train_acc_list, label="train acc")
    ax.plot(epochs, test_acc_list, label="test acc", linestyle="--")
    ax.set(xlabel="epochs", ylabel="accuracy", ylim=(0, 1.0), title="accuracy per epoch")
    ax.legend(loc="lower right")
    fig.suptitle(f"TwoLayerNet on {args.dataset}: SGD lr={args.lr}, batch {args.batch_size}, {iters_num} iterations")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "train_neuralnet.png"
    fig.savefig(path, dpi=100)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
