"""variable.py: define-by-run against PyTorch autograd, the chapter's numbers, the recorded Graph, training, errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad import (
    Affine,
    Graph,
    MulLayer,
    ReLU,
    Sequential,
    Sigmoid,
    SoftmaxWithLoss,
    Tanh,
    TwoLayerNet,
    Variable,
    grad,
    no_grad,
)
from minigrad.models import price_graph
from minigrad.optimizers import SGD
from minigrad.variable import call

torch = pytest.importorskip("torch")  # the test-only oracle


# -- random expression DAGs against PyTorch autograd -------------------------------------------

SHAPES = [(), (3,), (2, 3), (2, 1), (1, 3)]


def _vector(a):
    return a if a.ndim else a.reshape(1)


# unary operations, written once for both a minigrad Variable and a torch tensor (same method names)
UNARY = {
    "neg": lambda a: -a,
    "exp": lambda a: a.exp(),
    "log": lambda a: (a * a + 0.5).log(),  # the guard keeps log's argument > 0
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "relu": lambda a: a.relu(),
    "square": lambda a: a**2,
    "cube": lambda a: a**3,
    "rsqrt": lambda a: (a * a + 0.5) ** -0.5,
    "sum": lambda a: a.sum(),
    "sum0": lambda a: a.sum(axis=0) if a.ndim else a.sum(),
    "sum-last-keep": lambda a: a.sum(axis=-1, keepdims=True) if a.ndim else a.sum(),
    "mean": lambda a: a.mean(),
    "mean0-keep": lambda a: a.mean(axis=0, keepdims=True) if a.ndim else a.mean(),
    "reshape": lambda a: a.reshape(-1),
    "T": lambda a: a.T if a.ndim == 2 else a.reshape(1, -1),
    "index": lambda a: _vector(a)[0],
    "gather": lambda a: _vector(a)[[0, 0]],  # a repeated index: its gradient adds up
    "slice": lambda a: _vector(a)[..., :1],
}


def _matmul(a, b):
    if a.ndim and b.ndim and a.shape[-1] == b.shape[0 if b.ndim == 1 else -2]:
        return a @ b
    if a.ndim == 2 and b.ndim == 2 and a.shape[-1] == b.shape[-1]:
        return a @ b.T
    return a * b.sum()


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 0.5),  # the guard keeps the divisor > 0
    "matmul": _matmul,
}


def _broadcastable(a, b):
    try:
        np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
        return True
    except ValueError:
        return False


def run_program(leaves, constants, steps):
    """Apply the steps to a list of values that starts as the leaves; each step's result is appended. Returns the list."""
    values = list(leaves)
    for op, i, j, k, side in steps:
        a, b = values[i % len(values)], values[j % len(values)]
        if op in UNARY:
            values.append(UNARY[op](a))
            continue
        if op.startswith("const-"):
            b = constants[k % len(constants)]  # a number or an array, on either side
            op = op[len("const-"):]
            if np.ndim(b) and not _broadcastable(a, b):
                b = float(np.sum(np.asarray(b)))
            values.append(BINARY[op](b, a) if side else BINARY[op](a, b))
            continue
        if op != "matmul" and not _broadcastable(a, b):
            b = b.sum()  # shapes that do not broadcast: the other operand summed to a scalar
        values.append(BINARY[op](a, b))
    return values


OPS = sorted(UNARY) + sorted(BINARY) + [f"const-{op}" for op in ("add", "sub", "mul", "div")]
leaf_values = st.sampled_from(SHAPES).flatmap(
    lambda shape: hnp.arrays(np.float64, shape, elements=st.floats(-2, 2, allow_subnormal=False))
)
steps = st.lists(
    st.tuples(st.sampled_from(OPS), st.integers(0, 20), st.integers(0, 20), st.integers(0, 1), st.booleans()),
    min_size=1,
    max_size=8,
)


def as_leaf(a, number):
    """The leaf as its array, or as a Python float when `number` and it holds one value."""
    return float(a.item()) if number and a.ndim == 0 else a


@settings(max_examples=150)
@given(
    leaves=st.lists(st.tuples(leaf_values, st.booleans()), min_size=1, max_size=3),
    constants=st.tuples(st.floats(-2, 2), leaf_values),
    program=steps,
    seed=st.integers(0, 2**16),
)
def test_random_expressions_match_pytorch_autograd_in_float64(leaves, constants, program, seed):
    mine = run_program([Variable(as_leaf(a, n)) for a, n in leaves], constants, program)
    torch_leaves = [torch.tensor(as_leaf(a, n), dtype=torch.float64, requires_grad=True) for a, n in leaves]
    torch_constants = (constants[0], torch.from_numpy(np.array(constants[1])))
    theirs = run_program(torch_leaves, torch_constants, program)
    for t in theirs[len(leaves):]:
        t.retain_grad()
    out, expected = mine[-1], theirs[-1].detach().numpy()
    scale = 1 + max(float(np.max(np.abs(np.asarray(v.data)))) for v in mine)
    assert out.shape == expected.shape
    np.testing.assert_allclose(np.asarray(out.data), expected, rtol=1e-10, atol=1e-10 * scale)
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(dout if out.ndim else float(dout))
    theirs[-1].backward(torch.tensor(dout))
    for k, (v, t) in enumerate(zip(mine, theirs)):
        if t.grad is None:
            assert v.grad is None, f"value {k}: minigrad has a gradient where torch has none"
            continue
        assert v.grad is not None, f"value {k}: torch has a gradient, minigrad none"
        g = t.grad.numpy()
        assert np.shape(v.grad) == g.shape, f"value {k}"
        gscale = scale * (1 + float(np.max(np.abs(g), initial=0)))
        np.testing.assert_allclose(np.asarray(v.grad), g, rtol=1e-10, atol=1e-10 * gscale, err_msg=f"value {k}")


def test_layers_with_parameters_match_pytorch_including_the_parameters_gradients():
    rng = np.random.default_rng(0)
    x, W1, b1, W2, b2 = (rng.standard_normal(s) for s in [(4, 5), (5, 3), (3,), (3, 2), (2,)])
    t = np.array([0, 1, 1, 0])
    first, second = Affine(W1.copy(), b1.copy()), Affine(W2.copy(), b2.copy())
    xv = Variable(x)
    loss = SoftmaxWithLoss()(second(Tanh()(first(xv))), t)
    loss.backward()
    tx, tW1, tb1, tW2, tb2 = (torch.tensor(a, requires_grad=True) for a in (x, W1, b1, W2, b2))
    tloss = torch.nn.functional.cross_entropy(torch.tanh(tx @ tW1 + tb1) @ tW2 + tb2, torch.tensor(t))
    tloss.backward()
    assert loss.data == pytest.approx(tloss.item(), rel=1e-14)
    for mine, theirs in [(xv.grad, tx), (first.grads["W"], tW1), (first.grads["b"], tb1), (second.grads["W"], tW2)]:
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-12, atol=1e-15)


# -- the chapter -------------------------------------------------------------------------------


def shopping():
    """The chapter's apples and oranges, written as arithmetic, every value named."""
    apple, apple_num = Variable(100, name="apple"), Variable(2, name="apple_num")
    orange, orange_num = Variable(150, name="orange"), Variable(3, name="orange_num")
    tax = Variable(1.1, name="tax")
    apple_price = apple * apple_num
    orange_price = orange * orange_num
    all_price = apple_price + orange_price
    price = all_price * tax
    for v, name in [(apple_price, "apple_price"), (orange_price, "orange_price"), (all_price, "all_price"), (price, "price")]:
        v.name = name
    return price, (apple, apple_num, orange, orange_num, tax)


def test_the_price_written_as_arithmetic_gives_the_chapters_numbers():
    price, (apple, apple_num, orange, orange_num, tax) = shopping()
    price.backward()
    assert price.data == pytest.approx(715)
    assert (apple.grad, apple_num.grad, orange.grad, orange_num.grad, tax.grad) == pytest.approx((2.2, 110, 3.3, 165, 650))
    g = price_graph()  # the hand-wired Graph gives the same numbers bit for bit
    assert g.forward(100, 2, 150, 3, 1.1) == price.data
    assert g.backward() == (apple.grad, apple_num.grad, orange.grad, orange_num.grad, tax.grad)


def test_the_price_picture_equals_the_hand_wired_graphs(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    price, _ = shopping()
    price.backward()
    g = price_graph()
    g.forward(100, 2, 150, 3, 1.1)
    g.backward()
    assert repr(price.graph) == repr(g)
    price.graph.draw(tmp_path / "price.png")
    g.draw(tmp_path / "hand_wired.png")
    mine, theirs = (imread(tmp_path / name) for name in ("price.png", "hand_wired.png"))
    assert mine.shape == theirs.shape and mine.shape[0] > 100
    np.testing.assert_array_equal(mine, theirs)  # pixel for pixel


def test_x0_squared_plus_x1_squared_has_gradient_6_8_at_3_4():
    x0, x1 = Variable(3.0, name="x0"), Variable(4.0, name="x1")
    y = x0**2 + x1**2
    y.backward()
    assert (y.data, x0.grad, x1.grad) == (25.0, 6.0, 8.0)
    assert grad(lambda x0, x1: x0**2 + x1**2, argnums=(0, 1))(3.0, 4.0) == (6.0, 8.0)
    f = grad(lambda x: (x**2).sum())
    np.testing.assert_array_equal(f(np.array([3.0, 4.0])), [6.0, 8.0])
    assert f(np.array([3.0, 4.0])).dtype == np.float64


def test_grad_gives_zero_for_an_argument_the_result_does_not_use_and_refuses_a_non_variable():
    dx, dy = grad(lambda x, y: x * 2, argnums=(0, 1))(1.0, np.ones(2))
    assert dx == 2.0 and dy.tolist() == [0.0, 0.0]
    with pytest.raises(TypeError, match="must return a Variable"):
        grad(lambda x: 3.0)(1.0)
    with pytest.raises(ValueError, match="argnums 2 out of range for 2"):
        grad(lambda x, y: x, argnums=2)(1.0, 2.0)
    with pytest.raises(TypeError, match="argnums"):
        grad(lambda x: x, argnums="x")


def test_grad_records_even_inside_no_grad():
    with no_grad():
        assert grad(lambda x: x * x)(3.0) == 6.0


# -- the record --------------------------------------------------------------------------------


def test_a_second_backward_gives_the_same_gradients_not_their_sum():
    x = Variable(np.array([1.0, 2.0]), name="x")
    y = (x * x).sum()
    y.backward()
    first = x.grad.copy()
    y.backward()
    np.testing.assert_array_equal(x.grad, first)
    np.testing.assert_array_equal(first, [2.0, 4.0])
    z = (x * 3).sum()  # a backward from another result replaces the gradient
    z.backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_fan_out_sums_the_gradients_of_every_use():
    x = Variable(2.0, name="x")
    y = x * x + x.exp() + x
    y.backward()
    assert x.grad == pytest.approx(2 * 2.0 + np.exp(2.0) + 1, rel=1e-15)


def test_intermediates_get_their_gradients_and_unnamed_nodes_are_named_after_their_layer():
    x = Variable(np.array([0.5, -1.0]), name="x")
    h = (x * 2).tanh()
    y = (h * h).sum()
    y.backward()
    np.testing.assert_allclose(h.grad, 2 * h.data)
    assert list(y.graph.nodes) == ["mul", "tanh", "mul_1", "sum"]
    assert y.graph.inputs == ["x", "2"] and y.graph.constants == {"2"}


def test_the_same_name_twice_is_made_unique():
    a, b = Variable(1.0, name="h"), Variable(2.0, name="h")
    y = a * b
    y.name = "h_1"
    assert y.graph.inputs == ["h", "h_2"] and list(y.graph.nodes) == ["h_1"]


def test_a_chain_of_100000_operations_backpropagates_without_recursion():
    x = Variable(np.array([0.5]), name="x")
    y = x
    for _ in range(100_000):
        y = -y
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # nothing below may recurse per node
    try:
        y.backward(np.ones(1))
    finally:
        sys.setrecursionlimit(limit)
    np.testing.assert_array_equal(x.grad, [1.0])  # an even number of negations
    assert len(y.graph.nodes) == 100_000


def test_layers_on_arrays_compute_forward_and_on_variables_record():
    relu = ReLU()
    out = relu(np.array([-1.0, 2.0]))
    assert type(out) is np.ndarray and out.tolist() == [0.0, 2.0]
    v = relu(Variable(np.array([-1.0, 2.0]), name="x"))
    assert isinstance(v, Variable) and v.data.tolist() == [0.0, 2.0]
    assert v.graph.nodes["relu"][0] is relu


def test_a_sequential_called_on_a_variable_records_each_layer_as_a_node():
    rng = np.random.default_rng(0)
    net = Sequential(Affine.from_sizes(3, 4, rng=rng), Sequential(ReLU(), Affine.from_sizes(4, 2, rng=rng)),
                     loss=SoftmaxWithLoss())
    x, t = rng.standard_normal((5, 3)), np.array([0, 1, 1, 0, 1])
    loss = net(Variable(x, name="x"), t)
    assert [type(layer).__name__ for layer, _ in loss.graph.nodes.values()] == ["Affine", "ReLU", "Affine", "SoftmaxWithLoss"]
    loss.backward()
    recorded = {k: v.copy() for k, v in net.grads.items()}
    net.loss(x, t)
    net.backward()
    for key, g in net.grads.items():
        np.testing.assert_array_equal(recorded[key], g, err_msg=key)
    with pytest.raises(ValueError, match="no loss"):
        Sequential(ReLU())(Variable(x), t)


def test_a_graph_called_on_variables_is_one_node_and_backpropagates_to_each_input():
    inputs = [Variable(v, name=n) for v, n in [(100, "apple"), (2, "apple_num"), (150, "orange"), (3, "orange_num"), (1.1, "tax")]]
    price = price_graph()(*inputs)
    price.backward()
    assert list(price.graph.nodes) == ["graph"]
    assert [v.grad for v in inputs] == list(price_graph_gradients())


def price_graph_gradients():
    g = price_graph()
    g.forward(100, 2, 150, 3, 1.1)
    return g.backward()


def test_a_constant_input_costs_no_input_gradient():
    class CountingAffine(Affine):
        calls: list[bool] = []

        def backward(self, dout, need_dx=True):
            self.calls.append(need_dx)
            return super().backward(dout, need_dx)

    layer = CountingAffine(np.ones((3, 2)), np.zeros(2))
    x = Variable(np.ones((4, 3)), requires_grad=False)
    layer(x).sum().backward()
    assert CountingAffine.calls == [False] and x.grad is None
    np.testing.assert_array_equal(layer.grads["W"], np.full((3, 2), 4.0))
    x = Variable(np.ones((4, 3)))
    layer(x).sum().backward()
    assert CountingAffine.calls == [False, True] and x.grad.shape == (4, 3)


def test_no_grad_records_nothing_and_operations_on_non_gradient_values_are_not_recorded():
    x = Variable(np.ones(2))
    with no_grad():
        y = (x * 2).exp()
    assert y.graph.nodes == {} and not y.requires_grad
    with pytest.raises(RuntimeError, match="records nothing"):
        y.sum().backward()
    z = Variable(np.ones(2), requires_grad=False) * 2
    assert not z.requires_grad and z.graph.nodes == {}
    y = (x * 2).sum()  # recording is back on after the block
    assert list(y.graph.nodes) == ["mul", "sum"]


def test_a_layer_called_again_before_backward_is_refused_by_name():
    sig = Sigmoid()
    first = sig(Variable(np.array([0.0]), name="a"))
    sig(Variable(np.array([1.0])))
    with pytest.raises(ValueError, match="the Sigmoid that computed 'sigmoid' has been called again since"):
        first.sum().backward()
    with pytest.raises(ValueError, match="the Sigmoid that computed 'sigmoid' has been called again since"):
        (sig(Variable(np.array([1.0]))) + sig(Variable(np.array([2.0])))).sum().backward()  # both in one computation


def test_a_book_style_layer_is_recorded_through_call():
    class Square:  # no base class, no __call__: the book's style
        def __init__(self):
            self.params, self.grads = {}, {}

        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, dout):
            return 2 * dout * self.x

    x = Variable(np.array([3.0]), name="x")
    y = call(Square(), x)
    y.backward(np.ones(1))
    assert x.grad.tolist() == [6.0]


def test_the_books_layers_record_their_w_dw_parameters_and_follow_the_sequentials_mode():
    from book_code import Affine as BookAffine
    from book_code import Dropout as BookDropout

    rng = np.random.default_rng(0)
    W, b, x = rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal((4, 3))
    affine = BookAffine(W.copy(), b.copy())
    y = call(affine, Variable(x, requires_grad=False))  # recorded for its W/dW, though x wants no gradient
    y.backward(np.ones((4, 2)))
    np.testing.assert_allclose(affine.dW, x.T @ np.ones((4, 2)), rtol=1e-15)
    net = Sequential(BookAffine(W.copy(), b.copy()), BookDropout(0.5))
    eval_out = net.eval()(Variable(x))  # train_flg=False reaches the book's Dropout: scaled, not masked
    np.testing.assert_allclose(eval_out.data, (x @ W + b) * 0.5, rtol=1e-15)


def test_numbers_and_arrays_on_either_side_broadcast_and_gradients_sum_to_each_shape():
    w = Variable(np.array([1.0, 2.0, 3.0]), name="w")
    b = Variable(np.array([[1.0], [2.0]]), name="b")
    y = (np.ones((2, 3)) * w - b / 2 + 1.5) @ np.ones(3)
    y.backward(np.ones(2))
    np.testing.assert_array_equal(w.grad, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(b.grad, [[-1.5], [-1.5]])
    assert isinstance(np.ones(2) + Variable(np.ones(2)), Variable)  # numpy defers to the Variable


def test_float32_stays_float32():
    x = Variable(np.ones((2, 3), np.float32))
    y = ((x * 2.0 - 1).exp() / 3).mean()
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: Variable("a"), TypeError, ["Variable", "numeric"]),
        (lambda: Variable(Variable(1.0)), TypeError, ["already a Variable"]),
        (lambda: Variable(1.0, name=3), TypeError, ["name", "3"]),
        (lambda: Variable(np.ones(2)) ** Variable(2.0), TypeError, ["exponent must be a number"]),
        (lambda: Variable(np.ones(2)).backward(), ValueError, ["dout is required", "(2,)"]),
        (lambda: (Variable(np.ones(2)) * 2).backward(np.ones(3)), ValueError, ["dout", "(2,)", "(3,)"]),
        (lambda: Variable(np.ones(2)) + np.ones(3), ValueError, ["AddLayer.forward", "(2,)", "(3,)"]),
        (lambda: Variable(np.zeros(2)).log(), ValueError, ["Log.forward", "> 0"]),
    ],
)
def test_bad_use_raises_a_typed_error_saying_what_is_wrong(make, error, words):
    with pytest.raises(error) as e:
        make()
    for w in words:
        assert w in str(e.value)


def test_a_leaf_backpropagates_to_itself():
    x = Variable(np.array([1.0, 2.0]))
    x.backward(np.array([3.0, 4.0]))
    assert x.grad.tolist() == [3.0, 4.0]


# -- training a net written as code ------------------------------------------------------------


class CodedTwoLayerNet:
    """The chapter's TwoLayerNet written as code: layers called on Variables, the loss backpropagated."""

    def __init__(self, params: dict[str, np.ndarray]) -> None:
        self.affine1 = Affine(params["W1"].copy(), params["b1"].copy())
        self.relu = ReLU()
        self.affine2 = Affine(params["W2"].copy(), params["b2"].copy())
        self.last_layer = SoftmaxWithLoss()

    def loss(self, x: np.ndarray, t: np.ndarray) -> Variable:
        h = self.relu(self.affine1(Variable(x, name="x", requires_grad=False)))
        return self.last_layer(self.affine2(h), t)

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {"W1": self.affine1.params["W"], "b1": self.affine1.params["b"],
                "W2": self.affine2.params["W"], "b2": self.affine2.params["b"]}

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {"W1": self.affine1.grads["W"], "b1": self.affine1.grads["b"],
                "W2": self.affine2.grads["W"], "b2": self.affine2.grads["b"]}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_two_layer_net_written_with_variables_trains_to_the_sequentials_weights_bit_for_bit(dtype):
    from minigrad.datasets import load_digits, minibatches

    (x_train, t_train), (x_test, t_test) = load_digits()
    net = TwoLayerNet(64, 50, 10, weight_init_std=0.1, rng=0, dtype=dtype)
    coded = CodedTwoLayerNet(net.params)
    opt_seq, opt_var = SGD(0.5), SGD(0.5)
    for epoch in range(8):
        for x, t in minibatches(x_train, t_train, 100, rng=epoch):
            opt_seq.update(net.params, net.gradient(x, t))
            loss = coded.loss(x, t)
            loss.backward()
            opt_var.update(coded.params, coded.grads)
    for (key, mine), theirs in zip(coded.params.items(), net.params.values()):
        assert mine.dtype == dtype
        np.testing.assert_array_equal(mine, theirs, err_msg=key)
    assert net.accuracy(x_test, t_test) > 0.9  # it learned
