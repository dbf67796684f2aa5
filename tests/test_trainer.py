"""fit / Trainer: true epochs, History, callbacks, display, nan detection, and learning on real data."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

from minigrad import Affine, Layer, MultiLayerNet, ReLU, Sequential, SoftmaxWithLoss, TwoLayerNet
from minigrad.datasets import load_digits
from minigrad.gradcheck import gradcheck
from minigrad.optimizers import SGD, Adam, Momentum
from minigrad.serialization import load_model
from minigrad.trainer import (
    EarlyStopping,
    EpochLogger,
    History,
    LambdaCallback,
    ModelCheckpoint,
    Trainer,
    TrainingError,
    fit,
)


def blobs(n=120, d=4, classes=3, seed=0):
    """A small separable classification set: x (n, d) float64, integer labels t (n,)."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, d)) * 3
    t = rng.integers(0, classes, n)
    return centers[t] + rng.standard_normal((n, d)), t


def small_net(seed=0, d=4, classes=3, dtype=np.float64):
    return MultiLayerNet(d, [8], classes, rng=seed, dtype=dtype)


class Recorder(Layer):
    """Identity layer that remembers the first feature of every sample it sees (the sample's id)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[np.ndarray] = []

    def forward(self, x):
        self.seen.append(x[:, 0].copy())
        return x.copy()

    def backward(self, dout):
        return dout.copy()


def test_digits_multilayernet_reaches_over_90_percent_test_accuracy_in_seconds():
    (x_train, t_train), (x_test, t_test) = load_digits()
    net = MultiLayerNet(64, [64, 64], 10, rng=0, dtype=x_train.dtype)
    start = time.perf_counter()
    history = fit(net, x_train, t_train, optimizer=Adam(lr=0.01), epochs=15, batch_size=32,
                  validation_data=(x_test, t_test), rng=0, verbose=0)
    elapsed = time.perf_counter() - start
    assert net.accuracy(x_test, t_test) > 0.9
    assert history.history["val_accuracy"][-1] > 0.9
    assert history.history["loss"][-1] < history.history["loss"][0] / 5
    assert net.params["W1"].dtype == np.float32  # float32 data, float32 net, end to end
    assert elapsed < 10, f"training took {elapsed:.1f} s"


def test_each_epoch_uses_every_sample_once_in_a_new_order_with_a_smaller_last_batch():
    n = 103
    x = np.column_stack([np.arange(n, dtype=float), np.zeros(n)])
    t = np.arange(n) % 2
    recorder = Recorder()
    model = Sequential(recorder, Affine.from_sizes(2, 2, rng=0), loss=SoftmaxWithLoss())
    sizes = []
    fit(model, x, t, epochs=3, batch_size=25, rng=0, verbose=0,
        callbacks=[LambdaCallback(on_batch_end=lambda b, logs: sizes.append(logs["size"]))])
    assert sizes == [25, 25, 25, 25, 3] * 3
    assert np.array_equal(recorder.seen[0], x[:1, 0])  # before training, fit checks that one sample fits the model
    epochs = [np.concatenate(recorder.seen[1 + i * 5 : 1 + (i + 1) * 5]) for i in range(3)]
    for order in epochs:
        assert sorted(order.astype(int).tolist()) == list(range(n))
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[0], np.arange(n))


def test_shuffle_false_walks_the_data_in_order():
    n = 10
    x = np.column_stack([np.arange(n, dtype=float), np.zeros(n)])
    recorder = Recorder()
    model = Sequential(recorder, Affine.from_sizes(2, 2, rng=0), loss=SoftmaxWithLoss())
    fit(model, x, np.zeros(n, dtype=int), epochs=1, batch_size=4, shuffle=False, verbose=0)
    assert np.array_equal(np.concatenate(recorder.seen[1:]), np.arange(n))  # seen[0]: fit's check of one sample


def test_the_same_seed_gives_the_same_weights_and_history_bit_for_bit():
    x, t = blobs()
    runs = []
    for _ in range(2):
        net = small_net(seed=3)
        h = fit(net, x, t, optimizer=Momentum(lr=0.05), epochs=3, batch_size=16, rng=7, verbose=0)
        runs.append((net, h))
    (a, ha), (b, hb) = runs
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert ha == hb
    other = small_net(seed=3)
    fit(other, x, t, optimizer=Momentum(lr=0.05), epochs=3, batch_size=16, rng=8, verbose=0)
    assert not np.array_equal(other.params["W1"], a.params["W1"])


def train_by_hand(net, x, t, optimizer, epochs=2, batch_size=16, seed=5):
    """The chapter's loop over fit's batches: a seeded permutation per epoch, then update(params, gradient)."""
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            optimizer.update(net.params, net.gradient(x[idx], t[idx]))


def test_fit_is_exactly_the_hand_written_loop_of_the_same_pieces():
    x, t = blobs(n=50)
    net, by_hand = small_net(seed=1), small_net(seed=1)
    fit(net, x, t, optimizer=Adam(lr=0.01), epochs=2, batch_size=16, rng=5, verbose=0)
    train_by_hand(by_hand, x, t, Adam(lr=0.01))
    assert all(np.array_equal(net.params[k], by_hand.params[k]) for k in net.params)


class TemperatureLoss(SoftmaxWithLoss):
    """Softmax cross entropy of x / T with a learnable temperature T: a loss with a parameter of its own."""

    def __init__(self):
        super().__init__()
        self.params, self.grads = {"T": np.array([2.0])}, {"T": np.zeros(1)}

    def forward(self, x, t):
        self.x = x
        return super().forward(x / self.params["T"], t)

    def backward(self, dout=1.0):
        dz, T = super().backward(dout), self.params["T"]
        self.grads["T"] = np.array([-(dz * self.x).sum() / T[0] ** 2])
        return dz / T


def test_fit_trains_a_loss_with_parameters_of_its_own_exactly_like_the_hand_written_loop():
    x, t = blobs(n=50)
    assert gradcheck(TemperatureLoss(), x[:5], t[:5])
    net, by_hand = (Sequential(*small_net(seed=1).layers, loss=TemperatureLoss()) for _ in range(2))
    fit(net, x, t, optimizer=Momentum(lr=0.05), epochs=2, batch_size=16, rng=5, verbose=0)
    train_by_hand(by_hand, x, t, Momentum(lr=0.05))
    assert net.params["loss.T"][0] != 2.0
    assert all(np.array_equal(net.params[k], by_hand.params[k]) for k in net.params)


def test_any_object_with_update_trains_like_a_minigrad_optimizer_stepping_inside_backward():
    class PlainSGD:  # no begin_step/apply: fit calls update(params, grads) after backward
        def update(self, params, grads):
            for key, p in params.items():
                p -= 0.1 * grads[key]

    x, t = blobs(n=50)
    plain, eager = small_net(seed=2), small_net(seed=2)
    fit(plain, x, t, optimizer=PlainSGD(), epochs=2, batch_size=16, rng=5, verbose=0)
    fit(eager, x, t, optimizer=SGD(lr=0.1), epochs=2, batch_size=16, rng=5, verbose=0)
    assert all(np.array_equal(plain.params[k], eager.params[k]) for k in plain.params)


def test_history_reports_the_batch_weighted_mean_and_validation_on_end_of_epoch_weights():
    x, t = blobs(n=90)
    xv, tv = blobs(n=40, seed=1)
    net = small_net()
    # With lr = 0 the weights never change, so the running means equal the whole-set figures.
    h = fit(net, x, t, optimizer=SGD(lr=0.0), epochs=2, batch_size=25, validation_data=(xv, tv), rng=0, verbose=0)
    assert isinstance(h, History) and h.epoch == [0, 1]
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    np.testing.assert_allclose(h.history["loss"], [net.loss(x, t)] * 2, rtol=1e-12)
    assert h.history["accuracy"] == [net.accuracy(x, t)] * 2
    np.testing.assert_allclose(h.history["val_loss"], [net.loss(xv, tv)] * 2, rtol=1e-12)
    assert h.history["val_accuracy"] == [net.accuracy(xv, tv)] * 2


def test_epoch_loss_is_the_mean_of_the_batch_losses_weighted_by_batch_size():
    x, t = blobs(n=70)
    batch = []
    h = fit(small_net(), x, t, optimizer=SGD(lr=0.1), epochs=1, batch_size=32, rng=0, verbose=0,
            callbacks=[LambdaCallback(on_batch_end=lambda b, logs: batch.append((logs["loss"], logs["size"])))])
    assert [s for _, s in batch] == [32, 32, 6]
    np.testing.assert_allclose(h.history["loss"][0], sum(l * s for l, s in batch) / 70, rtol=1e-12)


def test_one_hot_targets_give_the_same_training_as_labels():
    x, t = blobs(n=60)
    a, b = small_net(seed=2), small_net(seed=2)
    ha = fit(a, x, t, epochs=2, batch_size=20, rng=1, verbose=0)
    hb = fit(b, x, np.eye(3)[t], epochs=2, batch_size=20, rng=1, verbose=0)
    assert ha.history["accuracy"] == hb.history["accuracy"]
    np.testing.assert_allclose(a.params["W1"], b.params["W1"], rtol=1e-12)


def test_a_trainer_numbers_epochs_on_and_accumulates_history():
    x, t = blobs()
    trainer = Trainer(small_net(), SGD(lr=0.1), rng=0, verbose=0)
    trainer.fit(x, t, epochs=2)
    history = trainer.fit(x, t, epochs=3)
    assert history.epoch == [0, 1, 2, 3, 4] and trainer.epoch == 5
    assert len(history.history["loss"]) == 5
    assert set(trainer.evaluate(x, t)) == {"loss", "accuracy"}


class Poison(Layer):
    """Identity, except that samples whose first feature is 999 come out as nan."""

    def forward(self, x):
        self.bad = x[:, :1] == 999
        return np.where(self.bad, np.nan, x)

    def backward(self, dout):
        return np.where(self.bad, 0.0, dout)


def test_a_nan_loss_stops_training_naming_epoch_batch_and_first_non_finite_layer():
    x, t = blobs(n=40)
    x[25, 0] = 999.0  # in batch 2 (samples 20..29) when batches of 10 are taken in order
    model = Sequential(ReLU(), Poison(), Affine.from_sizes(4, 3, rng=0), loss=SoftmaxWithLoss())
    with pytest.raises(TrainingError, match=r"epoch 0, batch 2 .*layer 1 \(Poison\)") as info:
        fit(model, x, t, epochs=2, batch_size=10, shuffle=False, verbose=0)
    assert (info.value.epoch, info.value.batch) == (0, 2)
    assert isinstance(info.value, FloatingPointError)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_a_diverging_learning_rate_is_caught_at_the_first_overflowing_layer():
    x, t = blobs(n=200)
    net = small_net()
    net.params["W2"][:] = np.inf  # as if a step had overflowed: the output layer is now infinite
    with pytest.raises(TrainingError, match=r"epoch 0, batch 0 .*layer 2 \(Affine\).*not finite: W2") as info:
        fit(net, x, t, epochs=1, batch_size=50, verbose=0)
    assert info.value.layer == "layer 2 (Affine)"


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    x, t = blobs(n=150)
    wrong = (t + 1) % 3  # validation labels that get worse as training gets better
    snapshots = {}
    keep = LambdaCallback(on_epoch_end=lambda e, logs: snapshots.__setitem__(e, net.params["W1"].copy()))
    net = small_net()
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    h = fit(net, x, t, optimizer=Adam(lr=0.05), epochs=20, batch_size=15, validation_data=(x, wrong),
            rng=0, verbose=0, callbacks=[keep, stop])
    best = int(np.argmin(h.history["val_loss"]))
    assert len(h.epoch) == best + 3  # best, then the two epochs of patience without improvement
    assert stop.stopped_epoch == best + 2 and stop.best_epoch == best
    assert np.array_equal(net.params["W1"], snapshots[best])


@pytest.mark.parametrize("patience, stopped", [(0, 2), (1, 2), (2, 3), (3, 4), (4, None)])
def test_early_stopping_stops_after_patience_epochs_without_improvement_as_keras(patience, stopped):
    # val_loss improves at epochs 0 and 1, then never: the stop comes after `patience` epochs without improvement,
    # at epoch 1 + patience (Keras; patience 0 stops at the first such epoch, as 1 does)
    losses = iter([3.0, 2.0, 2.5, 2.1, 2.2, 2.3])

    class Scripted:
        def on_epoch_end(self, trainer, epoch, logs):
            logs["val_loss"] = next(losses)

    x, t = blobs()
    stop = EarlyStopping(patience=patience)
    h = fit(small_net(), x, t, epochs=5, verbose=0, callbacks=[Scripted(), stop])
    assert stop.stopped_epoch == stopped and stop.best_epoch == 1
    assert len(h) == (stopped + 1 if stopped is not None else 5)


def test_early_stopping_on_a_missing_metric_says_to_pass_validation_data():
    x, t = blobs()
    with pytest.raises(ValueError, match="monitor 'val_loss' is not among.*validation_data"):
        fit(small_net(), x, t, epochs=2, verbose=0, callbacks=[EarlyStopping()])


def test_model_checkpoint_keeps_the_best_model_by_validation_accuracy(tmp_path):
    x, t = blobs(n=150)
    xv, tv = blobs(n=60, seed=1)
    best = {}
    net = small_net()

    def remember(epoch, logs):
        if logs["val_accuracy"] > best.get("acc", -1):
            best.update(acc=logs["val_accuracy"], W=net.params["W1"].copy())

    ck = ModelCheckpoint(tmp_path / "best.npz", monitor="val_accuracy")
    fit(net, x, t, optimizer=SGD(lr=0.05), epochs=6, batch_size=30, validation_data=(xv, tv), rng=0, verbose=0,
        callbacks=[LambdaCallback(on_epoch_end=remember), ck])
    assert 1 <= len(ck.saved) <= 6
    assert np.array_equal(load_model(tmp_path / "best.npz").params["W1"], best["W"])


def test_verbose_2_writes_one_line_per_epoch_to_stderr_and_verbose_0_nothing(capsys):
    x, t = blobs()
    fit(small_net(), x, t, epochs=2, verbose=2)
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch 2/2  train loss ") and " acc " in lines[1]
    assert len(lines[1]) <= 80 and lines[1].endswith(" s")
    fit(small_net(), x, t, epochs=2, verbose=0)
    assert capsys.readouterr() == ("", "")


def test_verbose_1_shows_a_tqdm_progress_bar_on_stderr(capsys):
    pytest.importorskip("tqdm")  # the `progress` extra, installed by .ci/run
    x, t = blobs()
    fit(small_net(), x, t, epochs=2, batch_size=40, verbose=1)
    out, err = capsys.readouterr()
    assert out == ""
    assert "epoch 2/2:" in err and "0/3" in err  # the bar, then the epoch's line in its place
    assert err.rstrip().rsplit("\r", 1)[-1].startswith("epoch 2/2  train loss ")


def test_fit_takes_an_optimizer_by_name_and_defaults_to_sgd_at_the_chapters_rate():
    from minigrad.trainer import make_optimizer

    x, t = blobs()
    trainer = Trainer(small_net(), "adam", verbose=0)
    assert type(trainer.optimizer) is Adam and trainer.optimizer.lr == 0.001
    assert type(Trainer(small_net(), verbose=0).optimizer) is SGD and Trainer(small_net(), verbose=0).optimizer.lr == 0.1
    assert make_optimizer("sgd").lr == make_optimizer().lr == 0.1 and make_optimizer("momentum", 0.5).lr == 0.5
    fit(small_net(), x, t, optimizer="rmsprop", epochs=1, verbose=0)
    with pytest.raises(ValueError, match="name must be one of"):
        fit(small_net(), x, t, optimizer="adamw", epochs=1, verbose=0)


def test_history_plot_draws_the_keys_it_holds():
    pytest.importorskip("matplotlib")
    x, t = blobs()
    history = fit(small_net(), x, t, epochs=3, validation_data=(x, t), verbose=0)
    fig = history.plot("run")
    loss_ax, acc_ax = fig.axes
    assert [line.get_label() for line in loss_ax.get_lines()] == ["loss", "val_loss"]
    assert [line.get_label() for line in acc_ax.get_lines()] == ["accuracy", "val_accuracy"]
    assert list(loss_ax.get_lines()[1].get_xdata()) == [1, 2, 3]
    assert list(loss_ax.get_lines()[1].get_ydata()) == history.history["val_loss"]
    assert history._repr_png_()[:4] == b"\x89PNG"


def test_epoch_logger_writes_to_a_given_stream():
    x, t = blobs()
    stream = io.StringIO()
    fit(small_net(), x, t, epochs=3, verbose=0, callbacks=[EpochLogger(stream)])
    assert stream.getvalue().count("\n") == 3


def test_a_callback_can_stop_training_and_need_not_subclass_callback():
    class StopAtTwo:
        def on_epoch_end(self, trainer, epoch, logs):
            trainer.stop_training = epoch == 1

    x, t = blobs()
    h = fit(small_net(), x, t, epochs=10, verbose=0, callbacks=[StopAtTwo()])
    assert h.epoch == [0, 1]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"batch_size": 0}, ValueError, "batch_size must be an integer >= 1"),
        ({"epochs": -1}, ValueError, "epochs must be an integer >= 0"),
        ({"verbose": 3}, ValueError, "verbose must be 0, 1 or 2"),
        ({"validation_data": np.zeros(3)}, TypeError, r"validation_data must be a tuple"),
    ],
)
def test_bad_arguments_are_rejected_by_name(kwargs, error, message):
    x, t = blobs()
    with pytest.raises(error, match=message):
        fit(small_net(), x, t, **kwargs)


def test_data_and_model_problems_are_explained():
    x, t = blobs()
    with pytest.raises(ValueError, match="same number of samples"):
        fit(small_net(), x, t[:-1], verbose=0)
    with pytest.raises(ValueError, match="has no loss"):
        fit(Sequential(Affine.from_sizes(4, 3)), x, t, verbose=0)
    with pytest.raises(TypeError, match="optimizer must have update"):
        fit(small_net(), x, t, optimizer=3, verbose=0)


def test_two_layer_net_trains_with_the_default_sgd():
    x, t = blobs(n=300)
    net = TwoLayerNet(4, 16, 3, weight_init_std=0.1, rng=0)
    h = fit(net, x, t, optimizer=SGD(lr=0.1), epochs=10, batch_size=20, rng=0, verbose=0)
    assert h.history["accuracy"][-1] > 0.9


def test_binary_targets_with_sigmoid_loss_report_binary_accuracy():
    from minigrad.losses import SigmoidWithLoss

    x, labels = blobs(n=200, classes=2)
    t = labels.reshape(-1, 1).astype(float)
    model = Sequential(Affine.from_sizes(4, 8, rng=0), ReLU(), Affine.from_sizes(8, 1, rng=1), loss=SigmoidWithLoss())
    h = fit(model, x, t, optimizer=Adam(lr=0.05), epochs=2, batch_size=20, validation_data=(x, t), rng=0, verbose=0)
    expected = float(np.mean((model.predict(x) > 0) == (t > 0.5)))
    assert h.history["val_accuracy"][-1] == expected
    assert h.history["accuracy"][-1] > 0.9


def modal_net(seed=0, d=4, classes=3):
    """Affine → BatchNormalization → ReLU → Dropout → Affine → SoftmaxWithLoss."""
    from minigrad import BatchNormalization, Dropout

    rng = np.random.default_rng(seed)
    return Sequential(Affine.from_sizes(d, 8, rng=rng), BatchNormalization(np.ones(8), np.zeros(8)), ReLU(),
                      Dropout(0.3, rng=seed), Affine.from_sizes(8, classes, rng=rng), loss=SoftmaxWithLoss())


def test_fit_trains_in_training_mode_validates_in_inference_mode_and_leaves_the_mode_it_found():
    x, t = blobs()
    net = modal_net()
    modes = []

    class Spy(Layer):
        def forward(self, x):
            modes.append((net[2].training, net[4].training))
            return x.copy()

        def backward(self, dout):
            return dout.copy()

    net = Sequential(Spy(), *net.layers, loss=net.last_layer)
    net[2].training = False  # a layer set by hand: fit must give back exactly this mode
    history = fit(net, x, t, epochs=2, batch_size=40, validation_data=(x[:30], t[:30]), rng=0, verbose=0)
    # first fit checks one sample of the training and of the validation data against the model, in inference mode
    assert modes == [(False, False)] * 2 + ([(True, True)] * 3 + [(False, False)]) * 2  # three training batches, one validation pass
    assert [l.training for l in (net, net[2], net[4])] == [True, False, True]
    trainer = Trainer(net, rng=0, verbose=0)
    val = trainer.evaluate(x[:30], t[:30], batch_size=40)
    assert val == {"loss": history.history["val_loss"][-1], "accuracy": history.history["val_accuracy"][-1]}
    assert val["accuracy"] == net.accuracy(x[:30], t[:30])


def test_a_net_with_batch_normalization_and_dropout_learns_with_fit():
    x, t = blobs(n=300)
    net = modal_net()
    history = fit(net, x[:240], t[:240], optimizer=Adam(lr=0.01), epochs=15, batch_size=30, rng=0, verbose=0,
                  validation_data=(x[240:], t[240:]))
    assert history.history["val_accuracy"][-1] >= 0.9
    assert net.accuracy(x[240:], t[240:]) == history.history["val_accuracy"][-1]
    assert np.abs(net.buffers["1.running_mean"]).max() > 0.1  # the running statistics moved


def test_early_stopping_restores_the_best_epochs_running_statistics_with_its_weights():
    x, t = blobs(n=150)
    wrong = (t + 1) % 3  # validation labels that get worse as training gets better
    snapshots = {}
    net = modal_net()
    keep = LambdaCallback(on_epoch_end=lambda e, logs: snapshots.__setitem__(e, net.buffers["1.running_var"].copy()))
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)  # stops 2 epochs after the best
    h = fit(net, x, t, optimizer=Adam(lr=0.05), epochs=20, batch_size=15, validation_data=(x, wrong),
            rng=0, verbose=0, callbacks=[keep, stop])
    best = int(np.argmin(h.history["val_loss"]))
    assert stop.stopped_epoch == best + 2
    assert np.array_equal(net.buffers["1.running_var"], snapshots[best])
    assert not np.array_equal(snapshots[best], snapshots[best + 2])


def test_batch_logs_carry_accuracies_whose_weighted_mean_is_the_epochs():
    x, t = blobs(n=150)
    seen = []
    h = fit(small_net(), x, t, epochs=2, batch_size=40, verbose=0, rng=0,
            callbacks=[LambdaCallback(on_batch_end=lambda b, logs: seen.append((logs["accuracy"], logs["size"])))])
    second = seen[len(seen) // 2:]
    assert [s for _, s in second] == [40, 40, 40, 30]
    assert sum(a * s for a, s in second) / 150 == pytest.approx(h.history["accuracy"][1], abs=1e-12)


def test_learning_curves_show_whole_epochs_a_one_epoch_run_and_legends_clear_of_the_data():
    pytest.importorskip("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    x, t = blobs()
    for epochs in (1, 7):
        history = fit(small_net(), x, t, epochs=epochs, validation_data=(x, t), verbose=0)
        fig = history.plot("a title " * 30)  # far wider than the figure: wrapped, not cut
        FigureCanvasAgg(fig).draw()
        renderer = fig.canvas.get_renderer()
        assert fig._suptitle.get_window_extent(renderer).width <= fig.bbox.width
        for ax in fig.axes:
            low, high = ax.get_xlim()
            ticks = [v for v in ax.get_xticks() if low <= v <= high]
            assert ticks and all(float(v).is_integer() for v in ticks)  # epoch 1, 2, ...: never 0.96 or 1.2
            assert low <= 1 - 0.4 and high >= epochs + 0.4  # the first and last epochs clear of the frame
            legend, plot = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
            assert legend.y1 <= plot.y0  # under the plot, covering no point
        if epochs == 1:  # a lone point per curve, with its figure written beside it
            assert len(fig.axes[0].texts) == 2
