"""interop.py: to_torch, from_torch and export_onnx, measured against minigrad on random inputs.

Differences are relative to the reference's scale, max|a − b| / max|b|; an Affine's or a Convolution's bias
right before batch norm has gradient 0 in exact arithmetic, so there both sides' round-off is measured against the
model's largest gradient instead. `python tests/test_interop.py`
prints the largest one per model; the tests assert the bounds: float64 PyTorch inference 1e-12, one
SGD step (the loss, every gradient and every weight's change) 1e-10, ONNX Runtime in float32 1e-5 at batch sizes 1 and 37.
Under CI (CI=true) a missing torch, onnx or onnxruntime fails these tests instead of skipping them.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from typing import Any, Callable

import numpy as np
import pytest

from minigrad import (
    Affine,
    BatchNormalization,
    Convolution,
    Dropout,
    Layer,
    MeanSquaredError,
    MultiLayerNet,
    Pooling,
    ReLU,
    Sequential,
    Sigmoid,
    SigmoidWithLoss,
    SimpleConvNet,
    SoftmaxWithLoss,
    Tanh,
    TwoLayerNet,
)
from minigrad.cli import main
from minigrad.interop import OPSET, export_onnx, from_torch, to_torch
from minigrad.optimizers import SGD
from minigrad.serialization import save_model

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(module: str) -> Any:
    """The module, or a skip on a developer's machine without it; under CI a missing one fails."""
    if IN_CI:
        return __import__(module)  # .ci/run installs torch, onnx and onnxruntime: an ImportError fails the test
    return pytest.importorskip(module)


def relative(a: Any, b: Any) -> float:
    """max|a − b| / max|b| (max|a − b| when b is all zeros)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = float(np.abs(b).max())
    return float(np.abs(a - b).max() / (scale if scale > 0 else 1.0))


def compare(a: dict[str, np.ndarray], b: dict[str, np.ndarray], zero: set[str]) -> dict[str, float]:
    """relative(a[k], b[k]) per key; for keys in `zero` (0 in exact arithmetic: both sides are round-off),
    max(|a[k]|, |b[k]|) against the largest value in b instead."""
    scale = max(float(np.abs(v).max()) for v in b.values())
    return {k: max(np.abs(a[k]).max(), np.abs(b[k]).max()) / scale if k in zero else relative(a[k], b[k]) for k in b}


def zero_gradients(net: Sequential) -> set[str]:
    """Keys of the biases whose gradient is 0 in exact arithmetic: an Affine's or a Convolution's b right before a
    BatchNormalization in training mode, which subtracts the batch mean (both frameworks give round-off, ~1e-17)."""
    pairs = zip(net.layers, net.layers[1:])
    return {f"{i}.b" for i, (a, b) in enumerate(pairs)
            if isinstance(a, (Affine, Convolution)) and isinstance(b, BatchNormalization) and b.training}


# ---------------------------------------------------------------- the models, with their inputs and targets


def labels(rng: np.random.Generator, n: int, classes: int) -> np.ndarray:
    return rng.integers(0, classes, size=n)


def mlp_sigmoid_loss(rng: np.random.Generator) -> Sequential:
    """Affine → Tanh → Affine → Sigmoid → Affine with a SigmoidWithLoss over 3 outputs per sample."""
    sizes = [(6, 8), (8, 5), (5, 3)]
    a, b, c = (Affine(rng.standard_normal(s), rng.standard_normal(s[1])) for s in sizes)
    return Sequential(a, Tanh(), b, Sigmoid(), c, loss=SigmoidWithLoss())


def mlp_squared_error(rng: np.random.Generator) -> Sequential:
    """A nested chain: (Affine → ReLU) → Affine with a MeanSquaredError."""
    first = Sequential(Affine(rng.standard_normal((6, 9)), rng.standard_normal(9)), ReLU())
    return Sequential(first, Affine(rng.standard_normal((9, 4)), rng.standard_normal(4)), loss=MeanSquaredError())


def batchnorm(rng: np.random.Generator, size: int) -> BatchNormalization:
    """A BatchNormalization with random gamma, beta and running statistics, momentum 0.8 and eps 1e-3 (none of them defaults)."""
    return BatchNormalization(1 + 0.2 * rng.standard_normal(size), 0.2 + 0.3 * rng.standard_normal(size), momentum=0.8,
                              running_mean=0.3 * rng.standard_normal(size), running_var=rng.uniform(0.5, 2, size), eps=1e-3)


def randomize_batchnorm(net: Sequential, seed: int) -> Sequential:
    """net with every BatchNormalization's gamma, beta and running statistics drawn at random (a preset starts them at 1, 0, 0, 1)."""
    rng = np.random.default_rng(seed)
    for layer in net.layers:
        if isinstance(layer, BatchNormalization):
            random = batchnorm(rng, layer.params["gamma"].size)
            for mine, drawn in zip([*layer.params.values(), *layer.buffers.values()], [*random.params.values(), *random.buffers.values()]):
                np.copyto(mine, drawn)
    return net


def multilayer_extend(seed: int, **options: Any) -> Sequential:
    """MultiLayerNet 12-10-8-5 with the book's chapter 6 options, batch norm's parameters and statistics drawn at random."""
    return randomize_batchnorm(MultiLayerNet(12, [10, 8], 5, rng=seed, dropout_ratio=0.3, **options), seed)


def small_cnn(rng: np.random.Generator) -> Sequential:
    """Convolution (pad 1) → BatchNormalization per channel → ReLU → Pooling 2×2 → Convolution (stride 2) → Tanh
    → Pooling 3×3 (stride 1, pad 1) → Dropout → Affine."""
    conv1 = Convolution(0.5 * rng.standard_normal((4, 2, 3, 3)), rng.standard_normal(4), stride=1, pad=1)
    conv2 = Convolution(0.3 * rng.standard_normal((5, 4, 2, 2)), rng.standard_normal(5), stride=2)
    head = Affine(0.3 * rng.standard_normal((5 * 2 * 2, 3)), rng.standard_normal(3))
    return Sequential(conv1, batchnorm(rng, 4), ReLU(), Pooling(2, 2, stride=2), conv2, Tanh(), Pooling(3, 3, stride=1, pad=1),
                      Dropout(0.25, rng=rng), head, loss=SoftmaxWithLoss())


def simple_conv_net(seed: int, use_batchnorm: bool = False) -> SimpleConvNet:
    conv = {"filter_num": 4, "filter_size": 3, "pad": 1, "stride": 1}
    net = SimpleConvNet((1, 10, 10), conv, hidden_size=8, output_size=3, weight_init="he", rng=seed, use_batchnorm=use_batchnorm)
    return randomize_batchnorm(net, seed)


# name: (model from a seed, one input sample's shape, targets for n samples)
MODELS: dict[str, tuple[Callable[[int], Sequential], tuple[int, ...], Callable[[np.random.Generator, int], np.ndarray]]] = {
    "TwoLayerNet": (lambda seed: TwoLayerNet(12, 10, 4, weight_init_std=0.5, rng=seed), (12,), lambda r, n: labels(r, n, 4)),
    "MultiLayerNet relu": (lambda seed: MultiLayerNet(12, [10, 8, 6], 5, rng=seed), (12,), lambda r, n: labels(r, n, 5)),
    "MultiLayerNet sigmoid": (lambda seed: MultiLayerNet(12, [7], 3, activation="sigmoid", rng=seed), (12,),
                              lambda r, n: np.eye(3)[labels(r, n, 3)]),  # one-hot rows
    "MultiLayerNet tanh": (lambda seed: MultiLayerNet(12, [9, 9], 4, activation="tanh", rng=seed), (12,), lambda r, n: labels(r, n, 4)),
    "MLP SigmoidWithLoss": (lambda seed: mlp_sigmoid_loss(np.random.default_rng(seed)), (6,),
                            lambda r, n: r.integers(0, 2, size=(n, 3)).astype(np.float64)),
    "MLP MeanSquaredError": (lambda seed: mlp_squared_error(np.random.default_rng(seed)), (6,), lambda r, n: r.standard_normal((n, 4))),
    "MultiLayerNet batchnorm": (lambda seed: multilayer_extend(seed, use_batchnorm=True), (12,), lambda r, n: labels(r, n, 5)),
    "MultiLayerNet dropout": (lambda seed: multilayer_extend(seed, use_dropout=True), (12,), lambda r, n: labels(r, n, 5)),
    "MultiLayerNet bn+dropout": (lambda seed: multilayer_extend(seed, use_batchnorm=True, use_dropout=True), (12,),
                                 lambda r, n: labels(r, n, 5)),
    "MultiLayerNet weight decay": (lambda seed: multilayer_extend(seed, weight_decay_lambda=0.1), (12,), lambda r, n: labels(r, n, 5)),
    "SimpleConvNet": (simple_conv_net, (1, 10, 10), lambda r, n: labels(r, n, 3)),
    "SimpleConvNet batchnorm": (lambda seed: simple_conv_net(seed, use_batchnorm=True), (1, 10, 10), lambda r, n: labels(r, n, 3)),
    "CNN bn+dropout": (lambda seed: small_cnn(np.random.default_rng(seed)), (2, 8, 8), lambda r, n: labels(r, n, 3)),
}


def case(name: str, n: int, seed: int = 0) -> tuple[Sequential, np.ndarray, np.ndarray]:
    build, shape, targets = MODELS[name]
    rng = np.random.default_rng(seed + 1000)
    return build(seed), rng.standard_normal((n, *shape)), targets(rng, n)


# ---------------------------------------------------------------- measurements (one home for what tests assert and the script prints)


def inference_difference(name: str) -> float:
    """to_torch(model)(x) against model.predict(x), float64, batch 37."""
    torch = need("torch")
    model, x, _ = case(name, 37)
    module, _ = to_torch(model.eval())  # predict's mode: batch norm with the running statistics, no dropout
    with torch.no_grad():
        y = module(torch.from_numpy(x)).numpy()
    return relative(y, model.predict(x))


def by_position(model: Sequential, arrays: dict[str, Any]) -> dict[str, Any]:
    """arrays keyed as model.params (a preset's book names, "W1") re-keyed by position ("0.W"), as from_torch keys a plain Sequential."""
    position = {key: p for p, key in model.param_keys.items()}
    return {position.get(k, k): a for k, a in arrays.items()}


def torch_grads(module: Any) -> dict[str, np.ndarray]:
    """The module's gradients in minigrad's layout and keys: from_torch of a copy whose weights are the grads."""
    torch = need("torch")
    grads = copy.deepcopy(module)
    with torch.no_grad():
        for p, g in zip(grads.parameters(), module.parameters()):
            p.copy_(g.grad)
    return from_torch(grads).params


class Draws:
    """A stand-in for a Dropout's generator that draws what keeps exactly the elements PyTorch kept (1.0 ≥ ratio > 0.0)."""

    def __init__(self, keep: np.ndarray) -> None:
        self.keep = keep

    def random(self, shape: tuple[int, ...]) -> np.ndarray:
        assert shape == self.keep.shape
        return self.keep.astype(np.float64)


def dropouts(net: Sequential) -> list[Dropout]:
    """net's Dropout layers in chain order, nested nets included."""
    found: list[Dropout] = []
    for layer in net.layers:
        found += dropouts(layer) if isinstance(layer, Sequential) else [layer] if isinstance(layer, Dropout) else []
    return found


def training_step_differences(name: str, training: bool = True, lr: float = 0.1) -> dict[str, float]:
    """One SGD step in training mode (or in inference mode), in PyTorch and in minigrad from the same weights, batch
    and dropout masks: the loss, each gradient, each weight's change (after − before) and each running statistic after."""
    torch = need("torch")
    model, x, t = case(name, 37)
    module, loss_fn = to_torch(model.train(training))
    assert module.training is training
    masks: list[np.ndarray] = []  # PyTorch draws each mask; minigrad's Dropout layers are then fed the same ones

    def record(_: Any, inputs: tuple[Any, ...], output: Any) -> None:
        x_in, y_out = inputs[0].detach().numpy(), output.detach().numpy()
        masks.append((y_out != 0) | (x_in == 0))  # where x is 0 the mask changes nothing downstream

    for m in module.modules():
        if isinstance(m, torch.nn.Dropout):
            m.register_forward_hook(record)
    with torch.random.fork_rng():  # PyTorch's masks from a seed, leaving its global generator as it was
        torch.manual_seed(0)
        torch_loss = loss_fn(module(torch.from_numpy(x)), torch.from_numpy(t))
    torch_loss.backward()
    torch.optim.SGD(module.parameters(), lr=lr).step()
    for layer, keep in zip(dropouts(model), masks, strict=True):
        layer.rng = Draws(keep)

    before = {k: p.copy() for k, p in by_position(model, model.params).items()}
    loss = model.loss(x, t)
    model.backward()
    grads = {k: g.copy() for k, g in by_position(model, model.grads).items()}
    SGD(lr=lr).update(model.params, model.grads)

    stepped = from_torch(module)
    found = {"loss": relative(torch_loss.item(), loss)}
    zero = zero_gradients(model)
    updates = {k: p - before[k] for k, p in by_position(model, model.params).items()}
    torch_updates = {k: p - before[k] for k, p in stepped.params.items()}
    found.update({f"grad {k}": v for k, v in compare(torch_grads(module), grads, zero).items()})
    found.update({f"update {k}": v for k, v in compare(torch_updates, updates, zero).items()})
    found.update({f"buffer {k}": relative(b, model.buffers[k]) for k, b in stepped.buffers.items()})
    assert set(stepped.params) == set(before) and set(stepped.buffers) == set(model.buffers)
    assert len(found) == 1 + 2 * len(model.params) + len(model.buffers)
    return found


def onnx_differences(name: str, path: str) -> dict[int, float]:
    """ONNX Runtime (float32) against model.predict (float64), for batches of 1 and 37 through one file."""
    need("onnx")
    ort = need("onnxruntime")
    model, x, _ = case(name, 37)
    export_onnx(model, path)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    found = {}
    for n in (1, 37):
        y = model.predict(x[:n])
        assert np.abs(y).max(axis=-1).min() > 0.01, "each sample's output must be more than zeros"
        found[n] = relative(session.run(None, {"x": x[:n].astype(np.float32)})[0], y)
    return found


# ---------------------------------------------------------------- to_torch and from_torch


@pytest.mark.parametrize("name", MODELS)
def test_to_torch_infers_what_minigrad_predicts_to_1e_12_in_float64(name):
    assert inference_difference(name) <= 1e-12


@pytest.mark.parametrize("name", MODELS)
def test_one_sgd_step_in_torch_matches_minigrads_loss_gradients_and_update_to_1e_10(name):
    differences = training_step_differences(name)
    worst = max(differences, key=differences.get)
    assert differences[worst] <= 1e-10, f"{worst}: {differences[worst]:.3g}"


MODAL = [name for name in MODELS if any(isinstance(layer, (BatchNormalization, Dropout)) for layer in case(name, 1)[0].layers)]


@pytest.mark.parametrize("name", MODAL)
def test_one_sgd_step_in_inference_mode_matches_too(name):
    differences = training_step_differences(name, training=False)  # batch norm on running statistics, no dropout
    worst = max(differences, key=differences.get)
    assert differences[worst] <= 1e-10, f"{worst}: {differences[worst]:.3g}"


@pytest.mark.parametrize("name", MODELS)
def test_from_torch_gives_back_the_same_weights_bit_for_bit(name):
    need("torch")
    model, x, t = case(name, 5)
    module, loss_fn = to_torch(model)
    back = from_torch(module, getattr(loss_fn, "loss", loss_fn))  # a Sequential has no weight decay: the loss inside it
    assert repr(back).replace("Sequential", "") == repr(model).replace(type(model).__name__, "")  # same layers, same loss
    assert list(back.params) == list(by_position(model, model.params))
    assert list(back.buffers) == list(model.buffers)
    for key, p in {**by_position(model, model.params), **model.buffers}.items():
        mine = {**back.params, **back.buffers}[key]
        assert mine.dtype == p.dtype and mine.tobytes() == p.tobytes(), key
        assert not np.shares_memory(mine, p)
    assert back.predict(x).tobytes() == model.predict(x).tobytes()


def test_to_torch_keeps_float32_and_flattens_images_where_affine_does():
    torch = need("torch")
    net = TwoLayerNet(12, 5, 3, rng=0, dtype=np.float32)
    module, _ = to_torch(net)
    assert all(p.dtype == torch.float32 for p in module.parameters())
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 2)).astype(np.float32)  # Affine flattens (N, 3, 2, 2)
    with torch.no_grad():
        y = module(torch.from_numpy(x)).numpy()
    assert y.dtype == np.float32 and relative(y, net.predict(x)) < 1e-6
    cnn, *_ = case("CNN bn+dropout", 1)
    assert [type(m).__name__ for m in to_torch(cnn)[0]][-2:] == ["Flatten", "Linear"]


def test_each_layers_mode_goes_over_and_comes_back():
    torch = need("torch")
    model, *_ = case("CNN bn+dropout", 1)
    model.eval()
    model[1].training = True  # a mixed state: the batch norm trains, the dropout does not
    module, _ = to_torch(model)
    assert [m.training for m in module] == [False, True, False, False, False, False, False, False, False, False]
    assert [getattr(layer, "training", None) for layer in from_torch(module)] == [None, True, None, None, None, None, None, False, None]
    assert from_torch(module).training is False and from_torch(to_torch(model.train())[0]).training is True
    bn = module[1]
    assert isinstance(bn, torch.nn.BatchNorm2d) and bn.momentum == 1 - 0.8 and bn.eps == 1e-3


def test_to_torch_draws_nothing_from_torchs_generator():
    torch = need("torch")
    torch.manual_seed(0)
    before = torch.get_rng_state()
    to_torch(case("CNN bn+dropout", 1)[0])
    assert torch.equal(torch.get_rng_state(), before)


def test_the_torch_losses_match_minigrads_on_one_sample():
    torch = need("torch")
    rng = np.random.default_rng(3)
    y, t = rng.standard_normal(5), rng.standard_normal(5)
    squared = to_torch(Sequential(loss=MeanSquaredError()))[1]
    assert relative(squared(torch.from_numpy(y), torch.from_numpy(t)).item(), MeanSquaredError().forward(y, t)) <= 1e-15
    t01 = rng.integers(0, 2, size=5).astype(np.float64)
    binary = to_torch(Sequential(loss=SigmoidWithLoss()))[1]
    assert relative(binary(torch.from_numpy(y), torch.from_numpy(t01)).item(), SigmoidWithLoss().forward(y, t01)) <= 1e-15


class Swish(Layer):
    """y = x·sigmoid(x): a user's own layer, which nothing exports."""

    def forward(self, x):
        return x / (1 + np.exp(-x))


def test_a_layer_without_export_is_named_with_its_position():
    torch = need("torch")
    net = Sequential(Affine(np.ones((3, 2)), np.zeros(2)), Sequential(ReLU(), Swish()), loss=SoftmaxWithLoss())
    with pytest.raises(TypeError, match=r"to_torch: layer 1\.1 is a Swish"):
        to_torch(net)
    with pytest.raises(TypeError, match=r"from_torch: module 1 \(Softmax\) has no minigrad counterpart"):
        from_torch(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Softmax(dim=1)))
    with pytest.raises(TypeError, match="to_torch: model must be a minigrad Sequential"):
        to_torch(Affine(np.ones((3, 2)), np.zeros(2)))


def test_batch_norm_per_activation_on_images_is_refused_by_name():
    need("torch")
    rng = np.random.default_rng(0)
    net = Sequential(Convolution(rng.standard_normal((2, 1, 3, 3)), np.zeros(2)), BatchNormalization(np.ones(18), np.zeros(18)))
    with pytest.raises(ValueError, match=r"to_torch: layer 1 \(BatchNormalization\) normalizes images per activation"):
        to_torch(net)


def test_from_torch_refuses_what_minigrad_cannot_compute():
    torch = need("torch")
    nn = torch.nn
    with pytest.raises(ValueError, match=r"module 0 \(Conv2d\) has stride \(1, 2\)"):
        from_torch(nn.Sequential(nn.Conv2d(1, 2, 3, stride=(1, 2))))
    with pytest.raises(ValueError, match=r"module 0 \(Conv2d\) sets dilation=\(2, 2\); minigrad implements dilation=\(1, 1\) only"):
        from_torch(nn.Sequential(nn.Conv2d(1, 2, 3, dilation=2)))
    with pytest.raises(TypeError, match="right before an nn.Linear"):
        from_torch(nn.Sequential(nn.Flatten(), nn.ReLU()))
    with pytest.raises(ValueError, match="the loss CrossEntropyLoss sets label_smoothing=0.1; minigrad implements label_smoothing=0.0 only"):
        from_torch(nn.Sequential(nn.Linear(2, 2)), nn.CrossEntropyLoss(label_smoothing=0.1))
    with pytest.raises(ValueError, match="track_running_stats=False; minigrad implements track_running_stats=True only"):
        from_torch(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2, track_running_stats=False)))
    with pytest.raises(TypeError, match=r"the loss adds MultiLayerNet's weight decay \(λ = 0.1\), which a Sequential cannot"):
        from_torch(*to_torch(MultiLayerNet(2, [3], 2, weight_decay_lambda=0.1)))
    with pytest.raises(TypeError, match="the loss NLLLoss has no minigrad counterpart"):
        from_torch(nn.Sequential(nn.Linear(2, 2)), nn.NLLLoss())


OPTIONS = [  # (module or loss, what the refusal names): every option minigrad does not implement, by name
    (lambda nn: nn.CrossEntropyLoss(ignore_index=1), "the loss CrossEntropyLoss sets ignore_index=1"),
    (lambda nn: nn.CrossEntropyLoss(reduction="sum"), "sets reduction='sum'"),
    (lambda nn: nn.CrossEntropyLoss(weight=nn.Linear(1, 2).bias.detach()), "the loss CrossEntropyLoss has weight"),
    (lambda nn: nn.Conv2d(1, 2, 3, groups=1, padding_mode="reflect"), "module 0 (Conv2d) sets padding_mode='reflect'"),
    (lambda nn: nn.Conv2d(2, 2, 3, groups=2), "module 0 (Conv2d) sets groups=2"),
    (lambda nn: nn.Conv2d(1, 2, 3, padding="same"), "module 0 (Conv2d) sets padding='same'"),
    (lambda nn: nn.MaxPool2d(2, ceil_mode=True), "module 0 (MaxPool2d) sets ceil_mode=True"),
    (lambda nn: nn.MaxPool2d(2, dilation=2), "module 0 (MaxPool2d) sets dilation=2"),
    (lambda nn: nn.MaxPool2d(2, return_indices=True), "module 0 (MaxPool2d) sets return_indices=True"),
    (lambda nn: nn.BatchNorm1d(2, affine=False), "module 0 (BatchNorm1d) sets affine=False"),
    (lambda nn: nn.BatchNorm1d(2, momentum=None), "module 0 (BatchNorm1d) sets momentum=None"),
    (lambda nn: nn.Conv2d(1, 2, 3, padding=3), "module 0 (Conv2d): Convolution: pad must be less than the filter size"),
    (lambda nn: nn.BatchNorm1d(2, eps=0.0), "module 0 (BatchNorm1d): BatchNormalization: eps must be a finite number > 0"),
]


@pytest.mark.parametrize("make, says", OPTIONS, ids=range(len(OPTIONS)))
def test_from_torch_refuses_every_option_it_does_not_implement_by_name_and_position(make, says):
    torch = need("torch")
    nn = torch.nn
    made = make(nn)
    is_loss = isinstance(made, nn.modules.loss._Loss)
    with pytest.raises(ValueError) as e:
        from_torch(nn.Sequential(nn.Linear(2, 2)), made) if is_loss else from_torch(nn.Sequential(made))
    assert says in str(e.value), str(e.value)


def test_cross_entropy_with_ignore_index_was_accepted_and_gave_another_loss():
    """Issue 21: from_torch(model, CrossEntropyLoss(ignore_index=1)) gave 1.3926 where PyTorch gives 1.5171; now refused."""
    torch = need("torch")
    loss = torch.nn.CrossEntropyLoss(ignore_index=1)
    with pytest.raises(ValueError, match="ignore_index=1; minigrad implements ignore_index=-100 only"):
        from_torch(torch.nn.Sequential(torch.nn.Linear(3, 3)), loss)
    from_torch(torch.nn.Sequential(torch.nn.Linear(3, 3)), torch.nn.CrossEntropyLoss(ignore_index=-100))  # the default: fine


def test_a_pytorch_trained_module_comes_back_and_predicts_alike():
    torch = need("torch")
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2)).double()
    x = np.random.default_rng(0).standard_normal((10, 4))
    net = from_torch(module, torch.nn.CrossEntropyLoss())
    with torch.no_grad():
        assert relative(net.predict(x), module(torch.from_numpy(x)).numpy()) <= 1e-12
    assert isinstance(net.last_layer, SoftmaxWithLoss)


# ---------------------------------------------------------------- export_onnx


@pytest.mark.parametrize("name", MODELS)
def test_onnx_runtime_predicts_what_minigrad_does_to_1e_5_at_batch_1_and_37(name, tmp_path):
    onnx = need("onnx")
    path = tmp_path / "model.onnx"
    differences = onnx_differences(name, str(path))
    assert max(differences.values()) <= 1e-5, differences
    onnx.checker.check_model(str(path), full_check=True)
    model = onnx.load(str(path))
    assert [o.version for o in model.opset_import] == [OPSET]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"  # the batch is dynamic
    net = case(name, 1)[0]
    assert {i.name for i in model.graph.initializer} == {*net.params, *net.buffers}  # weights under minigrad's keys


def test_export_onnx_in_float64_on_request_and_with_an_input_shape(tmp_path):
    need("onnx")
    ort = need("onnxruntime")
    net = TwoLayerNet(12, 6, 3, weight_init_std=0.5, rng=0)
    x = np.random.default_rng(0).standard_normal((5, 3, 4))
    export_onnx(net, tmp_path / "m.onnx", input_shape=(3, 4), dtype=np.float64)
    y = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert y.dtype == np.float64 and relative(y, net.predict(x)) <= 1e-12
    with pytest.raises(ValueError, match=r"layer 0 \(Affine\) takes 12 features per sample, but receives 10"):
        export_onnx(net, tmp_path / "bad.onnx", input_shape=(10,))
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        export_onnx(net, tmp_path / "bad.onnx", dtype=np.float16)


def test_a_failed_export_leaves_an_existing_file_alone(tmp_path):
    need("onnx")
    path = tmp_path / "model.onnx"
    path.write_bytes(b"previous")
    with pytest.raises(TypeError, match="export_onnx: layer 1 is a Swish"):
        export_onnx(Sequential(Affine(np.ones((3, 2)), np.zeros(2)), Swish()), path)
    assert path.read_bytes() == b"previous" and os.listdir(tmp_path) == ["model.onnx"]


def test_minigrad_export_writes_the_onnx_file_from_the_shell(tmp_path):
    need("onnx")
    ort = need("onnxruntime")
    net, x, _ = case("CNN bn+dropout", 7)  # its running statistics go through the .npz too
    save_model(tmp_path / "model.npz", net)
    r = subprocess.run([sys.executable, "-m", "minigrad", "export", "model.npz", "model.onnx"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "model.onnx" in r.stdout and f"opset {OPSET}" in r.stdout
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    assert relative(session.run(None, {"x": x.astype(np.float32)})[0], net.predict(x)) <= 1e-5


def test_minigrad_export_reports_a_missing_model_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["export", "missing.npz", "model.onnx"]) == 1
    assert "missing.npz" in capsys.readouterr().err and not (tmp_path / "model.onnx").exists()


# ---------------------------------------------------------------- optional extras


def test_importing_minigrad_imports_neither_torch_nor_onnx():
    code = (
        "import sys, minigrad, minigrad.interop, minigrad.cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'onnx', 'onnxruntime')))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr


@pytest.mark.parametrize("module, extra, call", [
    ("torch", "torch", lambda tmp: to_torch(TwoLayerNet(3, 2, 2, rng=0))),
    ("torch", "torch", lambda tmp: from_torch(None)),
    ("onnx", "onnx", lambda tmp: export_onnx(TwoLayerNet(3, 2, 2, rng=0), tmp / "m.onnx")),
])
def test_a_missing_extra_names_the_pip_command(module, extra, call, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if the package were not installed
    with pytest.raises(ImportError, match=rf"needs {module}, which is not installed: pip install {module} \(in a minigrad checkout: pip install '\.\[{extra}\]'\)"):
        call(tmp_path)


def test_minigrad_export_without_onnx_says_what_to_install(tmp_path, monkeypatch, capsys):
    save_model(tmp_path / "model.npz", TwoLayerNet(3, 2, 2, rng=0))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert main(["export", "model.npz", "model.onnx"]) == 1
    assert "pip install '.[onnx]'" in capsys.readouterr().err


if __name__ == "__main__":  # the table for the report: python tests/test_interop.py
    import tempfile

    print(f"{'model':<30} {'to_torch':>9} {'SGD step':>9} {'worst in the step':<20} {'eval step':>9} {'ONNX N=1':>9} {'ONNX N=37':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            step = training_step_differences(name)
            worst = max(step, key=step.get)
            evaluated = f"{max(training_step_differences(name, training=False).values()):9.2e}" if name in MODAL else f"{'-':>9}"
            onnx_n = onnx_differences(name, os.path.join(tmp, "model.onnx"))
            print(f"{name:<30} {inference_difference(name):9.2e} {step[worst]:9.2e} {worst:<20} {evaluated} "
                  f"{onnx_n[1]:9.2e} {onnx_n[37]:9.2e}")
