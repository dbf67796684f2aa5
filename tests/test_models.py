"""models.py: TwoLayerNet and MultiLayerNet — the book's methods, seeding, initialisation, dtypes."""

import numpy as np
import pytest

from minigrad import Affine, MultiLayerNet, ReLU, Sigmoid, Tanh, TwoLayerNet


def test_two_layer_net_has_the_books_shapes_and_scale():
    net = TwoLayerNet(784, 50, 10, rng=0)
    assert {k: v.shape for k, v in net.params.items()} == {"W1": (784, 50), "b1": (50,), "W2": (50, 10), "b2": (10,)}
    assert net.params["W1"].std() == pytest.approx(0.01, rel=0.02)
    assert not net.params["b1"].any()
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
    assert not np.array_equal(a.params["W1"], MultiLayerNet(10, [8, 8], 3, rng=8).params["W1"])


@pytest.mark.parametrize(("activation", "layer"), [("relu", ReLU), ("sigmoid", Sigmoid), ("tanh", Tanh)])
def test_multi_layer_net_alternates_affine_and_activation(activation, layer):
    net = MultiLayerNet(12, [9, 7], 4, activation=activation, rng=0)
    kinds = [type(l) for l in net]
    assert kinds == [Affine, layer, Affine, layer, Affine]
    assert net.predict(np.ones((2, 12))).shape == (2, 4)


@pytest.mark.parametrize(("init", "scale"), [("he", np.sqrt(2 / 500)), ("xavier", np.sqrt(1 / 500)), ("relu", np.sqrt(2 / 500)), ("sigmoid", np.sqrt(1 / 500)), (0.05, 0.05)])
def test_multi_layer_net_initialisation(init, scale):
    net = MultiLayerNet(500, [400], 10, weight_init=init, rng=0)
    assert net.params["W1"].std() == pytest.approx(scale, rel=0.02)


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
    with pytest.raises(ValueError, match=r"init_weight: weight_init must be 'he', 'xavier' or a standard deviation \(a finite number > 0\), got -1"):
        TwoLayerNet(4, 3, 2, weight_init_std=-1)


# ---------------------------------------------------------------- SimpleConvNet (chapter 7)


def test_simple_conv_net_is_the_books_chapter_7_net():
    from minigrad import Convolution, Pooling, SimpleConvNet, SoftmaxWithLoss

    net = SimpleConvNet(rng=0)
    assert [type(l) for l in net] == [Convolution, ReLU, Pooling, Affine, ReLU, Affine]
    assert isinstance(net.last_layer, SoftmaxWithLoss)
    assert {k: v.shape for k, v in net.params.items()} == {
        "W1": (30, 1, 5, 5), "b1": (30,), "W2": (30 * 12 * 12, 100), "b2": (100,), "W3": (100, 10), "b3": (10,)
    }
    assert (net[0].stride, net[0].pad) == (1, 0)
    assert (net[2].pool_h, net[2].pool_w, net[2].stride, net[2].pad) == (2, 2, 2, 0)
    assert net.params["W1"].std() == pytest.approx(0.01, rel=0.1) and net.params["W2"].std() == pytest.approx(0.01, rel=0.02)
    assert net.predict(np.zeros((2, 1, 28, 28))).shape == (2, 10)


def test_simple_conv_net_he_init_float32_and_its_conv_param():
    from minigrad import SimpleConvNet

    net = SimpleConvNet((3, 9, 8), {"filter_num": 16, "filter_size": 3, "pad": 1, "stride": 2}, hidden_size=20,
                        output_size=4, rng=0, dtype=np.float32, weight_init="he")
    assert all(p.dtype == np.float32 for p in net.params.values())
    assert net.params["W1"].shape == (16, 3, 3, 3) and net.params["W2"].shape == (16 * 2 * 2, 20)  # 9x8 -> 5x4 -> 2x2
    assert net.params["W1"].std() == pytest.approx(np.sqrt(2 / 27), rel=0.15)
    assert net.predict(np.zeros((2, 3, 9, 8), dtype=np.float32)).dtype == np.float32


def test_simple_conv_net_passes_gradcheck_whole():
    from minigrad import SimpleConvNet
    from minigrad.gradcheck import gradcheck

    rng = np.random.default_rng(1)
    net = SimpleConvNet((2, 7, 6), {"filter_num": 3, "filter_size": 3, "pad": 1}, hidden_size=5, output_size=3,
                        weight_init_std=0.5, rng=rng)
    for name, p in net.params.items():  # b = 0 puts dead ReLU units on their kink
        if name.endswith(".b"):
            p[...] = rng.uniform(0.1, 0.5, p.shape)
    result = gradcheck(net, rng.standard_normal((2, 2, 7, 6)), np.array([0, 2]))
    assert result, str(result)


def test_simple_conv_net_learns_the_digits_with_fit():
    from minigrad import SimpleConvNet
    from minigrad.datasets import load_digits
    from minigrad.optimizers import Adam
    from minigrad.trainer import fit

    (x, t), (x_test, t_test) = load_digits(flatten=False)
    net = SimpleConvNet((1, 8, 8), {"filter_num": 16, "filter_size": 3}, hidden_size=50, rng=0, dtype=np.float32,
                        weight_init="he")
    history = fit(net, x, t, optimizer=Adam(lr=0.003), epochs=4, batch_size=50, rng=0, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert net.accuracy(x_test, t_test) > 0.9


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"conv_param": {"filters": 3}}, ["SimpleConvNet", "conv_param", "'filters'"]),
        ({"input_dim": (28, 28)}, ["SimpleConvNet", "input_dim", "(C, H, W)", "(28, 28)"]),
        ({"input_dim": (1, 5, 5)}, ["SimpleConvNet", "5x5", "1x1", "2x2 pooling"]),
        ({"weight_init": "xavier"}, ["SimpleConvNet", "weight_init", "'xavier'"]),
    ],
)
def test_bad_simple_conv_net_arguments_are_named(kwargs, words):
    from minigrad import SimpleConvNet

    with pytest.raises(ValueError) as e:
        SimpleConvNet(**kwargs)
    for word in words:
        assert word in str(e.value), (word, str(e.value))


# ---------------------------------------------------------------- chapter 6: batch norm, dropout, weight decay


def test_multi_layer_net_with_the_books_extend_options_puts_batchnorm_before_and_dropout_after_each_activation():
    from minigrad import BatchNormalization, Dropout

    plain = MultiLayerNet(6, [5, 4], 3, rng=0)
    net = MultiLayerNet(6, [5, 4], 3, rng=0, use_batchnorm=True, use_dropout=True, dropout_ratio=0.2)
    assert [type(l) for l in net] == [Affine, BatchNormalization, ReLU, Dropout] * 2 + [Affine]
    assert all(l.dropout_ratio == 0.2 for l in net if isinstance(l, Dropout))
    assert not np.array_equal(net[3].rng.random(3), net[7].rng.random(3))  # a generator each
    assert list(net.buffers) == ["1.running_mean", "1.running_var", "5.running_mean", "5.running_var"]
    w = {k: v for k, v in net.params.items() if k[0] in "Wb" and k[1:].isdigit()}
    assert [a.tobytes() for a in w.values()] == [a.tobytes() for a in plain.params.values()]  # the same weights
    again = MultiLayerNet(6, [5, 4], 3, rng=0, use_batchnorm=True, use_dropout=True, dropout_ratio=0.2)
    x = np.ones((4, 6))
    assert np.array_equal(again.forward(x), net.forward(x))  # the same seed, the same masks


@pytest.mark.parametrize(("book", "scale"), [("relu", np.sqrt(2 / 500)), ("he", np.sqrt(2 / 500)),
                                             ("sigmoid", np.sqrt(1 / 500)), ("xavier", np.sqrt(1 / 500)), (0.01, 0.01)])
def test_the_books_weight_init_std_names(book, scale):
    net = MultiLayerNet(input_size=500, hidden_size_list=[400], output_size=10, weight_init_std=book, rng=0)
    assert net.params["W1"].std() == pytest.approx(scale, rel=0.02)
    assert net.config["weight_init"] == book


def test_the_books_calls_run_as_written():
    from minigrad import Dropout

    net = MultiLayerNet(input_size=784, hidden_size_list=[100, 100, 100, 100, 100, 100], output_size=10,
                        weight_decay_lambda=0.1)
    assert net.weight_decay_lambda == 0.1
    net = MultiLayerNet(input_size=784, hidden_size_list=[100, 100, 100, 100, 100, 100], output_size=10,
                        use_dropout=True, dropout_ration=0.2)
    assert [l.dropout_ratio for l in net if isinstance(l, Dropout)] == [0.2] * 6
    net = MultiLayerNet(input_size=784, hidden_size_list=[100, 100, 100, 100, 100], output_size=10,
                        weight_init_std=0.01, use_batchnorm=True)
    assert net.params["W1"].std() == pytest.approx(0.01, rel=0.05)


def test_weight_decay_adds_half_lambda_w_squared_to_the_loss_and_lambda_w_to_each_dw():
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((5, 6)), rng.integers(0, 3, 5)
    plain, decayed = MultiLayerNet(6, [4], 3, rng=1), MultiLayerNet(6, [4], 3, rng=1, weight_decay_lambda=0.3)
    penalty = 0.15 * sum(np.sum(plain.params[k] ** 2) for k in ("W1", "W2"))
    assert decayed.loss(x, t) == pytest.approx(plain.loss(x, t) + penalty, rel=1e-14)
    g_plain, g = plain.gradient(x, t), decayed.gradient(x, t)
    for key in g:
        extra = 0.3 * plain.params[key] if key.startswith("W") else 0
        np.testing.assert_allclose(g[key], g_plain[key] + extra, rtol=1e-13, err_msg=key)
    numeric = decayed.numerical_gradient(x, t)
    for key in g:
        np.testing.assert_allclose(g[key], numeric[key], rtol=1e-5, atol=1e-8, err_msg=key)
    np.testing.assert_array_equal(decayed.predict(x), plain.predict(x))  # the scores carry no penalty


def test_weight_decay_steps_inside_backward_exactly_like_the_books_loop():
    from minigrad.optimizers import SGD

    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((8, 6)), rng.integers(0, 3, 8)
    a, b = (MultiLayerNet(6, [4], 3, rng=1, weight_decay_lambda=0.1, use_batchnorm=True) for _ in range(2))
    opt_a, opt_b = SGD(lr=0.1), SGD(lr=0.1)
    for _ in range(3):
        a.loss(x, t)
        a.backward(need_dx=False, optimizer=opt_a)
        opt_b.update(b.params, b.gradient(x, t))
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])


def test_bad_chapter_6_arguments_are_named():
    with pytest.raises(ValueError, match="MultiLayerNet: give weight_init or the book's weight_init_std, not both"):
        MultiLayerNet(4, [3], 2, weight_init="he", weight_init_std="relu")
    with pytest.raises(ValueError, match=r"MultiLayerNet: weight_decay_lambda must be a finite number >= 0, got -0.1"):
        MultiLayerNet(4, [3], 2, weight_decay_lambda=-0.1)
    with pytest.raises(ValueError, match=r"MultiLayerNet: dropout_ratio must be a number in \[0, 1\), got 1.5"):
        MultiLayerNet(4, [3], 2, use_dropout=True, dropout_ratio=1.5)
    with pytest.raises(ValueError, match="dropout_ratio=0.3 and the book's dropout_ration=0.2 disagree"):
        MultiLayerNet(4, [3], 2, dropout_ratio=0.3, dropout_ration=0.2)


def test_simple_conv_net_with_batch_normalization_per_channel_passes_gradcheck_in_training_mode():
    from minigrad import BatchNormalization, Convolution, Pooling, SimpleConvNet
    from minigrad.gradcheck import gradcheck

    rng = np.random.default_rng(1)
    net = SimpleConvNet((2, 7, 6), {"filter_num": 3, "filter_size": 3, "pad": 1}, hidden_size=5, output_size=3,
                        weight_init_std=0.5, rng=rng, use_batchnorm=True)
    assert [type(l) for l in net] == [Convolution, BatchNormalization, ReLU, Pooling, Affine, BatchNormalization, ReLU, Affine]
    assert net[1].params["gamma"].shape == (3,) and net[5].params["gamma"].shape == (5,)
    result = gradcheck(net, rng.standard_normal((4, 2, 7, 6)), np.array([0, 2, 1, 1]))
    assert result, str(result)
