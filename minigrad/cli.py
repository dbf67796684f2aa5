"""The ``minigrad`` command (also ``python -m minigrad``): demo, train, gradcheck and export subcommands.

Exit status: 0 success, 1 failure (a failed gradient check, data not found, ...), 2 usage error,
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib
import importlib.util
import io
import math
import os
import shutil
import sys
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from . import protocol
from ._files import atomic_write
from .datasets import DATASETS, IdxFormatError
from .models import ACTIVATIONS
from .optimizers import OPTIMIZERS
from .serialization import ModelFileError
from .trainer import TrainingError

__all__ = ["main", "build_parser"]

DEFAULT_EPOCHS = {"digits": 30, "mnist": 10, "fashion-mnist": 10}


class UsageError(Exception):
    """A bad command line that argparse could not see (exit status 2)."""


class UserCodeError(Exception):
    """A user's own file or module that failed to import (exit status 1); the message points into it."""


def _where_in(e: BaseException, path: Path | None) -> str:
    """'file, line N: ErrorType: message' for an exception from a user's code: the innermost frame outside minigrad."""
    if isinstance(e, SyntaxError) and e.filename:
        return f"{e.filename}, line {e.lineno}: {type(e).__name__}: {e.msg}"
    frames = [f for f in traceback.extract_tb(e.__traceback__) if not f.filename.startswith(_PACKAGE_DIR) and "<frozen" not in f.filename]
    if path is not None:
        frames = [f for f in frames if Path(f.filename).resolve() == path.resolve()] or frames
    place = f"{frames[-1].filename}, line {frames[-1].lineno}: " if frames else ""
    return f"{place}{type(e).__name__}: {e}"


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


# ----------------------------------------------------------------------------------------------
# argument types


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not (np.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def _sizes(text: str) -> tuple[int, ...]:
    """'4,3' (or '4x3') -> (4, 3); '()' -> (): positive sizes separated by commas."""
    text = text.strip()
    if text in ("()", "scalar", ""):
        return ()
    try:
        shape = tuple(int(s) for s in text.replace("x", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a shape like 4,3 (sizes separated by commas), got {text!r}") from None
    if any(s < 1 for s in shape):
        raise argparse.ArgumentTypeError(f"sizes in a shape must be positive, got {text!r}")
    return shape


def _input_spec(text: str) -> tuple[tuple[int, ...], int | None]:
    """'4,3' -> ((4, 3), None): float input; '4:int:3' -> ((4,), 3): integer labels in [0, 3); '()' -> scalar."""
    shape_text, _, kind = text.partition(":")
    n_classes = None
    if kind:
        name, _, k = kind.partition(":")
        if name != "int" or not k.isdigit() or int(k) < 1:
            raise argparse.ArgumentTypeError(f"expected SHAPE or SHAPE:int:K (e.g. 4:int:3), got {text!r}")
        n_classes = int(k)
    shape = _sizes(shape_text)
    if math.prod(shape) > MAX_GRADCHECK_ELEMENTS:
        raise argparse.ArgumentTypeError(
            f"{text!r} has {math.prod(shape):,} elements; gradcheck from the command line takes at most "
            f"{MAX_GRADCHECK_ELEMENTS:,} per input (a few forward passes each)"
        )
    return shape, n_classes


MAX_GRADCHECK_ELEMENTS = 10**6
"""The largest input `minigrad gradcheck --shapes` accepts, in elements (8 MB in float64)."""


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


# ----------------------------------------------------------------------------------------------
# demo


def cmd_demo(args: argparse.Namespace) -> int:
    """Forward and backward through the chapter's price graph, printed: inputs, every node's value, every input's gradient."""
    from .drawing import SYMBOLS
    from .models import price_graph

    if args.png and not args.png.lower().endswith((".png", ".svg")):
        raise UsageError(f"--png {args.png}: name a .png or .svg file")
    g = price_graph()
    price = g.forward(apple=100, apple_num=2, orange=150, orange_num=3, tax=1.1)
    grads = g.backward(1)
    print("2 apples at 100, 3 oranges at 150, 10% tax: a Graph of MulLayer and AddLayer")
    print("inputs:   " + ", ".join(f"{name} {g.values[name]}" for name in g.inputs))
    print(f"forward:  price = {price}")
    width = max(map(len, g.nodes))
    for name, (layer, ins) in g.nodes.items():
        formula = f" {SYMBOLS.get(type(layer).__name__, type(layer).__name__)} ".join(ins)
        print(f"  {name:<{width}} = {formula:<{2 * width + 3}} = {g.values[name]}")
    print("backward: d price / d input")
    for name, grad in zip(g.inputs, grads):
        print(f"  d{name}: {grad}")
    if args.dot:
        print()
        print(g.to_dot(), end="")
    if args.png:
        try:
            g.draw(args.png, title="price = (apple · apple_num + orange · orange_num) · tax: values forward, gradients (red) backward")
        except ImportError as e:
            print(f"minigrad demo: {e}", file=sys.stderr)
            return 1
        print(f"saved the graph's picture: {args.png}")
    if args.html:
        g.to_html(args.html, title="price = (apple × apple_num + orange × orange_num) × tax, step by step")
        print(f"saved the step-through page: {args.html} (open it in a browser; → steps, ← goes back)")
    return 0


# ----------------------------------------------------------------------------------------------
# train


def _load_dataset(
    name: str, data_dir: str | None, download: bool = True, flatten: bool = True
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The dataset's ((x_train, t_train), (x_test, t_test)): x as rows (N, H·W), or images (N, 1, H, W) unless flatten."""
    if name == "digits":
        return DATASETS[name](flatten=flatten)
    return DATASETS[name](flatten=flatten, data_dir=data_dir, download=download, progress=True)


def _check_model_args(args: argparse.Namespace) -> None:
    """A UsageError for model options that do not go together, before any data is loaded."""
    if args.model == "mlp":
        return
    book = {"cnn": "SimpleConvNet", "deep-cnn": "DeepConvNet"}[args.model]
    if args.dropout or args.weight_decay:
        raise UsageError(f"--dropout and --weight-decay apply to --model mlp (the book's MultiLayerNet); {book} has neither to set")
    if args.activation != "relu":
        raise UsageError(f"--model {args.model} uses ReLU (the book's {book}); got --activation {args.activation}")
    if args.hidden is not None and len(args.hidden) != 1:
        raise UsageError(f"--model {args.model} has one hidden Affine layer: give --hidden one size, got {len(args.hidden)}")
    if args.model == "deep-cnn" and (args.batchnorm or args.filter_size is not None or args.filters != 30):
        raise UsageError("--batchnorm, --filters and --filter-size apply to --model cnn; deep-cnn is the book's DeepConvNet as it is")


def _plural(n: int, word: str, plural: str | None = None) -> str:
    """'1 epoch', '2 epochs'; '2 batches' with plural="batches"."""
    return f"{n} {word}" if n == 1 else f"{n} {plural or word + 's'}"


def _build_model(args: argparse.Namespace, x_train: np.ndarray, n_classes: int, dtype: np.dtype) -> tuple[Any, str]:
    """The net the arguments ask for and its short description: a MultiLayerNet, a SimpleConvNet (cnn) or a DeepConvNet (deep-cnn)."""
    from .models import DeepConvNet, MultiLayerNet, SimpleConvNet

    extras = ", batch norm" * args.batchnorm + f", dropout {args.dropout}" * bool(args.dropout)
    extras += f", weight decay {args.weight_decay}" * bool(args.weight_decay)
    if args.model == "mlp":
        hidden = args.hidden or [50]
        model = MultiLayerNet(x_train.shape[1], hidden, n_classes, activation=args.activation, rng=args.seed, dtype=dtype,
                              use_batchnorm=args.batchnorm, use_dropout=bool(args.dropout), dropout_ratio=args.dropout or 0.5,
                              weight_decay_lambda=args.weight_decay)
        return model, "-".join(map(str, [x_train.shape[1], *hidden, n_classes])) + f" ({args.activation}{extras})"
    c, h, w = x_train.shape[1:]
    if args.model == "deep-cnn":
        hidden = args.hidden[0] if args.hidden else 50
        try:
            model = DeepConvNet(x_train.shape[1:], hidden_size=hidden, output_size=n_classes, rng=args.seed, dtype=dtype)
        except ValueError as e:
            raise UsageError(str(e)) from None
        return model, f"{c}x{h}x{w}-DeepConvNet(6 conv3x3, 3 pool2x2)-{hidden}-{n_classes} (deep-cnn)"
    hidden = args.hidden[0] if args.hidden else 100
    size = args.filter_size or (3 if args.dataset == "digits" else 5)
    conv = {"filter_num": args.filters, "filter_size": size, "pad": 0, "stride": 1}
    try:
        model = SimpleConvNet(x_train.shape[1:], conv, hidden, n_classes, rng=args.seed, dtype=dtype, weight_init="he",
                              use_batchnorm=args.batchnorm)
    except ValueError as e:
        raise UsageError(str(e)) from None
    return model, f"{c}x{h}x{w}-conv{args.filters}x{size}x{size}-relu-pool2x2-{hidden}-{n_classes} (cnn{extras})"


def _history_rows(history: Any) -> list[dict[str, float]]:
    """One row per epoch (counted from 1, as displayed) with fit's History keys: loss, accuracy, val_loss, val_accuracy."""
    return [{"epoch": e + 1, **{k: v[i] for k, v in history.history.items()}} for i, e in enumerate(history.epoch)]


def _write_history(path: Path, rows: list[dict[str, float]]) -> None:
    text = io.StringIO(newline="")
    w = csv.DictWriter(text, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    atomic_write(path, lambda f: f.write(text.getvalue().encode()))


def _save_run(out: Path, trainer: Any, run: dict[str, Any], title: str) -> None:
    """Write model.npz, history.csv and learning_curve.png (with matplotlib) for the epochs trainer has done; print where."""
    from .serialization import save_model

    rows = _history_rows(trainer.history)
    print(f"saved in {out}{os.sep}")
    save_model(out / "model.npz", trainer.model, extra={"command": "minigrad train", "args": run, "history": rows})
    print("  model.npz           the weights (minigrad.serialization.load_model reads them)")
    _write_history(out / "history.csv", rows)
    print("  history.csv         loss and accuracy per epoch")
    try:
        fig = trainer.history.plot(title)
    except ImportError:
        print("  (no learning_curve.png: it needs matplotlib, pip install matplotlib)")
    else:
        atomic_write(out / "learning_curve.png", lambda f: fig.savefig(f, dpi=100, format="png"))
        print("  learning_curve.png  the learning curve")
    print("  checkpoint.npz      the training state, to resume from")


def _check_out(out: str | None) -> None:
    """A UsageError for --out at or below an existing file, before any work."""
    if out is not None:
        path = Path(out)
        for above in (path, *path.parents):
            if above.exists() and not above.is_dir():
                raise UsageError(f"--out {out}: {above} is a file, not a directory; pass a directory for the outputs")


def _output_dir(out: str | None, dataset: str) -> Path:
    """The run's output directory, created: --out, or a fresh ./runs/<dataset>-<date>-<time>."""
    _check_out(out)
    if out is not None:
        path = Path(out)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"--out {out}: cannot create the directory ({e.strerror})") from None
        return path
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for i in range(1000):
        path = Path("runs") / (f"{dataset}-{stamp}" + (f"-{i}" if i else ""))
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise UsageError("could not find a free run directory under ./runs; pass --out DIR")


CHECKPOINT = "checkpoint.npz"
"""What `minigrad train` writes after every epoch in its output directory, for --resume."""
RESUME_OPTIONS = ("epochs", "data_dir", "no_download")
"""The options --resume accepts; everything else comes from the checkpoint."""


def _check_saved_settings(path: str, saved: dict[str, Any]) -> None:
    """A UsageError naming the checkpoint and the setting unless each saved run setting is a value `minigrad train` accepts."""
    for action in build_parser().commands["train"]._actions:
        if action.dest not in saved or action.dest in ("help", "resume", "out"):
            continue
        value = saved[action.dest]
        values = value if isinstance(value, list) and action.nargs == "+" else [value]
        try:
            if action.nargs == 0:  # a flag
                if not isinstance(value, bool):
                    raise ValueError("expected true or false")
            elif value is not None or action.default is not None:
                if action.choices is not None and any(v not in action.choices for v in values):
                    raise ValueError(f"expected one of {', '.join(map(str, action.choices))}")
                if any(isinstance(v, (bool, list, dict)) or v is None for v in values):
                    raise ValueError("expected a number or a word")
                if action.type is not None and [action.type(str(v)) for v in values] != values:
                    raise ValueError(f"expected {action.type.__name__.strip('_').replace('_', ' ')}")
        except (argparse.ArgumentTypeError, ValueError, TypeError) as e:
            raise UsageError(f"--resume: {path} has the run setting {action.dest}={value!r:.80}, which minigrad train does not take ({e})") from None


def _resumed_args(args: argparse.Namespace) -> argparse.Namespace:
    """The run's own arguments from the checkpoint at args.resume, with --epochs, --data-dir and --no-download applied."""
    from .serialization import ModelFileError, load_checkpoint

    defaults = vars(build_parser().parse_args(["train"]))
    changed = [k for k, v in vars(args).items() if k not in (*RESUME_OPTIONS, "resume", "func") and v != defaults.get(k)]
    if changed:
        flags = ", ".join("--" + k.replace("_", "-") for k in changed)
        raise UsageError(f"--resume continues a run with its own settings; only --epochs, --data-dir and --no-download "
                         f"apply, got {flags}")
    try:
        extra = load_checkpoint(args.resume).extra
    except (OSError, ModelFileError) as e:
        raise UsageError(f"--resume: {e}") from None
    saved, state = extra.get("args"), extra.get("trainer")
    done = state.get("epoch") if isinstance(state, dict) else None  # a malformed one: Trainer.load_checkpoint says what
    if not isinstance(saved, dict):
        raise UsageError(f"--resume: {args.resume} was not written by minigrad train (no run settings in it)")
    _check_saved_settings(args.resume, saved)
    merged = {**defaults, **saved, "resume": args.resume, "out": str(Path(args.resume).parent)}
    for key in RESUME_OPTIONS:
        if getattr(args, key) not in (None, False):
            merged[key] = getattr(args, key)
    if type(done) is int and merged["epochs"] is not None and done >= merged["epochs"]:
        raise UsageError(f"{args.resume} has {_plural(done, 'epoch')} already; pass --epochs N with N > {done}")
    return argparse.Namespace(**merged)


def cmd_train(args: argparse.Namespace) -> int:
    """Train a MultiLayerNet (or a SimpleConvNet) on a dataset; show each epoch; save weights, history and plot.

    The test set validates each epoch (fit's val_loss, val_accuracy). After every epoch a checkpoint
    is written; Ctrl-C saves the completed epochs and says how to resume from it. Every option is
    checked before the data is loaded.
    """
    from .trainer import Callback, EpochLogger, ProgressBar, Trainer, make_optimizer

    if args.resume is not None:
        args = _resumed_args(args)
    dtype = np.dtype(args.dtype)
    epochs = args.epochs if args.epochs is not None else DEFAULT_EPOCHS[args.dataset]
    _check_model_args(args)
    if args.dataset == "digits" and args.data_dir is not None:
        raise UsageError("--data-dir applies to mnist and fashion-mnist; the digits ship with minigrad")
    if args.resume is None:
        try:
            optimizer = make_optimizer(args.optimizer, args.lr)
        except (TypeError, ValueError) as e:
            raise UsageError(str(e)) from None
        _check_out(args.out)
    print(f"loading {args.dataset} ...", flush=True)
    data = _load_dataset(args.dataset, args.data_dir, not args.no_download, flatten=args.model == "mlp")
    (x_train, t_train), (x_test, t_test) = data
    x_train, x_test = x_train.astype(dtype, copy=False), x_test.astype(dtype, copy=False)
    n_classes = int(max(t_train.max(), t_test.max())) + 1
    model, net = _build_model(args, x_train, n_classes, dtype)
    out = _output_dir(args.out, args.dataset) if args.resume is None else Path(args.out)
    run = {k: v for k, v in vars(args).items() if k not in ("func", "resume")} | {"epochs": epochs}
    saved = {"epochs": 0}
    start_loss: list[float] = []

    class Checkpoint(Callback):
        """After each epoch, the whole training state to <out>/checkpoint.npz (atomically), with the run's settings."""

        def on_batch_end(self, trainer: Any, batch: int, logs: Any) -> None:
            if not start_loss:  # the loss the run starts from, to say so if it ends far above it
                start_loss.append(logs["loss"])

        def on_epoch_end(self, trainer: Any, epoch: int, logs: Any) -> None:
            trainer.save_checkpoint(out / CHECKPOINT, extra={"command": "minigrad train", "args": run})
            saved["epochs"] = trainer.epoch

    # a progress bar where someone watches (and tqdm is installed); else one line per epoch on stdout
    tty = sys.stderr.isatty() and importlib.util.find_spec("tqdm") is not None
    callbacks = [Checkpoint(), ProgressBar(file=sys.stderr) if tty else EpochLogger(file=sys.stdout)]
    if args.resume is None:
        trainer = Trainer(model, optimizer, rng=args.seed, callbacks=callbacks, verbose=0)
    else:
        trainer = Trainer.load_checkpoint(args.resume, callbacks=callbacks, verbose=0)
        saved["epochs"] = trainer.epoch
    lr = getattr(trainer.optimizer, "lr", args.lr)
    batches = -(-len(x_train) // args.batch_size)
    print(f"{args.dataset}: {len(x_train)} training and {len(x_test)} test samples")
    print(f"net: {net}")
    print(f"training: {args.optimizer} lr={lr}, batch size {args.batch_size}, {_plural(epochs, 'epoch')}, {dtype.name}, "
          f"seed {args.seed}" + (f"; resuming after epoch {trainer.epoch}" if args.resume else ""))
    print(f"each epoch: train = the mean over its {_plural(batches, 'batch', 'batches')}, val = the {len(x_test)} test samples",
          flush=True)
    title = f"{args.dataset}: {net}, {args.optimizer} lr={lr}, batch {args.batch_size}"
    start = time.perf_counter()
    try:
        trainer.fit(x_train, t_train, epochs=epochs - trainer.epoch, batch_size=args.batch_size,
                    validation_data=(x_test, t_test))
    except KeyboardInterrupt:
        if trainer.epoch > saved["epochs"]:  # Ctrl-C after an epoch ended, before its checkpoint: write it now
            trainer.save_checkpoint(out / CHECKPOINT, extra={"command": "minigrad train", "args": run})
            saved["epochs"] = trainer.epoch
        if not saved["epochs"]:
            print(f"\nminigrad train: interrupted in epoch 1 of {epochs}; no epoch was completed, so nothing was saved",
                  file=sys.stderr)
            return 130
        # the state after the last completed epoch (a partly trained epoch is left out, so a resume is exact)
        done = Trainer.load_checkpoint(out / CHECKPOINT, verbose=0)
        print(f"\ninterrupted: saving the {_plural(done.epoch, 'completed epoch')}", flush=True)
        _save_run(out, done, run, title)
        print(f"minigrad train: interrupted; {_plural(done.epoch, 'completed epoch')} (of {epochs}) saved. Resume with:\n"
              f"  minigrad train --resume {out / CHECKPOINT}" + (f" --epochs {epochs}" if args.epochs else ""),
              file=sys.stderr)
        return 130
    history = trainer.history.history
    print(f"trained in {time.perf_counter() - start:.1f} s; final val_accuracy {history['val_accuracy'][-1]:.4f} "
          f"on the {len(x_test)} test samples")
    _save_run(out, trainer, run, title)
    print(f"to go on to N epochs in all:\n  minigrad train --resume {out / CHECKPOINT} --epochs N")
    if start_loss and history["loss"][-1] > 2 * start_loss[0]:
        print(f"the loss rose from {start_loss[0]:.4g} to {history['loss'][-1]:.4g}: the learning rate {lr:g} "
              "is likely too high", file=sys.stderr)
    return 0


# ----------------------------------------------------------------------------------------------
# gradcheck


@contextlib.contextmanager
def _first_on_search_path(directory: str) -> Iterator[None]:
    """While importing a user's layer only: `directory` first on the module search path, as Python puts it."""
    saved = list(sys.path)
    sys.path[:0] = [directory]
    try:
        yield
    finally:
        sys.path[:] = saved


def _load_target(target: str) -> Any:
    """The object named by 'path/to/file.py:Name' or 'package.module:Name'."""
    source, sep, attr = target.rpartition(":")
    if not sep or not source or not attr:
        raise UsageError(f"expected path/to/file.py:ClassName or module:ClassName, got {target!r}")
    if source.endswith(".py") or os.sep in source or "/" in source:
        path = Path(source)
        if not path.is_file():
            raise UsageError(f"no such file: {source}")
        name = f"_minigrad_gradcheck_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise UsageError(f"cannot import {source} as a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        with _first_on_search_path(str(path.resolve().parent)):  # like `python file.py`: its neighbours import
            try:
                spec.loader.exec_module(module)
            except Exception as e:  # the user's file failed: point into it, not into minigrad
                sys.modules.pop(name, None)
                raise UserCodeError(f"{source} does not import: {_where_in(e, path)}") from None
    else:
        with _first_on_search_path(os.getcwd()):  # like `python -m`: modules in the current directory import
            try:
                module = importlib.import_module(source)
            except ModuleNotFoundError as e:
                if e.name is not None and source.startswith(e.name):
                    raise UsageError(f"cannot import module {source!r}: {e}") from None
                raise UserCodeError(f"module {source!r} does not import: {_where_in(e, None)}") from None
            except Exception as e:
                raise UserCodeError(f"module {source!r} does not import: {_where_in(e, None)}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise UsageError(f"{source} has no attribute {attr!r}") from None


def cmd_gradcheck(args: argparse.Namespace) -> int:
    """Gradient-check a user's layer on seeded random inputs; exit 0 on pass, 1 on fail."""
    from .gradcheck import gradcheck

    obj = _load_target(args.target)
    layer = obj
    if isinstance(obj, type) or (callable(obj) and not protocol.is_layer(obj)):
        try:
            layer = obj()
        except TypeError as e:
            raise UsageError(
                f"could not call {args.target}() with no arguments ({e}); name a factory function that builds the layer"
            ) from None
    if not protocol.is_layer(layer):
        raise UsageError(f"{args.target} is not a layer (it needs forward and backward)")
    rng = np.random.default_rng(args.seed)
    dtype = np.dtype(args.dtype)
    inputs = []
    for shape, n_classes in args.shapes:
        if n_classes is None:
            inputs.append(rng.standard_normal(shape).astype(dtype))
        else:
            inputs.append(rng.integers(0, n_classes, size=shape))
    print(f"gradcheck {args.target} ({type(layer).__name__})")
    print("on inputs " + ", ".join(f"{a.dtype}{list(a.shape)}" for a in inputs))
    options = {k: getattr(args, k) for k in ("eps", "atol", "rtol") if getattr(args, k) is not None}
    try:
        result = gradcheck(layer, *inputs, seed=args.seed, **options)
    except Exception as e:  # the layer itself failed on these inputs: a failed check, not a usage error
        print(f"FAIL: {type(e).__name__}: {e}")
        notes = getattr(e, "__notes__", [])
        for note in notes:
            print(note)  # which method raised, at which line of the user's file
        if any(".forward raised" in n for n in notes):
            print("(the inputs come from --shapes: check that it gives one shape per input of forward, in order)")
        return 1
    print(result.format(width=shutil.get_terminal_size().columns))
    print("PASS" if result else "FAIL")
    return 0 if result else 1


# ----------------------------------------------------------------------------------------------
# export


def _shape(text: str) -> tuple[int, ...]:
    """'1,28,28' -> (1, 28, 28): one sample's shape."""
    try:
        shape = _sizes(text)
    except argparse.ArgumentTypeError:
        shape = ()
    if not shape:
        raise argparse.ArgumentTypeError(f"expected one sample's shape like 1,28,28 (positive sizes separated by commas), got {text!r}")
    return shape


def _not_an_input(out: str, option: str, **inputs: str) -> None:
    """A UsageError when the output path names the same file as one of the command's inputs (it would be replaced)."""
    for name, path in inputs.items():
        with contextlib.suppress(OSError):
            if os.path.samefile(out, path):
                raise UsageError(f"{option} {out} is the same file as {name} {path}, which writing it would replace; "
                                 "give another path")


def cmd_export(args: argparse.Namespace) -> int:
    """Write a saved model's inference as an ONNX file."""
    from .interop import OPSET, export_onnx
    from .serialization import ModelFileError, load_model

    _not_an_input(args.out, "the output", model=args.model)
    try:
        model = load_model(args.model)
        export_onnx(model, args.out, input_shape=args.input_shape, dtype=np.dtype(args.dtype))
    except (ImportError, ModelFileError, TypeError, ValueError) as e:
        print(f"minigrad export: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: ONNX opset {OPSET}, {args.dtype}, input x (N, ...) with a dynamic batch N, output y "
          "(the scores predict returns)")
    return 0


# ----------------------------------------------------------------------------------------------
# entry point


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser for `minigrad`."""
    parser = argparse.ArgumentParser(
        prog="minigrad",
        description="minigrad: a computational-graph autodiff micro-framework on numpy (Deep Learning from Scratch, "
        "ch. 4-7). Run `minigrad COMMAND --help` for a command's options.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"minigrad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    parser.commands = sub.choices  # type: ignore[attr-defined]  # each subcommand's parser, by name

    demo = sub.add_parser("demo", help="the apple/orange price graph, forward and backward",
                          description="The chapter's shopping example as a Graph: forward price, backward gradients.")
    demo.add_argument("--dot", action="store_true", help="also print the graph as Graphviz DOT (edges: value, red gradient)")
    demo.add_argument("--png", metavar="FILE", help="also draw the graph as the book does (values, gradients in red) "
                      "to FILE, .png or .svg (needs matplotlib: the plot extra)")
    demo.add_argument("--html", metavar="FILE", help="also write the graph as one self-contained HTML page that steps "
                      "through forward and backward (buttons or arrow keys; #step=7 in the address opens step 7)")
    demo.set_defaults(func=cmd_demo)

    train = sub.add_parser(
        "train",
        help="train a net (an MLP, or the book's CNN) on a dataset",
        description="Train a MultiLayerNet (or with --model cnn the book's SimpleConvNet), print per-epoch loss and train/test accuracy, save weights, history and "
        "a learning-curve PNG. With no arguments: the shipped 8x8 digits, done in seconds, offline.",
    )
    train.add_argument("--dataset", choices=tuple(DATASETS), default="digits", help="default: digits (ships with minigrad)")
    train.add_argument("--data-dir", metavar="DIR", help="directory holding the IDX files (mnist, fashion-mnist)")
    train.add_argument("--no-download", action="store_true",
                       help="never download: fail with a message if the files are not found locally")
    train.add_argument("--model", choices=("mlp", "cnn", "deep-cnn"), default="mlp",
                       help="mlp: a MultiLayerNet (default); cnn: the book's SimpleConvNet, conv -> ReLU -> 2x2 max pool "
                       "-> Affine -> ReLU -> Affine, on the images (N, 1, H, W), He initialised; deep-cnn: the book's "
                       "ch. 8 DeepConvNet, six 3x3 convolutions, three poolings, Affine -> ReLU -> Dropout -> Affine -> Dropout")
    train.add_argument("--hidden", type=_positive_int, nargs="+", default=None, metavar="N",
                       help="hidden layer sizes (default: 50, the book's 784-50-10 on MNIST; "
                       "cnn: one size, default 100; deep-cnn: one size, default 50)")
    train.add_argument("--filters", type=_positive_int, default=30, metavar="FN",
                       help="cnn: number of convolution filters (default: 30, as the book)")
    train.add_argument("--filter-size", type=_positive_int, default=None, metavar="K",
                       help="cnn: filter height and width (default: 5, as the book; 3 for the 8x8 digits)")
    train.add_argument("--activation", choices=tuple(ACTIVATIONS), default="relu", help="default: relu")
    train.add_argument("--batchnorm", action="store_true",
                       help="a BatchNormalization before each hidden activation (per channel after the convolution)")
    train.add_argument("--dropout", type=_ratio, default=0.0, metavar="RATIO",
                       help="a Dropout of this ratio after each hidden activation (mlp; default: 0, none)")
    train.add_argument("--weight-decay", type=_non_negative_float, default=0.0, metavar="LAMBDA",
                       help="the book's weight_decay_lambda: loss + LAMBDA/2 * sum of squared weights (mlp; default: 0)")
    train.add_argument("--optimizer", choices=tuple(OPTIMIZERS),
                       default="sgd", help="default: sgd")
    train.add_argument("--lr", type=_positive_float, default=None,
                       help="learning rate (default: 0.1 for sgd, as fit; the optimizer's own default otherwise, e.g. adam 0.001)")
    train.add_argument("--batch-size", type=_positive_int, default=100, help="default: 100")
    train.add_argument("--epochs", type=_positive_int, default=None,
                       help=f"default: {DEFAULT_EPOCHS['digits']} for digits, {DEFAULT_EPOCHS['mnist']} for mnist and fashion-mnist")
    train.add_argument("--seed", type=_seed, default=0, help="seeds the weights and the batch order (default: 0)")
    train.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="default: float64")
    train.add_argument("--out", metavar="DIR", help="output directory (default: ./runs/<dataset>-<date>-<time>)")
    train.add_argument("--resume", metavar="CHECKPOINT",
                       help="continue the run saved in CHECKPOINT (its directory's checkpoint.npz) up to --epochs in "
                       "total, with its own settings; outputs go to the same directory")
    train.set_defaults(func=cmd_train)

    check = sub.add_parser(
        "gradcheck",
        help="check a layer's backward against numerical gradients",
        description="Import a layer (a class or factory called with no arguments, or an instance), feed it seeded "
        "random inputs of the given shapes, and compare backprop with central differences. Exit 0 on pass, 1 on fail.",
    )
    check.add_argument("target", help="path/to/file.py:ClassName or package.module:ClassName")
    check.add_argument("--shapes", type=_input_spec, nargs="+", required=True, metavar="SHAPE",
                       help="one per input: sizes separated by commas (4,3), () for a scalar, "
                       "or SHAPE:int:K for integer labels in [0, K) (e.g. 4:int:3)")
    check.add_argument("--seed", type=_seed, default=0, help="seeds the random inputs (default: 0)")
    check.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="default: float64")
    check.add_argument("--eps", type=_positive_float, help="central-difference step (default: gradcheck's, by dtype)")
    check.add_argument("--atol", type=_positive_float, help="absolute tolerance (default: gradcheck's, by dtype)")
    check.add_argument("--rtol", type=_positive_float, help="relative tolerance (default: gradcheck's, by dtype)")
    check.set_defaults(func=cmd_gradcheck)

    export = sub.add_parser(
        "export",
        help="write a saved model as an ONNX file (needs the onnx extra)",
        description="Read a model saved by `minigrad train` or save_model and write what its predict computes as an "
        "ONNX file (opset 17, a dynamic batch dimension, weights as initializers, batch norm with its running "
        "statistics, dropout as the identity), for ONNX Runtime and other engines. Needs onnx (in a minigrad checkout: pip install '.[onnx]').",
    )
    export.add_argument("model", help="the .npz file save_model or `minigrad train` wrote")
    export.add_argument("out", help="the .onnx file to write (atomically)")
    export.add_argument("--input-shape", type=_shape, metavar="SHAPE",
                        help="one sample's shape, e.g. 1,28,28 (default: what the first Affine or Convolution reads)")
    export.add_argument("--dtype", choices=("float32", "float64"), default="float32", help="default: float32")
    export.set_defaults(func=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the minigrad command; returns the exit status."""
    parser = build_parser()
    command = "minigrad"
    if not (sys.argv[1:] if argv is None else argv):  # `minigrad` alone: what it can do
        parser.print_help()
        return 0
    try:
        args = parser.parse_args(argv)
        command = f"minigrad {args.command}"
        try:
            return args.func(args)
        except UsageError as e:
            parser.exit(2, f"minigrad {args.command}: error: {e}\n")
        except FileNotFoundError as e:  # includes datasets.DataNotFoundError
            print(f"minigrad {args.command}: {e}", file=sys.stderr)
            return 1
        except BrokenPipeError:  # `minigrad ... | head`: the reader has gone; say nothing more
            _silence_stdout()
            return 1
        except (UserCodeError, TrainingError, ModelFileError, IdxFormatError, OSError, ValueError, TypeError, MemoryError) as e:
            kind = "" if isinstance(e, (UserCodeError, OSError, TrainingError)) else f"{type(e).__name__}: "
            print(f"minigrad {args.command}: error: {kind}{e}", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        print(f"\n{command}: interrupted", file=sys.stderr)
        return 130
    return 0


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush of a closed pipe raises nothing."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
