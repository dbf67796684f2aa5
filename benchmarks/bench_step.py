"""Time minigrad's SGD training step against a hand-fused numpy step of the same math, in one process.

For each configuration, the steps run interleaved in blocks; the table shows the median time per
step and the median over blocks of the ratio minigrad / reference measured side by side (and
PyTorch / reference when PyTorch is installed). "minigrad" is the step fit takes, which updates
each layer inside backward (`net.loss(x, t); net.backward(need_dx=False, optimizer=sgd)`); the
"book-loop" column is the chapter's loop, `sgd.update(net.params, net.gradient(x, t))`. Before
timing, one step of each from the same weights must give the same weights.

Then, unless --steps-only, it runs the two other benchmarks, each in a process of its own:
bench_gradcheck.py (the whole-net gradcheck against the chapter's numerical_gradient) and
bench_fit.py (one epoch of fit on Fashion-MNIST against bare steps, and its peak memory).

Each configuration runs in several fresh processes in turn (--processes, default 3), because on a
shared machine a whole process can land fast or slow; the table shows the medians over processes
and the range of the minigrad ratio. PyTorch runs against the reference in processes of its own:
in the same process as minigrad, even with pauses, it made the float32 ratios here about 0.2 worse.

Run: python benchmarks/bench_step.py [--processes 3] [--blocks 20] [--steps 20] [--steps-only]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from minigrad import MultiLayerNet
from minigrad.optimizers import SGD

LR = 0.1
CONFIGS = [  # (hidden sizes, batch, dtype)
    ([50], 100, np.float64),
    ([50], 100, np.float32),
    ([50], 1000, np.float64),
    ([50], 1000, np.float32),
    ([100] * 4, 128, np.float64),
    ([100] * 4, 128, np.float32),
]


def reference_step(Ws: list[np.ndarray], bs: list[np.ndarray], x: np.ndarray, t: np.ndarray) -> float:
    """One hand-fused SGD step of an Affine/ReLU net with softmax cross-entropy, updating Ws and bs in place."""
    n = len(x)
    hs, masks = [x], []
    for W, b in zip(Ws[:-1], bs[:-1]):
        h = hs[-1] @ W
        h += b
        mask = h > 0
        h *= mask
        hs.append(h)
        masks.append(mask)
    a = hs[-1] @ Ws[-1]
    a += bs[-1]
    a -= a.max(axis=1, keepdims=True)
    np.exp(a, out=a)
    a /= a.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = -float(np.log(a[rows, t]).sum()) / n
    a[rows, t] -= 1
    a *= 1 / n
    d = a
    for i in range(len(Ws) - 1, -1, -1):
        dW = hs[i].T @ d
        db = d.sum(axis=0)
        if i:
            d = d @ Ws[i].T
            d *= masks[i - 1]
        dW *= LR
        Ws[i] -= dW
        db *= LR
        bs[i] -= db
    return loss


def reference_weights(net: MultiLayerNet) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Copies of a net's weights and biases, layer by layer, for reference_step."""
    return weights_and_biases(net.params, copy=True)


def weights_and_biases(params: dict[str, np.ndarray], copy: bool = False) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The Affines' W (2-D) and b (1-D) in chain order, whatever the keys ("W1" now, "0.W" in revisions before)."""
    take = (lambda a: a.copy()) if copy else (lambda a: a)
    return [take(p) for p in params.values() if p.ndim == 2], [take(p) for p in params.values() if p.ndim == 1]


def assert_same_step(params: dict[str, np.ndarray], Ws: list[np.ndarray], bs: list[np.ndarray]) -> None:
    """A minigrad net's params equal the reference's weights after the same step (to the dtype's rounding)."""
    tol = 1e-12 if Ws[0].dtype == np.float64 else 1e-5
    mine_W, mine_b = weights_and_biases(params)
    assert len(mine_W) == len(Ws) and len(mine_b) == len(bs)
    for W, b, W2, b2 in zip(Ws, bs, mine_W, mine_b):
        np.testing.assert_allclose(W2, W, rtol=tol, atol=tol)
        np.testing.assert_allclose(b2, b, rtol=tol, atol=tol)


def torch_step_factory(net: MultiLayerNet, x: np.ndarray, t: np.ndarray) -> Callable[[], None] | None:
    """The same step in PyTorch eager (CPU), or None when PyTorch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    Ws, bs = ([torch.tensor(a, requires_grad=True) for a in arrays] for arrays in reference_weights(net))
    tx, tt = torch.from_numpy(x), torch.from_numpy(t.astype(np.int64))
    opt = torch.optim.SGD([*Ws, *bs], lr=LR)

    def step() -> None:
        h = tx
        for W, b in zip(Ws[:-1], bs[:-1]):
            h = torch.relu(h @ W + b)
        loss = torch.nn.functional.cross_entropy(h @ Ws[-1] + bs[-1], tt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def ms_per_step(step: Callable[[], object], steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps * 1e3


def bench(hidden: list[int], batch: int, dtype: type, blocks: int, steps: int, torch: bool = False) -> dict[str, float]:
    """Per-step ms and ratios to the reference: of minigrad and the book's loop, or (torch=True) of PyTorch."""
    rng = np.random.default_rng(0)
    x = rng.random((batch, 784)).astype(dtype)
    t = rng.integers(0, 10, batch)
    net, book_net = (MultiLayerNet(784, hidden, 10, rng=1, dtype=dtype) for _ in range(2))
    optimizer, book_optimizer = SGD(lr=LR), SGD(lr=LR)
    Ws, bs = reference_weights(net)

    def minigrad_step() -> None:  # the step fit takes: each layer is updated inside backward
        net.loss(x, t)
        net.backward(need_dx=False, optimizer=optimizer)

    def book_step() -> None:  # the book's loop: all gradients, then the update
        book_optimizer.update(book_net.params, book_net.gradient(x, t))

    minigrad_step()
    book_step()
    reference_step(Ws, bs, x, t)
    for params in (net.params, book_net.params):  # the same math: the same weights after one step
        assert_same_step(params, Ws, bs)
    contenders = {"reference": lambda: reference_step(Ws, bs, x, t)}
    torch_step = torch_step_factory(net, x, t) if torch else None
    if torch_step is not None:
        contenders["torch"] = torch_step
    elif not torch:
        contenders.update(minigrad=minigrad_step, book=book_step)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for block in range(blocks):
        order = list(contenders) if block % 2 == 0 else list(reversed(contenders))
        for i, name in enumerate(order):
            if torch_step is not None and (name == "torch" or (i and order[i - 1] == "torch")):
                time.sleep(0.25)  # let the other library's spinning BLAS threads settle
            contenders[name]()  # warm up after any pause
            times[name].append(ms_per_step(contenders[name], steps))
    result = {name: float(np.median(v)) for name, v in times.items()}
    # ratios of neighbours in time, one per block: slow drifts of the machine cancel out
    ref = np.array(times["reference"])
    result.update({f"{name}/ref": float(np.median(np.array(v) / ref)) for name, v in times.items()})
    return result


def config_name(hidden: list[int]) -> str:
    return "784-" + "-".join(map(str, hidden)) + "-10" if len(hidden) < 3 else f"784-{hidden[0]}x{len(hidden)}-10"


def in_processes(index: int, args: argparse.Namespace, torch: bool = False) -> list[dict[str, float]]:
    """bench() of CONFIGS[index] in args.processes fresh processes, one after another: one result each."""
    command = [sys.executable, __file__, "--config", str(index), "--blocks", str(args.blocks), "--steps", str(args.steps)]
    command += ["--torch"] if torch else []
    return [json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            for _ in range(args.processes)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=20, help="interleaved timing blocks per configuration and process")
    parser.add_argument("--steps", type=int, default=20, help="steps per block")
    parser.add_argument("--processes", type=int, default=3,
                        help="fresh processes per configuration (the table shows medians and the ratio's range)")
    parser.add_argument("--steps-only", action="store_true", help="skip the gradcheck and fit benchmarks")
    parser.add_argument("--config", type=int, help=argparse.SUPPRESS)  # one configuration, as JSON (a worker)
    parser.add_argument("--torch", action="store_true", help=argparse.SUPPRESS)  # the worker times PyTorch
    args = parser.parse_args()
    if args.config is not None:
        print(json.dumps(bench(*CONFIGS[args.config], args.blocks, args.steps, torch=args.torch)))
        return
    has_torch = importlib.util.find_spec("torch") is not None

    print(f"numpy {np.__version__}, Python {platform.python_version()}, {platform.machine()}; "
          f"medians over {args.processes} processes of {args.blocks} blocks of {args.steps} steps")
    print(f"{'net':<14} {'batch':>5} {'dtype':>7} {'reference ms':>12} {'minigrad ms':>11} {'ratio':>6} "
          f"{'(range)':>13} {'book-loop ratio':>15} {'torch ratio':>11}")
    medians = {}
    for index, (hidden, batch, dtype) in enumerate(CONFIGS):
        runs = in_processes(index, args)
        r = {key: float(np.median([run[key] for run in runs])) for key in runs[0]}
        if has_torch:  # in processes of its own: PyTorch's threads in the same process slow numpy down
            torch_ratios = [run["torch/ref"] for run in in_processes(index, args, torch=True) if "torch/ref" in run]
            if torch_ratios:
                r["torch/ref"] = float(np.median(torch_ratios))
        ratios = [run["minigrad/ref"] for run in runs]
        spread = f"({min(ratios):.3f}-{max(ratios):.3f})"
        torch_ratio = f"{r['torch/ref']:>11.2f}" if "torch/ref" in r else f"{'-':>11}"
        dt = np.dtype(dtype).name
        print(f"{config_name(hidden):<14} {batch:>5} {dt:>7} {r['reference']:>12.3f} {r['minigrad']:>11.3f} "
              f"{r['minigrad/ref']:>6.3f} {spread:>13} {r['book/ref']:>15.3f} {torch_ratio}", flush=True)
        medians[(config_name(hidden), batch, dt)] = r["minigrad"]
    f64, f32 = medians.get(("784-50-10", 1000, "float64")), medians.get(("784-50-10", 1000, "float32"))
    if f64 and f32:
        print(f"float32 speed-up over float64 at batch 1000 (minigrad): {f64 / f32:.2f}x")
    if not args.steps_only:
        for script in ("bench_gradcheck.py", "bench_fit.py"):
            print(f"\n$ python benchmarks/{script}", flush=True)
            subprocess.run([sys.executable, str(Path(__file__).with_name(script))], check=False)


if __name__ == "__main__":
    main()
