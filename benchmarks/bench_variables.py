"""Time define-by-run (minigrad.variable) against the Sequential it replaces and against PyTorch, in one process.

1. step: one SGD step of the chapter's TwoLayerNet (784-50-10, batch 100) written as code with
   Variables (layers called on a Variable, `loss.backward()`, `optimizer.update(net.params, net.grads)`)
   against the same net as a Sequential (the book's loop, `optimizer.update(net.params, net.gradient(x, t))`)
   and against PyTorch eager on CPU with the same weights; float64 and float32. Before timing, one
   step of each must give the same weights: bit for bit between the two minigrad nets, to rounding
   for PyTorch. The steps run interleaved in blocks; a ratio is the median over blocks of the two
   neighbours' times, so that slow drifts of a shared machine cancel.
2. scalars: one operation on Python-number Variables (a chain of alternating * and +), forward and
   backward, in µs per operation, beside a micrograd-style pure-Python scalar (a closure per
   operation, as micrograd's engine.py).
3. chain: backward through chains of 10,000, 50,000 and 100,000 negations: µs per node at each
   length (linear time: the same figure at every length).

Times are CPU time of this process (time.process_time) with numpy's BLAS and PyTorch on one thread
each: on a machine shared with other jobs, wall time measures the neighbours more than the code.

Run: python benchmarks/bench_variables.py [--blocks 15] [--steps 20] [--quick]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy starts its BLAS: one thread, so CPU time is the work's

import argparse  # noqa: E402
import gc  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402

from minigrad import Affine, ReLU, SoftmaxWithLoss, TwoLayerNet, Variable  # noqa: E402
from minigrad.optimizers import SGD  # noqa: E402

clock = time.process_time

LR = 0.1


class CodedTwoLayerNet:
    """The chapter's TwoLayerNet, its forward written as code: layers called on Variables."""

    def __init__(self, params: dict[str, np.ndarray]) -> None:
        self.affine1 = Affine(params["W1"].copy(), params["b1"].copy())
        self.relu = ReLU()
        self.affine2 = Affine(params["W2"].copy(), params["b2"].copy())
        self.last_layer = SoftmaxWithLoss()

    def loss(self, x: np.ndarray, t: np.ndarray) -> Variable:
        h = self.relu(self.affine1(Variable(x, requires_grad=False)))
        return self.last_layer(self.affine2(h), t)

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {"W1": self.affine1.params["W"], "b1": self.affine1.params["b"],
                "W2": self.affine2.params["W"], "b2": self.affine2.params["b"]}

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {"W1": self.affine1.grads["W"], "b1": self.affine1.grads["b"],
                "W2": self.affine2.grads["W"], "b2": self.affine2.grads["b"]}


def torch_step_factory(params: dict[str, np.ndarray], x: np.ndarray, t: np.ndarray) -> tuple[Callable[[], None], list[Any]] | None:
    """The same step in PyTorch eager (CPU) from the same weights, and its parameters; None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    weights = [torch.tensor(params[k].copy(), requires_grad=True) for k in ("W1", "b1", "W2", "b2")]
    W1, b1, W2, b2 = weights
    tx, tt = torch.from_numpy(x), torch.from_numpy(t.astype(np.int64))
    opt = torch.optim.SGD(weights, lr=LR)

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(torch.relu(tx @ W1 + b1) @ W2 + b2, tt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step, weights


def ms_per_step(step: Callable[[], object], steps: int) -> float:
    start = clock()
    for _ in range(steps):
        step()
    return (clock() - start) / steps * 1e3


def bench_step(dtype: type, blocks: int, steps: int) -> dict[str, float]:
    """Per-step ms of each contender and the ratios variables/sequential and variables/torch."""
    rng = np.random.default_rng(0)
    x = rng.random((100, 784)).astype(dtype)
    t = rng.integers(0, 10, 100)
    net = TwoLayerNet(784, 50, 10, rng=1, dtype=dtype)
    coded = CodedTwoLayerNet(net.params)
    start = {k: v.copy() for k, v in net.params.items()}
    seq_opt, var_opt = SGD(lr=LR), SGD(lr=LR)

    def sequential_step() -> None:
        seq_opt.update(net.params, net.gradient(x, t))

    def variables_step() -> None:
        loss = coded.loss(x, t)
        loss.backward()
        var_opt.update(coded.params, coded.grads)

    contenders: dict[str, Callable[[], None]] = {"sequential": sequential_step, "variables": variables_step}
    torch_made = torch_step_factory(start, x, t)
    sequential_step()
    variables_step()
    for mine, theirs in zip(coded.params.values(), net.params.values()):
        np.testing.assert_array_equal(mine, theirs)  # the same step, bit for bit
    if torch_made is not None:
        torch_step, weights = torch_made
        torch_step()
        tol = 1e-12 if dtype == np.float64 else 1e-5
        for w, theirs in zip(weights, net.params.values()):
            np.testing.assert_allclose(w.detach().numpy(), theirs, rtol=tol, atol=tol)
        contenders["torch"] = torch_step
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for block in range(blocks):
        order = list(contenders) if block % 2 == 0 else list(reversed(contenders))
        for name in order:
            contenders[name]()  # warm up after any pause
            times[name].append(ms_per_step(contenders[name], steps))
    result = {f"{name} ms": float(np.median(v)) for name, v in times.items()}
    var = np.array(times["variables"])
    result["variables/sequential"] = float(np.median(var / np.array(times["sequential"])))
    if "torch" in times:
        result["variables/torch"] = float(np.median(var / np.array(times["torch"])))
    return result


class Value:
    """A micrograd-style scalar (its engine.py): the value, its grad, and a closure per operation."""

    __slots__ = ("data", "grad", "_backward", "_prev")

    def __init__(self, data: float, prev: tuple[Value, ...] = ()) -> None:
        self.data, self.grad, self._prev = data, 0.0, prev
        self._backward: Callable[[], None] = lambda: None

    def __mul__(self, other: Value) -> Value:
        out = Value(self.data * other.data, (self, other))

        def _backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __add__(self, other: Value) -> Value:
        out = Value(self.data + other.data, (self, other))

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def backward(self) -> None:
        order, seen, stack = [], {self}, [(self, False)]  # an iterative post-order (micrograd's recursive one overflows)
        while stack:
            v, done = stack.pop()
            if done:
                order.append(v)
                continue
            stack.append((v, True))
            for u in v._prev:
                if u not in seen:
                    seen.add(u)
                    stack.append((u, False))
        self.grad = 1.0
        for v in reversed(order):
            v._backward()


def scalar_chain(make: Callable[[float], Any], n: int) -> tuple[float, float, float]:
    """µs per operation forward and backward of y = (((x·w + c)·w + c)·w ...), n operations; and dy/dw."""
    x, w, c = make(0.5), make(0.999), make(0.001)
    gc.collect()
    start = clock()
    y = x
    for _ in range(n // 2):
        y = y * w + c
    middle = clock()
    y.backward()
    end = clock()
    return (middle - start) / n * 1e6, (end - middle) / n * 1e6, w.grad


def bench_scalars(n: int, repeats: int) -> dict[str, float]:
    """Median µs per operation over repeats, forward and backward, of Variables and of micrograd-style Values."""
    runs: dict[str, list[tuple[float, float, float]]] = {"variable": [], "value": []}
    for _ in range(repeats):
        runs["variable"].append(scalar_chain(Variable, n))
        runs["value"].append(scalar_chain(Value, n))
    grads = {name: r[0][2] for name, r in runs.items()}
    if not np.isclose(grads["variable"], grads["value"], rtol=1e-12):
        raise AssertionError(f"the two scalar engines disagree on dy/dw: {grads}")
    return {f"{name} {part}": float(np.median([r[i] for r in rs]))
            for name, rs in runs.items() for i, part in enumerate(("forward", "backward"))}


def bench_chain(lengths: list[int], repeats: int) -> dict[int, float]:
    """µs per node of backward (trace and Graph backward) through a chain of negations, per length: the best of repeats."""
    result = {}
    for n in lengths:
        x = Variable(0.5, name="x")
        y = x
        for _ in range(n):
            y = -y
        times = []
        for _ in range(repeats):
            gc.collect()
            start = clock()
            y.backward()
            times.append((clock() - start) / n * 1e6)
        result[n] = min(times)
        if x.grad != (-1.0) ** n:
            raise AssertionError(f"chain of {n}: dx = {x.grad}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=15, help="interleaved timing blocks per dtype")
    parser.add_argument("--steps", type=int, default=20, help="steps per block")
    parser.add_argument("--quick", action="store_true", help="one short block each and shorter chains (a smoke test)")
    args = parser.parse_args()
    blocks, steps = (1, 2) if args.quick else (args.blocks, args.steps)
    lengths = [1_000, 5_000, 10_000] if args.quick else [10_000, 50_000, 100_000]
    print(f"numpy {np.__version__}, Python {platform.python_version()}, {platform.machine()}; one process, "
          f"CPU time, one thread; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"\nTwoLayerNet 784-50-10, batch 100, one SGD step; medians of {blocks} interleaved blocks of {steps} steps")
    print(f"{'dtype':>7} {'sequential ms':>13} {'variables ms':>12} {'torch ms':>8} {'variables/sequential':>20} {'variables/torch':>15}")
    for dtype in (np.float64, np.float32):
        r = bench_step(dtype, blocks, steps)
        torch_ms = f"{r['torch ms']:8.3f}" if "torch ms" in r else f"{'-':>8}"
        vs_torch = f"{r['variables/torch']:15.2f}" if "variables/torch" in r else f"{'-':>15}"
        print(f"{np.dtype(dtype).name:>7} {r['sequential ms']:13.3f} {r['variables ms']:12.3f} {torch_ms} "
              f"{r['variables/sequential']:20.2f} {vs_torch}")
    gc.collect()
    gc.freeze()  # the objects alive now (PyTorch's modules among them) are left out of the collections timed below
    n, repeats = (2_000, 1) if args.quick else (20_000, 5)
    s = bench_scalars(n, repeats)
    print(f"\nscalar operations (a chain of {n} alternating * and +), µs per operation, median of {repeats}")
    print(f"{'':<30} {'forward':>8} {'backward':>8}")
    print(f"{'minigrad Variable':<30} {s['variable forward']:8.2f} {s['variable backward']:8.2f}")
    print(f"{'micrograd-style Value':<30} {s['value forward']:8.2f} {s['value backward']:8.2f}")
    print(f"{'Variable/Value':<30} {s['variable forward'] / s['value forward']:8.1f} "
          f"{s['variable backward'] / s['value backward']:8.1f}")
    chain = bench_chain(lengths, 1 if args.quick else 3)
    print(f"\nbackward through a chain of negations (build the Graph, run its backward), µs per node, best of {1 if args.quick else 3}")
    for length, us in chain.items():
        print(f"{length:>8,} nodes {us:8.2f}")
    print(f"per-node time at {lengths[-1]:,} / at {lengths[0]:,}: {chain[lengths[-1]] / chain[lengths[0]]:.2f} (1 is linear)")


if __name__ == "__main__":
    main()
