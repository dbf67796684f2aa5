"""Optimizers: update(params, grads) changes the parameter arrays in place, one step of a rule.

Every optimizer keeps its state per parameter name (the keys of ``params``, e.g. ``"0.W"``), created
as zeros on the first update, and works without allocating per step: intermediate results go to
scratch buffers made once per parameter. ``weight_decay`` λ adds the L2 term to each gradient,
g ← g + λ·W, before the rule (the book's ``weight_decay_lambda``; for Adam this is coupled L2, not
AdamW). ``state_dict()`` / ``load_state_dict(d)`` save and restore hyperparameters, the step count
``t`` and the state arrays, so a resumed run continues bit for bit.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

__all__ = [
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "AdaGrad",
    "RMSprop",
    "Adam",
    "OPTIMIZERS",
    "get_optimizer",
]

StateDict = dict[str, "np.ndarray | float | int | str"]


def _number(where: str, name: str, value: Any) -> float:
    """value as a finite float, or a TypeError/ValueError naming where.name."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where}: {name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{where}: {name} must be finite, got {value}")
    return value


def _non_negative(where: str, name: str, value: Any) -> float:
    value = _number(where, name, value)
    if value < 0:
        raise ValueError(f"{where}: {name} must be >= 0, got {value}")
    return value


def _positive(where: str, name: str, value: Any) -> float:
    value = _number(where, name, value)
    if value <= 0:
        raise ValueError(f"{where}: {name} must be > 0, got {value}")
    return value


def _unit(where: str, name: str, value: Any) -> float:
    value = _number(where, name, value)
    if not 0 <= value < 1:
        raise ValueError(f"{where}: {name} must be in [0, 1), got {value}")
    return value


class Optimizer:
    """Base class: update(params, grads) applies one step in place; subclasses define _step."""

    slots: tuple[str, ...] = ()
    """Names of the per-parameter state arrays (e.g. ("v",) for Momentum)."""
    checks: dict[str, Any] = {"lr": _non_negative, "weight_decay": _non_negative}
    """Each hyperparameter and the check its value must pass."""

    def __init__(self, **hyperparameters: Any) -> None:
        for name, value in hyperparameters.items():
            setattr(self, name, self.checks[name](type(self).__name__, name, value))
        self.t = 0
        self.state: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in self.slots}
        self._scratch: dict[str, np.ndarray] = {}

    @property
    def hyperparameters(self) -> dict[str, float]:
        """The hyperparameters by name, e.g. {"lr": 0.01, "weight_decay": 0.0}."""
        return {name: getattr(self, name) for name in self.checks}

    def update(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """One step: every params[key] is changed in place using grads[key]."""
        self.begin_step()
        self.apply(params, grads)

    def begin_step(self) -> None:
        """Count a new step (t += 1); apply() then updates its parameters, all at once or in parts."""
        self.t += 1

    def apply(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray], prefix: str = "",
              keys: Mapping[str, str] | None = None) -> None:
        """The current step's update of params[name] by grads[name], in place; state is kept under keys[name] (or prefix + name).

        Sequential.backward(optimizer=...) calls it for each layer as soon as the layer's grads are
        filled, with `keys` the names the net's params show for them ("W1" for the layer's "W").
        """
        for name, p in params.items():
            g = grads.get(name)
            if (type(g) is not np.ndarray or g.shape != p.shape or g.dtype.kind not in "biuf"
                    or type(p) is not np.ndarray or p.dtype.kind != "f" or not p.flags.writeable):
                self._mismatch(name, p, grads)
            key = prefix + name if keys is None else keys[name]
            if self.weight_decay:
                g = self._decayed(key, p, g)
            self._step(key, p, g)

    def _mismatch(self, name: str, p: Any, grads: Mapping[str, Any]) -> None:
        """Raise the error for a parameter that cannot be updated in place or a gradient that does not fit it."""
        where = f"{type(self).__name__}.update"
        if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
            what = f"a {p.dtype} array" if isinstance(p, np.ndarray) else type(p).__name__
            raise TypeError(f"{where}: parameter '{name}' is {what}; optimizers update float arrays in place")
        if not p.flags.writeable:
            raise ValueError(f"{where}: parameter '{name}' is read-only; optimizers update parameters in place")
        if name not in grads:
            raise KeyError(f"{where}: no gradient for parameter '{name}' (grads has {sorted(grads)})")
        g = grads[name]
        if not isinstance(g, np.ndarray) or g.dtype.kind not in "biuf":
            what = f"a {g.dtype} array" if isinstance(g, np.ndarray) else type(g).__name__
            raise TypeError(f"{where}: grads['{name}'] must be a numeric numpy array, got {what}")
        if g.shape != p.shape:
            raise ValueError(f"{where}: grads['{name}'] has shape {g.shape}, but the parameter has shape {p.shape}")

    def _step(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _step")

    def _slot(self, slot: str, key: str, p: np.ndarray) -> np.ndarray:
        """The state array `slot` for parameter `key`, zeros like p the first time."""
        s = self.state[slot].get(key)
        if s is None:
            s = self.state[slot][key] = np.zeros_like(p)
        elif s.shape != p.shape:
            raise ValueError(
                f"{type(self).__name__}.update: state '{slot}' for parameter '{key}' has shape "
                f"{s.shape}, but the parameter has shape {p.shape} (state from another model?)"
            )
        return s

    def _buffer(self, key: str, p: np.ndarray) -> np.ndarray:
        """A scratch array like p for `key` (not state: its contents never carry over)."""
        buf = self._scratch.get(key)
        if buf is None or buf.shape != p.shape or buf.dtype != p.dtype:
            buf = self._scratch[key] = np.empty_like(p)
        return buf

    def _decayed(self, key: str, p: np.ndarray, g: np.ndarray) -> np.ndarray:
        """g + λ·p for weight_decay λ, in a scratch array of its own."""
        buf = self._buffer(key + " decayed", p)
        np.multiply(p, self.weight_decay, out=buf)
        buf += g
        return buf

    def state_dict(self) -> StateDict:
        """The class name, hyperparameters, the step count "t" and copies of the state arrays as "<slot>.<param key>"."""
        d: StateDict = {"class": type(self).__name__, **self.hyperparameters, "t": self.t}
        for slot, arrays in self.state.items():
            for key, a in arrays.items():
                d[f"{slot}.{key}"] = a.copy()
        return d

    def load_state_dict(self, d: Mapping[str, Any]) -> None:
        """Restore what state_dict returned: hyperparameters, t and (copies of) the state arrays."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(d, Mapping):
            raise TypeError(f"{where}: the state must be a dict (from state_dict()), got {type(d).__name__}")
        kind = d.get("class", type(self).__name__)  # states saved before the class was recorded have none
        if kind != type(self).__name__:
            raise ValueError(f"{where}: the state is a {kind}'s; load it into a {kind}, not a {type(self).__name__}")
        missing = [k for k in (*self.checks, "t") if k not in d]
        if missing:
            raise ValueError(f"{where}: the state lacks {missing}")
        state: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in self.slots}
        for name, value in d.items():
            if name in self.checks or name in ("t", "class"):
                continue
            slot, _, key = name.partition(".")
            if slot not in state or not key:
                raise ValueError(
                    f"{where}: unexpected entry '{name}'; a {type(self).__name__} state has "
                    f"{sorted(self.checks)}, 't' and arrays named <slot>.<param> with slots {list(self.slots)}"
                )
            a = np.array(value, copy=True)
            if a.dtype.kind != "f":
                raise TypeError(f"{where}: state '{name}' must be a float array, got {a.dtype}")
            state[slot][key] = a
        t = d["t"]
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
            raise ValueError(f"{where}: t must be a non-negative integer, got {t!r}")
        for name in self.checks:
            setattr(self, name, self.checks[name](type(self).__name__, name, d[name]))
        self.t = int(t)
        self.state = state
        self._scratch = {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """W ← W − lr·g."""

    def __init__(self, lr: float = 0.01, weight_decay: float = 0.0) -> None:
        super().__init__(lr=lr, weight_decay=weight_decay)

    def _step(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        buf = self._buffer(key, p)
        np.multiply(g, self.lr, out=buf)
        p -= buf


class Momentum(Optimizer):
    """v ← momentum·v − lr·g;  W ← W + v."""

    slots = ("v",)
    checks = {"lr": _non_negative, "momentum": _unit, "weight_decay": _non_negative}

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 0.0) -> None:
        super().__init__(lr=lr, momentum=momentum, weight_decay=weight_decay)

    def _step(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        v, buf = self._slot("v", key, p), self._buffer(key, p)
        v *= self.momentum
        np.multiply(g, self.lr, out=buf)
        v -= buf
        p += v


class Nesterov(Momentum):
    """v ← momentum·v − lr·g;  W ← W + momentum·v − lr·g (Nesterov's momentum, Bengio et al. 2012)."""

    def _step(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        v, buf = self._slot("v", key, p), self._buffer(key, p)
        v *= self.momentum
        np.multiply(g, self.lr, out=buf)
        v -= buf
        p -= buf
        np.multiply(v, self.momentum, out=buf)
        p += buf


class AdaGrad(Optimizer):
    """h ← h + g²;  W ← W − lr·g / (√h + eps)."""

    slots = ("h",)
    checks = {"lr": _non_negative, "eps": _positive, "weight_decay": _non_negative}

    def __init__(self, lr: float = 0.01, eps: float = 1e-7, weight_decay: float = 0.0) -> None:
        super().__init__(lr=lr, eps=eps, weight_decay=weight_decay)

    def _step(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        h, buf = self._slot("h", key, p), self._buffer(key, p)
        np.multiply(g, g, out=buf)
        h += buf
        _scaled_step(p, g, h, buf, self.lr, self.eps)


class RMSprop(Optimizer):
    """h ← beta·h + (1 − beta)·g²;  W ← W − lr·g / (√h + eps)."""

    slots = ("h",)
    checks = {"lr": _non_negative, "beta": _unit, "eps": _positive, "weight_decay": _non_negative}

    def __init__(self, lr: float = 0.01, beta: float = 0.99, eps: float = 1e-7, weight_decay: float = 0.0) -> None:
        super().__init__(lr=lr, beta=beta, eps=eps, weight_decay=weight_decay)

    def _step(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        h, buf = self._slot("h", key, p), self._buffer(key, p)
        h *= self.beta
        np.multiply(g, g, out=buf)
        buf *= 1 - self.beta
        h += buf
        _scaled_step(p, g, h, buf, self.lr, self.eps)


class Adam(Optimizer):
    """m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  W ← W − lr·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + eps)."""

    slots = ("m", "v")
    checks = {"lr": _non_negative, "beta1": _unit, "beta2": _unit, "eps": _positive, "weight_decay": _non_negative}

    def __init__(
        self,
        lr: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)

    def _step(self, key: str, p: np.ndarray, g: np.ndarray) -> None:
        m, v, buf = self._slot("m", key, p), self._slot("v", key, p), self._buffer(key, p)
        lr_t = self.lr * math.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        np.subtract(g, m, out=buf)  # m += (1 − β1)(g − m)
        buf *= 1 - self.beta1
        m += buf
        np.multiply(g, g, out=buf)  # v += (1 − β2)(g² − v)
        buf -= v
        buf *= 1 - self.beta2
        v += buf
        _scaled_step(p, m, v, buf, lr_t, self.eps)


def _scaled_step(p: np.ndarray, g: np.ndarray, h: np.ndarray, buf: np.ndarray, lr: float, eps: float) -> None:
    """p ← p − lr·g / (√h + eps), through buf."""
    np.sqrt(h, out=buf)
    buf += eps
    np.divide(g, buf, out=buf)
    buf *= lr
    p -= buf


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSprop,
    "adam": Adam,
}
"""Every optimizer by its lower-case name (the names get_optimizer and the CLI accept)."""


def get_optimizer(name: str, **kwargs: Any) -> Optimizer:
    """A new optimizer by name (sgd, momentum, nesterov, adagrad, rmsprop, adam) with its hyperparameters."""
    if not isinstance(name, str) or name.lower() not in OPTIMIZERS:
        raise ValueError(f"get_optimizer: name must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    cls = OPTIMIZERS[name.lower()]
    try:
        return cls(**kwargs)
    except TypeError as e:
        if "unexpected keyword" not in str(e):
            raise
        allowed = ", ".join(cls.checks)
        raise TypeError(f"get_optimizer: {cls.__name__} takes the hyperparameters {allowed}; got {sorted(kwargs)}") from None
