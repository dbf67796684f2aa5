"""gradcheck's fast mode vs the chapter's element-by-element numerical_gradient on the whole TwoLayerNet.

    python benchmarks/bench_gradcheck.py            # timings at batch 3 and 100, in one process
    python benchmarks/bench_gradcheck.py --full     # also run the batch-100 element-wise pass in full (~1 min)
    python benchmarks/bench_gradcheck.py --sweep    # the step/tolerance measurement behind gradcheck's defaults
    python benchmarks/bench_gradcheck.py --rev REV  # a passing check: this tree's gradcheck against REV's, in one process
    python benchmarks/bench_gradcheck.py --kinks    # how much of a kinked tensor is verified (the kink rule's measurement)
    python benchmarks/bench_gradcheck.py --book-loss  # the book's SoftmaxWithLoss per rtol (the tolerance rule's measurement)

Both timings use the same net (784-50-10, 39,760 parameters), the same inputs and the same BLAS
setting (one thread unless OPENBLAS_NUM_THREADS etc. are set: small matrix products on a shared
2-core machine are slower, and far noisier, with more). The ratio is the figure to compare.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from minigrad import (
    Affine,
    MeanSquaredError,
    MulLayer,
    MultiLayerNet,
    Sigmoid,
    SigmoidWithLoss,
    SoftmaxWithLoss,
    Tanh,
    TwoLayerNet,
)
from minigrad.gradcheck import gradcheck
from minigrad.testing import well_conditioned


def median_time(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench(full: bool) -> None:
    net = TwoLayerNet(784, 50, 10, rng=0)
    n_params = sum(p.size for p in net.params.values())
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"TwoLayerNet(784, 50, 10): {n_params} parameters; BLAS threads: {os.environ['OPENBLAS_NUM_THREADS']}; "
          f"load average {load} on {os.cpu_count()} cores")
    print(f"{'batch':>5}  {'gradcheck (fast, auto)':>22}  {'net.numerical_gradient':>32}  {'ratio':>7}  verdict")
    rng = np.random.default_rng(0)
    for batch in (3, 100):
        x, t = rng.random((batch, 784)), rng.integers(0, 10, batch)
        result = gradcheck(net, x, t)
        fast = median_time(lambda: gradcheck(net, x, t), repeat=7)
        forward = median_time(lambda: net.loss(x, t), repeat=50)
        if batch == 3 or full:
            t0 = time.perf_counter()
            net.numerical_gradient(x, t)
            slow = time.perf_counter() - t0
            how = "measured in full"
        else:  # 2 loss evaluations per parameter: time 2,000 of them and scale
            evals = 2000
            t0 = time.perf_counter()
            for _ in range(evals):
                net.loss(x, t)
            slow = (time.perf_counter() - t0) * (2 * n_params) / evals
            how = f"extrapolated from {evals} evals"
        print(
            f"{batch:>5}  {fast * 1e3:>19.1f} ms  {slow:>9.2f} s ({how:>20})  {slow / fast:>6.0f}x  "
            f"{'ok' if result else 'FAIL'}; one forward {forward * 1e3:.2f} ms, so gradcheck costs "
            f"{fast / forward:.0f} forwards"
        )
    print("\nthe report at batch 100:")
    print(result)


def sweep_cases(dtype):
    """(name, layer, inputs) for library layers, losses and nets at a few shapes and seeds."""
    for seed in range(4):
        r = np.random.default_rng(seed)
        n, d, m = 1 + seed, 2 + seed, 3
        w = lambda *s: well_conditioned(r, s, dtype, 0.1, 1.0)
        x = lambda *s: well_conditioned(r, s, dtype)
        yield "MulLayer", MulLayer(), [x(n, d), x(n, d)]
        yield "Affine", Affine(w(d, m), w(m)), [x(n, d)]
        yield "Sigmoid", Sigmoid(), [x(n, d)]
        yield "Tanh", Tanh(), [x(n, d)]
        yield "SoftmaxWithLoss", SoftmaxWithLoss(), [x(n, m), r.integers(0, m, n)]
        yield "SigmoidWithLoss", SigmoidWithLoss(), [x(n, d), r.uniform(0, 1, (n, d)).astype(dtype)]
        yield "MeanSquaredError", MeanSquaredError(), [x(n, d), x(n, d)]
        net = MultiLayerNet(d, [4, 3], m, activation="tanh", rng=seed, dtype=dtype)
        yield "MultiLayerNet-tanh", net, [x(n, d), r.integers(0, m, n)]
        net = TwoLayerNet(d, 4, m, weight_init_std=0.5, rng=seed, dtype=dtype)
        for p in (net.params["b1"], net.params["b2"]):
            p[...] = w(*p.shape)
        yield "TwoLayerNet", net, [x(n, d), r.integers(0, m, n)]


def sweep() -> None:
    """Worst error over every case and element, per step h; the margin is 1 / max(|a - n| / (atol + rtol |n|))."""
    for dtype, steps, (atol, rtol) in (
        (np.float64, [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9], (1e-7, 1e-5)),
        (np.float32, [1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 1e-4], (1e-4, 1e-2)),
    ):
        name = np.dtype(dtype).name
        print(f"\n{name} (element-wise, {'promote=False: in float32 itself' if dtype == np.float32 else 'as is'}); "
              f"margin against atol={atol:.0e}, rtol={rtol:.0e}")
        print(f"{'h':>8}  {'max abs err':>11}  {'max rel err':>13}  {'margin':>8}  worst case")
        for h in steps:
            worst_abs = worst_rel = worst_score = 0.0
            where = ""
            for case, layer, inputs in sweep_cases(dtype):
                res = gradcheck(layer, *inputs, eps=h, atol=atol, rtol=rtol, mode="elementwise", promote=False,
                                max_kink_fraction=0.0, hygiene=False)
                for t in res.tensors:
                    err = abs(t.analytic - t.numerical)
                    score = err / (atol + rtol * abs(t.numerical))
                    worst_abs = max(worst_abs, t.max_abs)
                    worst_rel = max(worst_rel, t.max_rel)
                    if score > worst_score:
                        worst_score, where = score, f"{case}.{t.name}"
            print(f"{h:>8.0e}  {worst_abs:>11.1e}  {worst_rel:>13.1e}  {1 / worst_score if worst_score else float('inf'):>7.0f}x  {where}")


def against(rev: str, rounds: int) -> None:
    """CPU time of a passing gradcheck of the whole TwoLayerNet, this tree's against `rev`'s, interleaved in one process."""
    from ab_step import import_revision

    with tempfile.TemporaryDirectory() as tmp:
        old = import_revision(rev, Path(tmp)).gradcheck.gradcheck
        print(f"gradcheck of TwoLayerNet(784, 50, 10), passing, CPU time (thread), mean of the fastest 90% of {rounds} "
              f"interleaved rounds; BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}")
        print(f"{'batch':>5}  {rev[:12]:>12}  {'working tree':>12}  {'change':>7}")
        rng = np.random.default_rng(0)
        net = TwoLayerNet(784, 50, 10, rng=0)
        for batch in (3, 100):
            x, t = rng.random((batch, 784)), rng.integers(0, 10, batch)
            assert old(net, x, t) and gradcheck(net, x, t)
            times: dict[str, list[float]] = {"old": [], "new": []}
            order = np.random.default_rng(1)
            for _ in range(rounds):
                for name in order.permutation(["old", "new"]):
                    fn = old if name == "old" else gradcheck
                    start = time.thread_time()
                    fn(net, x, t)
                    times[name].append(time.thread_time() - start)
            mean = {k: float(np.sort(v)[: int(0.9 * len(v))].mean()) for k, v in times.items()}
            print(f"{batch:>5}  {mean['old'] * 1e3:>9.2f} ms  {mean['new'] * 1e3:>9.2f} ms  "
                  f"{100 * (mean['new'] / mean['old'] - 1):>+6.1f}%")


def kinks() -> None:
    """The kink rule, measured: per case and seed, how the fast mode ends and how much of x it verifies."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("book_layers", Path(__file__).resolve().parent.parent / "tests" / "book_layers.py")
    book = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(book)
    BookReLU, MaxPool2, RowMax = book.BookReLU, book.MaxPool2, book.RowMax
    pooled_relu_outputs, relu_at_zero, rows_with_ties = book.pooled_relu_outputs, book.relu_at_zero, book.rows_with_ties

    cases = {
        "ReLU, 10% of x at 0 (20x50)": lambda r: (BookReLU(), relu_at_zero(r, (20, 50))),
        "row max, ties in half the rows (30x8)": lambda r: (RowMax(), rows_with_ties(r, 30, 8)),
        "2x2 max pool over ReLU outputs (2x3x8x8)": lambda r: (MaxPool2(), pooled_relu_outputs(r, (2, 3, 8, 8))),
        "ReLU, 0.5% of x at 0 (60x50, split)": lambda r: (BookReLU(), relu_at_zero(r, (60, 50), 0.005)),
        "ReLU, 10% of x at 0 (60x50, split)": lambda r: (BookReLU(), relu_at_zero(r, (60, 50))),
    }
    print(f"{'case':<42} {'seed':>4}  {'mode':<24} {'kinks':>6} {'unresolved':>10} {'verified':>9} {'failed':>6}  verdict")
    for name, make in cases.items():
        for seed in range(5):
            layer, x = make(np.random.default_rng(seed))
            start = time.perf_counter()
            t = gradcheck(layer, x, seed=seed)["x"]
            took = time.perf_counter() - start
            print(f"{name:<42} {seed:>4}  {t.mode:<24} {t.kinks / t.checked:>6.1%} {t.unresolved / t.checked:>10.1%} "
                  f"{t.verified / t.checked:>9.1%} "
                  f"{t.failures:>6}  {t.status} ({took * 1e3:.0f} ms)")


def _tests_module(name: str):
    """tests/<name>.py loaded by its path (registered under its name, so the helpers import each other)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent.parent / "tests" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def book_loss(draws: int = 300) -> None:
    """The tolerance rule, measured: the book's SoftmaxWithLoss (log(y + 1e-7)) on 10 classes, element by element, per rtol."""
    _tests_module("book_layers")
    book = _tests_module("book_code")
    print(f"the book's SoftmaxWithLoss, 10 classes, N(0, 1) scores, batches of 1-10: {draws} draws, element by element")
    print(f"{'rtol':>6}  {'failed':>6}  {'largest rel. error':>18}")
    for rtol in (1e-5, 1e-4, 1e-3):
        failed, worst = 0, 0.0
        for seed in range(draws):
            r = np.random.default_rng(seed)
            n = int(r.integers(1, 11))
            res = gradcheck(book.SoftmaxWithLoss(), r.standard_normal((n, 10)), r.integers(0, 10, n), rtol=rtol,
                            mode="elementwise", hygiene=False)
            failed += not res
            worst = max(worst, res.tensors[0].max_rel)
        print(f"{rtol:>6.0e}  {failed:>6}  {worst:>18.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="run the batch-100 element-wise pass in full")
    parser.add_argument("--sweep", action="store_true", help="print the step/tolerance measurement instead")
    parser.add_argument("--rev", help="time a passing check against this git revision's gradcheck instead")
    parser.add_argument("--rounds", type=int, default=40, help="interleaved rounds for --rev")
    parser.add_argument("--kinks", action="store_true", help="print the kink rule's measurement instead")
    parser.add_argument("--book-loss", action="store_true", help="print the tolerance rule's measurement instead")
    args = parser.parse_args()
    if args.sweep:
        sweep()
    elif args.rev:
        against(args.rev, args.rounds)
    elif args.kinks:
        kinks()
    elif args.book_loss:
        book_loss()
    else:
        bench(args.full)


if __name__ == "__main__":
    main()
