"""The book's own code as it is (tests/book_code.py, written in its style): gradcheck, Sequential and fit take it."""

from __future__ import annotations

import numpy as np
import pytest
from book_code import (
    Affine,
    BatchNormalization,
    Convolution,
    Dropout,
    MultiLayerNetExtend,
    Pooling,
    Relu,
    Sigmoid,
    SimpleConvNet,
    SoftmaxWithLoss,
    TwoLayerNet,
)

import minigrad
from minigrad import SGD, ModelCheckpoint, Sequential, Trainer, fit
from minigrad.datasets import load_digits
from minigrad.gradcheck import gradcheck

SEEDS = range(4)


def away(r, *shape):
    """Values in ±[0.2, 1.5): off ReLU's kink, no ties for max pooling."""
    return r.uniform(0.2, 1.5, shape) * r.choice([-1.0, 1.0], shape)


LAYERS = {
    "Relu": lambda r: (Relu(), [away(r, 4, 5)]),
    "Sigmoid": lambda r: (Sigmoid(), [away(r, 4, 5)]),
    "Affine on images": lambda r: (Affine(away(r, 12, 3), away(r, 3)), [away(r, 2, 3, 2, 2)]),
    "SoftmaxWithLoss, labels": lambda r: (SoftmaxWithLoss(), [r.standard_normal((6, 10)), r.integers(0, 10, 6)]),
    "SoftmaxWithLoss, one-hot": lambda r: (SoftmaxWithLoss(), [r.standard_normal((6, 10)), np.eye(10)[r.integers(0, 10, 6)]]),
    "Dropout": lambda r: (Dropout(0.3), [away(r, 5, 6)]),
    "BatchNormalization": lambda r: (BatchNormalization(r.uniform(0.5, 1.5, 4), away(r, 4)), [away(r, 6, 4)]),
    "BatchNormalization on images": lambda r: (BatchNormalization(r.uniform(0.5, 1.5, 12), away(r, 12)), [away(r, 5, 3, 2, 2)]),
    "Convolution": lambda r: (Convolution(0.5 * away(r, 2, 2, 3, 3), away(r, 2), stride=1, pad=1), [away(r, 2, 2, 4, 4)]),
    "Pooling": lambda r: (Pooling(2, 2, stride=2), [away(r, 2, 2, 4, 4)]),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", LAYERS)
def test_every_book_layer_passes_as_the_book_prints_it(name, seed):
    layer, inputs = LAYERS[name](np.random.default_rng(seed))
    result = gradcheck(layer, *inputs)
    assert result, f"{name}, seed {seed}:\n{result}"
    params = {"Affine": {"W", "b"}, "BatchNormalization": {"gamma", "beta"}, "Convolution": {"W", "b"}}
    assert {t.name for t in result.tensors if t.kind == "param"} == params.get(type(layer).__name__, set())


def test_the_books_softmax_with_loss_passes_on_ten_classes_on_every_draw():
    """Its log(y + 1e-7) puts backward 1e-7/y off forward: rtol 1e-3 covers it (57 of 300 draws failed at 1e-5)."""
    for seed in range(60):
        r = np.random.default_rng(seed)
        n = int(r.integers(1, 11))
        result = gradcheck(SoftmaxWithLoss(), r.standard_normal((n, 10)), r.integers(0, 10, n))
        assert result and [note.check for note in result.notes] == ["ignores dout"], f"seed {seed}:\n{result}"


NETS = {
    "TwoLayerNet": lambda r, s: (TwoLayerNet(6, 5, 4, weight_init_std=0.5, seed=s), [r.standard_normal((5, 6)), r.integers(0, 4, 5)]),
    "MultiLayerNetExtend": lambda r, s: (
        MultiLayerNetExtend(6, [5, 4], 3, weight_decay_lambda=0.1, use_dropout=True, dropout_ration=0.2, use_batchnorm=True, seed=s),
        [r.standard_normal((6, 6)), r.integers(0, 3, 6)]),
    "SimpleConvNet": lambda r, s: (SimpleConvNet(seed=s), [r.standard_normal((3, 1, 8, 8)), r.integers(0, 4, 3)]),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", NETS)
def test_every_book_net_passes_with_a_row_per_entry_of_params(name, seed):
    net, inputs = NETS[name](np.random.default_rng(seed), seed)
    before = {k: p.copy() for k, p in net.params.items()}
    result = gradcheck(net, *inputs)
    assert result and result.layer == name, f"{name}, seed {seed}:\n{result}"
    assert [t.name for t in result.tensors] == list(net.params)  # what ch05/gradient_check.py prints, per key
    assert all(np.array_equal(net.params[k], p) for k, p in before.items())


# --- planted bugs, each in the book's style, named by the key of the layer in net.layers -----------------


class AffineDxWithoutTranspose(Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        return np.dot(dout, self.W).reshape(dx.shape)  # W, not W.T: the right shape only for a square W


class ReluMaskInverted(Relu):
    def backward(self, dout):
        dout[~self.mask] = 0
        return dout


class PoolingToTheWrongElement(Pooling):
    def forward(self, x):
        out = super().forward(x)
        col = self.arg_max.copy()
        self.arg_max = (col + 1) % (self.pool_h * self.pool_w)  # the next element of each window, not its max
        return out


class BatchNormDgammaWrong(BatchNormalization):
    def backward(self, dout):
        dx = super().backward(dout)
        self.dgamma = dout.reshape(dout.shape[0], -1).sum(axis=0)
        return dx


class DropoutNewMaskInBackward(Dropout):
    def backward(self, dout):
        return dout * (np.random.rand(*dout.shape) > self.dropout_ratio)


def plant(net, key, cls):
    """The layer at net.layers[key] turned into the buggy class, keeping its arrays (the book's params stay shared)."""
    net.layers[key].__class__ = cls
    return net


PLANTED = {
    "Affine dx without the transpose": (
        lambda s: plant(TwoLayerNet(6, 5, 5, weight_init_std=0.5, seed=s), "Affine2", AffineDxWithoutTranspose), "Affine2"),
    "Relu mask inverted": (lambda s: plant(TwoLayerNet(6, 5, 4, weight_init_std=0.5, seed=s), "Relu1", ReluMaskInverted), "Relu1"),
    "pooling to the wrong element": (lambda s: plant(SimpleConvNet(seed=s), "Pool1", PoolingToTheWrongElement), "Pool1"),
    "batch norm dgamma wrong": (
        lambda s: plant(MultiLayerNetExtend(6, [5, 4], 3, use_batchnorm=True, seed=s), "BatchNorm2", BatchNormDgammaWrong), "BatchNorm2"),
    "dropout draws a new mask in backward": (
        lambda s: plant(MultiLayerNetExtend(6, [5, 4], 3, use_dropout=True, seed=s), "Dropout1", DropoutNewMaskInBackward), "Dropout1"),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", PLANTED)
def test_a_planted_bug_in_a_book_net_is_caught_and_named_by_its_key(name, seed):
    make, key = PLANTED[name]
    net = make(seed)
    r = np.random.default_rng(seed)
    x = r.standard_normal((3, 1, 8, 8)) if isinstance(net, SimpleConvNet) else r.standard_normal((6, 6))
    t = r.integers(0, 3, len(x))
    result = gradcheck(net, x, t)
    assert not result and result.culprit == key, f"{name}, seed {seed}:\n{result}"
    assert f"culprit: layer {key} ({type(net.layers[key]).__name__})" in str(result)


def test_the_last_layer_is_named_by_its_attribute():
    class LossForgetsN(SoftmaxWithLoss):
        def backward(self, dout=1):
            return super().backward(dout) * self.t.shape[0]

    net = TwoLayerNet(6, 5, 4, weight_init_std=0.5)
    net.lastLayer.__class__ = LossForgetsN
    r = np.random.default_rng(0)
    assert gradcheck(net, r.standard_normal((5, 6)), r.integers(0, 4, 5)).culprit == "lastLayer"


def test_a_net_of_book_layers_blames_the_wrong_affine_and_not_the_relus_before_it():
    r = np.random.default_rng(3)
    good, bad = Affine(r.standard_normal((6, 5)), r.standard_normal(5)), Affine(r.standard_normal((5, 5)), r.standard_normal(5))
    bad.__class__ = AffineDxWithoutTranspose
    net = Sequential(good, Relu(), Affine(r.standard_normal((5, 5)), r.standard_normal(5)), Relu(), bad, loss=SoftmaxWithLoss())
    result = gradcheck(net, r.standard_normal((4, 6)), r.integers(0, 5, 4))
    assert not result and result.culprit == "4"
    assert gradcheck(net, r.standard_normal((4, 6)), r.integers(0, 5, 4), strict=True).culprit == "1"  # strict: Relu's note fails


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("preset", ["MultiLayerNet", "SimpleConvNet"])
def test_our_batchnorm_presets_pass_as_sequentials_with_a_random_dout(preset, seed):
    """The bias before a training-mode batch norm has a true gradient of 0: linearity is judged against its neighbours' scale."""
    r = np.random.default_rng(seed)
    if preset == "MultiLayerNet":
        net, x = minigrad.MultiLayerNet(5, [4, 3], 3, use_batchnorm=True, rng=seed), r.standard_normal((6, 5))
    else:
        conv = {"filter_num": 2, "filter_size": 3}
        net, x = minigrad.SimpleConvNet((1, 6, 6), conv, 4, 3, weight_init="he", use_batchnorm=True, rng=seed), r.standard_normal((4, 1, 6, 6))
    result = gradcheck(net, x)
    assert result and result.dout == "N(0,1)", f"{preset}, seed {seed}:\n{result}"


def test_a_layer_that_raises_is_reported_with_the_method_and_the_users_line():
    class Boom(Sigmoid):
        def backward(self, dout):
            return dout / 0 if dout.ndim > 5 else dout[99]  # an IndexError on this line

    with pytest.raises(IndexError) as info:
        gradcheck(Boom(), np.ones((2, 3)))
    note = info.value.__notes__[-1]
    assert note.startswith("gradcheck: Boom.backward raised IndexError at ") and __file__ in note
    assert note.endswith(f"line {Boom.backward.__code__.co_firstlineno + 1}, in backward")


def test_fit_trains_the_books_two_layer_net_on_the_digits_with_history_callbacks_and_checkpoints(tmp_path):
    (x, t), (x_test, t_test) = load_digits()
    net = TwoLayerNet(64, 50, 10, weight_init_std=0.1, seed=0)
    W1 = net.params["W1"]
    history = fit(net, x, t, optimizer=SGD(lr=0.5), epochs=8, batch_size=50, validation_data=(x_test, t_test), rng=0,
                  verbose=0, callbacks=[ModelCheckpoint(tmp_path / "best.npz", monitor="val_accuracy")])
    assert net.accuracy(x_test, t_test) >= 0.9
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0] / 3
    assert net.params["W1"] is W1 and net.layers["Affine1"].W is W1  # the net's own arrays were updated
    resumed = Trainer.load_checkpoint(tmp_path / "best.npz", model=TwoLayerNet(64, 50, 10, seed=9), verbose=0)
    best = int(np.argmax(history.history["val_accuracy"]))
    assert resumed.epoch == best + 1
    assert resumed.model.accuracy(x_test, t_test) == pytest.approx(history.history["val_accuracy"][best])
    with pytest.raises(minigrad.serialization.ModelFileError, match="a net in the book's style"):
        minigrad.load_model(tmp_path / "best.npz")


def test_fit_reports_the_loss_the_nets_gradient_computed_weight_decay_included():
    r = np.random.default_rng(0)
    x, t = r.standard_normal((20, 6)), r.integers(0, 3, 20)
    net = MultiLayerNetExtend(6, [5], 3, weight_decay_lambda=0.5, use_batchnorm=True, seed=1)
    expected = net.loss(x, t, train_flg=True)  # what gradient computes first, before the step
    history = fit(net, x, t, optimizer=SGD(lr=0.0), epochs=1, batch_size=20, shuffle=False, verbose=0)
    assert history.history["loss"] == [pytest.approx(expected, rel=1e-12)]
    assert "loss" not in vars(net)  # the loss seen on the way is not left on the net
