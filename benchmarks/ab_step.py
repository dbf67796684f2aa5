"""Does a change make training faster? The working tree's step against another revision's, in one process.

Both minigrads (this checkout's and, say, HEAD's, exported with `git archive` and imported under
another name) take fit's step on bench_step's configurations, interleaved step by step in a random
order with bench_step's hand-fused reference, and each is reported as a ratio to that reference.

This is a tool for deciding, not the published figures (bench_step.py makes those). It measures
CPU time of the main thread with single-threaded BLAS: on a shared VM wall time carries other
tenants' load (CPU steal) and BLAS thread scheduling, and there two copies of the same code timed
by wall clock differed by up to 13%, while in this mode they agree within about 0.5%. Each
contender cycles through several instances of its net, so that no single lucky or unlucky memory
placement decides; the slowest 10% of steps are dropped as interruptions.

Run: python benchmarks/ab_step.py [--rev HEAD] [--configs 0 1 4 5] [--steps 3000]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

SINGLE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
INSTANCES = 4
REPO = Path(__file__).resolve().parent.parent


def import_revision(rev: str, into: Path) -> ModuleType:
    """minigrad as it is at git revision `rev`, imported as the package `minigrad_at_rev`."""
    archive = subprocess.run(["git", "archive", "--format=tar", rev, "minigrad"], cwd=REPO, check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    package = into / "minigrad"
    spec = importlib.util.spec_from_file_location("minigrad_at_rev", package / "__init__.py",
                                                  submodule_search_locations=[str(package)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["minigrad_at_rev"] = module
    spec.loader.exec_module(module)
    return module


def single_threaded_blas() -> None:
    """Re-run this script with single-threaded BLAS unless it already has it (BLAS reads these when numpy loads)."""
    if any(os.environ.get(k) != v for k, v in SINGLE_THREAD.items()):
        sys.exit(subprocess.run([sys.executable, *sys.argv], env={**os.environ, **SINGLE_THREAD}).returncode)


def race(contenders: dict[str, Callable[[], object]], steps: int) -> dict[str, float]:
    """Mean CPU seconds per call of each contender, called in a fresh random order each round, slowest 10% dropped."""
    import numpy as np

    times: dict[str, list[float]] = {name: [] for name in contenders}
    order = np.random.default_rng(1)
    clock = time.thread_time
    for _ in range(steps):
        for name in order.permutation(list(contenders)):
            start = clock()
            contenders[name]()
            times[name].append(clock() - start)
    return {name: float(np.sort(v)[: int(0.9 * len(v))].mean()) for name, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD", help="the git revision to compare against (default HEAD)")
    parser.add_argument("--configs", type=int, nargs="+", default=[0, 1, 4, 5], help="indices into bench_step.CONFIGS")
    parser.add_argument("--steps", type=int, default=3000, help="steps of each contender (a tenth of it at batch 1000)")
    args = parser.parse_args()
    single_threaded_blas()

    import numpy as np

    import minigrad
    from bench_step import CONFIGS, LR, assert_same_step, config_name, reference_step, reference_weights

    with tempfile.TemporaryDirectory() as tmp:
        old = import_revision(args.rev, Path(tmp))
        print(f"CPU time per step, single-threaded BLAS; ratios to the hand-fused step ({args.rev} against the working tree)")
        print(f"{'net':<14} {'batch':>5} {'dtype':>7} {'reference ms':>12} {args.rev[:10]:>10} {'working':>8} {'change':>7}")
        for index in args.configs:
            hidden, batch, dtype = CONFIGS[index]
            rng = np.random.default_rng(0)
            x = rng.random((batch, 784)).astype(dtype)
            t = rng.integers(0, 10, batch)

            def contender(package: ModuleType) -> Callable[[], None]:
                nets = [package.MultiLayerNet(784, hidden, 10, rng=1, dtype=dtype) for _ in range(INSTANCES)]
                optimizers = [package.optimizers.SGD(lr=LR) for _ in range(INSTANCES)]
                turn = iter(range(sys.maxsize))

                def step() -> None:
                    k = next(turn) % INSTANCES
                    nets[k].loss(x, t)
                    nets[k].backward(need_dx=False, optimizer=optimizers[k])
                return step

            first = minigrad.MultiLayerNet(784, hidden, 10, rng=1, dtype=dtype)
            weights = reference_weights(first)
            copies = [[[a.copy() for a in group] for group in weights] for _ in range(INSTANCES)]
            turn = iter(range(sys.maxsize))

            def reference() -> None:
                reference_step(*copies[next(turn) % INSTANCES], x, t)

            for package in (old, minigrad):  # a faster step must still be the same step
                net = package.MultiLayerNet(784, hidden, 10, rng=1, dtype=dtype)
                net.loss(x, t)
                net.backward(need_dx=False, optimizer=package.optimizers.SGD(lr=LR))
                expected = [[a.copy() for a in group] for group in weights]
                reference_step(*expected, x, t)
                assert_same_step(net.params, *expected)

            steps = args.steps if batch < 1000 else args.steps // 10
            mean = race({"reference": reference, "old": contender(old), "new": contender(minigrad)}, steps)
            old_ratio, new_ratio = mean["old"] / mean["reference"], mean["new"] / mean["reference"]
            print(f"{config_name(hidden):<14} {batch:>5} {np.dtype(dtype).name:>7} {mean['reference'] * 1e3:>12.3f} "
                  f"{old_ratio:>10.3f} {new_ratio:>8.3f} {100 * (new_ratio / old_ratio - 1):>+6.1f}%", flush=True)


if __name__ == "__main__":
    main()
