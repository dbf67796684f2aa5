"""The benchmark scripts run (in their quickest settings) and print their tables; no timing is asserted."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from minigrad.datasets import DataNotFoundError, load_fashion_mnist

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run(name: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(BENCHMARKS / name), *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_step_benchmark_checks_minigrad_against_the_hand_fused_step_and_prints_ratios():
    out = run("bench_step.py", "--processes", "1", "--blocks", "1", "--steps", "1", "--steps-only")
    for row in ("784-50-10        100 float64", "784-50-10       1000 float32", "784-100x4-10     128 float32"):
        assert row in out
    assert "float32 speed-up over float64 at batch 1000" in out


def test_gradcheck_benchmark_passes_the_whole_two_layer_net_and_prints_both_timings():
    out = run("bench_gradcheck.py")
    assert "gradcheck TwoLayerNet: ok" in out
    assert "    3 " in out and "  100 " in out


def test_gradcheck_benchmark_measures_the_kink_rule_and_compares_with_a_revision():
    out = run("bench_gradcheck.py", "--kinks")
    assert "max pool over ReLU outputs" in out and "FAIL" not in out and "KINKS" not in out.split("verdict", 1)[1]
    inside = subprocess.run(["git", "rev-parse", "--verify", "HEAD"], cwd=BENCHMARKS.parent, capture_output=True)
    if inside.returncode != 0:
        pytest.skip("not a git checkout: --rev exports the other revision with git archive")
    out = run("bench_gradcheck.py", "--rev", "HEAD", "--rounds", "2")
    assert "working tree" in out and "  100 " in out


def test_gradcheck_benchmark_measures_the_tolerance_rule_on_the_books_loss():
    rows = {line.split()[0]: line.split() for line in run("bench_gradcheck.py", "--book-loss").splitlines()[2:]}
    assert rows["1e-03"][1] == "0" and rows["1e-04"][1] == "0"  # the default rtol passes the book's SoftmaxWithLoss
    assert int(rows["1e-05"][1]) > 0  # which rtol 1e-5 did not: the measurement behind the default


def test_fit_benchmark_prints_the_trainer_overhead_and_peak_memory():
    try:
        load_fashion_mnist(download=False)
    except DataNotFoundError:
        if os.environ.get("CI"):
            raise  # CI installs the data: missing there is a failure, not a skip
        pytest.skip("Fashion-MNIST is not installed here (CI installs Debian's dataset-fashion-mnist)")
    out = run("bench_fit.py", "--repeats", "1")
    assert "trainer overhead over bare steps" in out and "peak memory allocated during a fit epoch" in out


def test_guarantees_benchmark_prints_each_variant_after_checking_it_takes_the_reference_step():
    out = run("guarantees.py", "--configs", "0", "--steps", "10")
    assert "- readable grads" in out and "all three dropped" in out
    assert "784-50-10        100 float64" in out


def test_ab_benchmark_compares_the_working_tree_with_a_git_revision():
    repo = BENCHMARKS.parent
    inside = subprocess.run(["git", "rev-parse", "--verify", "HEAD"], cwd=repo, capture_output=True)
    if inside.returncode != 0:
        pytest.skip("not a git checkout: ab_step.py exports its other revision with git archive")
    out = run("ab_step.py", "--configs", "1", "--steps", "10")
    assert "784-50-10        100 float32" in out and "change" in out


def test_conv_benchmark_checks_every_step_against_the_fused_one_and_prints_ratios():
    out = run("bench_conv.py", "--blocks", "1", "--steps", "1", "--batches", "8", "--no-fit")
    assert "    8 float32" in out and "    8 float64" in out
    assert "minigrad/fused" in out and "minigrad/book" in out
    assert "float32 speed-up over float64" in out


def test_variables_benchmark_checks_the_coded_net_takes_the_sequentials_step_and_prints_ratios():
    out = run("bench_variables.py", "--quick")
    assert "variables/sequential" in out and "float64" in out and "float32" in out
    assert "micrograd-style Value" in out and "Variable/Value" in out
    assert "10,000 nodes" in out and "(1 is linear)" in out
