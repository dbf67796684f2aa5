"""Saving and loading: round trips, exact resume in a new process, atomic writes, and bad files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from minigrad import (Affine, BatchNormalization, Dropout, MultiLayerNet, ReLU, Sequential, Sigmoid, SoftmaxWithLoss, Tanh,
                      TwoLayerNet, fit)
from minigrad.layers import MulLayer
from minigrad.losses import MeanSquaredError
from minigrad.optimizers import Adam, Momentum
from minigrad.serialization import ModelFileError, _generators, load_checkpoint, load_model, load_weights, save_model
from minigrad.trainer import Trainer


def same_weights(a, b):
    """Params and buffers equal bit for bit, with their dtypes."""
    return all(
        x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) and x[k].dtype == y[k].dtype for k in x)
        for x, y in ((a.params, b.params), (a.buffers, b.buffers))
    )


def modal_net(seed=0, d=6, classes=3):
    """A Sequential with BatchNormalization and Dropout, a nested one among them."""
    rng = np.random.default_rng(seed)
    return Sequential(Affine.from_sizes(d, 16, rng=rng), BatchNormalization(np.ones(16), np.zeros(16), momentum=0.8), ReLU(),
                      Sequential(Dropout(0.3, rng=seed), Affine.from_sizes(16, 8, rng=rng)), ReLU(), Dropout(0.2, rng=seed + 1),
                      Affine.from_sizes(8, classes, rng=rng), loss=SoftmaxWithLoss())


def data(n=120, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    return x, (x @ rng.standard_normal((d, classes))).argmax(axis=1)


@pytest.mark.parametrize(
    "model",
    [
        TwoLayerNet(6, 5, 3, weight_init_std=0.1, rng=0),
        MultiLayerNet(6, [7, 4], 3, activation="sigmoid", weight_init="xavier", rng=1, dtype=np.float32),
        MultiLayerNet(6, [5], 3, weight_init=0.05, rng=2),
        Sequential(Affine.from_sizes(6, 4, rng=0), Tanh(), Sequential(Affine.from_sizes(4, 3, rng=1), Sigmoid()),
                   loss=SoftmaxWithLoss()),
        Sequential(Affine.from_sizes(6, 3, rng=0), ReLU(), loss=MeanSquaredError()),
        MultiLayerNet(6, [7, 4], 3, activation="tanh", weight_init_std="sigmoid", weight_decay_lambda=0.05,
                      use_batchnorm=True, use_dropout=True, dropout_ration=0.2, rng=3, dtype=np.float32),
    ],
    ids=["TwoLayerNet", "MultiLayerNet-float32", "MultiLayerNet-std", "nested-Sequential", "mse", "MultiLayerNet-extend"],
)
def test_a_model_comes_back_with_its_class_architecture_and_exact_weights(tmp_path, model):
    path = tmp_path / "model.npz"
    save_model(path, model)
    loaded = load_model(path)
    assert type(loaded) is type(model) and repr(loaded) == repr(model)
    assert getattr(loaded, "config", None) == getattr(model, "config", None)
    assert same_weights(loaded, model)
    x = data()[0].astype(next(iter(model.params.values())).dtype)
    assert np.array_equal(loaded.predict(x), model.predict(x))


def test_the_file_is_plain_npz_with_json_metadata_in_a_string_array(tmp_path):
    path = tmp_path / "m.npz"
    save_model(path, TwoLayerNet(6, 5, 3, rng=0), extra={"note": "hello", "epochs": 3})
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(str(f["minigrad.json"]))
        assert f["minigrad.json"].dtype.kind == "U"
        assert sorted(f.files) == ["minigrad.json", "param/W1", "param/W2", "param/b1", "param/b2"]
    assert meta["format"] == "minigrad" and meta["model"]["class"] == "TwoLayerNet"
    assert load_checkpoint(path).extra == {"note": "hello", "epochs": 3}


def test_optimizer_and_rng_state_come_back_exactly(tmp_path):
    x, t = data()
    net, opt, rng = MultiLayerNet(6, [8], 3, rng=0), Adam(lr=0.02, beta1=0.8), np.random.default_rng(5)
    for _ in range(3):
        idx = rng.choice(len(x), 16)
        opt.update(net.params, net.gradient(x[idx], t[idx]))
    save_model(tmp_path / "ck.npz", net, optimizer=opt, rng=rng)
    ck = load_checkpoint(tmp_path / "ck.npz")
    assert isinstance(ck.optimizer, Adam) and ck.optimizer.hyperparameters == opt.hyperparameters
    saved, restored = opt.state_dict(), ck.optimizer.state_dict()
    assert saved.keys() == restored.keys()
    assert all(np.array_equal(saved[k], restored[k]) for k in saved)
    assert np.array_equal(ck.rng.integers(0, 2**62, 10), rng.integers(0, 2**62, 10))


RESUME = textwrap.dedent(
    """
    import sys
    import numpy as np
    from minigrad.serialization import save_model
    from minigrad.trainer import Trainer

    checkpoint, data, out = sys.argv[1:]
    with np.load(data) as f:
        x, t = f["x"], f["t"]
    trainer = Trainer.load_checkpoint(checkpoint, verbose=0)
    trainer.fit(x, t, epochs=2, batch_size=32)
    save_model(out, trainer.model, optimizer=trainer.optimizer, rng=trainer.rng,
               extra={"history": trainer.history.to_dict()})
    """
)


@pytest.mark.parametrize(("optimizer", "model"), [
    (Adam(lr=0.01), lambda: MultiLayerNet(6, [16, 8], 3, rng=0)),
    (Momentum(lr=0.05, weight_decay=1e-3), lambda: MultiLayerNet(6, [16, 8], 3, rng=0)),
    (Adam(lr=0.01), modal_net),
], ids=["adam", "momentum", "batchnorm-dropout"])
def test_two_epochs_saved_then_two_more_in_a_new_process_equal_four_at_once(tmp_path, optimizer, model):
    x, t = data(n=150)
    np.savez(tmp_path / "data.npz", x=x, t=t)
    opt_state = optimizer.state_dict()

    def trainer():
        opt = type(optimizer)()
        opt.load_state_dict(opt_state)
        return Trainer(model(), opt, rng=42, verbose=0)

    straight = trainer()
    straight.fit(x, t, epochs=4, batch_size=32)

    first = trainer()
    first.fit(x, t, epochs=2, batch_size=32)
    first.save_checkpoint(tmp_path / "epoch2.npz")
    subprocess.run(
        [sys.executable, "-c", RESUME, str(tmp_path / "epoch2.npz"), str(tmp_path / "data.npz"), str(tmp_path / "out.npz")],
        check=True, cwd=tmp_path, capture_output=True,
    )
    resumed = load_checkpoint(tmp_path / "out.npz")
    assert same_weights(resumed.model, straight.model)
    for key, g in _generators(straight.model).items():  # each Dropout's generator is where the straight run's is
        assert _generators(resumed.model)[key].bit_generator.state == g.bit_generator.state
    for key, value in straight.optimizer.state_dict().items():
        assert np.array_equal(resumed.optimizer.state_dict()[key], value), key
    assert resumed.rng.bit_generator.state == straight.rng.bit_generator.state
    assert resumed.extra["history"] == straight.history.to_dict()


def test_a_crash_while_writing_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    old = TwoLayerNet(6, 5, 3, rng=0)
    save_model(path, old)
    before = path.read_bytes()

    def savez_then_crash(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")  # some bytes reach the disk, then the process "dies"
        raise KeyboardInterrupt("simulated crash mid-write")

    monkeypatch.setattr(np, "savez", savez_then_crash)
    with pytest.raises(KeyboardInterrupt):
        save_model(path, TwoLayerNet(6, 5, 3, rng=1))
    assert path.read_bytes() == before
    assert same_weights(load_model(path), old)
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind


def test_a_failed_rename_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    save_model(path, TwoLayerNet(6, 5, 3, rng=0))
    before = path.read_bytes()

    def failing_replace(src, dst):
        raise OSError("simulated failure of os.replace")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        save_model(path, TwoLayerNet(6, 5, 3, rng=1))
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.npz"]


def test_loading_weights_made_for_another_architecture_fails_naming_the_difference(tmp_path):
    path = tmp_path / "m.npz"
    save_model(path, MultiLayerNet(6, [8], 3, rng=0))
    with pytest.raises(ModelFileError, match=r"another architecture.*'W1' is float64\[6, 8\] in the file but float64\[6, 9\]"):
        load_weights(path, MultiLayerNet(6, [9], 3, rng=0))
    with pytest.raises(ModelFileError, match=r"another architecture, MultiLayerNet\(.*hidden_size_list=\[8\].*parameters"):
        load_weights(path, MultiLayerNet(6, [8, 8], 3, rng=0))
    with pytest.raises(ModelFileError, match="float32"):
        load_weights(path, MultiLayerNet(6, [8], 3, rng=0, dtype=np.float32))
    target = MultiLayerNet(6, [8], 3, rng=9)
    load_weights(path, target)
    assert same_weights(target, load_model(path))


@pytest.mark.parametrize("keep", [0, 10, 100, 0.5, -30, -1])
def test_a_truncated_file_fails_clearly(tmp_path, keep):
    good = tmp_path / "good.npz"
    save_model(good, MultiLayerNet(6, [8], 3, rng=0), optimizer=Adam(), rng=np.random.default_rng(0))
    raw = good.read_bytes()
    n = int(len(raw) * keep) if isinstance(keep, float) else keep % len(raw)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(raw[:n])
    with pytest.raises(ModelFileError, match="not a readable minigrad model"):
        load_model(bad)


def test_files_that_are_not_minigrad_models_fail_clearly(tmp_path):
    np.savez(tmp_path / "other.npz", W=np.ones(3))
    np.save(tmp_path / "array.npy", np.ones(3))
    (tmp_path / "notes.txt").write_text("hello, not a model\n")
    np.savez(tmp_path / "foreign.npz", **{"minigrad.json": np.array(json.dumps({"format": "keras"}))})
    np.savez(tmp_path / "future.npz", **{"minigrad.json": np.array(json.dumps({"format": "minigrad", "version": 99}))})
    np.savez(tmp_path / "numbers.npz", **{"minigrad.json": np.arange(3)})
    cases = {
        "other.npz": "not a minigrad model \\(it has no minigrad.json\\)",
        "array.npy": "a .npy array",
        "notes.txt": "not an .npz archive",
        "foreign.npz": "format 'keras'",
        "future.npz": "version 99",
        "numbers.npz": "unreadable minigrad metadata",
    }
    for name, message in cases.items():
        with pytest.raises(ModelFileError, match=message):
            load_model(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.npz")


def test_a_plain_model_file_is_not_a_trainer_checkpoint(tmp_path):
    save_model(tmp_path / "m.npz", TwoLayerNet(6, 5, 3, rng=0))
    with pytest.raises(ModelFileError, match="no trainer state"):
        Trainer.load_checkpoint(tmp_path / "m.npz")


def test_what_cannot_be_saved_is_refused_before_writing(tmp_path):
    class Custom(Affine):
        pass

    with pytest.raises(TypeError, match="layer 1 is a MulLayer"):
        save_model(tmp_path / "a.npz", Sequential(Affine.from_sizes(2, 2), MulLayer()))
    with pytest.raises(TypeError, match="layer 0 is a Custom"):
        save_model(tmp_path / "a.npz", Sequential(Custom(np.ones((2, 2)), np.zeros(2))))
    with pytest.raises(TypeError, match="extra must hold only JSON"):
        save_model(tmp_path / "a.npz", TwoLayerNet(2, 2, 2), extra={"x": np.ones(2)})
    with pytest.raises(TypeError, match="rng must be a numpy Generator"):
        save_model(tmp_path / "a.npz", TwoLayerNet(2, 2, 2), rng=0)
    assert not os.listdir(tmp_path)


def test_optimizer_state_for_parameters_the_model_lacks_is_rejected(tmp_path):
    big, small = MultiLayerNet(6, [8], 3, rng=0), MultiLayerNet(6, [4], 3, rng=0)
    opt = Momentum()
    x, t = data()
    opt.update(big.params, big.gradient(x, t))
    save_model(tmp_path / "m.npz", big, optimizer=opt)
    # Rewrite the file with the small model's weights but the big model's optimizer state.
    with np.load(tmp_path / "m.npz") as f:
        arrays = dict(f)
    arrays.update({f"param/{k}": v for k, v in small.params.items()})
    meta = json.loads(str(arrays["minigrad.json"]))
    meta["model"] = {"class": "MultiLayerNet", "config": small.config}
    arrays["minigrad.json"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "mixed.npz", **arrays)
    with pytest.raises(ModelFileError, match="optimizer state 'v.W1' that matches no parameter"):
        load_checkpoint(tmp_path / "mixed.npz")


# ---------------------------------------------------------------- convolutional nets


def images(n=96, shape=(2, 6, 5), classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *shape))
    return x, (x.reshape(n, -1) @ rng.standard_normal((x[0].size, classes))).argmax(axis=1)


def small_conv_net(rng=0, dtype=np.float64):
    from minigrad import SimpleConvNet

    return SimpleConvNet((2, 6, 5), {"filter_num": 4, "filter_size": 3, "pad": 1}, hidden_size=8, output_size=3,
                         weight_init="he", rng=rng, dtype=dtype)


def conv_sequential():
    from minigrad import Convolution, Pooling

    rng = np.random.default_rng(3)
    return Sequential(Convolution(rng.standard_normal((3, 2, 2, 3)), rng.standard_normal(3), stride=2, pad=1), ReLU(),
                      Pooling(3, 2, stride=1, pad=1), Affine.from_sizes(3 * 4 * 4, 3, rng=0), loss=SoftmaxWithLoss())


@pytest.mark.parametrize("make", [small_conv_net, lambda: small_conv_net(1, np.float32), conv_sequential],
                         ids=["SimpleConvNet", "SimpleConvNet-float32", "Sequential-conv-pool"])
def test_a_conv_net_comes_back_with_its_class_architecture_and_exact_weights(tmp_path, make):
    model = make()
    save_model(tmp_path / "cnn.npz", model)
    loaded = load_model(tmp_path / "cnn.npz")
    assert type(loaded) is type(model) and repr(loaded) == repr(model)
    assert getattr(loaded, "config", None) == getattr(model, "config", None)
    assert same_weights(loaded, model)
    x = images()[0].astype(next(iter(model.params.values())).dtype)
    assert np.array_equal(loaded.predict(x), model.predict(x))


def test_a_simple_conv_net_resumes_bit_identically_from_a_checkpoint_in_a_new_process(tmp_path):
    x, t = images()
    np.savez(tmp_path / "data.npz", x=x, t=t)
    straight = Trainer(small_conv_net(), Adam(lr=0.01), rng=42, verbose=0)
    straight.fit(x, t, epochs=4, batch_size=32)
    first = Trainer(small_conv_net(), Adam(lr=0.01), rng=42, verbose=0)
    first.fit(x, t, epochs=2, batch_size=32)
    first.save_checkpoint(tmp_path / "epoch2.npz")
    subprocess.run(
        [sys.executable, "-c", RESUME, str(tmp_path / "epoch2.npz"), str(tmp_path / "data.npz"), str(tmp_path / "out.npz")],
        check=True, cwd=tmp_path, capture_output=True,
    )
    resumed = load_checkpoint(tmp_path / "out.npz")
    assert type(resumed.model).__name__ == "SimpleConvNet"
    assert same_weights(resumed.model, straight.model)
    assert not same_weights(resumed.model, small_conv_net())  # it did train
    for key, value in straight.optimizer.state_dict().items():
        assert np.array_equal(resumed.optimizer.state_dict()[key], value), key
    assert resumed.extra["history"] == straight.history.to_dict()


PREDICT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from minigrad.serialization import load_model

    path, data, out = sys.argv[1:]
    model = load_model(path)
    with np.load(data) as f:
        np.save(out, model.predict(f["x"]))
    """
)


def test_a_net_with_batch_normalization_and_dropout_trained_with_fit_predicts_identically_in_a_new_process(tmp_path):
    x, t = data(n=150)
    net = modal_net()
    fit(net, x, t, optimizer=Adam(lr=0.01), epochs=3, batch_size=32, rng=0, verbose=0)
    net.eval()  # saved in any mode: predict runs in inference mode
    save_model(tmp_path / "net.npz", net)
    np.savez(tmp_path / "data.npz", x=x)
    subprocess.run([sys.executable, "-c", PREDICT, str(tmp_path / "net.npz"), str(tmp_path / "data.npz"), str(tmp_path / "y.npy")],
                   check=True, cwd=tmp_path, capture_output=True)
    y = np.load(tmp_path / "y.npy", allow_pickle=False)
    assert np.array_equal(y, net.predict(x)) and y.dtype == np.float64
    assert not np.array_equal(net.buffers["1.running_var"], np.ones(16))  # the statistics moved, and came back


def test_buffers_and_each_dropouts_generator_state_are_in_the_file_and_come_back(tmp_path):
    net = modal_net()
    x, t = data()
    net.gradient(x, t)  # moves the running statistics and both generators
    save_model(tmp_path / "m.npz", net)
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        assert {"buffer/1.running_mean", "buffer/1.running_var"} <= set(f.files)
        meta = json.loads(str(f["minigrad.json"]))
    assert sorted(meta["generators"]) == ["3.0", "5"]
    other = modal_net(seed=9)
    load_weights(tmp_path / "m.npz", other)
    assert same_weights(other, net)
    assert other[3][0].rng.random() == net[3][0].rng.random() and other[5].rng.random() == net[5].rng.random()
    net.train()
    assert np.array_equal(other.loss(x, t), net.loss(x, t))  # the same masks, the same batch statistics


def test_a_file_without_the_models_buffers_is_another_architecture(tmp_path):
    net = Sequential(Affine.from_sizes(6, 16, rng=0), BatchNormalization(np.ones(16), np.zeros(16)), loss=SoftmaxWithLoss())
    save_model(tmp_path / "full.npz", net)
    with np.load(tmp_path / "full.npz", allow_pickle=False) as f:  # the same file with its running statistics cut out
        np.savez(tmp_path / "plain.npz", **{k: f[k] for k in f.files if not k.startswith("buffer/")})
    with pytest.raises(ModelFileError, match=r"with buffers \[\]; this model has \['1.running_mean', '1.running_var'\]"):
        load_weights(tmp_path / "plain.npz", net)


def test_simple_conv_net_with_batch_normalization_comes_back_with_its_config_and_statistics(tmp_path):
    from minigrad import SimpleConvNet

    net = SimpleConvNet((1, 8, 8), {"filter_num": 4, "filter_size": 3}, hidden_size=6, output_size=3, rng=0, use_batchnorm=True)
    x = np.random.default_rng(0).standard_normal((5, 1, 8, 8))
    net.gradient(x, np.array([0, 1, 2, 0, 1]))  # moves the running statistics
    save_model(tmp_path / "cnn.npz", net)
    loaded = load_model(tmp_path / "cnn.npz")
    assert loaded.config == net.config and loaded.config["use_batchnorm"] is True
    assert same_weights(loaded, net) and np.array_equal(loaded.predict(x), net.predict(x))


def test_model_and_path_in_keras_order_get_an_error_naming_the_right_call(tmp_path):
    net = TwoLayerNet(2, 3, 2, rng=0)
    path = str(tmp_path / "x.npz")
    with pytest.raises(TypeError, match=r"save_model\('.*x\.npz', model\)"):
        save_model(net, path)
    with pytest.raises(TypeError, match=r"load_weights\('.*x\.npz', model\)"):
        load_weights(net, path)


@pytest.mark.parametrize("sharing", ["two dropouts", "dropout and trainer", "all three"])
def test_a_generator_shared_by_several_holders_resumes_exactly(tmp_path, sharing):
    """Issue 21: two Dropouts holding one Generator, or a Dropout sharing the Trainer's, resumed with 49% of weights different."""
    x, t = data(n=150)

    def trainer():
        g = np.random.default_rng(7)
        rng = np.random.default_rng(0)
        first = Dropout(0.3, rng=g)
        second = Dropout(0.2, rng=g if sharing != "dropout and trainer" else 5)
        net = Sequential(Affine.from_sizes(6, 16, rng=rng), ReLU(), first, Affine.from_sizes(16, 8, rng=rng), ReLU(), second,
                         Affine.from_sizes(8, 3, rng=rng), loss=SoftmaxWithLoss())
        return Trainer(net, Adam(lr=0.01), rng=g if sharing != "two dropouts" else 42, verbose=0)

    straight = trainer()
    straight.fit(x, t, epochs=4, batch_size=32)
    first = trainer()
    first.fit(x, t, epochs=2, batch_size=32)
    first.save_checkpoint(tmp_path / "epoch2.npz")
    resumed = Trainer.load_checkpoint(tmp_path / "epoch2.npz", verbose=0)
    gens = _generators(resumed.model)
    assert (gens["2"] is gens["5"]) == (sharing != "dropout and trainer")
    assert (resumed.rng is gens["2"]) == (sharing != "two dropouts")
    resumed.fit(x, t, epochs=2, batch_size=32)
    assert same_weights(resumed.model, straight.model)
    assert resumed.rng.bit_generator.state == straight.rng.bit_generator.state


def test_a_file_saying_a_generator_is_shared_with_a_layer_it_does_not_hold_is_refused(tmp_path):
    import json

    net = Sequential(Affine(np.eye(2), np.zeros(2)), Dropout(0.5, rng=0), loss=SoftmaxWithLoss())
    save_model(tmp_path / "m.npz", net)
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays["minigrad.json"]))
    meta["generators"]["1"] = {"same_as": "7"}
    arrays["minigrad.json"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "m.npz", **arrays)
    with pytest.raises(ModelFileError, match=r"layer 1's generator is said to be shared with \{'same_as': '7'\}"):
        load_model(tmp_path / "m.npz")
