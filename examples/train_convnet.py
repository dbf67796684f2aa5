"""The book's ch. 7 SimpleConvNet trained on Fashion-MNIST with fit, then saved with save_model.

Conv 30x5x5 -> ReLU -> 2x2 max pool -> Affine 4320x100 -> ReLU -> Affine 100x10 -> softmax, trained
with Adam (lr 0.001, batch 100, as the book). The default is a quick run: 2 epochs on the first
10,000 training images. ``--full`` trains 10 epochs on all 60,000 (about 0.90 test accuracy).
Each epoch prints the loss and the accuracy on the test set (10,000 images) and its time.

Fashion-MNIST is read from $MINIGRAD_DATA, the cache or Debian's dataset-fashion-mnist, else downloaded.

Run: python examples/train_convnet.py [--full] [--epochs N] [--train-size N] [--float64] [--save model.npz]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from minigrad import SimpleConvNet, save_model
from minigrad.datasets import load_fashion_mnist
from minigrad.optimizers import Adam
from minigrad.trainer import LambdaCallback, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="10 epochs on all 60,000 training images")
    parser.add_argument("--epochs", type=int, help="epochs (default: 2, or 10 with --full)")
    parser.add_argument("--train-size", type=int, help="training images used (default: 10000, or 60000 with --full)")
    parser.add_argument("--float64", action="store_true", help="train in float64 (default: float32)")
    parser.add_argument("--weight-init", choices=["std", "he"], default="he",
                        help="std: the book's N(0, 0.01²); he: N(0, 2/fan_in) (default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", metavar="PATH", help="write the trained model here (load it with minigrad.load_model)")
    args = parser.parse_args()
    epochs = args.epochs or (10 if args.full else 2)
    size = args.train_size or (60000 if args.full else 10000)
    dtype = np.float64 if args.float64 else np.float32

    (x, t), (x_test, t_test) = load_fashion_mnist(flatten=False)
    x, t = x[:size].astype(dtype), t[:size]
    x_test = x_test.astype(dtype)
    net = SimpleConvNet(rng=args.seed, dtype=dtype, weight_init=args.weight_init)
    print(f"SimpleConvNet on {len(x)} Fashion-MNIST images, {epochs} epochs, Adam lr=0.001, batch 100, "
          f"{np.dtype(dtype).name}, {args.weight_init} init")
    tick = [time.perf_counter()]

    def report(epoch: int, logs: dict) -> None:  # val_*: the test set, evaluated by fit in batches of 100
        seconds = time.perf_counter() - tick[0]
        print(f"epoch {epoch + 1:>2}/{epochs}  loss {logs['loss']:.4f}  train acc {logs['accuracy']:.4f}  "
              f"test acc {logs['val_accuracy']:.4f}  ({seconds:.1f} s)", flush=True)
        tick[0] = time.perf_counter()

    start = time.perf_counter()
    history = fit(net, x, t, optimizer=Adam(lr=0.001), epochs=epochs, batch_size=100, rng=args.seed, verbose=0,
                  validation_data=(x_test, t_test), callbacks=[LambdaCallback(on_epoch_end=report)])
    print(f"trained in {time.perf_counter() - start:.1f} s (with the test set evaluated after each epoch); "
          f"final test accuracy {history.history['val_accuracy'][-1]:.4f}")
    if args.save:
        save_model(args.save, net)
        print(f"saved {args.save}")


if __name__ == "__main__":
    main()
