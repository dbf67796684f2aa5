"""The layer protocol's one home: the book's layers taken as printed, the presets keyed with the book's names."""

from __future__ import annotations

import json

import numpy as np
import pytest
from book_code import Affine as BookAffine
from book_code import Dropout as BookDropout
from book_code import Relu, Sigmoid, SoftmaxWithLoss

import minigrad
from minigrad import (
    SGD,
    Adam,
    Affine,
    BatchNormalization,
    Convolution,
    MultiLayerNet,
    Sequential,
    SimpleConvNet,
    TwoLayerNet,
    load_checkpoint,
    load_model,
    protocol,
    save_model,
)
from minigrad.gradcheck import gradcheck


def book_affine(rng, d=4, m=3):
    return BookAffine(rng.standard_normal((d, m)), rng.standard_normal(m))


def test_the_books_attribute_pairs_are_the_parameters_and_the_live_arrays():
    rng = np.random.default_rng(0)
    layer = book_affine(rng)
    assert protocol.is_layer(layer) and not protocol.is_layer(BookAffine)
    p = protocol.params(layer)
    assert list(p) == ["W", "b"] and p["W"] is layer.W and p["b"] is layer.b
    assert protocol.grads(layer) == {"W": None, "b": None}  # before backward, as the book's __init__ leaves them
    layer.forward(rng.standard_normal((2, 4)))
    layer.backward(np.ones((2, 3)))
    assert protocol.grads(layer)["W"] is layer.dW and protocol.pairs(layer)["b"] == (layer.b, layer.db)
    assert protocol.params(Relu()) == {} and protocol.params(Affine.from_sizes(2, 2)) is not None


def test_a_minigrad_layer_keeps_its_dicts_and_shows_the_books_attributes_live():
    layer = Affine.from_sizes(3, 2, rng=0)
    assert layer.W is layer.params["W"] and layer.b is layer.params["b"]
    layer.forward(np.ones((4, 3)))
    layer.backward(np.ones((4, 2)))
    assert layer.dW is layer.grads["W"] and layer.db is layer.grads["b"]
    new = np.full((3, 2), 0.5)
    layer.W = new  # the book's load_params: the layer's W is now that array
    assert layer.params["W"] is new and np.array_equal(layer.forward(np.ones((1, 3))), [[1.5, 1.5]])
    with pytest.raises(ValueError, match=r"Affine.W: the parameter has shape \(3, 2\), got an array of shape \(2, 3\)"):
        layer.W = np.ones((2, 3))
    with pytest.raises(AttributeError, match="Affine.dW is the gradient"):
        layer.dW = np.ones((3, 2))
    conv = Convolution(np.ones((2, 1, 3, 3)), np.zeros(2))
    bn = BatchNormalization(np.ones(3), np.zeros(3))
    assert conv.W is conv.params["W"] and bn.gamma is bn.params["gamma"] and bn.dbeta is bn.grads["beta"]


@pytest.mark.parametrize("seed", range(4))
def test_book_layers_chain_train_and_check_as_they_are(seed):
    rng = np.random.default_rng(seed)
    first, second = book_affine(rng, 5, 4), book_affine(rng, 4, 3)
    net = Sequential(first, Relu(), second, Sigmoid(), loss=SoftmaxWithLoss())
    assert list(net.params) == ["0.W", "0.b", "2.W", "2.b"] and net.params["0.W"] is first.W
    x, t = rng.standard_normal((6, 5)), rng.integers(0, 3, 6)
    grads = net.gradient(x, t)
    numeric = Sequential.numerical_gradient(net, x, t)
    for key in grads:
        np.testing.assert_allclose(grads[key], numeric[key], rtol=1e-5, atol=1e-8, err_msg=key)
    W = first.W.copy()
    SGD(lr=0.5).update(net.params, net.grads)
    np.testing.assert_array_equal(first.W, W - 0.5 * grads["0.W"])  # the update reached the layer's own array
    assert gradcheck(book_affine(rng), rng.standard_normal((3, 4))) and gradcheck(Sigmoid(), rng.standard_normal((3, 4)))


def test_a_caller_keeps_its_dout_when_a_layer_writes_into_the_one_it_is_handed():
    rng = np.random.default_rng(1)
    net = Sequential(book_affine(rng), Relu())
    x, dout = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    kept = dout.copy()
    net.forward(x)
    dx = net.backward(dout)
    assert np.array_equal(dout, kept)
    g = minigrad.Graph(["x"])
    g.add("h", book_affine(rng), "x")
    g.add("y", Relu(), "h")
    g.forward(x)
    g.backward(dout)
    assert np.array_equal(dout, kept) and np.array_equal(g.gradients["y"], kept)
    assert dx.shape == x.shape


def test_train_flg_follows_the_mode_of_the_net():
    x = np.ones((2000, 3))
    net = Sequential(BookDropout(0.25))
    np.random.seed(0)
    kept = net.forward(x).mean()
    assert 0.7 < kept < 0.8  # training: the book's mask, about 75% kept
    assert np.all(net.eval().forward(x) == 0.75)  # inference: the book's x · (1 - ratio)
    assert np.all(net.predict(x) == 0.75) and net.train().forward(x).mean() < 1


def test_the_presets_key_params_and_grads_with_the_books_names_each_array_once():
    assert list(TwoLayerNet(4, 5, 3, rng=0).params) == ["W1", "b1", "W2", "b2"]
    net = MultiLayerNet(4, [5, 5], 3, use_batchnorm=True, rng=0)
    assert list(net.params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"]
    assert list(SimpleConvNet((1, 8, 8), {"filter_num": 2, "filter_size": 3}, 4, 3, rng=0).params) == [
        "W1", "b1", "W2", "b2", "W3", "b3"]
    assert net.params["gamma2"] is net[4].gamma and list(net.gradient(np.ones((2, 4)), np.array([0, 1]))) == list(net.params)
    assert len({id(p) for p in net.params.values()}) == len(net.params)


def test_assigning_params_replaces_the_weight_or_raises():
    net = TwoLayerNet(4, 5, 3, rng=0)
    W1 = net.params["W1"]
    net.params["W1"] = np.ones((4, 5))  # the book's load_params idiom
    assert np.all(net[0].W == 1) and net.params["W1"] is W1
    with pytest.raises(KeyError, match=r"no parameter '0.W' to replace; the keys are \['W1', 'b1', 'W2', 'b2'\]"):
        net.params["0.W"] = np.ones((4, 5))
    with pytest.raises(ValueError, match=r"params\['b2'\]: the parameter has shape \(3,\), got an array of shape \(4,\)"):
        net.params["b2"] = np.ones(4)
    with pytest.raises(TypeError, match="fixed by its layers"):
        del net.params["W1"]
    net.params.update({"b1": np.full(5, 2.0)})
    assert np.all(net[0].b == 2)


def test_an_optimizer_keeps_its_state_under_the_books_keys_in_fit_and_in_backward():
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((20, 4)), rng.integers(0, 3, 20)
    net, adam = TwoLayerNet(4, 5, 3, weight_init_std=0.3, rng=0), Adam(lr=0.01)
    minigrad.fit(net, x, t, optimizer=adam, epochs=1, batch_size=10, verbose=0)
    assert set(adam.state["m"]) == set(net.params) == {"W1", "b1", "W2", "b2"}


def test_files_of_presets_keyed_by_position_still_load(tmp_path):
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((10, 4)), rng.integers(0, 3, 10)
    net, opt = MultiLayerNet(4, [5], 3, use_batchnorm=True, rng=0), Adam(lr=0.01)
    opt.update(net.params, net.gradient(x, t))
    save_model(tmp_path / "new.npz", net, optimizer=opt)
    position = {key: p for p, key in net.param_keys.items()}  # "W1" -> "0.W": the file as written before
    with np.load(tmp_path / "new.npz") as f:
        arrays = dict(f)
    old = {}
    for k, a in arrays.items():
        kind, _, rest = k.partition("/")
        if kind == "param":
            k = f"param/{position[rest]}"
        elif kind == "optimizer" and "." in rest:
            slot, _, key = rest.partition(".")
            k = f"optimizer/{slot}.{position[key]}"
        old[k] = a
    meta = json.loads(str(old["minigrad.json"]))
    meta["params"] = [position[k] for k in meta["params"]]
    old["minigrad.json"] = np.array(json.dumps(meta))
    assert "param/0.W" in old and "optimizer/m.0.W" in old
    np.savez(tmp_path / "old.npz", **old)
    ck = load_checkpoint(tmp_path / "old.npz")
    for key, p in net.params.items():
        assert np.array_equal(ck.model.params[key], p), key
        assert np.array_equal(ck.optimizer.state["m"][key], opt.state["m"][key]), key
    assert np.array_equal(load_model(tmp_path / "new.npz").predict(x), net.predict(x))


def test_gradcheck_is_callable_from_the_package_and_importable_as_before():
    import minigrad.gradcheck as module

    x = np.random.default_rng(0).standard_normal((2, 3))
    assert minigrad.gradcheck(minigrad.Tanh(), x) and module.gradcheck is gradcheck
    assert isinstance(minigrad.gradcheck(minigrad.Tanh(), x), minigrad.gradcheck.GradcheckResult)


def test_what_is_not_a_layer_is_refused_saying_what_it_lacks():
    with pytest.raises(TypeError, match="Sequential: layer 0: int is not a layer: it lacks forward and backward"):
        Sequential(3)
    with pytest.raises(TypeError, match=r"layer 0: Relu is a class, not a layer; write Relu\(\)$"):
        Sequential(Relu)
