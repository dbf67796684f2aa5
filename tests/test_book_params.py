"""The book's weight files: presets load and save them, and predict what the book's nets predict from them.

The reference is this file's own inference code written the book's way (im2col patches as rows,
Pooling by a max over them, Dropout scaling by 1 − r at inference, BatchNormalization by its
running statistics with eps 10e-7), fed the same dict of arrays the book's save_params pickles.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from minigrad import DeepConvNet, MultiLayerNet, SimpleConvNet, TwoLayerNet
from minigrad.gradcheck import gradcheck
from minigrad.serialization import ModelFileError, load_model, save_model

pytestmark = pytest.mark.filterwarnings("error")


# ---------------------------------------------------------------- inference the book's way (this file's own code)


def book_im2col(x, fh, fw, stride, pad):
    """(N, C, H, W) -> (N·OH·OW, C·FH·FW): one row per output position, as the book lays patches out."""
    N, C, H, W = x.shape
    oh, ow = (H + 2 * pad - fh) // stride + 1, (W + 2 * pad - fw) // stride + 1
    img = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    col = np.zeros((N, C, fh, fw, oh, ow))
    for i in range(fh):
        for j in range(fw):
            col[:, :, i, j] = img[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * oh * ow, -1), oh, ow


def book_conv(x, W, b, stride=1, pad=0):
    col, oh, ow = book_im2col(x, W.shape[2], W.shape[3], stride, pad)
    return (col @ W.reshape(len(W), -1).T + b).reshape(len(x), oh, ow, -1).transpose(0, 3, 1, 2)


def book_pool(x, size=2, stride=2):
    N, C = x.shape[:2]
    col, oh, ow = book_im2col(x, size, size, stride, 0)
    return col.reshape(-1, size * size).max(axis=1).reshape(N, oh, ow, C).transpose(0, 3, 1, 2)


def relu(x):
    return np.maximum(x, 0)


def affine(x, W, b):
    return x.reshape(len(x), -1) @ W + b


def book_deep_predict(P, x, pads=(1, 1, 1, 2, 1, 1)):
    """The book's DeepConvNet.predict(x, train_flg=False): its Dropouts multiply by 1 − 0.5 = 0.5."""
    for i in range(6):
        x = relu(book_conv(x, P[f"W{i + 1}"], P[f"b{i + 1}"], 1, pads[i]))
        if i % 2:
            x = book_pool(x)
    x = relu(affine(x, P["W7"], P["b7"])) * (1 - 0.5)
    return affine(x, P["W8"], P["b8"]) * (1 - 0.5)


def book_simple_predict(P, x):
    """The book's ch. 7 SimpleConvNet.predict(x)."""
    return affine(relu(affine(book_pool(relu(book_conv(x, P["W1"], P["b1"]))), P["W2"], P["b2"])), P["W3"], P["b3"])


def book_extend_predict(P, x, hidden, ratio):
    """The book's MultiLayerNetExtend(use_batchnorm=True, use_dropout=True).predict(x, train_flg=False), ReLU."""
    for i in range(1, hidden + 1):
        x = affine(x, P[f"W{i}"], P[f"b{i}"])
        x = P[f"gamma{i}"] * (x - P[f"running_mean{i}"]) / np.sqrt(P[f"running_var{i}"] + 10e-7) + P[f"beta{i}"]
        x = relu(x) * (1 - ratio)
    return affine(x, P[f"W{hidden + 1}"], P[f"b{hidden + 1}"])


# ---------------------------------------------------------------- the book's files, made here


def book_pickle(path, params):
    """What the book's save_params does: pickle.dump of a dict of names to arrays."""
    with open(path, "wb") as f:
        pickle.dump({k: v for k, v in params.items()}, f)


def deep_params(rng, input_dim=(1, 28, 28), filters=(16, 16, 32, 32, 64, 64), hidden=50, out=10, flat=64 * 4 * 4):
    P, c = {}, input_dim[0]
    for i, n in enumerate(filters):
        P[f"W{i + 1}"], P[f"b{i + 1}"] = rng.standard_normal((n, c, 3, 3)) * np.sqrt(2 / (c * 9)), rng.standard_normal(n) * 0.1
        c = n
    P["W7"], P["b7"] = rng.standard_normal((flat, hidden)) * np.sqrt(2 / flat), rng.standard_normal(hidden) * 0.1
    P["W8"], P["b8"] = rng.standard_normal((hidden, out)) * np.sqrt(2 / hidden), rng.standard_normal(out) * 0.1
    return P


def assert_same_scores(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())


def test_deep_conv_net_predicts_what_the_books_net_predicts_from_its_file(tmp_path):
    rng = np.random.default_rng(0)
    P = deep_params(rng)
    book_pickle(tmp_path / "deep_convnet_params.pkl", P)
    net = DeepConvNet(rng=1)
    net.load_params(tmp_path / "deep_convnet_params.pkl")
    x = rng.random((6, 1, 28, 28))
    want = book_deep_predict(P, x)
    assert_same_scores(net.predict(x), want)
    # the conversion: the first Dropout's 1/2 goes into the next Affine's W, the last one's into the Affine before it
    np.testing.assert_array_equal(net.params["W8"], P["W8"] * 0.25)
    np.testing.assert_array_equal(net.params["b8"], P["b8"] * 0.5)
    np.testing.assert_array_equal(net.params["W7"], P["W7"])


def test_simple_conv_net_predicts_what_the_books_ch7_net_predicts_from_its_file(tmp_path):
    rng = np.random.default_rng(2)
    P = {"W1": rng.standard_normal((30, 1, 5, 5)) * 0.1, "b1": rng.standard_normal(30) * 0.1,
         "W2": rng.standard_normal((4320, 100)) * 0.02, "b2": rng.standard_normal(100) * 0.1,
         "W3": rng.standard_normal((100, 10)) * 0.1, "b3": rng.standard_normal(10) * 0.1}
    book_pickle(tmp_path / "params.pkl", P)
    net = SimpleConvNet()
    net.load_params(tmp_path / "params.pkl")
    x = rng.random((5, 1, 28, 28))
    assert_same_scores(net.predict(x), book_simple_predict(P, x))


def test_multi_layer_net_with_batchnorm_and_dropout_predicts_as_the_books_extend_net(tmp_path):
    rng = np.random.default_rng(3)
    sizes, ratio = [20, 16, 12, 5], 0.3
    P = {}
    for i, (d, m) in enumerate(zip(sizes[:-1], sizes[1:]), 1):
        P[f"W{i}"], P[f"b{i}"] = rng.standard_normal((d, m)) * 0.3, rng.standard_normal(m) * 0.1
        if i < len(sizes) - 1:  # the book keeps running statistics outside params; this file saves them beside
            P[f"gamma{i}"], P[f"beta{i}"] = 1 + 0.1 * rng.standard_normal(m), 0.1 * rng.standard_normal(m)
            P[f"running_mean{i}"], P[f"running_var{i}"] = rng.standard_normal(m), rng.random(m) * 1e-4  # small: eps matters
    book_pickle(tmp_path / "extend.pkl", P)
    x = rng.standard_normal((7, 20))
    want = book_extend_predict(P, x, 2, ratio)
    net = MultiLayerNet(20, [16, 12], 5, use_batchnorm=True, use_dropout=True, dropout_ration=ratio, batchnorm_eps=1e-6)
    net.load_params(tmp_path / "extend.pkl")
    assert_same_scores(net.predict(x), want)
    default_eps = MultiLayerNet(20, [16, 12], 5, use_batchnorm=True, use_dropout=True, dropout_ration=ratio)
    default_eps.load_params(tmp_path / "extend.pkl")
    assert not np.allclose(default_eps.predict(x), want, rtol=1e-3)  # PyTorch's 1e-5 is not the book's 10e-7


def test_save_params_writes_what_the_books_net_loads_and_predicts_alike(tmp_path):
    net = DeepConvNet(rng=4)
    net.save_params(tmp_path / "saved.pkl")
    with open(tmp_path / "saved.pkl", "rb") as f:
        P = pickle.load(f)  # the book's load_params
    assert sorted(P) == sorted(f"{n}{i}" for n in "Wb" for i in range(1, 9))
    x = np.random.default_rng(5).random((3, 1, 28, 28))
    assert_same_scores(book_deep_predict(P, x), net.predict(x))
    again = DeepConvNet(rng=6)
    again.load_params(tmp_path / "saved.pkl")
    for (k, a), b in zip(net.params.items(), again.params.values()):
        np.testing.assert_array_equal(a, b, err_msg=k)  # the factors are powers of two: exact both ways


def test_a_float32_net_loads_the_books_float64_file(tmp_path):
    rng = np.random.default_rng(7)
    P = {"W1": rng.standard_normal((4, 8)), "b1": rng.standard_normal(8), "W2": rng.standard_normal((8, 3)), "b2": rng.standard_normal(3)}
    book_pickle(tmp_path / "two.pkl", P)
    net = TwoLayerNet(4, 8, 3, dtype=np.float32)
    net.load_params(tmp_path / "two.pkl")
    assert all(a.dtype == np.float32 for a in net.params.values())
    x = rng.standard_normal((5, 4))
    np.testing.assert_allclose(net.predict(x.astype(np.float32)), affine(relu(affine(x, P["W1"], P["b1"])), P["W2"], P["b2"]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "edit, message",
    [(lambda P: P.pop("b2"), r"lacks \['b2'\]; this net's keys are"), (lambda P: P.update(W9=np.ones(2)), r"has unknown \['W9'\]"),
     (lambda P: P.update(W1=np.ones((4, 9))), r"holds W1 of shape \(4, 9\) and dtype float64, this net's W1 is a float64 array of shape \(4, 8\)"),
     (lambda P: P.update(W1=np.ones((4, 8), complex)), "dtype complex128"), (lambda P: P.update(b1=[1.0] * 8), "not a dict of names to arrays")],
    ids=["missing", "unknown", "shape", "complex", "a list"],
)
def test_a_file_for_another_net_is_refused_and_changes_nothing(tmp_path, edit, message):
    rng = np.random.default_rng(8)
    P = {"W1": rng.standard_normal((4, 8)), "b1": rng.standard_normal(8), "W2": rng.standard_normal((8, 3)), "b2": rng.standard_normal(3)}
    edit(P)
    book_pickle(tmp_path / "other.pkl", P)
    net = TwoLayerNet(4, 8, 3, rng=0)
    before = {k: a.copy() for k, a in net.params.items()}
    with pytest.raises(ModelFileError, match="TwoLayerNet.load_params: .*other.pkl .*" + message):
        net.load_params(tmp_path / "other.pkl")
    for k, a in net.params.items():
        np.testing.assert_array_equal(a, before[k])


def test_load_params_refuses_a_hostile_pickle_and_runs_nothing(tmp_path):
    import os

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {tmp_path / 'ran'}",)

    (tmp_path / "params.pkl").write_bytes(pickle.dumps({"W1": Exploit()}))
    with pytest.raises(ModelFileError, match=r"SimpleConvNet.load_params: .*params.pkl is refused: it would import \w+\.system"):
        SimpleConvNet().load_params(tmp_path / "params.pkl")
    assert not (tmp_path / "ran").exists()


# ---------------------------------------------------------------- DeepConvNet itself


def small_deep(**kw):
    conv = [{"filter_num": n, "filter_size": 3, "pad": p} for n, p in ((2, 1), (2, 1), (3, 1), (3, 2), (2, 1), (2, 1))]
    return DeepConvNet(input_dim=(1, 8, 8), **{f"conv_param_{i + 1}": c for i, c in enumerate(conv)}, hidden_size=4, output_size=3, **kw)


def test_deep_conv_net_has_the_books_layers_shapes_and_he_scales():
    net = DeepConvNet(rng=0)
    assert list(net.params) == [f"{n}{i}" for i in range(1, 9) for n in "Wb"]  # the book's keys
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Convolution", "ReLU", "Convolution", "ReLU", "Pooling"] * 3 + ["Affine", "ReLU", "Dropout", "Affine", "Dropout"]
    convs = [layer for layer in net.layers if kinds[net.layers.index(layer)] == "Convolution"]
    assert [c.params["W"].shape for c in convs] == [(16, 1, 3, 3), (16, 16, 3, 3), (32, 16, 3, 3), (32, 32, 3, 3), (64, 32, 3, 3), (64, 64, 3, 3)]
    assert [c.pad for c in convs] == [1, 1, 1, 2, 1, 1]
    assert net.layers[15].params["W"].shape == (64 * 4 * 4, 50) and net.layers[18].params["W"].shape == (50, 10)
    for layer, fan_in in zip([*convs, net.layers[15]], [9, 144, 144, 288, 288, 576, 1024]):
        assert abs(layer.params["W"].std() / np.sqrt(2 / fan_in) - 1) < 0.15
    assert net.predict(np.zeros((2, 1, 28, 28))).shape == (2, 10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_deep_conv_net_computes_in_its_dtype_and_the_same_seed_gives_the_same_net(dtype):
    a, b = small_deep(rng=3, dtype=dtype), small_deep(rng=3, dtype=dtype)
    assert all(p.dtype == dtype for p in a.params.values())
    x, t = np.random.default_rng(0).random((4, 1, 8, 8)).astype(dtype), np.array([0, 1, 2, 0])
    assert a.predict(x).dtype == dtype
    assert a.loss(x, t) == b.loss(x, t)  # the Dropouts' masks too


def test_gradcheck_passes_on_a_small_deep_conv_net():
    net = small_deep(rng=0)
    rng = np.random.default_rng(1)
    for layer in net.layers:  # biases as after training: zero biases make ReLU zeros that tie in every pooling window
        if "b" in layer.params:
            layer.params["b"][...] = rng.normal(0.1, 0.1, layer.params["b"].shape)
    x, t = rng.random((3, 1, 8, 8)), np.array([0, 2, 1])
    result = gradcheck(net, x, t)
    assert result, str(result)


def test_deep_conv_net_refuses_conv_params_that_leave_nothing_to_pool():
    with pytest.raises(ValueError, match=r"DeepConvNet: conv_param_2 \(3x3, stride 1, pad 0\) turns the images into 1x1, too small for the 2x2 pooling"):
        DeepConvNet(input_dim=(1, 5, 5), conv_param_1={"pad": 0}, conv_param_2={"pad": 0})
    with pytest.raises(ValueError, match=r"DeepConvNet: conv_param_3 takes keys .*got unknown \['size'\]"):
        DeepConvNet(conv_param_3={"size": 3})


def test_deep_conv_net_saves_and_loads_as_a_minigrad_model(tmp_path):
    net = DeepConvNet(rng=2, dtype=np.float32)
    save_model(tmp_path / "deep.npz", net)
    loaded = load_model(tmp_path / "deep.npz")
    assert type(loaded) is DeepConvNet and loaded.config == net.config
    x = np.random.default_rng(3).random((2, 1, 28, 28)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))
