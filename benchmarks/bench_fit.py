"""The trainer's own cost: one epoch of `fit` on Fashion-MNIST against the same number of bare steps.

Bare steps are fit's own step, `net.loss(x, t); net.backward(need_dx=False, optimizer=optimizer)`,
on consecutive slices of the data (no shuffling, no copies, no metrics); `fit` adds the seeded shuffle, the gathering of each batch's rows
from all over the dataset, and the loss and accuracy bookkeeping. A third line gathers random rows
as the chapter's loop does (`x[idx]`, then the bare step), so the cost of gathering, which any
shuffled training pays, is seen apart from the rest. Epochs alternate between the three and the
table shows medians. Peak memory is the most that numpy and Python allocate during one fit epoch
(tracemalloc), beside the dataset's own size.

The overheads are taken from CPU time with single-threaded BLAS (as in ab_step.py): on this shared
VM, wall time swung the same comparison from +15% to +72% between two consecutive runs, as other
tenants took the CPU and memory bandwidth. Wall time is shown beside it.

Run: python benchmarks/bench_fit.py [--repeats 5] [--dtype float32]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from ab_step import single_threaded_blas

single_threaded_blas()

import numpy as np  # noqa: E402  (after BLAS is told its thread count)

from minigrad import TwoLayerNet  # noqa: E402
from minigrad.datasets import load_fashion_mnist  # noqa: E402
from minigrad.optimizers import SGD  # noqa: E402
from minigrad.trainer import fit  # noqa: E402

BATCH = 100


def step(net: TwoLayerNet, optimizer: SGD, x: np.ndarray, t: np.ndarray) -> None:
    """fit's step without its bookkeeping: the loss, then backward with the update inside."""
    net.loss(x, t)
    net.backward(need_dx=False, optimizer=optimizer)


def bare_epoch(net: TwoLayerNet, optimizer: SGD, x: np.ndarray, t: np.ndarray) -> None:
    for start in range(0, len(x), BATCH):
        step(net, optimizer, x[start : start + BATCH], t[start : start + BATCH])


def gathered_epoch(net: TwoLayerNet, optimizer: SGD, x: np.ndarray, t: np.ndarray, order: np.ndarray) -> None:
    for start in range(0, len(x), BATCH):
        idx = order[start : start + BATCH]
        step(net, optimizer, x[idx], t[idx])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="epochs of each kind")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args()
    dtype = np.dtype(args.dtype)

    (x, t), _ = load_fashion_mnist(normalize=True)
    x = x.astype(dtype, copy=False)
    dataset_bytes = x.nbytes + t.nbytes
    net = TwoLayerNet(784, 50, 10, rng=0, dtype=dtype)
    optimizer = SGD(lr=0.1)
    rng = np.random.default_rng(0)

    kinds = ["fit", "bare", "gathered"]
    cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
    wall: dict[str, list[float]] = {kind: [] for kind in kinds}
    for repeat in range(args.repeats):
        for kind in kinds if repeat % 2 == 0 else reversed(kinds):
            start, start_cpu = time.perf_counter(), time.thread_time()
            if kind == "fit":
                fit(net, x, t, optimizer=optimizer, epochs=1, batch_size=BATCH, rng=rng, verbose=0)
            elif kind == "bare":
                bare_epoch(net, optimizer, x, t)
            else:
                gathered_epoch(net, optimizer, x, t, rng.permutation(len(x)))
            cpu[kind].append(time.thread_time() - start_cpu)
            wall[kind].append(time.perf_counter() - start)

    tracemalloc.start()
    fit(net, x, t, optimizer=optimizer, epochs=1, batch_size=BATCH, rng=rng, verbose=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    fit_s, bare_s, gathered_s = (float(np.median(cpu[k])) for k in kinds)
    fit_w, bare_w, gathered_w = (float(np.median(wall[k])) for k in kinds)
    steps = -(-len(x) // BATCH)
    print(f"Fashion-MNIST train set: {len(x)} images, {dtype.name}, 784-50-10, batch {BATCH}, {steps} steps an epoch; "
          f"single-threaded BLAS, medians of {args.repeats}")
    print(f"{'':<24} {'CPU s/epoch':>11} {'ms/step':>8} {'wall s/epoch':>12}")
    for name, c, w in (("bare steps", bare_s, bare_w), ("gathered rows + steps", gathered_s, gathered_w),
                       ("fit (shuffle, metrics)", fit_s, fit_w)):
        print(f"{name:<24} {c:>11.3f} {c / steps * 1e3:>8.3f} {w:>12.3f}")
    print(f"trainer overhead over bare steps: {100 * (fit_s / bare_s - 1):+.1f}% (target: at most +5%; wall "
          f"{100 * (fit_w / bare_w - 1):+.1f}%), of which gathering shuffled rows alone: {100 * (gathered_s / bare_s - 1):+.1f}%")
    print(f"trainer overhead over gathered steps (the chapter's loop): {100 * (fit_s / gathered_s - 1):+.1f}% "
          f"(wall {100 * (fit_w / gathered_w - 1):+.1f}%)")
    print(f"peak memory allocated during a fit epoch: {peak / 2**20:.1f} MiB, "
          f"{100 * peak / dataset_bytes:.1f}% of the dataset's {dataset_bytes / 2**20:.1f} MiB (target: at most 50%)")


if __name__ == "__main__":
    main()
