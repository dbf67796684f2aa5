"""Optimizers: first steps against hand-computed values, in-place updates, state save/restore, validation."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.optimizers import OPTIMIZERS, SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop, get_optimizer

# Gradients fed to a one-element parameter W = 1.0 on three successive steps.
G = (0.5, -1.0, 0.5)


def steps(optimizer, grads=G, w0=1.0):
    """W after each step of `optimizer` fed the gradients `grads` in turn."""
    params = {"W": np.array([w0])}
    out = []
    for g in grads:
        optimizer.update(params, {"W": np.array([g])})
        out.append(params["W"][0])
    return out


# Each expected value is the rule's formula evaluated by hand for the gradients 0.5, -1, 0.5.
SQRT = math.sqrt
ADAM_LR1 = 0.1 * SQRT(1 - 0.999) / (1 - 0.9)  # lr·√(1−β2ᵗ)/(1−β1ᵗ), t = 1
ADAM_LR2 = 0.1 * SQRT(1 - 0.999**2) / (1 - 0.9**2)
HAND = {
    # W ← W − lr·g, lr = 0.1
    "sgd": (SGD(lr=0.1), [0.95, 1.05, 1.0]),
    # g ← g + λW (λ = 0.5), then W ← W − 0.1·g:  g1 = 0.5 + 0.5 = 1.0;  g2 = −1 + 0.45 = −0.55;  g3 = 0.5 + 0.4775
    "sgd weight decay": (SGD(lr=0.1, weight_decay=0.5), [0.9, 0.955, 0.955 - 0.1 * (0.5 + 0.5 * 0.955)]),
    # v ← 0.9v − 0.1g;  W ← W + v:  v = −0.05, 0.055, −0.0005
    "momentum": (Momentum(lr=0.1, momentum=0.9), [0.95, 1.005, 1.0045]),
    # v ← 0.9v − 0.1g;  W ← W + 0.9v − 0.1g:  v1 = −0.05 → W = 1 − 0.045 − 0.05;  v2 = 0.055 → W += 0.0495 + 0.1
    "nesterov": (Nesterov(lr=0.1, momentum=0.9), [0.905, 1.0545, 1.0545 + 0.9 * -0.0005 - 0.05]),
    # h ← h + g²;  W ← W − 0.1·g/(√h + 1e-7):  h = 0.25, 1.25, 1.5
    "adagrad": (
        AdaGrad(lr=0.1, eps=1e-7),
        [
            1 - 0.1 * 0.5 / (0.5 + 1e-7),
            1 - 0.1 * 0.5 / (0.5 + 1e-7) + 0.1 / (SQRT(1.25) + 1e-7),
            1 - 0.1 * 0.5 / (0.5 + 1e-7) + 0.1 / (SQRT(1.25) + 1e-7) - 0.1 * 0.5 / (SQRT(1.5) + 1e-7),
        ],
    ),
    # h ← 0.9h + 0.1g²;  W ← W − 0.1·g/(√h + 1e-7):  h = 0.025, 0.1225 (√ = 0.35), 0.13525
    "rmsprop": (
        RMSprop(lr=0.1, beta=0.9, eps=1e-7),
        [
            1 - 0.1 * 0.5 / (SQRT(0.025) + 1e-7),
            1 - 0.1 * 0.5 / (SQRT(0.025) + 1e-7) + 0.1 / (0.35 + 1e-7),
            1 - 0.1 * 0.5 / (SQRT(0.025) + 1e-7) + 0.1 / (0.35 + 1e-7) - 0.1 * 0.5 / (SQRT(0.13525) + 1e-7),
        ],
    ),
    # m ← 0.9m + 0.1g;  v ← 0.999v + 0.001g²:  m = 0.05, −0.055;  v = 0.00025, 0.00124975
    "adam": (
        Adam(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8),
        [
            1 - ADAM_LR1 * 0.05 / (SQRT(0.00025) + 1e-8),
            1 - ADAM_LR1 * 0.05 / (SQRT(0.00025) + 1e-8) + ADAM_LR2 * 0.055 / (SQRT(0.00124975) + 1e-8),
        ],
    ),
}


@pytest.mark.parametrize("name", list(HAND))
def test_first_steps_match_the_formula_computed_by_hand(name):
    optimizer, expected = HAND[name]
    got = steps(optimizer, G[: len(expected)])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_adam_first_step_moves_each_weight_by_about_lr_against_the_gradient_sign():
    params = {"W": np.array([1.0, 1.0, 1.0])}
    Adam(lr=0.01).update(params, {"W": np.array([3.0, -0.1, 40.0])})
    np.testing.assert_allclose(params["W"], [0.99, 1.01, 0.99], rtol=1e-6)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_update_changes_the_live_arrays_in_place_and_keeps_float32(name):
    W = np.ones((3, 2), dtype=np.float32)
    b = np.zeros(2, dtype=np.float32)
    params = {"0.W": W, "0.b": b}
    get_optimizer(name, lr=0.1).update(params, {"0.W": np.full((3, 2), 0.5, np.float32), "0.b": np.ones(2, np.float32)})
    assert params["0.W"] is W and params["0.b"] is b
    assert W.dtype == np.float32 and b.dtype == np.float32
    assert np.all(W < 1) and np.all(b < 0)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_is_kept_per_parameter_name(name):
    # Two parameters updated together move exactly as each would alone.
    together = {"a": np.array([1.0, 2.0]), "b": np.array([-3.0])}
    alone_a, alone_b = {"a": np.array([1.0, 2.0])}, {"b": np.array([-3.0])}
    opt, opt_a, opt_b = (get_optimizer(name, lr=0.1, weight_decay=0.01) for _ in range(3))
    rng = np.random.default_rng(0)
    for _ in range(4):
        ga, gb = rng.standard_normal(2), rng.standard_normal(1)
        opt.update(together, {"a": ga, "b": gb})
        opt_a.update(alone_a, {"a": ga})
        opt_b.update(alone_b, {"b": gb})
    assert np.array_equal(together["a"], alone_a["a"]) and np.array_equal(together["b"], alone_b["b"])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_restored_state_continues_bit_for_bit(name):
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal((4, 3)) for _ in range(6)]
    straight, resumed = {"W": np.ones((4, 3))}, {"W": np.ones((4, 3))}
    opt = get_optimizer(name, lr=0.05)
    for g in grads:
        opt.update(straight, {"W": g})
    first = get_optimizer(name, lr=0.05)
    for g in grads[:3]:
        first.update(resumed, {"W": g})
    state = first.state_dict()
    second = get_optimizer(name, lr=123.0)  # hyperparameters come back from the state too
    second.load_state_dict(state)
    for g in grads[3:]:
        second.update(resumed, {"W": g})
    assert np.array_equal(straight["W"], resumed["W"])
    assert second.t == 6 and second.lr == 0.05


def test_state_dict_holds_copies_and_names_slots_by_parameter():
    opt = Adam()
    params = {"0.W": np.ones(2)}
    opt.update(params, {"0.W": np.ones(2)})
    d = opt.state_dict()
    assert set(d) == {"class", "lr", "beta1", "beta2", "eps", "weight_decay", "t", "m.0.W", "v.0.W"}
    d["m.0.W"][:] = 99
    assert not np.any(opt.state["m"]["0.W"] == 99)


def test_load_state_dict_rejects_unknown_entries_and_missing_hyperparameters():
    with pytest.raises(ValueError, match="unexpected entry 'q.W'"):
        Momentum().load_state_dict({**Momentum().state_dict(), "q.W": np.zeros(1)})
    with pytest.raises(ValueError, match="lacks"):
        Adam().load_state_dict({"lr": 0.1})


def test_state_of_another_shape_is_reported_by_name():
    opt = Momentum()
    opt.load_state_dict({**opt.state_dict(), "v.0.W": np.zeros((2, 2))})
    with pytest.raises(ValueError, match=r"'0.W'.*\(2, 2\).*\(3,\)"):
        opt.update({"0.W": np.zeros(3)}, {"0.W": np.zeros(3)})


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (SGD, {"lr": -0.1}, "lr must be >= 0"),
        (SGD, {"lr": float("nan")}, "lr must be finite"),
        (SGD, {"lr": "0.1"}, "lr must be a real number"),
        (SGD, {"weight_decay": -1e-4}, "weight_decay must be >= 0"),
        (Momentum, {"momentum": 1.0}, r"momentum must be in \[0, 1\)"),
        (Nesterov, {"momentum": -0.5}, r"momentum must be in \[0, 1\)"),
        (AdaGrad, {"eps": 0.0}, "eps must be > 0"),
        (RMSprop, {"beta": 1.5}, r"beta must be in \[0, 1\)"),
        (Adam, {"beta1": 1.0}, r"beta1 must be in \[0, 1\)"),
        (Adam, {"beta2": -0.1}, r"beta2 must be in \[0, 1\)"),
    ],
)
def test_invalid_hyperparameters_are_rejected_with_their_name(cls, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=f"{cls.__name__}: {message}"):
        cls(**kwargs)


def test_get_optimizer_knows_every_name_and_rejects_others():
    assert {type(get_optimizer(n)).__name__ for n in ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "Adam"]} == {
        "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"}
    assert get_optimizer("momentum", lr=0.3, momentum=0.5).momentum == 0.5
    with pytest.raises(ValueError, match="must be one of"):
        get_optimizer("adamw")
    with pytest.raises(TypeError, match="SGD takes the hyperparameters lr, weight_decay"):
        get_optimizer("sgd", momentum=0.9)


def test_a_missing_gradient_is_named():
    with pytest.raises(KeyError, match="no gradient for parameter '1.b'"):
        SGD().update({"1.b": np.zeros(2)}, {"1.W": np.zeros(2)})


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_steps_after_the_first_allocate_no_arrays(name):
    n = 100_000  # 800 kB per array: any temporary would show in the peak
    params = {"W": np.ones(n), "b": np.ones(10)}
    grads = {"W": np.full(n, 0.5), "b": np.ones(10)}
    opt = get_optimizer(name, lr=0.01, weight_decay=1e-4)
    opt.update(params, grads)  # creates state and scratch buffers
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            opt.update(params, grads)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 8 * n / 10, f"{name}.update allocated {peak} bytes per step"


@given(st.floats(-100, 100), st.floats(0.001, 1.0))
def test_sgd_on_a_quadratic_moves_downhill(w0, lr):
    # f(W) = W²/2 has gradient W; one SGD step gives W − lr·W, never farther from the minimum.
    params = {"W": np.array([w0])}
    SGD(lr=lr).update(params, {"W": params["W"].copy()})
    assert abs(params["W"][0]) <= abs(w0)
    assert params["W"][0] == w0 - lr * w0


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_finds_the_minimum_of_the_books_function(name):
    # f(x, y) = x²/20 + y², the chapter's test function; gradient (x/10, 2y); start (-7, 2).
    lrs = {"sgd": 0.95, "momentum": 0.1, "nesterov": 0.1, "adagrad": 1.5, "rmsprop": 0.1, "adam": 0.3}
    p = {"xy": np.array([-7.0, 2.0])}
    opt = get_optimizer(name, lr=lrs[name])
    for _ in range(600):
        opt.update(p, {"xy": p["xy"] * np.array([0.1, 2.0])})
    assert np.all(np.abs(p["xy"]) < 0.1), p["xy"]


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_step_applied_in_parts_equals_one_update(name):
    rng = np.random.default_rng(3)
    whole = {"0.W": rng.standard_normal((3, 2)), "0.b": rng.standard_normal(2), "2.W": rng.standard_normal((2, 2))}
    parts = {k: v.copy() for k, v in whole.items()}
    one, split = get_optimizer(name, lr=0.1), get_optimizer(name, lr=0.1)
    for _ in range(3):
        grads = {k: rng.standard_normal(v.shape) for k, v in whole.items()}
        one.update(whole, grads)
        split.begin_step()
        split.apply({"W": parts["2.W"]}, {"W": grads["2.W"]}, prefix="2.")
        split.apply({"W": parts["0.W"], "b": parts["0.b"]}, {"W": grads["0.W"], "b": grads["0.b"]}, prefix="0.")
    assert one.t == split.t == 3
    for key in whole:
        np.testing.assert_array_equal(parts[key], whole[key], err_msg=key)
    assert sorted(one.state_dict()) == sorted(split.state_dict())  # state kept under the same keys
