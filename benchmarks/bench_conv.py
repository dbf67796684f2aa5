"""The book's SimpleConvNet training step: minigrad against a hand-fused numpy step, the book's layers and PyTorch.

Four steps of the same math (Convolution 30x5x5 -> ReLU -> 2x2 max pool, stride 2 -> Affine 4320x100
-> ReLU -> Affine 100x10 -> softmax cross-entropy, then SGD), on the same random 28x28 images:

- minigrad: the step fit takes, `net.loss(x, t); net.backward(need_dx=False, optimizer=sgd)`;
- fused: `fused_step` below, written for speed with numpy alone: one im2col copy and one GEMM for
  the convolution, ReLU applied after max pooling (they commute) on a quarter of the numbers and
  fused into pooling's backward, updates in place, no input gradient for the images;
- book: `BookNet` below, the book's algorithm (ch. 7 `im2col`/`col2im` by kernel offsets into
  `np.zeros` buffers, Pooling by im2col + argmax, the input gradient of the first convolution, the
  Relu that copies) — this file's own code of the book's algorithm, the reference for "1/5";
- PyTorch CPU eager (when installed): conv2d, relu, max_pool2d, linear, cross_entropy, backward,
  torch.optim.SGD, in a process of its own (timed against the fused step there, so it is reported
  as a ratio to the fused step like the others).

Before timing, one step of each from the same weights must give the same weights. For each batch
size the steps of every contender, in float32 and float64, run interleaved in blocks; the table
shows median ms per step and the median over blocks of each block's ratio to the fused step of the
same dtype (neighbours in time, so slow drifts of the shared machine cancel). numpy's BLAS and
PyTorch run single-threaded (a machine shared by several jobs; see ab_step.py for why).

Then the book's ch. 8 DeepConvNet step (six 3x3 convolutions with padding, three 2x2 poolings,
Affine -> ReLU -> Dropout -> Affine -> Dropout, softmax cross-entropy, SGD) at --deep-batch, minigrad
against PyTorch CPU eager with the same weights, in this process, float32 and float64 interleaved in
blocks: median ms per step and the median over blocks of each block's minigrad/torch ratio (one step
of each, Dropouts off, must give the same weights first).

Then one epoch of `fit` with SimpleConvNet on Fashion-MNIST (60,000 images): its time, and the peak
memory that numpy and Python allocate during it (tracemalloc) against the dataset's size.

Run: python benchmarks/bench_conv.py [--blocks 5] [--steps 5] [--batches 100 32] [--deep-batch 100] [--no-fit]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from ab_step import single_threaded_blas

single_threaded_blas()

import numpy as np  # noqa: E402  (after BLAS is told its thread count)
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402

from minigrad import DeepConvNet, SimpleConvNet  # noqa: E402
from minigrad.optimizers import SGD, Adam  # noqa: E402
from minigrad.trainer import Trainer, fit  # noqa: E402

LR = 0.1
DTYPES = (np.float32, np.float64)
KEYS = ("W1", "b1", "W2", "b2", "W3", "b3")


# ---------------------------------------------------------------- the hand-fused numpy step


def fused_step(P: dict[str, np.ndarray], x: np.ndarray, t: np.ndarray) -> float:
    """One SGD step of SimpleConvNet (pad 0, stride 1, even conv output), updating P (keyed like the net's params) in place."""
    W0, b0, W1, b1, W2, b2 = (P[k] for k in KEYS)
    FN, C, FH, FW = W0.shape
    N = len(x)
    # forward: im2col in (C·FH·FW, OH·OW·N), one GEMM, batch-innermost
    xt = np.ascontiguousarray(x.transpose(1, 2, 3, 0))
    col = sliding_window_view(xt, (FH, FW), axis=(1, 2)).transpose(0, 4, 5, 1, 2, 3).reshape(C * FH * FW, -1)
    OH, OW = xt.shape[1] - FH + 1, xt.shape[2] - FW + 1
    a = W0.reshape(FN, -1) @ col
    a += b0[:, None]
    a = a.reshape(FN, OH, OW, N)
    # ReLU and max pooling commute: pool first, then ReLU on a quarter of the numbers
    win = [a[:, i::2, j::2] for i in (0, 1) for j in (0, 1)]
    p = np.maximum(win[0], win[1])
    np.maximum(p, win[2], out=p)
    np.maximum(p, win[3], out=p)
    relu0 = p > 0
    np.maximum(p, 0, out=p)
    flat = p.transpose(3, 0, 1, 2).reshape(N, -1)
    z = flat @ W1
    z += b1
    relu1 = z > 0
    np.maximum(z, 0, out=z)
    s = z @ W2
    s += b2
    s -= s.max(axis=1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=1, keepdims=True)
    rows = np.arange(N)
    loss = -float(np.log(s[rows, t]).sum()) / N
    # backward, each layer's SGD update as soon as its gradients are known
    s[rows, t] -= 1
    s *= 1 / N
    dz = s @ W2.T
    W2 -= LR * (z.T @ s)
    b2 -= LR * s.sum(axis=0)
    dz *= relu1
    dflat = dz @ W1.T
    W1 -= LR * (flat.T @ dz)
    b1 -= LR * dz.sum(axis=0)
    dp = np.empty_like(p)
    np.copyto(dp, dflat.reshape(N, FN, OH // 2, OW // 2).transpose(1, 2, 3, 0))
    dp *= relu0  # where a window's max is <= 0 no gradient flows, so comparing with ReLU'd p is exact where it matters
    hit = np.equal(a.reshape(FN, OH // 2, 2, OW // 2, 2, N), p[:, :, None, :, None])
    free = np.ones_like(p, dtype=bool)
    for i in (0, 1):
        for j in (0, 1):
            h = hit[:, :, i, :, j]
            h &= free
            free ^= h
    da = np.multiply(dp[:, :, None, :, None], hit)
    da = da.reshape(FN, -1)
    W0 -= LR * (da @ col.T).reshape(W0.shape)
    b0 -= LR * da.sum(axis=1)
    return loss


# ---------------------------------------------------------------- the book's algorithm (ch. 7), as its layers do it


def book_im2col(x: np.ndarray, fh: int, fw: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """The book's im2col: a float64 zeros buffer (N, C, FH, FW, OH, OW) filled by kernel offset, then (N·OH·OW, C·FH·FW)."""
    N, C, H, W = x.shape
    oh, ow = (H + 2 * pad - fh) // stride + 1, (W + 2 * pad - fw) // stride + 1
    img = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant")
    col = np.zeros((N, C, fh, fw, oh, ow))
    for i in range(fh):
        for j in range(fw):
            col[:, :, i, j, :, :] = img[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * oh * ow, -1)


def book_col2im(col: np.ndarray, shape: tuple[int, ...], fh: int, fw: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """The book's col2im: reshape back, then add each kernel offset's slice into a float64 zeros image."""
    N, C, H, W = shape
    oh, ow = (H + 2 * pad - fh) // stride + 1, (W + 2 * pad - fw) // stride + 1
    col = col.reshape(N, oh, ow, C, fh, fw).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((N, C, H + 2 * pad + stride - 1, W + 2 * pad + stride - 1))
    for i in range(fh):
        for j in range(fw):
            img[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride] += col[:, :, i, j, :, :]
    return img[:, :, pad : H + pad, pad : W + pad]


class BookConvolution:
    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        self.W, self.b = W, b

    def forward(self, x: np.ndarray) -> np.ndarray:
        FN, C, FH, FW = self.W.shape
        N, _, H, W = x.shape
        oh, ow = H - FH + 1, W - FW + 1
        self.x, self.col, self.col_W = x, book_im2col(x, FH, FW), self.W.reshape(FN, -1).T
        out = self.col @ self.col_W + self.b
        return out.reshape(N, oh, ow, -1).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        FN, C, FH, FW = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)
        self.db = np.sum(dout, axis=0)
        self.dW = (self.col.T @ dout).transpose(1, 0).reshape(FN, C, FH, FW)
        return book_col2im(dout @ self.col_W.T, self.x.shape, FH, FW)  # the book always computes dx


class BookPooling:
    def __init__(self, ph: int, pw: int, stride: int) -> None:
        self.ph, self.pw, self.stride = ph, pw, stride

    def forward(self, x: np.ndarray) -> np.ndarray:
        N, C, H, W = x.shape
        oh, ow = (H - self.ph) // self.stride + 1, (W - self.pw) // self.stride + 1
        col = book_im2col(x, self.ph, self.pw, self.stride).reshape(-1, self.ph * self.pw)
        self.x, self.arg_max = x, np.argmax(col, axis=1)
        return np.max(col, axis=1).reshape(N, oh, ow, C).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dout = dout.transpose(0, 2, 3, 1)
        size = self.ph * self.pw
        dmax = np.zeros((dout.size, size))
        dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()
        dmax = dmax.reshape(dout.shape + (size,))
        dcol = dmax.reshape(dmax.shape[0] * dmax.shape[1] * dmax.shape[2], -1)
        return book_col2im(dcol, self.x.shape, self.ph, self.pw, self.stride)


class BookRelu:
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dout[self.mask] = 0
        return dout


class BookAffine:
    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        self.W, self.b = W, b

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape, self.x = x.shape, x.reshape(x.shape[0], -1)
        return self.x @ self.W + self.b

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self.dW, self.db = self.x.T @ dout, np.sum(dout, axis=0)
        return (dout @ self.W.T).reshape(*self.shape)


class BookNet:
    """The book's SimpleConvNet layers, its gradient() and an SGD update of its params dict."""

    def __init__(self, P: dict[str, np.ndarray]) -> None:
        self.params = P
        self.layers = [BookConvolution(P["W1"], P["b1"]), BookRelu(), BookPooling(2, 2, 2),
                       BookAffine(P["W2"], P["b2"]), BookRelu(), BookAffine(P["W3"], P["b3"])]

    def step(self, x: np.ndarray, t: np.ndarray) -> float:
        for layer in self.layers:
            x = layer.forward(x)
        y = np.exp(x - x.max(axis=1, keepdims=True))
        y /= y.sum(axis=1, keepdims=True)
        n = len(t)
        loss = -np.sum(np.log(y[np.arange(n), t] + 1e-7)) / n
        dout = y.copy()
        dout[np.arange(n), t] -= 1
        dout = dout / n
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        grads = {}
        for n, i in enumerate((0, 3, 5), 1):
            grads[f"W{n}"], grads[f"b{n}"] = self.layers[i].dW, self.layers[i].db
        for key in KEYS:
            self.params[key] -= LR * grads[key]
        return float(loss)


# ---------------------------------------------------------------- PyTorch


def torch_step_factory(P: dict[str, np.ndarray], x: np.ndarray, t: np.ndarray) -> Callable[[], None]:
    """The same step in PyTorch CPU eager mode, on copies of P."""
    import torch

    params = [torch.tensor(P[k].copy(), requires_grad=True) for k in KEYS]
    W0, b0, W1, b1, W2, b2 = params
    tx, tt = torch.from_numpy(x), torch.from_numpy(t.astype(np.int64))
    opt = torch.optim.SGD(params, lr=LR)
    F = torch.nn.functional

    def step() -> None:
        h = F.max_pool2d(F.relu(F.conv2d(tx, W0, b0)), 2, 2).flatten(1)
        loss = F.cross_entropy(F.relu(h @ W1 + b1) @ W2 + b2, tt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step.params = params  # type: ignore[attr-defined]
    return step


def deep_torch_step_factory(net: DeepConvNet, x: np.ndarray, t: np.ndarray, dropout: bool = True) -> Callable[[], None]:
    """DeepConvNet's SGD step in PyTorch CPU eager mode, on copies of net's weights (the same layers, pads and Dropouts)."""
    import torch

    F = torch.nn.functional
    params = [torch.tensor(p.copy(), requires_grad=True) for p in net.params.values()]
    pads = [layer.pad for layer in net.layers if hasattr(layer, "pad") and "W" in layer.params]
    tx, tt = torch.from_numpy(x), torch.from_numpy(t.astype(np.int64))
    opt = torch.optim.SGD(params, lr=LR)

    def step() -> None:
        h = tx
        for i, pad in enumerate(pads):
            h = F.relu(F.conv2d(h, params[2 * i], params[2 * i + 1], padding=pad))
            if i % 2:
                h = F.max_pool2d(h, 2, 2)
        h = F.dropout(F.relu(h.flatten(1) @ params[-4] + params[-3]), 0.5, dropout)
        loss = F.cross_entropy(F.dropout(h @ params[-2] + params[-1], 0.5, dropout), tt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step.params = params  # type: ignore[attr-defined]
    return step


def bench_deep(batch: int, blocks: int, steps: int) -> dict[str, float]:
    """DeepConvNet: ms per step of minigrad and PyTorch (same process, single-threaded), and per-block minigrad/torch ratios."""
    import torch

    torch.set_num_threads(1)
    contenders: dict[str, Callable[[], object]] = {}
    for dtype in DTYPES:
        name = np.dtype(dtype).name
        rng = np.random.default_rng(0)
        x, t = rng.random((batch, 1, 28, 28)).astype(dtype), rng.integers(0, 10, batch)
        check = DeepConvNet(rng=1, dtype=dtype)
        torch_check = deep_torch_step_factory(check, x, t, dropout=False)
        for layer in check.layers:  # one step with the Dropouts as identities: the same weights after it
            if type(layer).__name__ == "Dropout":
                layer.training = False
        check.loss(x, t)
        check.backward(need_dx=False, optimizer=SGD(lr=LR))
        torch_check()
        tol = 1e-10 if dtype == np.float64 else 1e-4
        for (key, got), want in zip(check.params.items(), torch_check.params):  # type: ignore[attr-defined]
            np.testing.assert_allclose(got, want.detach().numpy(), rtol=tol, atol=tol, err_msg=f"DeepConvNet {name} {key}")
        net, optimizer = DeepConvNet(rng=1, dtype=dtype), SGD(lr=LR)

        def minigrad_step(net: DeepConvNet = net, x: np.ndarray = x, t: np.ndarray = t, opt: SGD = optimizer) -> None:
            net.loss(x, t)
            net.backward(need_dx=False, optimizer=opt)

        contenders[f"minigrad {name}"] = minigrad_step
        contenders[f"torch {name}"] = deep_torch_step_factory(net, x, t)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for block in range(blocks):
        for name in list(contenders) if block % 2 == 0 else list(reversed(contenders)):
            contenders[name]()  # warm up after any switch
            times[name].append(ms_per_step(contenders[name], steps))
    result = {name: float(np.median(v)) for name, v in times.items()}
    for dtype in DTYPES:
        n = np.dtype(dtype).name
        result[f"minigrad/torch {n}"] = float(np.median(np.array(times[f"minigrad {n}"]) / np.array(times[f"torch {n}"])))
    return result


# ---------------------------------------------------------------- timing


def data(batch: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((batch, 1, 28, 28)).astype(dtype), rng.integers(0, 10, batch)


def assert_same_step(name: str, got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    """The weights after one step of `name` equal the fused step's (to the dtype's rounding)."""
    tol = 1e-10 if want["W1"].dtype == np.float64 else 2e-5
    for key in KEYS:
        np.testing.assert_allclose(got[key], want[key], rtol=tol, atol=tol, err_msg=f"{name} {key}")


def ms_per_step(step: Callable[[], object], steps: int) -> float:
    """CPU ms of this thread per step: single-threaded, the whole step's work, without other tenants' time."""
    start = time.thread_time()
    for _ in range(steps):
        step()
    return (time.thread_time() - start) / steps * 1e3


def race(contenders: dict[str, Callable[[], object]], blocks: int, steps: int, pause: bool = False) -> dict[str, float]:
    """Median ms per step of each contender, and the median per-block ratio to 'fused <dtype>' as '<name>/fused'."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for block in range(blocks):
        for name in list(contenders) if block % 2 == 0 else list(reversed(contenders)):
            if pause:
                time.sleep(0.2)  # let another library's threads settle
            contenders[name]()  # warm up after any switch
            times[name].append(ms_per_step(contenders[name], steps))
    result = {name: float(np.median(v)) for name, v in times.items()}
    for name, v in times.items():
        ref = np.array(times["fused " + name.split()[-1]])
        result[f"{name}/fused"] = float(np.median(np.array(v) / ref))
    return result


def bench(batch: int, blocks: int, steps: int, torch: bool = False) -> dict[str, float]:
    """Per-step ms and ratios to the fused step, in float32 and float64 interleaved (torch=True: PyTorch's)."""
    contenders: dict[str, Callable[[], object]] = {}
    for dtype in DTYPES:
        x, t = data(batch, dtype)
        name = np.dtype(dtype).name
        net = SimpleConvNet(rng=1, dtype=dtype)
        fused = {k: p.copy() for k, p in net.params.items()}
        fused_step(fused, x, t)
        if torch:
            step = torch_step_factory(net.params, x, t)
            step()
            assert_same_step(f"torch {name}", {k: p.detach().numpy() for k, p in zip(KEYS, step.params)}, fused)
            contenders[f"torch {name}"] = step
        else:
            book = BookNet({k: p.copy() for k, p in net.params.items()})
            optimizer = SGD(lr=LR)

            def minigrad_step(net: SimpleConvNet = net, x: np.ndarray = x, t: np.ndarray = t, opt: SGD = optimizer) -> None:
                net.loss(x, t)
                net.backward(need_dx=False, optimizer=opt)

            minigrad_step()
            book.step(x, t)
            assert_same_step(f"minigrad {name}", net.params, fused)
            assert_same_step(f"book {name}", book.params, fused)
            contenders[f"minigrad {name}"] = minigrad_step
            contenders[f"book {name}"] = lambda book=book, x=x, t=t: book.step(x, t)
        contenders[f"fused {name}"] = lambda fused=fused, x=x, t=t: fused_step(fused, x, t)
    return race(contenders, blocks, steps, pause=torch)


def fit_epoch(dtype: Any) -> dict[str, float]:
    """One epoch of fit (Adam, batch 100) with SimpleConvNet on Fashion-MNIST: wall and CPU seconds, peak bytes, dataset bytes."""
    from minigrad.datasets import load_fashion_mnist

    (x, t), (x_test, t_test) = load_fashion_mnist(flatten=False, download=False)
    x = x.astype(dtype, copy=False)
    dataset = x.nbytes + t.nbytes
    net = SimpleConvNet(rng=0, dtype=dtype)
    start, start_cpu = time.perf_counter(), time.thread_time()
    fit(net, x, t, optimizer=Adam(lr=0.001), epochs=1, batch_size=100, rng=0, verbose=0)
    seconds, cpu = time.perf_counter() - start, time.thread_time() - start_cpu
    tracemalloc.start()  # a second epoch, traced (tracing slows allocation, so it is not the timed one)
    fit(net, x, t, optimizer=Adam(lr=0.001), epochs=1, batch_size=100, rng=1, verbose=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": seconds, "cpu": cpu, "peak": peak, "dataset": dataset, "test_accuracy": Trainer(net, verbose=0).evaluate(x_test.astype(dtype), t_test, batch_size=100)["accuracy"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=5, help="interleaved timing blocks per batch size")
    parser.add_argument("--steps", type=int, default=5, help="steps per block")
    parser.add_argument("--batches", type=int, nargs="+", default=[100, 32], help="batch sizes (default: 100 32)")
    parser.add_argument("--deep-batch", type=int, default=100, help="DeepConvNet's batch size (default: 100; 0 skips it)")
    parser.add_argument("--no-fit", action="store_true", help="skip the Fashion-MNIST epoch of fit")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # PyTorch's timing at this batch, as JSON
    args = parser.parse_args()
    if args.worker is not None:
        import torch

        torch.set_num_threads(1)
        print(json.dumps(bench(args.worker, args.blocks, args.steps, torch=True)))
        return
    has_torch = importlib.util.find_spec("torch") is not None
    print(f"SimpleConvNet SGD step (conv 30x5x5, pool 2x2, 4320-100-10) on 28x28 images; numpy {np.__version__}, "
          f"Python {platform.python_version()}, {platform.machine()}; single-threaded BLAS"
          f"{' and PyTorch' if has_torch else ''}; medians of {args.blocks} interleaved blocks of {args.steps} steps")
    print(f"{'batch':>5} {'dtype':>7} {'fused ms':>9} {'minigrad ms':>11} {'book ms':>8} {'torch ms':>9} "
          f"{'minigrad/fused':>14} {'minigrad/book':>13} {'fused/book':>10} {'torch/fused':>11} {'minigrad/torch':>14}")
    for batch in args.batches:
        r = bench(batch, args.blocks, args.steps)
        if has_torch:  # PyTorch in a process of its own: its threads in minigrad's process slow numpy down
            command = [sys.executable, __file__, "--worker", str(batch), "--blocks", str(args.blocks), "--steps", str(args.steps)]
            r.update({k: v for k, v in json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout).items()
                      if k.startswith("torch")})
        for dtype in DTYPES:
            n = np.dtype(dtype).name
            mg_book, fused_book = r[f"minigrad {n}/fused"] / r[f"book {n}/fused"], 1 / r[f"book {n}/fused"]
            torch_ms, torch_ratio, mg_torch = (f"{r[f'torch {n}']:>9.2f}", f"{r[f'torch {n}/fused']:>11.3f}",
                                               f"{r[f'minigrad {n}/fused'] / r[f'torch {n}/fused']:>14.3f}") if has_torch else ("-",) * 3
            print(f"{batch:>5} {n:>7} {r[f'fused {n}']:>9.2f} {r[f'minigrad {n}']:>11.2f} {r[f'book {n}']:>8.2f} "
                  f"{torch_ms:>9} {r[f'minigrad {n}/fused']:>14.3f} {mg_book:>13.3f} {fused_book:>10.3f} {torch_ratio:>11} {mg_torch:>14}",
                  flush=True)
        print(f"{batch:>5} float32 speed-up over float64 (minigrad, interleaved): "
              f"{r['minigrad float64'] / r['minigrad float32']:.2f}x (fused: {r['fused float64'] / r['fused float32']:.2f}x)")
    print("targets: minigrad/fused <= 1.5 at batch 100 float32; minigrad/book <= 0.2; float32 >= 1.5x faster than float64; "
          "minigrad/torch <= 0.9 at batch 100 float32")
    if args.deep_batch and has_torch:
        r = bench_deep(args.deep_batch, args.blocks, args.steps)
        print(f"\nDeepConvNet SGD step (the book's ch. 8 net: 6 conv 3x3, 3 pool 2x2, 1024-50-10, Dropouts) on 28x28 images, "
              f"minigrad against PyTorch in this process, medians of {args.blocks} interleaved blocks of {args.steps} steps")
        print(f"{'batch':>5} {'dtype':>7} {'minigrad ms':>11} {'torch ms':>9} {'minigrad/torch':>14}")
        for dtype in DTYPES:
            n = np.dtype(dtype).name
            print(f"{args.deep_batch:>5} {n:>7} {r[f'minigrad {n}']:>11.2f} {r[f'torch {n}']:>9.2f} {r[f'minigrad/torch {n}']:>14.3f}", flush=True)
        print("target: minigrad/torch <= 1.0 at batch 100 float32")
    if not args.no_fit:
        f = fit_epoch(np.float32)
        print(f"\nFashion-MNIST, one epoch of fit (SimpleConvNet float32, Adam lr=0.001, batch 100): {f['seconds']:.1f} s "
              f"({f['cpu']:.1f} s CPU), "
              f"test accuracy after it {f['test_accuracy']:.4f}")
        print(f"peak memory allocated during a fit epoch: {f['peak'] / 2**20:.1f} MiB, {100 * f['peak'] / f['dataset']:.1f}% "
              f"of the dataset's {f['dataset'] / 2**20:.1f} MiB (target: at most 50%)")


if __name__ == "__main__":
    main()
