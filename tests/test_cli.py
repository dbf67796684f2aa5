"""The minigrad command through its real entry points: `python -m minigrad` and the installed `minigrad` script."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from minigrad.cli import main
from minigrad.datasets import load_digits
from minigrad.serialization import load_model

SCRIPT = Path(sys.executable).parent / "minigrad"


def env_without_data(tmp_path: Path) -> dict[str, str]:
    """The environment with no $MINIGRAD_DATA and a cache in tmp_path, so no test sees the user's data."""
    env = {k: v for k, v in os.environ.items() if k != "MINIGRAD_DATA"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return env


def run(tmp_path: Path, *args: str, script: bool = False, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `python -m minigrad args` (or the installed script) in tmp_path."""
    cmd = [str(SCRIPT)] if script else [sys.executable, "-m", "minigrad"]
    return subprocess.run(
        [*cmd, *args], cwd=tmp_path, env=env_without_data(tmp_path), capture_output=True, text=True, timeout=timeout
    )


def call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """minigrad.cli.main(args) in-process, in tmp_path (for the many small cases; each subcommand also runs for real)."""
    monkeypatch.chdir(tmp_path)
    for k, v in env_without_data(tmp_path).items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    try:
        return main(list(args))
    except SystemExit as e:
        return int(e.code or 0)


def test_the_console_script_is_installed_next_to_python():
    assert SCRIPT.is_file() and os.access(SCRIPT, os.X_OK)


# ---------------------------------------------------------------------------------------------- usage


def test_help_is_available_and_exits_0(tmp_path):
    r = run(tmp_path, "--help", script=True)
    assert r.returncode == 0
    assert r.stdout.startswith("usage: minigrad") and all(c in r.stdout for c in ("demo", "train", "gradcheck", "export"))


@pytest.mark.parametrize("command", ["demo", "train", "gradcheck", "export"])
def test_every_subcommand_has_help(tmp_path, monkeypatch, capsys, command):
    assert call(tmp_path, monkeypatch, command, "--help") == 0
    assert capsys.readouterr().out.startswith(f"usage: minigrad {command}")


def test_version_names_the_package(tmp_path):
    r = run(tmp_path, "--version", script=True)
    assert r.returncode == 0 and r.stdout.startswith("minigrad ")


@pytest.mark.parametrize(
    "args, message",
    [
        (["fly"], "invalid choice: 'fly'"),
        (["demo", "--png", "g.jpg"], "--png g.jpg: name a .png or .svg file"),
        (["train", "--epochs", "0"], "argument --epochs: expected a positive integer, got 0"),
        (["train", "--lr", "-1"], "argument --lr: expected a positive number, got -1"),
        (["train", "--dataset", "cifar"], "argument --dataset: invalid choice: 'cifar'"),
        (["train", "--data-dir", "somewhere"], "--data-dir applies to mnist and fashion-mnist"),
        (["train", "--model", "cnn", "--hidden", "3", "4"], "--model cnn has one hidden Affine layer: give --hidden one size, got 2"),
        (["train", "--model", "cnn", "--activation", "tanh"], "--model cnn uses ReLU"),
        (["train", "--model", "cnn", "--filter-size", "9"], "SimpleConvNet: a 9x9 filter with stride 1 and pad 0 turns 8x8 images into 0x0"),
        (["train", "--dropout", "1"], "argument --dropout: expected a number in [0, 1), got 1"),
        (["train", "--weight-decay", "-0.1"], "argument --weight-decay: expected a number >= 0, got -0.1"),
        (["train", "--model", "cnn", "--dropout", "0.3"], "--dropout and --weight-decay apply to --model mlp"),
        (["train", "--model", "deep-cnn", "--dropout", "0.3"], "DeepConvNet has neither to set"),
        (["train", "--model", "deep-cnn", "--filters", "8"], "--batchnorm, --filters and --filter-size apply to --model cnn"),
        (["train", "--model", "deep-cnn", "--hidden", "3", "4"], "--model deep-cnn has one hidden Affine layer"),
        (["gradcheck", "x.py:Layer"], "the following arguments are required: --shapes"),
        (["gradcheck", "missing.py:Layer", "--shapes", "2"], "no such file: missing.py"),
        (["gradcheck", "NoColon", "--shapes", "2"], "expected path/to/file.py:ClassName or module:ClassName"),
        (["gradcheck", "minigrad.layers:Nope", "--shapes", "2"], "minigrad.layers has no attribute 'Nope'"),
        (["gradcheck", "no_such_module:Layer", "--shapes", "2"], "cannot import module 'no_such_module'"),
        (["gradcheck", "minigrad.layers:ReLU", "--shapes", "2,a"], "expected a shape like 4,3"),
        (["gradcheck", "minigrad.layers:ReLU", "--shapes", "4:float:3"], "expected SHAPE or SHAPE:int:K"),
        (["gradcheck", "minigrad.layers:Affine", "--shapes", "2,3"], "could not call minigrad.layers:Affine() with no arguments"),
    ],
)
def test_usage_errors_exit_2_with_a_message_before_any_work(tmp_path, monkeypatch, capsys, args, message):
    assert call(tmp_path, monkeypatch, *args) == 2
    out, err = capsys.readouterr()
    assert message in err
    assert "loading" not in out or "SimpleConvNet" in message  # refused before the data is loaded (a filter too big needs its size)
    assert out.count("\n") <= 1 and not (tmp_path / "runs").exists()  # nothing printed but that, nothing written


def test_minigrad_alone_lists_its_commands(tmp_path):
    r = run(tmp_path, script=True)
    assert r.returncode == 0, r.stderr
    listed = re.findall(r"^    (\w+)", r.stdout, flags=re.MULTILINE)
    assert listed == ["demo", "train", "gradcheck", "export"]


def test_a_usage_error_exits_2_from_the_real_entry_point(tmp_path):
    r = run(tmp_path, "train", "--batch-size", "none")
    assert r.returncode == 2
    assert "argument --batch-size: expected a positive integer, got 'none'" in r.stderr
    assert "Traceback" not in r.stderr


# ---------------------------------------------------------------------------------------------- demo


def test_demo_prints_the_chapters_price_and_gradients(tmp_path):
    r = run(tmp_path, "demo", script=True)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "forward:  price = 715.0000000000001" in lines
    for expected in ("dapple: 2.2", "dapple_num: 110.00000000000001", "dorange: 3.3000000000000003",
                     "dorange_num: 165.0", "dtax: 650.0"):
        assert f"  {expected}" in lines
    # every input and every node's forward value, as the chapter's figures show them
    assert "inputs:   apple 100, apple_num 2, orange 150, orange_num 3, tax 1.1" in lines
    values = {line.split("=")[0].strip(): line.rsplit("=", 1)[1].strip() for line in lines if line.startswith("  ") and "=" in line}
    assert values == {"apple_price": "200", "orange_price": "450", "all_price": "650", "price": "715.0000000000001"}


def test_demo_png_writes_the_books_picture_of_the_graph(tmp_path):
    pytest.importorskip("matplotlib")
    r = run(tmp_path, "demo", "--png", "graph.png")
    assert r.returncode == 0, r.stderr
    assert "saved the graph's picture: graph.png" in r.stdout
    data = (tmp_path / "graph.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_demo_dot_prints_graphviz_with_values_and_gradients(tmp_path):
    r = run(tmp_path, "demo", "--dot")
    assert r.returncode == 0, r.stderr
    dot = r.stdout[r.stdout.index("digraph minigrad {"):]
    assert dot.rstrip().endswith("}")
    assert '"all_price" -> "price" [label=<650<BR/><FONT COLOR="red">1.1</FONT>>];' in dot
    assert '"tax" -> "price" [label=<1.1<BR/><FONT COLOR="red">650.0</FONT>>];' in dot


def test_demo_html_writes_the_step_through_page(tmp_path):
    r = run(tmp_path, "demo", "--html", "price.html", script=True)
    assert r.returncode == 0, r.stderr
    assert "saved the step-through page: price.html" in r.stdout
    page = (tmp_path / "price.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "MulLayer backward: d(apple) = dout × apple_num = 1.1 × 2 = 2.2" in page


# ---------------------------------------------------------------------------------------------- train


def test_train_with_no_arguments_trains_on_the_shipped_digits_and_saves_model_history_and_plot(tmp_path):
    r = run(tmp_path, "train", script=True)
    assert r.returncode == 0, r.stderr
    epoch_lines = [line for line in r.stdout.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 30 and epoch_lines[-1].startswith("epoch 30/30")
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("digits-")
    weights, history, plot = runs[0] / "model.npz", runs[0] / "history.csv", runs[0] / "learning_curve.png"
    lines = r.stdout.splitlines()
    assert f"saved in {runs[0].relative_to(tmp_path)}{os.sep}" in lines  # it says where
    for path in (weights, history, plot):
        assert any(line.startswith(f"  {path.name}  ") for line in lines), path.name
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(history) as f:
        rows = list(csv.DictReader(f))
    assert [int(row["epoch"]) for row in rows] == list(range(1, 31))
    assert list(rows[0]) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]  # fit's History keys
    final = float(rows[-1]["val_accuracy"])
    assert final > 0.9
    assert f"final val_accuracy {final:.4f}" in r.stdout
    # each epoch's line shows the figures history.csv keeps for it
    last = rows[-1]
    assert f"train loss {float(last['loss']):.4f} acc {float(last['accuracy']):.4f}  " \
           f"val loss {float(last['val_loss']):.4f} acc {final:.4f}  " in epoch_lines[-1]
    model = load_model(weights)  # the saved weights reproduce the reported accuracy
    _, (x_test, t_test) = load_digits()
    assert model.accuracy(x_test.astype(np.float64), t_test) == pytest.approx(final)


def test_train_options_shape_the_net_and_float32_stays_float32(tmp_path, monkeypatch, capsys):
    status = call(tmp_path, monkeypatch, "train", "--hidden", "20", "10", "--activation", "tanh", "--optimizer", "adam",
                  "--lr", "0.01", "--batch-size", "50", "--epochs", "2", "--dtype", "float32", "--seed", "3", "--out", "my-run")
    assert status == 0
    lines = capsys.readouterr().out.splitlines()
    assert "net: 64-20-10-10 (tanh)" in lines and "training: adam lr=0.01, batch size 50, 2 epochs, float32, seed 3" in lines
    model = load_model(tmp_path / "my-run" / "model.npz")
    assert [p.shape for p in model.params.values()] == [(64, 20), (20,), (20, 10), (10,), (10, 10), (10,)]
    assert all(p.dtype == np.float32 for p in model.params.values())


def test_train_with_batchnorm_dropout_and_weight_decay_builds_the_books_extended_net(tmp_path, monkeypatch, capsys):
    from minigrad import BatchNormalization, Dropout

    status = call(tmp_path, monkeypatch, "train", "--batchnorm", "--dropout", "0.3", "--weight-decay", "0.001",
                  "--hidden", "40", "--optimizer", "adam", "--lr", "0.01", "--epochs", "3", "--out", "ext")
    assert status == 0
    out = capsys.readouterr().out
    assert "net: 64-40-10 (relu, batch norm, dropout 0.3, weight decay 0.001)" in out
    model = load_model(tmp_path / "ext" / "model.npz")
    assert [type(l).__name__ for l in model] == ["Affine", "BatchNormalization", "ReLU", "Dropout", "Affine"]
    assert model[3].dropout_ratio == 0.3 and model.weight_decay_lambda == 0.001
    assert isinstance(model[1], BatchNormalization) and isinstance(model[3], Dropout)
    final = float(out.split("final val_accuracy ")[1].split()[0])
    assert final > 0.9
    _, (x_test, t_test) = load_digits()  # the saved weights and running statistics reproduce the reported accuracy
    assert model.accuracy(x_test.astype(np.float64), t_test) == pytest.approx(final, abs=1e-4)  # printed to 4 places


def test_train_model_cnn_with_batchnorm_normalizes_per_channel(tmp_path, monkeypatch, capsys):
    status = call(tmp_path, monkeypatch, "train", "--model", "cnn", "--batchnorm", "--filters", "4", "--hidden", "10",
                  "--epochs", "1", "--out", "cnnbn")
    assert status == 0 and "(cnn, batch norm)" in capsys.readouterr().out
    model = load_model(tmp_path / "cnnbn" / "model.npz")
    assert model.config["use_batchnorm"] and model.buffers["1.running_mean"].shape == (4,)


def test_train_model_cnn_trains_the_books_simple_conv_net_on_the_digit_images(tmp_path, monkeypatch, capsys):
    status = call(tmp_path, monkeypatch, "train", "--model", "cnn", "--filters", "8", "--hidden", "40", "--optimizer",
                  "adam", "--lr", "0.01", "--epochs", "4", "--dtype", "float32", "--out", "cnn")
    assert status == 0
    out = capsys.readouterr().out
    assert "net: 1x8x8-conv8x3x3-relu-pool2x2-40-10 (cnn)\ntraining: adam lr=0.01, batch size 100, 4 epochs, float32" in out
    for name in ("model.npz", "history.csv", "learning_curve.png"):
        assert (tmp_path / "cnn" / name).is_file()
    model = load_model(tmp_path / "cnn" / "model.npz")
    assert type(model).__name__ == "SimpleConvNet" and model.config["conv_param"]["filter_num"] == 8
    assert model.params["W1"].shape == (8, 1, 3, 3) and model.params["W1"].dtype == np.float32
    final = float(out.split("final val_accuracy ")[1].split()[0])
    assert final > 0.85
    _, (x_test, t_test) = load_digits(flatten=False)  # the saved weights reproduce the reported accuracy
    assert model.accuracy(x_test, t_test) == pytest.approx(final, abs=1e-4)


def test_train_model_deep_cnn_trains_the_books_deep_conv_net(tmp_path, monkeypatch, capsys):
    status = call(tmp_path, monkeypatch, "train", "--model", "deep-cnn", "--optimizer", "adam", "--lr", "0.003", "--epochs", "3",
                  "--dtype", "float32", "--out", "deep")
    assert status == 0
    out = capsys.readouterr().out
    assert "net: 1x8x8-DeepConvNet(6 conv3x3, 3 pool2x2)-50-10 (deep-cnn)" in out
    assert "training: adam lr=0.003, batch size 100, 3 epochs, float32" in out
    model = load_model(tmp_path / "deep" / "model.npz")
    assert type(model).__name__ == "DeepConvNet" and list(model.params)[:2] == ["W1", "b1"] and model.params["W8"].shape == (50, 10)
    first, final = (float(re.search(rf"^epoch {e}/3 .* val loss [0-9.]+ acc ([0-9.]+)", out, re.M).group(1)) for e in (1, 3))
    assert final > first and final > 0.5  # it learns (three epochs of 15 batches; the book's net on MNIST needs many more)
    _, (x_test, t_test) = load_digits(flatten=False)
    assert model.accuracy(x_test, t_test) == pytest.approx(final, abs=1e-4)


def test_train_is_reproducible_from_its_seed(tmp_path, monkeypatch):
    assert call(tmp_path, monkeypatch, "train", "--epochs", "2", "--out", "a") == 0
    assert call(tmp_path, monkeypatch, "train", "--epochs", "2", "--out", "b") == 0
    assert (tmp_path / "a" / "history.csv").read_text() == (tmp_path / "b" / "history.csv").read_text()


def test_train_on_mnist_without_files_exits_1_saying_where_to_put_them(tmp_path):
    (tmp_path / "empty").mkdir()
    r = run(tmp_path, "train", "--dataset", "mnist", "--data-dir", "empty", "--no-download")
    assert r.returncode == 1
    assert "mnist not found" in r.stderr
    assert "Put the four files" in r.stderr and "--data-dir DIR" in r.stderr and "$MINIGRAD_DATA" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "runs").exists()


def screen(raw: str) -> list[str]:
    """What a terminal shows after `raw`: each carriage return goes back to the start of the line and overwrites it."""
    lines = []
    for line in raw.replace("\r\n", "\n").split("\n"):
        shown = ""
        for part in line.split("\r"):
            shown = part + shown[len(part):]
        lines.append(shown.rstrip())
    return lines


def spawn_in_a_terminal(tmp_path: Path, *args: str, columns: int = 80) -> Any:
    """`minigrad args` in a pseudo-terminal of 24 rows and 80 columns, as a user runs it (pexpect: the test extra)."""
    pexpect = pytest.importorskip("pexpect")
    return pexpect.spawn(str(SCRIPT), list(args), cwd=str(tmp_path), env=env_without_data(tmp_path),
                         dimensions=(24, columns), encoding="utf-8", timeout=120)


TANH_LAYER = """
import numpy as np

class BuggyTanh:
    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        return dout * (1 + self.out ** 2)
"""


def drawn(raw: str) -> list[str]:
    """Every text the terminal drew on one line: each part between carriage returns and newlines, escapes left out."""
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw)
    return [part.rstrip() for part in re.split(r"\r\n|\r|\n", plain)]


def test_every_line_at_default_settings_fits_80_columns(tmp_path):
    (tmp_path / "tanh_layer.py").write_text(TANH_LAYER)
    runs = [(), ("demo",), ("demo", "--png", "g.png"), ("train",), ("train", "--help"), ("train", "--model", "cnn", "--epochs", "1"),
            ("gradcheck", "minigrad.losses:SoftmaxWithLoss", "--shapes", "4,3", "4:int:3"),
            ("gradcheck", "tanh_layer.py:BuggyTanh", "--shapes", "4,5"), ("gradcheck", "--help"), ("export", "--help")]
    for args in runs:
        child = spawn_in_a_terminal(tmp_path, *args)
        raw = child.read()
        child.close()
        assert child.exitstatus in (0, 1), (args, raw)
        wide = [line for line in drawn(raw) if len(line) > 80]
        assert not wide, f"minigrad {' '.join(args)} printed lines wider than 80 columns:\n" + "\n".join(wide)
        if args[:1] == ("train",) and "--help" not in args:
            assert "evaluating ..." in raw  # the bar says what it does after its last batch


def test_in_a_terminal_each_epoch_shows_a_bar_that_becomes_one_line_of_fits_figures(tmp_path):
    child = spawn_in_a_terminal(tmp_path, "train", "--epochs", "3", "--out", "o")
    raw = child.read()
    child.close()
    assert child.exitstatus == 0, raw
    assert "0/15 [" in raw  # the tqdm bar was drawn ...
    shown = screen(raw)
    assert not [line for line in shown if "%|" in line]  # ... and no bar is left on the screen
    epochs = [line for line in shown if line.startswith("epoch ")]
    assert [line.split("  ")[0] for line in epochs] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]  # one line per epoch
    with open(tmp_path / "o" / "history.csv") as f:
        rows = list(csv.DictReader(f))
    for line, row in zip(epochs, rows):  # the line's figures are the ones history.csv keeps
        figures = "train loss {:.4f} acc {:.4f}  val loss {:.4f} acc {:.4f}  ".format(
            *(float(row[k]) for k in ("loss", "accuracy", "val_loss", "val_accuracy")))
        assert line.startswith(f"epoch {row['epoch']}/3  {figures}") and line.endswith(" s"), line


def test_ctrl_c_saves_the_completed_epochs_and_resume_continues_exactly(tmp_path):
    child = spawn_in_a_terminal(tmp_path, "train", "--epochs", "100000", "--out", "o")
    child.expect(r"epoch 3/100000  ")
    child.sendintr()
    rest = child.read()
    child.close()
    assert child.exitstatus == 130, rest
    message = " ".join(screen(rest))
    assert "minigrad train: interrupted; " in message and "Resume with:" in message
    assert "minigrad train --resume o/checkpoint.npz --epochs 100000" in message
    with open(tmp_path / "o" / "history.csv") as f:
        done = len(list(csv.DictReader(f)))
    assert done >= 3 and f"{done} completed epochs (of 100000) saved." in message
    for name in ("model.npz", "history.csv", "learning_curve.png", "checkpoint.npz"):
        assert (tmp_path / "o" / name).is_file(), name
    assert len(load_model(tmp_path / "o" / "model.npz").params) == 4
    # resuming two more epochs gives what an uninterrupted run of done + 2 epochs gives, bit for bit
    r = run(tmp_path, "train", "--resume", "o/checkpoint.npz", "--epochs", str(done + 2))
    assert r.returncode == 0, r.stderr
    assert f"resuming after epoch {done}" in r.stdout
    assert run(tmp_path, "train", "--epochs", str(done + 2), "--out", "straight").returncode == 0
    assert (tmp_path / "o" / "history.csv").read_text() == (tmp_path / "straight" / "history.csv").read_text()
    resumed, straight = load_model(tmp_path / "o" / "model.npz"), load_model(tmp_path / "straight" / "model.npz")
    assert all(np.array_equal(resumed.params[k], straight.params[k]) for k in straight.params)


def test_ctrl_c_without_a_terminal_says_so_too(tmp_path):
    p = subprocess.Popen(
        [sys.executable, "-m", "minigrad", "train", "--epochs", "100000", "--out", "o"],
        cwd=tmp_path, env=env_without_data(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = ""
        while not line.startswith("epoch 2/"):
            line = p.stdout.readline()  # type: ignore[union-attr]
            assert line, "minigrad train ended before its second epoch"
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130
    assert "minigrad train: interrupted; " in err and "--resume o/checkpoint.npz" in err


def test_resume_refuses_other_settings_and_a_finished_run(tmp_path, monkeypatch, capsys):
    assert call(tmp_path, monkeypatch, "train", "--epochs", "2", "--out", "o") == 0
    assert call(tmp_path, monkeypatch, "train", "--resume", "o/checkpoint.npz", "--lr", "0.5") == 2
    assert "only --epochs, --data-dir and --no-download apply, got --lr" in capsys.readouterr().err
    assert call(tmp_path, monkeypatch, "train", "--resume", "o/checkpoint.npz") == 2
    assert "has 2 epochs already; pass --epochs N with N > 2" in capsys.readouterr().err


def test_train_and_fit_default_to_the_same_optimizer(tmp_path, monkeypatch, capsys):
    from minigrad import SGD, Trainer, TwoLayerNet

    assert call(tmp_path, monkeypatch, "train", "--epochs", "1", "--out", "o") == 0
    assert "sgd lr=0.1," in capsys.readouterr().out
    default = Trainer(TwoLayerNet(2, 2, 2), verbose=0).optimizer
    assert type(default) is SGD and default.lr == 0.1
    assert call(tmp_path, monkeypatch, "train", "--epochs", "1", "--optimizer", "adam", "--out", "a") == 0
    assert "adam lr=0.001," in capsys.readouterr().out  # the optimizer's own default, not sgd's 0.1


# ---------------------------------------------------------------------------------------------- gradcheck

LAYERS = textwrap.dedent(
    '''
    from minigrad import Layer


    class Square(Layer):
        """y = x^2, dx = 2x dout."""

        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, dout):
            return 2 * self.x * dout


    class ForgotTheTwo(Square):
        """The classic bug: dx = x dout."""

        def backward(self, dout):
            return self.x * dout


    def make_square():
        return Square()


    square = Square()
    '''
)


@pytest.fixture
def layer_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_layers.py"
    path.write_text(LAYERS)
    return path


def test_gradcheck_passes_a_correct_layer_from_a_file_with_exit_0(tmp_path, layer_file):
    r = run(tmp_path, "gradcheck", "my_layers.py:Square", "--shapes", "3,4", script=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "tensor" in r.stdout and "analytic" in r.stdout and "numerical" in r.stdout  # the report table
    assert r.stdout.rstrip().endswith("PASS")


def test_gradcheck_fails_a_wrong_backward_with_exit_1_and_the_report(tmp_path, layer_file):
    r = run(tmp_path, "gradcheck", str(layer_file) + ":ForgotTheTwo", "--shapes", "3,4")
    assert r.returncode == 1
    assert "FAIL" in r.stdout.splitlines()[-1]
    assert "x " in r.stdout  # the failing tensor's row


def test_gradcheck_imports_module_colon_class_from_the_current_directory(tmp_path, layer_file):
    r = run(tmp_path, "gradcheck", "my_layers:Square", "--shapes", "5")
    assert r.returncode == 0, r.stdout + r.stderr


def test_gradcheck_checks_a_loss_with_integer_labels(tmp_path, monkeypatch, capsys):
    assert call(tmp_path, monkeypatch, "gradcheck", "minigrad.losses:SoftmaxWithLoss", "--shapes", "4,3", "4:int:3") == 0
    assert "on inputs float64[4, 3], int64[4]" in capsys.readouterr().out


def test_gradcheck_with_the_wrong_number_of_inputs_fails_saying_so(tmp_path, monkeypatch, capsys, layer_file):
    assert call(tmp_path, monkeypatch, "gradcheck", "my_layers.py:Square", "--shapes", "3", "3") == 1
    out = capsys.readouterr().out
    assert "FAIL: TypeError: " in out and "gradcheck: Square.forward raised TypeError" in out and "one shape per input" in out


@pytest.mark.parametrize("name", ["make_square", "square"])
def test_gradcheck_accepts_a_factory_function_or_a_layer_instance(tmp_path, monkeypatch, capsys, layer_file, name):
    assert call(tmp_path, monkeypatch, "gradcheck", f"my_layers.py:{name}", "--shapes", "2,3") == 0
    assert "(Square)" in capsys.readouterr().out


def test_resume_from_a_checkpoint_without_run_settings_is_a_usage_error(tmp_path, monkeypatch, capsys):
    from minigrad import Trainer, TwoLayerNet

    Trainer(TwoLayerNet(64, 5, 10, rng=0), verbose=0).save_checkpoint(tmp_path / "mine.npz")
    assert call(tmp_path, monkeypatch, "train", "--resume", "mine.npz") == 2
    assert "mine.npz was not written by minigrad train (no run settings in it)" in capsys.readouterr().err


def test_ctrl_c_between_an_epochs_end_and_its_checkpoint_keeps_that_epoch(tmp_path, monkeypatch, capsys):
    from minigrad.trainer import Trainer

    calls = []
    save = Trainer.save_checkpoint

    def interrupted_third_save(self, *args, **kwargs):
        calls.append(self.epoch)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as if Ctrl-C came while epoch 3's checkpoint was being written
        return save(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "save_checkpoint", interrupted_third_save)
    assert call(tmp_path, monkeypatch, "train", "--epochs", "50", "--out", "o") == 130
    assert "3 completed epochs (of 50) saved." in capsys.readouterr().err
    monkeypatch.setattr(Trainer, "save_checkpoint", save)
    assert call(tmp_path, monkeypatch, "train", "--resume", "o/checkpoint.npz", "--epochs", "5") == 0
    assert call(tmp_path, monkeypatch, "train", "--epochs", "5", "--out", "straight") == 0
    assert (tmp_path / "o" / "history.csv").read_text() == (tmp_path / "straight" / "history.csv").read_text()


# ---------------------------------------------------------------------------------------------- issue 21


def rewrite_meta(path: Path, change: Any) -> None:
    """Rewrite the minigrad.json of the .npz at path through change(meta) (a hand-edited or corrupted file)."""
    import json

    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays["minigrad.json"]))
    change(meta)
    arrays["minigrad.json"] = np.array(json.dumps(meta))
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def test_export_onto_its_own_input_is_refused_and_the_model_kept(tmp_path, monkeypatch, capsys):
    pytest.importorskip("onnx")
    from minigrad import TwoLayerNet
    from minigrad.serialization import save_model

    save_model(tmp_path / "m.npz", TwoLayerNet(4, 3, 2, rng=0))
    (tmp_path / "alias.npz").symlink_to(tmp_path / "m.npz")
    for out in ("m.npz", "alias.npz", "./m.npz"):
        assert call(tmp_path, monkeypatch, "export", "m.npz", out) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"the output {out} is the same file as model m.npz" in err, err
    assert load_model(tmp_path / "m.npz").config["input_size"] == 4


def test_export_onto_a_named_pipe_is_one_line_and_the_pipe_stays(tmp_path, monkeypatch, capsys):
    pytest.importorskip("onnx")
    import stat

    from minigrad import TwoLayerNet
    from minigrad.serialization import save_model

    save_model(tmp_path / "m.npz", TwoLayerNet(4, 3, 2, rng=0))
    os.mkfifo(tmp_path / "pipe")
    assert call(tmp_path, monkeypatch, "export", "m.npz", "pipe") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write pipe: it is a named pipe" in err, err
    assert stat.S_ISFIFO(os.stat(tmp_path / "pipe").st_mode)


def test_export_input_shape_errors_speak_of_the_shape_not_gradcheck(tmp_path, monkeypatch, capsys):
    for bad in ("3:int:2", "()", "0,2", "a,b", "9999999,9999999"):
        code = call(tmp_path, monkeypatch, "export", "m.npz", "o.onnx", "--input-shape", bad)
        err = capsys.readouterr().err
        if bad == "9999999,9999999":  # a large shape is a shape: the missing model is what fails
            assert code == 1 and "no such file" in err, err
            continue
        assert code == 2 and "--input-shape" in err and "gradcheck" not in err and "int:K" not in err, err


@pytest.mark.parametrize("change, words", [
    (lambda m: m["extra"]["trainer"].update(epoch=-3), ["trainer", "epoch", ">= 0", "-3"]),
    (lambda m: m["extra"]["trainer"].pop("history"), ["trainer", "history"]),
    (lambda m: m["extra"]["trainer"].update(epoch="two"), ["trainer", "epoch", "'two'"]),
    (lambda m: m["extra"]["trainer"]["history"].update(history={"loss": "x"}), ["history['loss']"]),
    (lambda m: m["extra"].update(trainer=[1, 2]), ["trainer", "[1, 2]"]),
])
def test_resume_from_a_malformed_trainer_section_is_one_line_naming_the_field(tmp_path, monkeypatch, capsys, change, words):
    assert call(tmp_path, monkeypatch, "train", "--epochs", "1", "--out", "o") == 0
    rewrite_meta(tmp_path / "o" / "checkpoint.npz", change)
    capsys.readouterr()
    assert call(tmp_path, monkeypatch, "train", "--resume", "o/checkpoint.npz", "--epochs", "2") in (1, 2)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "o/checkpoint.npz" in err, err
    for word in words:
        assert word in err, (word, err)


@pytest.mark.parametrize("setting, value", [("dataset", "imagenet"), ("batch_size", 0), ("batchnorm", "yes"),
                                            ("optimizer", "lbfgs"), ("dtype", "int8"), ("seed", -1), ("hidden", ["x"])])
def test_resume_with_saved_settings_minigrad_train_does_not_take_is_a_usage_error(tmp_path, monkeypatch, capsys, setting, value):
    assert call(tmp_path, monkeypatch, "train", "--epochs", "1", "--out", "o") == 0
    rewrite_meta(tmp_path / "o" / "checkpoint.npz", lambda m: m["extra"]["args"].update({setting: value}))
    capsys.readouterr()
    assert call(tmp_path, monkeypatch, "train", "--resume", "o/checkpoint.npz", "--epochs", "2") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"run setting {setting}={value!r}" in err, err


def test_train_with_batch_norm_and_a_last_batch_of_one_fails_before_training(tmp_path, monkeypatch, capsys):
    (x, _), _ = load_digits()
    assert len(x) % 4 == 1  # 1437 samples: 359 batches of 4 and one of 1
    assert call(tmp_path, monkeypatch, "train", "--batchnorm", "--batch-size", "4", "--epochs", "1", "--out", "o") == 1
    out, err = capsys.readouterr()
    assert not [line for line in out.splitlines() if line.startswith("epoch ")] and err.count("\n") == 1, (out, err)
    assert f"batch_size=4 leaves a last batch of 1 of the {len(x)} samples" in err, err
    assert call(tmp_path, monkeypatch, "train", "--batchnorm", "--batch-size", "3", "--epochs", "1", "--out", "o") == 0


def test_a_run_whose_loss_ends_far_above_its_start_says_so_with_the_likely_cause(tmp_path):
    r = run(tmp_path, "train", "--lr", "30", "--epochs", "3", "--out", "o")
    assert r.returncode == 0, r.stderr
    hint = [line for line in r.stderr.splitlines() if line.startswith("the loss rose from ")]
    assert len(hint) == 1 and hint[0].endswith("the learning rate 30 is likely too high") and len(hint[0]) <= 80
    calm = run(tmp_path, "train", "--epochs", "3", "--out", "calm")
    assert calm.returncode == 0 and "the loss rose" not in calm.stderr + calm.stdout
