"""network.py: Sequential and Graph — composition, automatic backward, fan-out, DOT, errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import Affine, AddLayer, Graph, MulLayer, ReLU, Sequential, Sigmoid, SoftmaxWithLoss, Tanh
from minigrad.models import price_graph
from minigrad.numerical import numerical_gradient
from minigrad.optimizers import OPTIMIZERS, SGD, get_optimizer


def small_net(rng, d=4, h=5, c=3):
    return Sequential(
        Affine(rng.standard_normal((d, h)), rng.standard_normal(h)),
        Tanh(),
        Affine(rng.standard_normal((h, c)), rng.standard_normal(c)),
        loss=SoftmaxWithLoss(),
    )


def test_price_graph_gives_the_chapters_numbers():
    g = price_graph()
    assert g.forward(100, 2, 150, 3, 1.1) == 715.0000000000001
    dapple, dapple_num, dorange, dorange_num, dtax = g.backward(1)
    assert (dapple, dapple_num, dorange, dorange_num, dtax) == (2.2, 110.00000000000001, 3.3000000000000003, 165.0, 650)
    assert str(dtax) == "650.0" and str(dapple_num) == "110.00000000000001"
    assert all(type(d) is float for d in (dapple, dapple_num, dorange, dorange_num, dtax))  # numbers in, floats out
    assert g.gradients["all_price"] == 1.1


def test_graph_gradients_of_numbers_are_floats_and_of_arrays_are_arrays_with_fan_out_too():
    g = Graph(["x", "w"])
    g.add("a", MulLayer(), "x", "x")
    g.add("b", MulLayer(), "a", "w")
    g.add("c", AddLayer(), "b", "x")
    g.forward(3, np.array([1.0, 2.0]))
    dx, dw = g.backward(np.ones(2))
    assert type(dx) is float and dx == 2 * 3 * 3 + 2  # Σ_w 2xw + 1 per element
    assert isinstance(dw, np.ndarray) and dw.shape == (2,) and np.array_equal(dw, [9.0, 9.0])


def test_each_edge_keeps_its_own_gradient_contribution_and_to_dot_shows_it():
    # y = x·k + x·k + x·m at x=2, k=3, m=4: x feeds three nodes, its edges carry 3, 3 and 4, its total is 10
    g = Graph(["x", "k", "m"])
    g.add("p", MulLayer(), "x", "k")
    g.add("q", MulLayer(), "x", "k")
    g.add("r", MulLayer(), "x", "m")
    g.add("s", AddLayer(), "p", "q")
    g.add("y", AddLayer(), "s", "r")
    g.forward(2.0, 3.0, 4.0)
    dx, dk, dm = g.backward(1.0)
    assert (dx, dk, dm) == (10.0, 4.0, 2.0)
    edges = {(v, node): float(d) for (v, node, _), d in g.edge_gradients.items() if v == "x"}
    assert edges == {("x", "p"): 3.0, ("x", "q"): 3.0, ("x", "r"): 4.0}
    dot = g.to_dot()
    assert '"x" -> "p" [label=<2.0<BR/><FONT COLOR="red">3.0</FONT>>];' in dot
    assert '"x" -> "r" [label=<2.0<BR/><FONT COLOR="red">4.0</FONT>>];' in dot
    assert 'COLOR="red">10.0<' not in dot


def test_graph_inputs_by_name_and_scalar_output_dout_defaults_to_one():
    g = price_graph()
    assert g.forward(apple=100, apple_num=2, orange=150, orange_num=3, tax=1.1) == 715.0000000000001
    assert g.backward()[0] == 2.2


def test_fan_out_sums_the_gradients_of_every_use():
    # y = x·x + x: x feeds three places; dy/dx = 2x + 1
    g = Graph(["x"])
    g.add("square", MulLayer(), "x", "x")
    g.add("y", AddLayer(), "square", "x")
    x = np.array([1.5, -2.0, 3.0])
    g.forward(x)
    np.testing.assert_allclose(g.backward(np.ones(3)), 2 * x + 1)


def test_graph_with_a_loss_returns_none_for_the_targets_and_fills_every_layer():
    rng = np.random.default_rng(0)
    g = Graph(["x", "t"])
    g.add("h", Affine(rng.standard_normal((4, 3)), np.zeros(3)), "x")
    g.add("a", Sigmoid(), "h")
    g.add("b", ReLU(), "h")
    g.add("s", AddLayer(), "a", "b")
    g.add("loss", SoftmaxWithLoss(), "s", "t")
    x, t = rng.standard_normal((2, 4)), np.array([0, 2])
    g.forward(x, t)
    dx, dt = g.backward()
    assert dt is None
    assert set(g.grads) == {"h.W", "h.b"}
    W = g.params["h.W"]
    np.testing.assert_allclose(g.grads["h.W"], numerical_gradient(lambda _: g.forward(x, t), W), rtol=1e-6, atol=1e-9)
    g.forward(x, t)
    np.testing.assert_allclose(g.backward()[0], dx, rtol=1e-15)
    np.testing.assert_allclose(dx, numerical_gradient(lambda _: g.forward(x, t), x), rtol=1e-6, atol=1e-9)


def test_graphs_and_sequentials_nest():
    rng = np.random.default_rng(1)
    inner = Graph(["x", "y"])
    inner.add("p", MulLayer(), "x", "y")
    outer = Graph(["a", "b"])
    outer.add("g", inner, "a", "b")
    outer.add("s", Sequential(Tanh(), Sigmoid()), "g")
    a, b = rng.standard_normal(3), rng.standard_normal(3)
    outer.forward(a, b)
    da, db = outer.backward(np.ones(3))
    np.testing.assert_allclose(da, numerical_gradient(lambda _: float(np.sum(outer.forward(a, b))), a), rtol=1e-6)
    np.testing.assert_allclose(db, numerical_gradient(lambda _: float(np.sum(outer.forward(a, b))), b), rtol=1e-6)


def test_graph_errors_name_the_node_and_value():
    g = Graph(["x"])
    with pytest.raises(ValueError, match=r"Graph.add: node 'y' consumes unknown value 'z'; defined so far: x"):
        g.add("y", ReLU(), "z")
    with pytest.raises(ValueError, match=r"Graph.add: node 'y' consumes itself, which would make a cycle"):
        g.add("y", ReLU(), "y")
    relu = ReLU()
    g.add("y", relu, "x")
    with pytest.raises(ValueError, match=r"Graph.add: the name 'y' is already defined"):
        g.add("y", Tanh(), "x")
    with pytest.raises(ValueError, match=r"Graph.add: node y and node z are the same ReLU instance"):
        g.add("z", relu, "y")
    with pytest.raises(TypeError, match=r"Graph.add\('z'\): int is not a layer: it lacks forward and backward"):
        g.add("z", 3, "y")
    with pytest.raises(RuntimeError, match=r"Graph.backward called before forward"):
        g.backward(np.ones(2))
    with pytest.raises(TypeError, match=r"Graph.forward: missing input\(s\) \['x'\]"):
        g.forward()
    with pytest.raises(TypeError, match=r"Graph.forward: unknown input 'w'"):
        g.forward(w=1.0)
    with pytest.raises(ValueError, match=r"Graph: input names must be distinct"):
        Graph(["x", "x"])
    g.forward(np.ones(2))
    with pytest.raises(ValueError, match=r"Graph.backward: dout is required when the output is not a scalar"):
        g.backward()


def test_to_dot_labels_each_edge_with_its_value_and_gradient():
    g = price_graph()
    assert '"apple" -> "apple_price";' in g.to_dot()  # before forward: no labels
    g.forward(100, 2, 150, 3, 1.1)
    g.backward(1)
    dot = g.to_dot()
    assert dot.startswith("digraph minigrad {") and dot.rstrip().endswith("}")
    assert '"tax" -> "price" [label=<1.1<BR/><FONT COLOR="red">650.0</FONT>>];' in dot
    assert '"apple_num" -> "apple_price" [label=<2<BR/><FONT COLOR="red">110.00000000000001</FONT>>];' in dot
    assert '"price" -> "out:price" [label=<715.0000000000001<BR/><FONT COLOR="red">1.0</FONT>>];' in dot
    assert '"all_price" [label="+", xlabel="all_price"];' in dot


@given(n=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_sequential_gradient_matches_numerical_gradient(n, seed):
    rng = np.random.default_rng(seed)
    net = small_net(rng)
    x, t = rng.standard_normal((n, 4)), rng.integers(0, 3, n)
    grads = net.gradient(x, t)
    numeric = net.numerical_gradient(x, t)
    assert set(grads) == set(numeric) == {"0.W", "0.b", "2.W", "2.b"}
    for key in grads:
        np.testing.assert_allclose(grads[key], numeric[key], rtol=1e-5, atol=1e-8, err_msg=key)


def test_sequential_params_are_the_layers_arrays_and_grads_follow_backward():
    rng = np.random.default_rng(0)
    net = small_net(rng)
    assert net.params["0.W"] is net[0].params["W"]
    x = rng.standard_normal((2, 4))
    net.gradient(x, np.array([0, 1]))
    assert net.grads["2.b"] is net[2].grads["b"]
    np.testing.assert_array_equal(net.scores, net.predict(x))  # what the loss scored, kept for fit's accuracy


def test_sequential_as_a_layer_backpropagates_dout():
    rng = np.random.default_rng(2)
    net = Sequential(Affine(rng.standard_normal((3, 2)), np.zeros(2)), Sigmoid())
    x = rng.standard_normal((4, 3))
    dout = rng.standard_normal((4, 2))
    net.forward(x)
    dx = net.backward(dout)
    np.testing.assert_allclose(dx, numerical_gradient(lambda _: float(np.sum(net.forward(x) * dout)), x), rtol=1e-6)
    assert len(net) == 2 and isinstance(net[1], Sigmoid)


def test_sequential_accuracy_takes_labels_or_one_hot():
    net = Sequential(Affine(np.eye(3), np.zeros(3)), loss=SoftmaxWithLoss())
    x = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [1.0, 0, 0]])
    t = np.array([0, 1, 2, 2])
    assert net.accuracy(x, t) == 0.75
    assert net.accuracy(x, np.eye(3)[t]) == 0.75


def test_sequential_errors():
    relu = ReLU()
    with pytest.raises(ValueError, match=r"Sequential: layer 0 and layer 1 are the same ReLU instance"):
        Sequential(relu, relu)
    with pytest.raises(TypeError, match=r"Sequential: layer 1: str is not a layer"):
        Sequential(ReLU(), "relu")
    net = Sequential(ReLU())
    with pytest.raises(RuntimeError, match=r"Sequential.backward called before forward"):
        net.backward(np.ones(2))
    net.forward(np.ones(2))
    with pytest.raises(ValueError, match=r"Sequential.backward: dout is required after forward\(x\) without targets"):
        net.backward()
    with pytest.raises(ValueError, match=r"Sequential.forward: targets t were given, but this Sequential has no loss"):
        net.forward(np.ones(2), np.ones(2))


def deep_net(rng, tie=False):
    """784-free toy: Affine-ReLU-Affine-Tanh-Affine with softmax loss; tie=True shares the middle W."""
    W = rng.standard_normal((5, 5))
    return Sequential(
        Affine(rng.standard_normal((4, 5)), rng.standard_normal(5)), ReLU(),
        Affine(W, rng.standard_normal(5)), Tanh(),
        Affine(W if tie else rng.standard_normal((5, 5)), rng.standard_normal(5)), ReLU(),
        Affine(rng.standard_normal((5, 3)), rng.standard_normal(3)),
        loss=SoftmaxWithLoss(),
    )


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("tie", [False, True])
def test_backward_with_an_optimizer_steps_exactly_like_update_after_backward(name, tie):
    eager_net, later_net = deep_net(np.random.default_rng(4), tie), deep_net(np.random.default_rng(4), tie)
    eager_opt, later_opt = get_optimizer(name, lr=0.05, weight_decay=0.01), get_optimizer(name, lr=0.05, weight_decay=0.01)
    rng = np.random.default_rng(5)
    for _ in range(3):
        x, t = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
        eager_net.loss(x, t)
        assert eager_net.backward(need_dx=False, optimizer=eager_opt) is None
        later_opt.update(later_net.params, later_net.gradient(x, t))
    assert eager_opt.t == later_opt.t == 3
    for key, p in later_net.params.items():
        np.testing.assert_array_equal(eager_net.params[key], p, err_msg=key)  # bit for bit


def test_tied_weights_are_updated_after_the_whole_backward():
    net = deep_net(np.random.default_rng(6), tie=True)
    assert net._tied and not deep_net(np.random.default_rng(6))._tied
    x, t = np.random.default_rng(7).standard_normal((6, 4)), np.array([0, 1, 2, 0, 1, 2])
    grads = {k: g.copy() for k, g in net.gradient(x, t).items()}  # from the weights before any update
    net.loss(x, t)
    net.backward(optimizer=SGD(lr=0.1))
    for key, g in grads.items():  # the same gradients: nothing moved before every layer was done
        np.testing.assert_array_equal(net.grads[key], g, err_msg=key)


def test_backward_with_an_optimizer_after_forward_without_loss_updates_the_chain():
    rng = np.random.default_rng(8)
    net = Sequential(Affine(rng.standard_normal((3, 2)), np.zeros(2)), Sigmoid())
    W = net.params["0.W"].copy()
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    net.forward(x)
    dx = net.backward(dout, optimizer=SGD(lr=0.5))
    assert dx.shape == x.shape
    np.testing.assert_array_equal(net.params["0.W"], W - 0.5 * net.grads["0.W"])


# ------------------------------------------------------------------------------- the mode and the buffers


def modal_net(rng):
    """Affine → BatchNormalization → ReLU → (Dropout → Affine, nested) with a loss."""
    from minigrad import BatchNormalization, Dropout

    inner = Sequential(Dropout(0.5, rng=1), Affine(rng.standard_normal((5, 3)), np.zeros(3)))
    return Sequential(Affine(rng.standard_normal((4, 5)), np.zeros(5)), BatchNormalization(np.ones(5), np.zeros(5)),
                      ReLU(), inner, loss=SoftmaxWithLoss())


def test_train_and_eval_set_every_flag_nested_nets_included_and_return_the_net():
    net = modal_net(np.random.default_rng(0))
    flags = lambda: [net.training, net[1].training, net[3].training, net[3][0].training]  # noqa: E731
    assert flags() == [True] * 4  # True when built
    assert net.eval() is net and flags() == [False] * 4
    assert net.train() is net and flags() == [True] * 4
    assert net.train(False) is net and flags() == [False] * 4
    assert not hasattr(net[2], "training")  # layers without the flag are left alone
    with pytest.raises(TypeError, match="Sequential.train: mode must be True or False, got 'eval'"):
        net.train("eval")


def test_graph_train_and_eval_reach_its_nodes():
    from minigrad import Dropout

    g = Graph(["x"])
    g.add("drop", Dropout(0.5, rng=0), "x")
    g.add("seq", Sequential(Dropout(0.5, rng=1)), "drop")
    assert g.eval() is g and not g.nodes["drop"][0].training and not g.nodes["seq"][0][0].training
    x = np.ones((3, 4))
    np.testing.assert_array_equal(g.forward(x), x)
    assert g.train() is g and g.nodes["seq"][0][0].training


def test_predict_and_accuracy_run_in_inference_mode_and_restore_each_layers_mode():
    rng = np.random.default_rng(0)
    net = modal_net(rng)
    x, t = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    expected = net.eval().forward(x)
    net.train()
    net[1].training = False  # one layer set by hand: predict must give back exactly this
    before = net.buffers["1.running_mean"].copy()
    np.testing.assert_array_equal(net.predict(x), expected)
    np.testing.assert_array_equal(net.predict(x), expected)  # no dropout, no moving statistics
    assert net.accuracy(x, t) == np.mean(expected.argmax(axis=1) == t)
    np.testing.assert_array_equal(net.buffers["1.running_mean"], before)
    assert [net.training, net[1].training, net[3][0].training] == [True, False, True]


def test_forward_loss_and_gradient_follow_the_flag():
    rng = np.random.default_rng(0)
    net = modal_net(rng)
    x, t = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    assert not np.array_equal(net.forward(x), net.forward(x))  # training: a new dropout mask each time
    net.eval()
    np.testing.assert_array_equal(net.forward(x), net.predict(x))
    assert net.loss(x, t) == net.loss(x, t)
    before = net.buffers["1.running_var"].copy()
    net.gradient(x, t)
    np.testing.assert_array_equal(net.buffers["1.running_var"], before)
    net.train()
    net.gradient(x, t)
    assert not np.array_equal(net.buffers["1.running_var"], before)


def test_buffers_are_one_flat_dict_keyed_like_params_holding_the_live_arrays():
    net = modal_net(np.random.default_rng(0))
    assert list(net.buffers) == ["1.running_mean", "1.running_var"]
    assert net.buffers["1.running_mean"] is net[1].running_mean
    outer = Sequential(ReLU(), net[1])
    assert list(outer.buffers) == ["1.running_mean", "1.running_var"]
    g = Graph(["x"])
    g.add("inner", Sequential(Tanh(), outer), "x")
    assert g.buffers["inner.1.1.running_var"] is net[1].running_var


@pytest.mark.parametrize("inputs", [None, 5, {"x"}])
def test_graph_inputs_that_are_not_a_list_of_names_are_a_type_error_naming_graph(inputs):
    with pytest.raises(TypeError, match=r"^Graph: inputs must be a list of names, got"):
        Graph(inputs)


# ---------------------------------------------------------------------------------------------- errors that point


def test_an_error_inside_a_sequential_names_the_layers_position_and_type_and_what_fed_it():
    net = Sequential(Affine.from_sizes(100, 50, rng=0), ReLU(), Affine.from_sizes(100, 10, rng=1), loss=SoftmaxWithLoss())
    with pytest.raises(ValueError) as raised:  # the same exception type the layer raised
        net.predict(np.ones((4, 100)))
    message = str(raised.value)
    assert message.startswith("layer 2 (Affine 100→10): x must have shape (N, 100)")
    assert "got (4, 50)" in message and message.endswith("; layer 0 outputs 50")
    assert "Affine.forward" not in message  # the place names the layer once
    with pytest.raises(ValueError, match=r"^loss \(SoftmaxWithLoss\): label 99 in t is out of range for 10 classes$"):
        Sequential(Affine.from_sizes(3, 10, rng=0), loss=SoftmaxWithLoss()).loss(np.ones((2, 3)), np.array([0, 99]))


def test_an_error_in_a_nested_net_or_a_graph_or_a_backward_names_its_full_position():
    outer = Sequential(ReLU(), Sequential(Affine.from_sizes(5, 5, rng=0), Affine.from_sizes(4, 3, rng=0)))
    with pytest.raises(ValueError, match=r"^layer 1\.1 \(Affine 4→3\): .*got \(2, 5\); layer 1\.0 outputs 5$"):
        outer.forward(np.ones((2, 5)))
    g = Graph(["a", "b"])
    g.add("c", MulLayer(), "a", "b")
    with pytest.raises(ValueError, match=r"^node 'c' \(MulLayer\): .*do not broadcast"):
        g.forward(np.ones(3), np.ones(4))
    net = Sequential(Affine.from_sizes(3, 2, rng=0), ReLU())
    net.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"^layer 1 \(ReLU\): dout"):
        net.backward(np.ones((4, 5)))


def test_a_users_layer_error_keeps_its_type_and_gains_the_place():
    class Picky:
        def forward(self, x):
            raise KeyError("no such thing")

        def backward(self, dout):
            return dout

    with pytest.raises(KeyError) as raised:
        Sequential(ReLU(), Picky()).forward(np.ones((2, 2)))
    assert raised.value.args == ("layer 1 (Picky): no such thing",)


def test_a_class_given_for_a_layer_says_how_to_build_it():
    with pytest.raises(TypeError, match=r"layer 1: ReLU is a class, not a layer; write ReLU\(\)$"):
        Sequential(Affine.from_sizes(5, 5, rng=0), ReLU, Affine.from_sizes(5, 3, rng=1))
    with pytest.raises(TypeError, match=r"layer 0: Affine is a class, not a layer; write Affine\(\.\.\.\)$"):
        Sequential(Affine, ReLU())


def test_flattened_images_into_a_convolution_get_the_hint_to_load_them_with_flatten_false():
    from minigrad import SimpleConvNet

    net = SimpleConvNet(input_dim=(1, 8, 8), conv_param={"filter_num": 4, "filter_size": 3, "pad": 0, "stride": 1},
                        hidden_size=10, rng=0)
    with pytest.raises(ValueError, match=r"^layer 0 \(Convolution 1→4, 3×3\): .*got \(3, 64\) .*flatten=False"):
        net.predict(np.ones((3, 64)))
