"""Integration: the book's 784-50-10 net learns Fashion-MNIST (60,000 images) to > 0.80 test accuracy in one epoch.

The data comes from Debian's dataset-fashion-mnist (which .ci/run installs), $MINIGRAD_DATA or the cache.
Under CI (CI=true) missing data is a failure; on a developer's machine without the files the test skips.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from minigrad import TwoLayerNet
from minigrad import datasets
from minigrad.datasets import DataNotFoundError, load_fashion_mnist
from minigrad.optimizers import get_optimizer
from minigrad.trainer import fit


@pytest.fixture(scope="module")
def fashion():
    try:
        return load_fashion_mnist(download=False)
    except DataNotFoundError as e:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must provide Fashion-MNIST (.ci/run installs dataset-fashion-mnist): {e}")
        pytest.skip(f"Fashion-MNIST is not installed here (apt-get install dataset-fashion-mnist): {e}")


def test_fashion_mnist_has_the_published_shapes(fashion):
    (x, t), (x_test, t_test) = fashion
    assert x.shape == (60000, 784) and x_test.shape == (10000, 784) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() == 1.0
    assert np.bincount(t).tolist() == [6000] * 10 and np.bincount(t_test).tolist() == [1000] * 10


def test_the_books_784_50_10_net_passes_80_percent_after_one_epoch_within_a_minute(fashion):
    (x, t), (x_test, t_test) = fashion
    net = TwoLayerNet(784, 50, 10, rng=0, dtype=np.float32)
    start = time.perf_counter()
    fit(net, x, t, optimizer=get_optimizer("adam", lr=0.003), epochs=1, batch_size=100, rng=0, verbose=0)
    seconds = time.perf_counter() - start
    accuracy = net.accuracy(x_test, t_test)
    assert accuracy > 0.80, f"test accuracy {accuracy:.4f} after one epoch"
    assert seconds < 60, f"one epoch took {seconds:.1f} s"


def test_minigrad_train_runs_on_fashion_mnist_from_the_shell(fashion, tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "minigrad", "train", "--dataset", "fashion-mnist", "--no-download", "--epochs", "1",
         "--optimizer", "adam", "--lr", "0.003", "--dtype", "float32", "--out", "run"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "fashion-mnist: 60000 training and 10000 test samples\nnet: 784-50-10 (relu)\n" in r.stdout
    accuracy = float(r.stdout.split("final val_accuracy ")[1].split()[0])  # on the test set
    assert accuracy > 0.80
    assert (tmp_path / "run" / "model.npz").is_file()


def test_downloading_the_real_files_from_a_local_mirror_matches_the_published_digests(fashion, tmp_path, monkeypatch):
    source = next(Path(d) for d in datasets.FASHION_MNIST.system_dirs if Path(d, "t10k-labels-idx1-ubyte.gz").is_file())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(source))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    monkeypatch.delenv(datasets.DATA_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    spec = dataclasses.replace(
        datasets.FASHION_MNIST, system_dirs=(), mirrors=(f"http://127.0.0.1:{httpd.server_address[1]}/",)
    )
    try:
        (x, t), (x_test, t_test) = datasets.load_idx_dataset(spec, normalize=False)
    finally:
        httpd.shutdown()
        httpd.server_close()
    (x_ref, t_ref), (x_test_ref, t_test_ref) = fashion
    np.testing.assert_array_equal(t, t_ref)
    np.testing.assert_array_equal(x_test.astype(np.float32) / np.float32(255), x_test_ref)
    assert (tmp_path / "minigrad" / "fashion-mnist.npz").is_file()
