"""models.py: TwoLayerNet and MultiLayerNet — the book's methods, seeding, initialisation, dtypes."""

import numpy as np
import pytest

from minigrad import Affine, MultiLayerNet, ReLU, Sigmoid, Tanh, TwoLayerNet


def test_two_layer_net_has_the_books_shapes_and_scale():
    net = TwoLayerNet(784, 50, 10, rng=0)
    assert {k: v.shape for k, v in net.params.items()} == {"0.W": (784, 50), "0.b": (50,), "2.W": (50, 10), "2.b": (10,)}
    assert net.params["0.W"].std() == pytest.approx(0.01, rel=0.02)
    assert not net.params["0.b"].any()
    assert isinstance(net[1], ReLU)


def test_two_layer_net_backprop_agrees_with_the_chapters_numerical_gradient():
    rng = np.random.default_rng(3)
    net = TwoLayerNet(6, 5, 3, weight_init_std=0.5, rng=rng)
    x, t = rng.standard_normal((4, 6)), np.array([0, 2, 1, 2])
    grads, numeric = net.gradient(x, t), net.numerical_gradient(x, t)
    for key in grads:
        np.testing.assert_allclose(grads[key], numeric[key], rtol=1e-5, atol=1e-8, err_msg=key)


def test_the_same_seed_gives_the_same_net_bit_for_bit():
    a, b = MultiLayerNet(10, [8, 8], 3, rng=7), MultiLayerNet(10, [8, 8], 3, rng=7)
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])
    assert not np.array_equal(a.params["0.W"], MultiLayerNet(10, [8, 8], 3, rng=8).params["0.W"])


@pytest.mark.parametrize(("activation", "layer"), [("relu", ReLU), ("sigmoid", Sigmoid), ("tanh", Tanh)])
def test_multi_layer_net_alternates_affine_and_activation(activation, layer):
    net = MultiLayerNet(12, [9, 7], 4, activation=activation, rng=0)
    kinds = [type(l) for l in net]
    assert kinds == [Affine, layer, Affine, layer, Affine]
    assert net.predict(np.ones((2, 12))).shape == (2, 4)


@pytest.mark.parametrize(("init", "scale"), [("he", np.sqrt(2 / 500)), ("xavier", np.sqrt(1 / 500)), ("relu", np.sqrt(2 / 500)), ("sigmoid", np.sqrt(1 / 500)), (0.05, 0.05)])
def test_multi_layer_net_initialisation(init, scale):
    net = MultiLayerNet(500, [400], 10, weight_init=init, rng=0)
    assert net.params["0.W"].std() == pytest.approx(scale, rel=0.02)


def test_float32_end_to_end():
    net = MultiLayerNet(5, [4], 3, dtype=np.float32, rng=0)
    x = np.ones((2, 5), dtype=np.float32)
    assert net.predict(x).dtype == np.float32
    grads = net.gradient(x, np.array([0, 1]))
    assert all(g.dtype == np.float32 for g in grads.values())
    assert all(p.dtype == np.float32 for p in net.params.values())


def test_bad_model_arguments_are_named():
    with pytest.raises(ValueError, match=r"MultiLayerNet: activation must be one of \['relu', 'sigmoid', 'tanh'\], got 'elu'"):
        MultiLayerNet(4, [3], 2, activation="elu")
    with pytest.raises(ValueError, match=r"init_weight: weight_init must be 'he', 'xavier' or a standard deviation, got 'glorot'"):
        MultiLayerNet(4, [3], 2, weight_init="glorot")
    with pytest.raises(ValueError, match=r"init_weight: a standard deviation must be a positive number, got -1"):
        TwoLayerNet(4, 3, 2, weight_init_std=-1)
