"""The chapter examples run against the installed package and print the chapter's numbers."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def test_apple_orange_prints_the_chapters_price_and_gradients_by_hand_and_as_a_graph():
    out = run("apple_orange.py", "--dot")
    assert out.count("price: 715.0000000000001") == 2
    assert out.count("dApple: 2.2  dApple_num: 110.00000000000001") == 2
    assert out.count("dOrange: 3.3000000000000003  dOrange_num: 165.0") == 2
    assert out.count("dTax: 650.0  dAll_price: 1.1") == 2
    assert "digraph minigrad {" in out


def test_gradient_descent_example_prints_the_learning_rate_comparison():
    out = run("gradient_descent.py")
    assert "x =  5: 0.1999999999990898" in out and "x = 10: 0.2999999999986347" in out
    assert "[-2.58983747e+13 -1.29524862e+12]" in out
    assert "[-2.99999994  3.99999992]" in out


def test_simple_net_example_shows_numerical_and_backprop_dw_agree():
    out = run("simple_net.py")
    assert out.count("[[ 0.21924763  0.14356247 -0.36281009]\n [ 0.32887144  0.2153437  -0.54421514]]") == 2
    difference = float(out.rsplit("max |difference|:", 1)[1])
    assert difference < 1e-8


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_every_example_answers_help_without_running(script):
    done = subprocess.run([sys.executable, str(EXAMPLES / script), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: " + script)
    assert "gradcheck" not in done.stdout.split("\n\n", 1)[0]  # only the usage, not the example's output
    assert "price:" not in done.stdout and "loss:" not in done.stdout


def test_custom_layer_example_runs_without_hypothesis_and_says_what_it_skipped(tmp_path):
    (tmp_path / "hypothesis.py").write_text("raise ImportError('hypothesis is not installed', name='hypothesis')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(EXAMPLES / "custom_layer.py")], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "gradcheck BuggySwish: FAIL" in done.stdout
    assert done.stdout.rstrip().endswith("skipped: check_layer needs hypothesis (pip install hypothesis, or '.[test]' in a checkout)")
