"""The learning examples run against the installed package, in a fresh directory, and write their plots."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")  # the `plot` extra, installed by .ci/run

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(script: str, *args: str, cwd: Path) -> str:
    """Run examples/<script> in cwd with quick settings; its stdout."""
    # One BLAS thread: these are small matrices, and the test suite may share the cores.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def assert_png(path: Path) -> None:
    assert path.is_file(), f"{path.name} was not written"
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000, f"{path.name} is not a plot"


def test_train_neuralnet_writes_the_accuracy_plot_to_the_current_directory(tmp_path):
    out = run("train_neuralnet.py", "--iters", "600", cwd=tmp_path)
    assert_png(tmp_path / "train_neuralnet.png")
    final = float(re.search(r"final test accuracy ([0-9.]+)", out).group(1))
    assert final > 0.8


def test_optimizer_compare_writes_the_paths_and_the_digits_curves(tmp_path):
    out = run("optimizer_compare.py", "--iters", "60", "--out", str(tmp_path / "plots"), cwd=tmp_path)
    assert_png(tmp_path / "plots" / "optimizer_compare.png")
    assert_png(tmp_path / "plots" / "optimizer_compare_digits.png")
    for name in ("SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"):
        assert re.search(rf"^{name}\s+after 30 steps", out, re.M)


def test_weight_init_shows_the_vanishing_gradient_with_sigmoid_and_not_with_relu_he(tmp_path):
    out = run("weight_init.py", "--depth", "6", "--out", str(tmp_path), cwd=tmp_path)
    assert_png(tmp_path / "weight_init_activations.png")
    assert_png(tmp_path / "weight_init_gradients.png")
    norms = {m.group(1).strip(): (float(m.group(2)), float(m.group(3)))
             for m in re.finditer(r"^(.+?)‖dW‖ first layer (\S+), last layer (\S+)$", out, re.M)}
    first, last = norms["sigmoid, Xavier"]
    assert first < last / 100  # vanishes towards the input
    first, last = norms["ReLU, He"]
    assert last / 10 < first < last * 10  # stays the same size


def test_deep_net_trains_with_fit_and_keeps_the_best_checkpoint(tmp_path):
    out = run("deep_net.py", "--epochs", "4", "--hidden", "50", "50", "--verbose", "0", "--out", str(tmp_path), cwd=tmp_path)
    assert_png(tmp_path / "deep_net.png")
    assert (tmp_path / "deep_net_best.npz").is_file()
    best = float(re.search(r"best-by-validation model .* test accuracy ([0-9.]+)", out).group(1))
    assert best > 0.85


def test_batch_norm_learns_at_init_scales_where_the_plain_net_does_not(tmp_path):
    out = run("batch_norm.py", "--scales", "4", "--epochs", "5", "--out", str(tmp_path), cwd=tmp_path)
    assert_png(tmp_path / "batch_norm.png")
    finals = {float(m.group(1)): (m.group(2), m.group(3))
              for m in re.finditer(r"^w = (\S+):  final train accuracy with batch norm (\S+), without (.+)$", out, re.M)}
    assert len(finals) == 4
    with_bn, without = finals[0.046416]  # logspace(0, -4, 4): 1, 0.046, 0.0022, 0.0001
    assert float(with_bn) > 0.8 and float(without) < 0.3


def test_overfitting_shows_the_plain_net_memorizing_300_samples_and_both_cures_holding_it_back(tmp_path):
    out = run("overfitting.py", "--epochs", "60", "--lr", "0.05", "--out", str(tmp_path), cwd=tmp_path)
    assert_png(tmp_path / "overfit_weight_decay.png")
    assert_png(tmp_path / "overfit_dropout.png")
    runs = {m.group(1).strip(): (float(m.group(2)), float(m.group(3)), float(m.group(4)))
            for m in re.finditer(r"^(.+?) final train accuracy (\S+), test (\S+), gap (\S+);", out, re.M)}
    assert set(runs) == {"no regularization", "weight decay λ=0.1", "dropout 0.2"}
    train, _, gap = runs["no regularization"]
    assert train >= 0.99 and gap > 0.03  # it memorizes the 300 samples; the test set lags
    for cure in ("weight decay λ=0.1", "dropout 0.2"):
        assert runs[cure][0] < 0.95  # neither memorizes them
    assert runs["weight decay λ=0.1"][2] < gap


def fashion_mnist_or_skip() -> None:
    """Skip the chapter 7 examples where Fashion-MNIST is not installed; under CI (which installs it) fail instead."""
    from minigrad.datasets import DataNotFoundError, load_fashion_mnist

    try:
        load_fashion_mnist(download=False)
    except DataNotFoundError as e:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must provide Fashion-MNIST: {e}")
        pytest.skip(f"Fashion-MNIST is not installed here: {e}")


def test_train_convnet_trains_the_simple_conv_net_on_fashion_mnist_and_saves_it(tmp_path):
    fashion_mnist_or_skip()
    out = run("train_convnet.py", "--epochs", "1", "--train-size", "1000", "--save", "cnn.npz", cwd=tmp_path)
    assert re.search(r"^epoch  1/1  loss [0-9.]+  train acc [0-9.]+  test acc [0-9.]+", out, re.M)
    final = float(re.search(r"final test accuracy ([0-9.]+)", out).group(1))
    assert final > 0.5  # 10 batches of 100 images: far above chance (0.1)
    from minigrad import load_model

    assert type(load_model(tmp_path / "cnn.npz")).__name__ == "SimpleConvNet"


def test_misclassified_fashion_trains_deep_conv_net_and_draws_the_images_it_gets_wrong(tmp_path):
    fashion_mnist_or_skip()
    out = run("misclassified_fashion.py", "--epochs", "1", "--train-size", "500", "--save", "deep.npz", "--out", "wrong.png", cwd=tmp_path)
    accuracy, wrong = re.search(r"test accuracy ([0-9.]+): (\d+) of 10000 misclassified; wrote wrong.png", out).groups()
    assert float(accuracy) > 0.2 and int(wrong) == round((1 - float(accuracy)) * 10000)  # 5 batches: above chance
    assert (tmp_path / "wrong.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = run("misclassified_fashion.py", "--model", "deep.npz", "--out", "again.png", cwd=tmp_path)  # the saved net, the same
    assert f"test accuracy {accuracy}: {wrong} of 10000" in again


def test_convnet_filters_shows_the_filters_before_and_after_and_predictions(tmp_path):
    fashion_mnist_or_skip()
    out = run("convnet_filters.py", "--epochs", "1", "--train-size", "500", "--out", "figs", cwd=tmp_path)
    assert "test accuracy" in out
    assert_png(tmp_path / "figs" / "convnet_filters.png")
    assert_png(tmp_path / "figs" / "convnet_predictions.png")
