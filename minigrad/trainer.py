"""Mini-batch training: fit(model, x, t) runs epochs of shuffled batches and returns a History.

Each epoch draws one permutation from the trainer's numpy Generator, uses every sample once in
batches of ``batch_size`` (the last one may be smaller), and for each batch runs forward, backward
and the optimizer's step: ``optimizer.update(model.params, model.grads)``, or for a Sequential and a
minigrad optimizer the same numbers from inside backward, each layer as soon as its gradients are
ready. Hooks around the loop are callbacks (early stopping, checkpoints, progress display, a user's
own function); the library itself never prints — ``verbose`` only chooses which display callback fit adds.
"""

from __future__ import annotations

import copy
import io
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence, TextIO

import numpy as np

from . import protocol
from .arguments import generator, integer, number
from .functions import check_targets
from .losses import MeanSquaredError, SigmoidWithLoss, SoftmaxWithLoss
from .network import Sequential, inference_mode, modal_layers, training_mode
from .optimizers import Optimizer, get_optimizer

__all__ = [
    "History",
    "Trainer",
    "fit",
    "TrainingError",
    "Callback",
    "EarlyStopping",
    "ModelCheckpoint",
    "LambdaCallback",
    "ProgressBar",
    "EpochLogger",
    "make_optimizer",
    "DEFAULT_LR",
]

DEFAULT_LR = {"sgd": 0.1}
"""Learning rates fit and `minigrad train` use when none is given: SGD at the chapter's 0.1; other optimizers keep their class defaults."""


def make_optimizer(optimizer: Optimizer | str | None = None, lr: float | None = None) -> Any:
    """An optimizer object as given; a name (default "sgd") through get_optimizer, at lr or DEFAULT_LR's rate for that name."""
    if optimizer is not None and not isinstance(optimizer, str):
        if lr is not None:
            raise TypeError("make_optimizer: lr applies to an optimizer given by name; set it on the optimizer object")
        return optimizer
    name = "sgd" if optimizer is None else optimizer.lower()
    if lr is None:
        lr = DEFAULT_LR.get(name)
    return get_optimizer(name, **({} if lr is None else {"lr": lr}))


_DIVERGING = {"over": "ignore", "invalid": "ignore", "divide": "ignore"}
"""numpy's error handling where fit steps: an overflow there surfaces as a nan/inf loss and a TrainingError, never a RuntimeWarning."""


class TrainingError(FloatingPointError):
    """The loss became nan or inf; .epoch, .batch (0-based) and .layer name where it happened."""

    def __init__(self, message: str, *, epoch: int, batch: int, layer: str) -> None:
        super().__init__(message)
        self.epoch, self.batch, self.layer = epoch, batch, layer


@dataclass
class History:
    """What fit returns: history["loss"|"accuracy"|"val_loss"|"val_accuracy"] per epoch, epoch numbers from 0.

    "loss" and "accuracy" are the mean over the epoch's batches as they were trained (weighted by
    batch size, so every sample counts once) — the running figure Keras reports, taken from the
    training forward passes at no extra cost; the weights change during the epoch, so this is not
    the loss of the end-of-epoch model. "val_loss" and "val_accuracy" are computed on
    validation_data with the end-of-epoch weights. "accuracy" is present when the loss is a
    SoftmaxWithLoss (argmax against labels or one-hot rows) or SigmoidWithLoss (logit > 0 against t > 0.5).
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch: list[int] = field(default_factory=list)

    def append(self, epoch: int, logs: Mapping[str, float]) -> None:
        """Record one epoch's metrics."""
        self.epoch.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(float(value))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (used by checkpoints)."""
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> History:
        """The History that to_dict described, or a ValueError naming the field that is not what to_dict writes."""
        if not isinstance(d, Mapping) or not isinstance(d.get("epoch"), list) or not isinstance(d.get("history"), Mapping):
            raise ValueError(f"history must be {{'epoch': [...], 'history': {{name: [...]}}}}, got {d!r:.100}")
        epoch = [integer(e, "History", f"epoch[{i}]", least=0) for i, e in enumerate(d["epoch"])]
        history = {}
        for name, values in d["history"].items():
            if not isinstance(values, list) or len(values) != len(epoch):
                raise ValueError(f"history[{name!r}] must be a list of {len(epoch)} numbers (one per epoch), got {values!r:.100}")
            history[str(name)] = [number(v, "History", f"history[{name!r}][{i}]") if v == v else math.nan for i, v in enumerate(values)]
        return cls(history=history, epoch=epoch)

    def __len__(self) -> int:
        return len(self.epoch)

    def plot(self, title: str | None = None) -> Any:
        """A matplotlib Figure: loss and val_loss, accuracy and val_accuracy per epoch (counted from 1), legends by key."""
        from .plotting import epoch_axis, figure, legend_below, suptitle

        fig = figure(figsize=(9, 4))
        ax_loss, ax_acc = fig.subplots(1, 2)
        epochs = [e + 1 for e in self.epoch]
        for ax, kind in ((ax_loss, "loss"), (ax_acc, "accuracy")):
            for key, marker, style in ((kind, "o", "-"), ("val_" + kind, "s", "--")):
                if key in self.history:
                    ax.plot(epochs, self.history[key], marker=marker, ms=4 if len(epochs) > 1 else 7, linestyle=style,
                            label=key)
                    if len(epochs) == 1:  # a one-epoch run: its figures written beside its points
                        ax.annotate(f"{self.history[key][0]:.4f}", (epochs[0], self.history[key][0]),
                                    xytext=(8, 0), textcoords="offset points", va="center", fontsize=9)
            ax.set(xlabel="epoch", title=kind)
            ax.grid(alpha=0.3)
            ax.margins(y=0.12)  # points clear of the frame
            if epochs:
                epoch_axis(ax, max(epochs), min(epochs))
            if ax.get_lines():
                legend_below(ax)
        if title:
            suptitle(fig, title)
        return fig

    def _repr_png_(self) -> bytes | None:
        """The plot, inline in Jupyter (None without matplotlib or epochs)."""
        if not self.epoch:
            return None
        try:
            buffer = io.BytesIO()
            self.plot().savefig(buffer, format="png", dpi=80)
            return buffer.getvalue()
        except ImportError:
            return None


class Callback:
    """Hooks around fit; override any. `trainer` gives .model, .optimizer, .history, .epoch, .stop_training."""

    def on_train_begin(self, trainer: Trainer) -> None:
        """Before the first epoch of a fit call; trainer.params holds epochs, batches, batch_size, samples."""

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        """Before each epoch."""

    def on_batch_end(self, trainer: Trainer, batch: int, logs: Mapping[str, float]) -> None:
        """After each optimizer step; logs: {"loss": the batch's loss, "size": its sample count, "accuracy" when the loss defines it}."""

    def on_test_begin(self, trainer: Trainer) -> None:
        """After an epoch's last step, before fit evaluates the validation data (as Keras)."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: Mapping[str, float]) -> None:
        """After each epoch (already in trainer.history); set trainer.stop_training = True to stop."""

    def on_train_end(self, trainer: Trainer) -> None:
        """After the last epoch (also after an early stop)."""


def _overrides(cb: Any, hook: str) -> bool:
    """Whether cb has its own `hook` (the Callback base's no-ops are skipped on the hot path)."""
    method = getattr(type(cb), hook, None)
    return method is not None and method is not getattr(Callback, hook)


class _Monitor:
    """Tracks the best value of a metric: mode "min", "max" or "auto" (max for accuracy, else min)."""

    def __init__(self, owner: str, monitor: str, mode: str, min_delta: float) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "max" if "acc" in monitor else "min"
        self.owner, self.monitor, self.mode, self.min_delta = owner, monitor, mode, abs(float(min_delta))
        self.best = math.inf if mode == "min" else -math.inf

    def improved(self, logs: Mapping[str, float]) -> bool:
        """Whether logs[monitor] beats the best so far by more than min_delta (and if so, record it)."""
        if self.monitor not in logs:
            raise ValueError(
                f"{self.owner}: monitor '{self.monitor}' is not among this epoch's metrics {sorted(logs)}; "
                "pass validation_data to fit for val_* metrics"
            )
        value = logs[self.monitor]
        better = value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta
        if better:
            self.best = value
        return better


def _state(model: Any) -> dict[str, np.ndarray]:
    """The model's params and buffers (running statistics), keyed "param/<key>" and "buffer/<key>": the live arrays."""
    return {**{f"param/{k}": p for k, p in model.params.items()},
            **{f"buffer/{k}": b for k, b in getattr(model, "buffers", {}).items()}}


class EarlyStopping(Callback):
    """Stop after `patience` epochs in a row in which `monitor` did not improve by more than min_delta (as Keras)."""

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ) -> None:
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be a non-negative integer, got {patience!r}")
        self.monitor, self.patience, self.min_delta, self.mode = monitor, patience, min_delta, mode
        self.restore_best_weights = restore_best_weights
        self.stopped_epoch: int | None = None
        self.best_epoch: int | None = None

    def on_train_begin(self, trainer: Trainer) -> None:
        self._tracker = _Monitor("EarlyStopping", self.monitor, self.mode, self.min_delta)
        self.wait = 0
        self.stopped_epoch = None
        self.best_weights: dict[str, np.ndarray] | None = None

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: Mapping[str, float]) -> None:
        if self._tracker.improved(logs):
            self.wait, self.best_epoch = 0, epoch
            if self.restore_best_weights:  # the running statistics belong to the weights they were measured with
                self.best_weights = {k: p.copy() for k, p in _state(trainer.model).items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            trainer.stop_training = True

    def on_train_end(self, trainer: Trainer) -> None:
        if self.stopped_epoch is not None and self.best_weights is not None:
            for key, p in _state(trainer.model).items():
                np.copyto(p, self.best_weights[key])  # in place: optimizers hold the live arrays


class ModelCheckpoint(Callback):
    """Write a resumable checkpoint (Trainer.save_checkpoint) after each epoch, or only on a new best of `monitor`.

    `path` may contain {epoch} and any metric name, e.g. "ckpt-{epoch:02d}-{val_loss:.3f}.npz".
    """

    def __init__(self, path: str | os.PathLike[str], monitor: str = "val_loss", save_best_only: bool = True, mode: str = "auto") -> None:
        self.path, self.monitor, self.save_best_only, self.mode = os.fspath(path), monitor, save_best_only, mode
        self.saved: list[str] = []

    def on_train_begin(self, trainer: Trainer) -> None:
        self._tracker = _Monitor("ModelCheckpoint", self.monitor, self.mode, 0.0)
        metrics = getattr(trainer, "metrics", None)
        if metrics is not None:  # the template, tried before the first epoch trains
            try:
                self.path.format(epoch=0, **{m: 0.0 for m in metrics})
            except (KeyError, IndexError, ValueError, AttributeError) as e:
                raise ValueError(
                    f"ModelCheckpoint: the path template {self.path!r} does not format ({type(e).__name__}: {e}); "
                    f"its fields may be epoch and this run's metrics {metrics}"
                ) from None

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: Mapping[str, float]) -> None:
        if self.save_best_only and not self._tracker.improved(logs):
            return
        path = self.path.format(epoch=epoch, **logs)
        trainer.save_checkpoint(path)
        self.saved.append(path)


class LambdaCallback(Callback):
    """A user's own functions: on_epoch_end(epoch, logs), on_batch_end(batch, logs), on_train_begin(), on_train_end()."""

    def __init__(
        self,
        on_epoch_end: Callable[[int, Mapping[str, float]], Any] | None = None,
        on_batch_end: Callable[[int, Mapping[str, float]], Any] | None = None,
        on_train_begin: Callable[[], Any] | None = None,
        on_train_end: Callable[[], Any] | None = None,
    ) -> None:
        self._fns = {"on_epoch_end": on_epoch_end, "on_batch_end": on_batch_end, "on_train_begin": on_train_begin, "on_train_end": on_train_end}
        for hook, fn in self._fns.items():
            if fn is not None and not callable(fn):
                raise TypeError(f"LambdaCallback: {hook} must be callable, got {type(fn).__name__}")
            if fn is None:  # so the trainer skips it on the hot path
                setattr(self, hook, None)

    def on_train_begin(self, trainer: Trainer) -> None:  # type: ignore[override]
        self._fns["on_train_begin"]()  # type: ignore[misc]

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: Mapping[str, float]) -> None:  # type: ignore[override]
        self._fns["on_epoch_end"](epoch, logs)  # type: ignore[misc]

    def on_batch_end(self, trainer: Trainer, batch: int, logs: Mapping[str, float]) -> None:  # type: ignore[override]
        self._fns["on_batch_end"](batch, logs)  # type: ignore[misc]

    def on_train_end(self, trainer: Trainer) -> None:  # type: ignore[override]
        self._fns["on_train_end"]()  # type: ignore[misc]


SHORT_NAMES = {"accuracy": "acc"}
"""How the epoch line abbreviates a metric, to keep it within 80 columns."""


def _figures(logs: Mapping[str, float]) -> str:
    """'loss 0.1234 acc 0.9612': each metric with 4 decimals (a huge value in exponent form, as wide)."""
    return " ".join(f"{SHORT_NAMES.get(k, k)} " + (f"{v:.4f}" if abs(v) < 1e4 else f"{v:.3g}") for k, v in logs.items())


def epoch_line(trainer: Trainer, epoch: int, logs: Mapping[str, float], seconds: float) -> str:
    """The line an epoch ends with, under 80 columns: "epoch 3/10  train loss 0.1234 acc 0.9612  val loss ... 0.4 s".

    train: the means over the epoch's training batches, as they were trained; val: the validation data, after the epoch.
    """
    total = trainer.params["epochs"]
    val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
    parts = [f"epoch {epoch + 1}/{total}", "train " + _figures({k: v for k, v in logs.items() if not k.startswith("val_")})]
    return "  ".join([*parts, *(["val " + _figures(val)] if val else []), f"{seconds:.1f} s"])


class ProgressBar(Callback):
    """During an epoch a tqdm bar with the running loss and accuracy; at its end the bar becomes the epoch's line (needs the `progress` extra)."""

    def __init__(self, file: TextIO | None = None) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError as e:
            raise ImportError("ProgressBar needs tqdm: pip install tqdm (in a minigrad checkout: pip install '.[progress]')") from e
        self._tqdm, self.file, self._bar = tqdm, file, None

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        self._start, self._loss, self._correct, self._seen = time.perf_counter(), 0.0, 0.0, 0
        # nrows: a terminal that reports 0 rows (a bare pty) would make tqdm hide the bar
        self._bar = self._tqdm(total=trainer.params["batches"], desc=f"epoch {epoch + 1}/{trainer.params['epochs']}",
                               unit="batch", file=self.file, leave=False, nrows=shutil.get_terminal_size().lines,
                               bar_format="{desc}: {bar} {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]")

    def on_batch_end(self, trainer: Trainer, batch: int, logs: Mapping[str, float]) -> None:
        size = logs["size"]
        self._loss += logs["loss"] * size
        self._seen += size
        running = f"train loss {self._loss / self._seen:.4f}"
        if "accuracy" in logs:  # weighted by samples, as the epoch's figure (binary accuracy: near enough while running)
            self._correct += logs["accuracy"] * size
            running += f" acc {self._correct / self._seen:.4f}"
        self._bar.postfix = running  # type: ignore[union-attr]  # drawn at tqdm's next refresh
        self._bar.update(1)  # type: ignore[union-attr]

    def on_test_begin(self, trainer: Trainer) -> None:
        self._bar.set_postfix_str("evaluating ...")  # type: ignore[union-attr]  # refreshes now

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: Mapping[str, float]) -> None:
        self._bar.close()  # type: ignore[union-attr]  # leave=False: the bar's line is cleared ...
        self._bar = None
        file = self.file if self.file is not None else sys.stderr
        file.write(epoch_line(trainer, epoch, logs, time.perf_counter() - self._start) + "\n")  # ... and becomes this
        file.flush()

    def on_train_end(self, trainer: Trainer) -> None:
        if self._bar is not None:
            self._bar.close()  # after an error or Ctrl-C mid-epoch, leave the terminal tidy
            self._bar = None


class EpochLogger(Callback):
    """One line per epoch, "epoch 3/10  train loss 0.1234 acc 0.9612  val loss ...  0.4 s", to `file` (default stderr)."""

    def __init__(self, file: TextIO | None = None) -> None:
        self.file = file

    def on_epoch_begin(self, trainer: Trainer, epoch: int) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: Mapping[str, float]) -> None:
        file = self.file if self.file is not None else sys.stderr
        file.write(epoch_line(trainer, epoch, logs, time.perf_counter() - self._start) + "\n")
        file.flush()


def _display(verbose: int) -> list[Callback]:
    """The display callback for a verbosity: 0 none, 1 a progress bar (or epoch lines without tqdm), 2 epoch lines."""
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"fit: verbose must be 0, 1 or 2, got {verbose!r}")
    if verbose == 1:
        try:
            return [ProgressBar()]
        except ImportError:
            return [EpochLogger()]
    return [EpochLogger()] if verbose == 2 else []


def _positive_int(where: str, name: str, value: Any, minimum: int = 1) -> int:
    return integer(value, where, name, least=minimum)


def _check_data(where: str, x: Any, t: Any, name: str = "x, t") -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(x, np.ndarray) or not isinstance(t, np.ndarray):
        raise TypeError(f"{where}: {name} must be numpy arrays, got {type(x).__name__} and {type(t).__name__}")
    if x.ndim == 0 or t.ndim == 0 or len(x) != len(t):
        raise ValueError(f"{where}: {name} must have the same number of samples, got shapes {x.shape} and {t.shape}")
    if len(x) == 0:
        raise ValueError(f"{where}: {name} hold no samples")
    return x, t


_TARGET_KIND = {SoftmaxWithLoss: "class", SigmoidWithLoss: "binary", MeanSquaredError: "value"}
"""For each of minigrad's losses, the kind of targets check_targets holds it to."""


def _check_fits_model(model: Any, x: np.ndarray, t: np.ndarray, where: str) -> None:
    """Before any training: x has the width the model takes, and every target suits its loss (checked by check_targets).

    One sample goes through predict (inference mode: no state changes); the targets are checked
    against the score shape it gives, all N at once.
    """
    if not isinstance(model, Sequential):
        return
    try:
        y = np.asarray(model.predict(x[:1]))
    except (TypeError, ValueError) as e:
        raise type(e)(f"{where}: x of shape {x.shape} does not fit the model: {e}") from e
    kind = _TARGET_KIND.get(type(model.last_layer))
    if kind is not None and y.ndim:
        check_targets(np.broadcast_to(y, (len(x), *y.shape[1:])), t, where, kind)


def _check_last_batch(model: Any, x: np.ndarray, batch_size: int, where: str) -> None:
    """Before the first step: a model with layers that train differently (batch norm) can train on the epoch's last, smaller batch.

    A copy of the model runs one training forward on that many samples, so nothing of the model's
    state (running statistics, random generators) changes.
    """
    n, last = len(x), len(x) % batch_size
    if not last or n < batch_size or not isinstance(model, Sequential):
        return
    if all(protocol.children(layer) for layer in modal_layers(model)):  # only containers: every batch trains alike
        return
    try:
        probe = copy.deepcopy(model)
    except Exception:  # a user's layer that cannot be copied: the first epoch will tell
        return
    with training_mode(probe):
        try:
            probe.forward(x[:last])
        except ValueError as e:
            raise ValueError(
                f"{where}: batch_size={batch_size} leaves a last batch of {last} of the {n} samples, which the model cannot "
                f"train on ({e}); choose a batch_size that divides {n} or leaves a larger last batch"
            ) from None


class _Scorer:
    """Accuracy from the scores y that the training forward passes produce (no extra forward pass).

    For softmax, each batch's predicted classes go into a preallocated array (one argmax per batch)
    and are compared with the labels once per epoch; for sigmoid, correct outputs are counted per batch.
    """

    def __init__(self, loss: Any, t: np.ndarray) -> None:
        self.kind = "softmax" if isinstance(loss, SoftmaxWithLoss) else "sigmoid" if isinstance(loss, SigmoidWithLoss) else None
        # one-hot rows (of any dtype; checked by check_targets before training) become labels once per fit call
        self.labels = t.argmax(axis=-1) if self.kind == "softmax" and t.ndim > 1 else t
        # softmax: one decision per sample; sigmoid: one per output element (binary accuracy)
        self.total = len(t) if self.kind == "softmax" else t.size
        self.pred = np.empty(len(t), dtype=np.intp) if self.kind == "softmax" else None
        self.count = 0

    def record(self, y: np.ndarray, start: int, idx: Any) -> None:
        """Note batch y's predictions: the samples idx, at positions start.. of the epoch's order."""
        if self.pred is not None:
            np.argmax(y, axis=-1, out=self.pred[start : start + len(y)])
        else:
            self.count += int(np.count_nonzero((y > 0) == (self.labels[idx] > 0.5)))

    def batch_accuracy(self, y: np.ndarray, start: int, idx: Any) -> float:
        """The fraction correct in the batch just recorded (for displays: only computed when a callback listens)."""
        if self.pred is not None:
            return int(np.count_nonzero(self.pred[start : start + len(y)] == self.labels[idx])) / len(y)
        return int(np.count_nonzero((y > 0) == (self.labels[idx] > 0.5))) / y.size

    def accuracy(self, order: np.ndarray | None) -> float:
        """The fraction correct over the epoch (order: the permutation used, None for in order); resets."""
        if self.pred is not None:
            labels = self.labels if order is None else self.labels[order]
            self.count = int(np.count_nonzero(self.pred == labels))
        correct, self.count = self.count, 0
        return correct / self.total


class Trainer:
    """Training state that outlives one fit call: model, optimizer, shuffling rng, epochs done, History."""

    def __init__(
        self,
        model: Any,
        optimizer: Optimizer | str | None = None,
        *,
        rng: np.random.Generator | int | None = None,
        callbacks: Iterable[Any] = (),
        verbose: int = 1,
    ) -> None:
        self.book = protocol.is_net(model)
        """Whether model is a net in the book's sense (params, loss, gradient), trained through its gradient."""
        if not self.book:
            missing = [m for m in ("params", "grads", "loss", "backward") if not hasattr(model, m)]
            if missing:
                raise TypeError(
                    f"Trainer: model must be a Sequential with a loss, or a net in the book's style with params, "
                    f"loss(x, t) and gradient(x, t); {type(model).__name__} lacks {', '.join(missing)}"
                )
        if isinstance(model, Sequential) and model.last_layer is None:
            raise ValueError("Trainer: the Sequential has no loss; build it with Sequential(..., loss=SoftmaxWithLoss())")
        if isinstance(optimizer, str) or optimizer is None:
            try:
                optimizer = make_optimizer(optimizer)
            except ValueError as e:
                raise ValueError(f"Trainer: {e}") from None
        elif not callable(getattr(optimizer, "update", None)):
            raise TypeError(f"Trainer: optimizer must have update(params, grads), got {type(optimizer).__name__}")
        _display(verbose)  # validate now, not at the first fit
        self.model = model
        self.optimizer = optimizer
        self.rng = generator(rng, "Trainer")
        self.callbacks = list(callbacks)
        self.verbose = verbose
        self.history = History()
        self.epoch = 0
        """Epochs completed so far (the next epoch's number)."""
        self.stop_training = False
        self.params: dict[str, int] = {}

    def fit(
        self,
        x: np.ndarray,
        t: np.ndarray,
        *,
        epochs: int = 10,
        batch_size: int = 100,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        shuffle: bool = True,
    ) -> History:
        """Train `epochs` more epochs (numbered on from self.epoch); returns self.history, which accumulates."""
        x, t = _check_data("fit", x, t)
        epochs = _positive_int("fit", "epochs", epochs, minimum=0)
        batch_size = _positive_int("fit", "batch_size", batch_size)
        _check_fits_model(self.model, x, t, "fit")
        _check_last_batch(self.model, x, batch_size, "fit")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise TypeError("fit: validation_data must be a tuple (x_val, t_val)")
            _check_data("fit", *validation_data, name="validation_data")
            _check_fits_model(self.model, *validation_data, "fit: validation_data")
        n = len(x)
        batches = -(-n // batch_size)
        scored = (isinstance(self.model, Sequential) and isinstance(self.model.last_layer, (SoftmaxWithLoss, SigmoidWithLoss))
                  or self.book and callable(getattr(self.model, "accuracy", None)))
        metrics = ["loss", "accuracy"] if scored else ["loss"]
        if validation_data is not None:
            metrics += [f"val_{m}" for m in metrics]
        self.params = {"epochs": self.epoch + epochs, "batches": batches, "batch_size": batch_size, "samples": n}
        self.metrics = metrics
        """The names of the metrics each epoch's logs will hold (callbacks may check theirs in on_train_begin)."""
        callbacks = [*self.callbacks, *_display(self.verbose)]
        hooks = {h: [getattr(cb, h) for cb in callbacks if _overrides(cb, h) and getattr(cb, h) is not None]
                 for h in ("on_train_begin", "on_epoch_begin", "on_batch_end", "on_test_begin", "on_epoch_end", "on_train_end")}
        self.stop_training = False
        loss_layer = self.model.last_layer if isinstance(self.model, Sequential) else None
        scorer = _Scorer(loss_layer, t) if loss_layer is not None else None
        if scorer is not None and scorer.kind is None:
            scorer = None
        for hook in hooks["on_train_begin"]:
            hook(self)
        try:
            with training_mode(self.model):  # each layer's own mode comes back afterwards
                self._fit_epochs(x, t, epochs, batch_size, validation_data, shuffle, scorer, hooks)
        finally:
            for hook in hooks["on_train_end"]:
                hook(self)
        return self.history

    def _fit_epochs(
        self,
        x: np.ndarray,
        t: np.ndarray,
        epochs: int,
        batch_size: int,
        validation_data: tuple[np.ndarray, np.ndarray] | None,
        shuffle: bool,
        scorer: _Scorer | None,
        hooks: dict[str, list[Callable[..., Any]]],
    ) -> None:
        """The epochs of fit, in training mode; validation (evaluate) runs in inference mode."""
        for _ in range(epochs):
            epoch = self.epoch
            for hook in hooks["on_epoch_begin"]:
                hook(self, epoch)
            logs = self._train_epoch(x, t, batch_size, shuffle, scorer, hooks["on_batch_end"])
            self._check_params_finite()
            if validation_data is not None:
                for hook in hooks["on_test_begin"]:
                    hook(self)
                logs.update({f"val_{k}": v for k, v in self.evaluate(*validation_data, batch_size=batch_size).items()})
            self.history.append(epoch, logs)
            self.epoch += 1
            for hook in hooks["on_epoch_end"]:
                hook(self, epoch, logs)
            if self.stop_training:
                break

    def _train_epoch(
        self,
        x: np.ndarray,
        t: np.ndarray,
        batch_size: int,
        shuffle: bool,
        scorer: _Scorer | None,
        on_batch_end: list[Callable[..., Any]],
    ) -> dict[str, float]:
        """One pass over (x, t), in a fresh random order when shuffling, stepping the optimizer per batch; the epoch's logs."""
        model, optimizer, n = self.model, self.optimizer, len(x)
        params = model.params
        sequential = isinstance(model, Sequential)
        # a Sequential with a minigrad optimizer steps inside backward, each layer as soon as its grads are filled
        eager = sequential and isinstance(optimizer, Optimizer)
        order = self.rng.permutation(n) if shuffle else None
        loss_sum = 0.0
        for b, start in enumerate(range(0, n, batch_size)):
            if order is None:
                idx: Any = slice(start, start + batch_size)
                xb, tb = x[idx], t[idx]  # views
            else:  # fancy indexing measured faster here than np.take into reused buffers
                idx = order[start : start + batch_size]
                xb, tb = x[idx], t[idx]
            with np.errstate(**_DIVERGING):  # overflow is how a run diverges: it ends in TrainingError, not in a warning
                if self.book:
                    loss = self._book_step(xb, tb, b)
                else:
                    loss = model.loss(xb, tb)
                    if not math.isfinite(loss):
                        raise self._nonfinite(loss, b, xb)
                    if eager:
                        model.backward(need_dx=False, optimizer=optimizer)  # no dx for the data
                    else:
                        if sequential:
                            model.backward(need_dx=False)
                        else:
                            model.backward()
                        optimizer.update(params, model.grads)
            if scorer is not None:
                scorer.record(model.scores, start, idx)
            size = len(xb)
            loss_sum += loss * size
            if on_batch_end:
                batch_logs = {"loss": loss, "size": size}
                if scorer is not None:
                    batch_logs["accuracy"] = scorer.batch_accuracy(model.scores, start, idx)
                for hook in on_batch_end:
                    hook(self, b, batch_logs)
        logs = {"loss": loss_sum / n}
        if scorer is not None:
            logs["accuracy"] = scorer.accuracy(order)
        elif self.book and "accuracy" in self.metrics:  # as the book's train loop: the whole training set, after the epoch
            logs["accuracy"] = float(model.accuracy(x, t))
        return logs

    def _book_step(self, xb: np.ndarray, tb: np.ndarray, batch: int) -> float:
        """One step of a book net: grads = net.gradient(x, t), then the optimizer's update of net.params; the batch's loss.

        The loss is the one gradient computed on its way (its own call of net.loss, seen through a
        wrapper on the instance); a gradient that never calls net.loss has it computed before the update.
        """
        model, seen = self.model, []
        own = vars(model).get("loss")
        loss_of = model.loss

        def loss(*args: Any, **kwargs: Any) -> Any:
            value = loss_of(*args, **kwargs)
            seen.append(value)
            return value

        model.loss = loss
        try:
            grads = model.gradient(xb, tb)
        finally:
            if own is None:
                del model.loss
            else:
                model.loss = own
        value = float(seen[-1]) if seen else float(model.loss(xb, tb))
        if not math.isfinite(value):
            raise self._nonfinite(value, batch, xb)
        self.optimizer.update(model.params, grads)
        return value

    def evaluate(self, x: np.ndarray, t: np.ndarray, *, batch_size: int = 1000) -> dict[str, float]:
        """{"loss": mean loss, "accuracy": fraction correct (when the loss defines it)} over (x, t), in batches, in inference mode."""
        x, t = _check_data("evaluate", x, t)
        batch_size = _positive_int("evaluate", "batch_size", batch_size)
        with inference_mode(self.model):  # each layer's own mode comes back afterwards
            return self._evaluate(x, t, batch_size)

    def _evaluate(self, x: np.ndarray, t: np.ndarray, batch_size: int) -> dict[str, float]:
        model, n = self.model, len(x)
        if not isinstance(model, Sequential):
            loss = sum(model.loss(x[s : s + batch_size], t[s : s + batch_size]) * len(x[s : s + batch_size]) for s in range(0, n, batch_size))
            result = {"loss": loss / n}
            if hasattr(model, "accuracy"):
                result["accuracy"] = float(model.accuracy(x, t))
            return result
        scorer = _Scorer(model.last_layer, t)
        loss_sum = 0.0
        for start in range(0, n, batch_size):
            idx = slice(start, start + batch_size)
            tb = t[idx]
            loss_sum += model.loss(x[idx], tb) * len(tb)
            if scorer.kind is not None:
                scorer.record(model.scores, start, idx)
        result = {"loss": loss_sum / n}
        if scorer.kind is not None:
            result["accuracy"] = scorer.accuracy(None)
        return result

    def _check_params_finite(self) -> None:
        """A TrainingError if the epoch's last steps left a parameter nan or inf (no later loss would show it)."""
        bad = [k for k, p in self.model.params.items() if not np.isfinite(p).all()]
        if bad:
            batch = self.params["batches"] - 1
            msg = (f"fit: parameters {', '.join(bad)} became nan or inf in the last steps of epoch {self.epoch} "
                   "(a smaller learning rate usually helps)")
            raise TrainingError(msg, epoch=self.epoch, batch=batch, layer="the optimizer's update")

    def _nonfinite(self, loss: float, batch: int, xb: np.ndarray) -> TrainingError:
        """The error for a nan/inf loss in this epoch's batch xb, naming the first layer whose output is not finite."""
        model, epoch = self.model, self.epoch
        bad_params = [k for k, p in model.params.items() if not np.all(np.isfinite(p))]
        if xb.dtype.kind == "f" and not np.all(np.isfinite(xb)):
            layer = "the input batch x"
        elif not isinstance(model, Sequential):
            layer = f"unknown (a {type(model).__name__} is not a Sequential, so its layers cannot be checked one by one)"
        else:
            layer = f"the loss {type(model.last_layer).__name__}"
            out: Any = xb
            for i, lyr in enumerate(model.layers):
                out = protocol.call(lyr, out, training=True)
                if not np.all(np.isfinite(out)):
                    layer = f"layer {i} ({type(lyr).__name__})"
                    break
        msg = f"fit: the loss became {loss} at epoch {epoch}, batch {batch} (counting from 0); the first output that is not finite comes from {layer}"
        if bad_params:
            msg += f"; parameters already not finite: {', '.join(bad_params)}"
        msg += " (a smaller learning rate usually helps)"
        return TrainingError(msg, epoch=epoch, batch=batch, layer=layer)

    def save_checkpoint(self, path: str | os.PathLike[str], extra: Mapping[str, Any] | None = None) -> None:
        """Write model, optimizer state, rng state, epochs done and History to one .npz, atomically."""
        from .serialization import save_model

        state = {"trainer": {"epoch": self.epoch, "history": self.history.to_dict()}}
        save_model(path, self.model, optimizer=self.optimizer, rng=self.rng, extra={**(extra or {}), **state})

    @classmethod
    def load_checkpoint(cls, path: str | os.PathLike[str], *, model: Any = None, callbacks: Iterable[Any] = (),
                        verbose: int = 1) -> Trainer:
        """A Trainer that continues exactly where save_checkpoint left off (same next shuffle, same optimizer step).

        For a net in the book's style, which minigrad cannot rebuild, pass the net as `model`: the saved weights go into it.
        """
        from .serialization import ModelFileError, load_checkpoint

        ck = load_checkpoint(path, model)
        state = ck.extra.get("trainer")
        where = f"Trainer.load_checkpoint: {os.fspath(path)}"
        if ck.optimizer is None or ck.rng is None or state is None:
            raise ModelFileError(f"{where} holds a model but no trainer state; write it with Trainer.save_checkpoint")
        trainer = cls(ck.model, ck.optimizer, rng=ck.rng, callbacks=callbacks, verbose=verbose)
        try:
            if not isinstance(state, dict):
                raise ValueError(f"must be a JSON object, got {state!r:.100}")
            trainer.epoch = integer(state.get("epoch"), "trainer", "epoch", least=0)
            trainer.history = History.from_dict(state.get("history"))
            late = [e for e in trainer.history.epoch if e >= trainer.epoch]
            if late:
                raise ValueError(f"history has epoch {late[0]}, but epoch says {trainer.epoch} epochs were done (numbered from 0)")
        except (TypeError, ValueError) as e:
            raise ModelFileError(f"{where} has a malformed trainer section: {e}") from None
        return trainer


def fit(
    model: Any,
    x: np.ndarray,
    t: np.ndarray,
    *,
    optimizer: Optimizer | str | None = None,
    epochs: int = 10,
    batch_size: int = 100,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    shuffle: bool = True,
    rng: np.random.Generator | int | None = None,
    callbacks: Sequence[Any] = (),
    verbose: int = 1,
) -> History:
    """Train model on (x, t) for `epochs` epochs of mini-batches shuffled by rng (a seed or Generator); returns a History.

    The optimizer: an object, or a name for get_optimizer ("adam", ...); by default SGD(lr=0.1), as
    `minigrad train` (DEFAULT_LR). verbose: 0 silent, 1 a tqdm progress bar (one line per
    epoch on stderr without tqdm), 2 one line per epoch on stderr. For training that continues
    across calls or resumes from a checkpoint, use Trainer.
    """
    trainer = Trainer(model, optimizer, rng=generator(rng, "fit"), callbacks=callbacks, verbose=verbose)
    return trainer.fit(x, t, epochs=epochs, batch_size=batch_size, validation_data=validation_data, shuffle=shuffle)
