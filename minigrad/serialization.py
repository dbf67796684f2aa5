"""Saving and loading: a model's architecture and weights (plus optimizer and rng state) in one .npz.

The file is a plain ``np.savez`` archive read with ``np.load(..., allow_pickle=False)``:

- ``minigrad.json`` — a 0-d string array holding JSON: format name and version, the architecture
  (a preset's ``config``, or a Sequential's layer list), the optimizer's class and scalars, the
  random generator's ``bit_generator.state`` and the caller's ``extra`` dict;
- ``param/<key>`` — each parameter, keyed as in ``model.params`` (``param/0.W``; a preset's book
  names, ``param/W1``; files of presets keyed by position, written before, load too);
- ``buffer/<key>`` — each state array outside params, keyed as in ``model.buffers`` (running
  statistics, e.g. ``buffer/1.running_mean``); each layer's own random generator (a Dropout's
  ``rng``) has its ``bit_generator.state`` in the JSON under ``generators``, keyed by the layer's path;
- ``optimizer/<slot>.<key>`` — each optimizer state array.

Files are written atomically: to a temporary file in the same directory, then ``os.replace``, so a
crash mid-write leaves any previous file intact. Checkpoints for resuming training are written by
``Trainer.save_checkpoint`` (save_model with optimizer, rng and the trainer's epoch and History) and
read back by ``load_checkpoint`` or ``Trainer.load_checkpoint``.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

import numpy as np

from ._files import ModelFileError, atomic_write, read_npz
from .conv import Convolution, Pooling
from .layers import Affine, ReLU, Sigmoid, Tanh
from .losses import MeanSquaredError, SigmoidWithLoss, SoftmaxWithLoss
from .models import DeepConvNet, MultiLayerNet, SimpleConvNet, TwoLayerNet
from . import protocol
from .network import Sequential, sublayers
from .normalization import BatchNormalization, Dropout
from .optimizers import OPTIMIZERS, Optimizer
from .shapes import chain_dims

__all__ = ["save_model", "load_model", "load_weights", "load_checkpoint", "Checkpoint", "ModelFileError"]

FORMAT = "minigrad"
VERSION = 1
META = "minigrad.json"
PRESETS = {"TwoLayerNet": TwoLayerNet, "MultiLayerNet": MultiLayerNet, "SimpleConvNet": SimpleConvNet, "DeepConvNet": DeepConvNet}
BOOK_NET = "book net"
"""The architecture entry of a net in the book's style (params, loss, gradient): only its weights are in the file."""
PARAMETER_FREE = {cls.__name__: cls for cls in (ReLU, Sigmoid, Tanh, SoftmaxWithLoss, SigmoidWithLoss, MeanSquaredError)}
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


@dataclass
class Checkpoint:
    """What load_checkpoint returns: the model, and the optimizer, rng and extra dict saved with it (None/{} if not)."""

    model: Any
    optimizer: Optimizer | None = None
    rng: np.random.Generator | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- architecture <-> JSON


def _layer_spec(layer: Any, where: str) -> dict[str, Any]:
    if isinstance(layer, Sequential):
        return _model_spec(layer, where)
    name = type(layer).__name__
    if type(layer) is Affine:
        W = layer.params["W"]
        return {"class": "Affine", "shape": list(W.shape), "dtype": W.dtype.name}
    if type(layer) is Convolution:
        W = layer.params["W"]
        return {"class": "Convolution", "shape": list(W.shape), "dtype": W.dtype.name, "stride": layer.stride, "pad": layer.pad}
    if type(layer) is Pooling:
        return {"class": "Pooling", "pool_h": layer.pool_h, "pool_w": layer.pool_w, "stride": layer.stride, "pad": layer.pad}
    if type(layer) is BatchNormalization:
        gamma = layer.params["gamma"]
        return {"class": name, "size": gamma.size, "dtype": gamma.dtype.name, "momentum": layer.momentum, "eps": layer.eps}
    if type(layer) is Dropout:
        return {"class": name, "dropout_ratio": layer.dropout_ratio}
    if PARAMETER_FREE.get(name) is type(layer):
        return {"class": name}
    raise TypeError(
        f"save_model: {where} is a {name}, which save_model cannot rebuild; it saves {', '.join(PRESETS)} "
        f"and Sequentials of Affine, Convolution, Pooling, BatchNormalization, Dropout, {', '.join(PARAMETER_FREE)} (use np.savez on "
        "model.params for other models)"
    )


def _model_spec(model: Any, where: str = "the model") -> dict[str, Any]:
    name = type(model).__name__
    if PRESETS.get(name) is type(model) and isinstance(getattr(model, "config", None), dict):
        return {"class": name, "config": model.config}
    if isinstance(model, Sequential):
        layers = [_layer_spec(layer, f"{where}'s layer {i}") for i, layer in enumerate(model.layers)]
        loss = None if model.last_layer is None else _layer_spec(model.last_layer, f"{where}'s loss")
        return {"class": "Sequential", "layers": layers, "loss": loss}
    if protocol.is_net(model):  # the book's nets: their weights, loaded back into a net the user builds
        return {"class": BOOK_NET, "name": type(model).__qualname__}
    raise TypeError(f"save_model: {where} must be a {', '.join(PRESETS)} or Sequential, got {name}")


def _claimed(arrays: Mapping[str, np.ndarray], key: str, shape: Any, where: str) -> tuple[int, ...]:
    """The shape an architecture entry claims for `key`, once the file is seen to hold an array of that shape.

    Checked before anything of that shape is allocated, so a file cannot make load_model allocate
    more than the arrays it holds.
    """
    a = arrays.get(key)
    if a is None or not isinstance(shape, (list, tuple)) or list(a.shape) != list(shape):
        held = "no such array" if a is None else f"an array of shape {list(a.shape)}"
        raise ModelFileError(f"{where}: the architecture claims {key} of shape {shape!r}, but the file holds {held}")
    return a.shape


def _check_preset_claim(name: str, config: Any, arrays: Mapping[str, np.ndarray], where: str) -> None:
    """A preset's config may name no size beyond the largest dimension of the file's parameters, and no more layers than it holds arrays."""
    params = [a for k, a in arrays.items() if k.startswith("param/")]
    largest = max((d for a in params for d in a.shape), default=0)
    if not isinstance(config, dict):
        raise ModelFileError(f"{where}: {name}'s config must be a JSON object, got {type(config).__name__}")
    todo: list[Any] = [config]
    while todo:
        value = todo.pop()
        if isinstance(value, dict):
            todo.extend(value.values())
        elif isinstance(value, list):
            if len(value) > len(params):
                raise ModelFileError(f"{where}: {name}'s config lists {len(value)} sizes, but the file holds {len(params)} parameter arrays")
            todo.extend(value)
        elif isinstance(value, int) and not isinstance(value, bool) and value > largest:
            raise ModelFileError(
                f"{where}: {name}'s config claims a size of {value}, but no parameter in the file has a dimension above {largest}"
            )


def _build(spec: Any, where: str, arrays: Mapping[str, np.ndarray], prefix: str = "") -> Any:
    """The model or layer a spec describes at `prefix` (weights are filled in afterwards); claimed shapes checked against `arrays` first."""
    if not isinstance(spec, dict) or not isinstance(spec.get("class"), str):
        raise ModelFileError(f"{where}: the architecture entry {spec!r:.200} is not valid")
    name = spec["class"]
    if name == BOOK_NET:
        raise ModelFileError(
            f"{where}: the file holds the weights of {spec.get('name')!r}, a net in the book's style that minigrad "
            "cannot build; build it and call load_weights(path, net), or load_checkpoint(path, model=net)"
        )
    if name in PRESETS:
        _check_preset_claim(name, spec.get("config"), arrays, where)
        try:
            return PRESETS[name](**spec["config"], rng=0)
        except (TypeError, ValueError, KeyError) as e:
            raise ModelFileError(f"{where}: cannot rebuild {name} from its config {spec.get('config')!r:.200}: {e}") from e
    if name == "Sequential":
        layers = [_build(s, where, arrays, f"{prefix}{i}.") for i, s in enumerate(spec.get("layers", []))]
        loss = None if spec.get("loss") is None else _build(spec["loss"], where, arrays, f"{prefix}loss.")
        return Sequential(*layers, loss=loss)
    if name == "Affine":
        d, m = _claimed(arrays, f"param/{prefix}W", spec["shape"], where)
        _claimed(arrays, f"param/{prefix}b", [m], where)
        return Affine(np.zeros((d, m), dtype=spec["dtype"]), np.zeros(m, dtype=spec["dtype"]))
    if name == "Convolution":
        shape = _claimed(arrays, f"param/{prefix}W", spec["shape"], where)
        _claimed(arrays, f"param/{prefix}b", list(shape[:1]), where)
        return Convolution(np.zeros(shape, dtype=spec["dtype"]), np.zeros(shape[:1], dtype=spec["dtype"]), spec["stride"], spec["pad"])
    if name == "Pooling":
        return Pooling(spec["pool_h"], spec["pool_w"], spec["stride"], spec["pad"])
    if name == "BatchNormalization":
        (d,), dtype = _claimed(arrays, f"param/{prefix}gamma", [spec["size"]], where), spec["dtype"]
        return BatchNormalization(np.ones(d, dtype), np.zeros(d, dtype), momentum=spec["momentum"], eps=spec["eps"])
    if name == "Dropout":
        return Dropout(spec["dropout_ratio"])
    if name in PARAMETER_FREE:
        return PARAMETER_FREE[name]()
    raise ModelFileError(f"{where}: unknown layer class {name!r} in the file")


def _describe(spec: Mapping[str, Any]) -> str:
    """A short name for an architecture, for error messages."""
    if "config" in spec:
        return f"{spec['class']}({', '.join(f'{k}={v!r}' for k, v in spec['config'].items())})"
    return str(spec.get("class"))


# ---------------------------------------------------------------- JSON-safe rng state


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.name}
    if isinstance(value, np.integer):
        return int(value)
    return value


def _unjson(value: Any) -> Any:
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return np.array(value["__ndarray__"], dtype=value["dtype"])
        return {k: _unjson(v) for k, v in value.items()}
    return value


def _rng_from_state(state: Mapping[str, Any], where: str) -> np.random.Generator:
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in BIT_GENERATORS:
        raise ModelFileError(f"{where}: unknown random generator state {name!r}")
    bit_generator = getattr(np.random, name)()
    try:
        bit_generator.state = _unjson(state)
    except (TypeError, ValueError, KeyError) as e:
        raise ModelFileError(f"{where}: the random generator state is not valid: {e}") from e
    return np.random.Generator(bit_generator)


# ---------------------------------------------------------------- writing


def _path_first(where: str, path: Any, model: Any) -> None:
    """A TypeError naming the right call when a model and a path come in Keras/PyTorch order (model, path)."""
    if hasattr(path, "params") and isinstance(model, (str, os.PathLike)):
        raise TypeError(
            f"{where}: the path comes first, then the model: {where}({os.fspath(model)!r}, model) "
            f"— got a {type(path).__name__} where the path belongs"
        )


def _generator_states(model: Any, rng: Any) -> tuple[dict[str, Any], Any]:
    """(each layer's generator state by path, rng's state): a generator shared by several holders is saved once, the others as {"same_as": path}.

    So that a resumed run draws exactly what an uninterrupted one does, holders that shared one
    generator share one again after loading (two Dropouts, or a Dropout and the trainer's rng).
    """
    first: dict[int, str] = {}  # the path that saved each bit generator (shared Generators share it)
    states: dict[str, Any] = {}
    for path, g in _generators(model).items():
        key = id(g.bit_generator)
        states[path] = {"same_as": first[key]} if key in first else _jsonable(g.bit_generator.state)
        first.setdefault(key, path)
    if rng is None:
        return states, None
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"save_model: rng must be a numpy Generator, got {type(rng).__name__}")
    key = id(rng.bit_generator)
    return states, {"same_as": first[key]} if key in first else _jsonable(rng.bit_generator.state)


def save_model(
    path: str | os.PathLike[str],
    model: Any,
    *,
    optimizer: Optimizer | None = None,
    rng: np.random.Generator | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Write model (architecture + weights), and optionally optimizer state, rng state and a JSON-able extra dict, to one .npz at `path` (used as given), atomically."""
    _path_first("save_model", path, model)
    path = os.fspath(path)
    meta: dict[str, Any] = {"format": FORMAT, "version": VERSION, "model": _model_spec(model)}
    if isinstance(model, Sequential):  # a file load_model would refuse is not written
        try:
            chain_dims(model)
        except ValueError as e:
            raise ValueError(f"save_model: the model's layers cannot run one after another: {e}") from None
    arrays: dict[str, np.ndarray] = {}
    params = model.params
    meta["params"] = list(params)
    for key, p in params.items():
        arrays[f"param/{key}"] = p
    for key, b in getattr(model, "buffers", {}).items():
        arrays[f"buffer/{key}"] = b
    meta["generators"], rng_state = _generator_states(model, rng)
    if optimizer is not None:
        name = type(optimizer).__name__
        if OPTIMIZERS.get(name.lower()) is not type(optimizer):
            raise TypeError(f"save_model: optimizer must be one of minigrad's {', '.join(c.__name__ for c in OPTIMIZERS.values())}, got {name}")
        scalars: dict[str, Any] = {}
        for key, value in optimizer.state_dict().items():
            if isinstance(value, np.ndarray):
                arrays[f"optimizer/{key}"] = value
            else:
                scalars[key] = value
        meta["optimizer"] = {"class": name, "scalars": scalars}
    if rng is not None:
        meta["rng"] = rng_state
    if extra is not None:
        meta["extra"] = dict(extra)
    try:
        text = json.dumps(meta)
    except TypeError as e:
        raise TypeError(f"save_model: extra must hold only JSON values (numbers, strings, lists, dicts): {e}") from e
    arrays[META] = np.array(text)
    atomic_write(path, lambda f: np.savez(f, **arrays))


# ---------------------------------------------------------------- reading


def _read(path: str | os.PathLike[str], where: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metadata and every array of a minigrad file, or a ModelFileError saying what is wrong."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{where}: no such file: {path}")
    if os.path.isdir(path):
        raise ModelFileError(f"{where}: {path} is a directory, not a minigrad model file")
    arrays = read_npz(path, where, ModelFileError, what="minigrad model", meta=META)  # each member's header checked before its data is read
    if META not in arrays:
        raise ModelFileError(f"{where}: {path} is an .npz file but not a minigrad model (it has no {META})")
    raw = arrays.pop(META)
    try:
        if raw.dtype.kind != "U" or raw.ndim != 0:
            raise ValueError(f"{META} is a {raw.dtype} array of shape {raw.shape}")
        meta = json.loads(str(raw))
        if not isinstance(meta, dict):
            raise ValueError("the metadata is not a JSON object")
    except (ValueError, RecursionError) as e:
        raise ModelFileError(f"{where}: {path} has unreadable minigrad metadata: {type(e).__name__}: {e}") from None
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{where}: {path} is not a minigrad model (format {meta.get('format')!r})")
    if not isinstance(meta.get("version"), int) or meta["version"] > VERSION:
        raise ModelFileError(f"{where}: {path} has format version {meta.get('version')!r}; this minigrad reads up to {VERSION}")
    return meta, arrays


def _renamed(model: Any) -> Mapping[str, str]:
    """Positional key ("0.W") -> the model's key ("W1"): files written before the presets took the book's keys still load."""
    keys = getattr(model, "param_keys", None)
    return keys if isinstance(keys, Mapping) else {}


def _generators(model: Any) -> dict[str, np.random.Generator]:
    """Each layer's own random generator (a Dropout's rng), keyed by the layer's path ("3", "1.0")."""
    return {path: layer.rng for path, layer in sublayers(model) if isinstance(getattr(layer, "rng", None), np.random.Generator)}


def _copy_weights(
    where: str, path: str, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray], model: Any
) -> dict[str, np.random.Generator]:
    """Copy the file's parameters, buffers and generators into model, checking first; the generators by layer path.

    Every array must be finite and every layer's state possible (a layer's check_state, e.g. batch
    norm's running_var >= 0); otherwise nothing of the model changes.
    """
    copies = []
    renamed = _renamed(model)
    for prefix, kind, in_model in (("param/", "parameter", model.params), ("buffer/", "buffer", getattr(model, "buffers", {}))):
        saved = {k[len(prefix):]: a for k, a in arrays.items() if k.startswith(prefix)}
        if prefix == "param/":
            saved = {renamed.get(k, k): a for k, a in saved.items()}
        if set(saved) != set(in_model):
            raise ModelFileError(
                f"{where}: {path} holds another architecture, {_describe(meta['model'])}, with {kind}s "
                f"{sorted(saved)}; this model has {sorted(in_model)}"
            )
        for key, p in in_model.items():
            a = saved[key]
            if a.shape != p.shape or a.dtype != p.dtype:
                raise ModelFileError(
                    f"{where}: {path} holds another architecture, {_describe(meta['model'])}: {kind} '{key}' "
                    f"is {a.dtype}{list(a.shape)} in the file but {p.dtype}{list(p.shape)} in this model"
                )
            if a.dtype.kind in "fc" and not np.isfinite(a).all():
                raise ModelFileError(
                    f"{where}: {path} holds a state no model can be in: {kind} '{key}' has {a[~np.isfinite(a)].flat[0]} in it"
                )
            copies.append((p, a))
    states = meta.get("generators", {})
    layers = dict(sublayers(model))
    if not isinstance(states, dict) or set(states) != set(_generators(model)):
        raise ModelFileError(
            f"{where}: {path} holds random generators for the layers {sorted(states) if isinstance(states, dict) else states!r}; "
            f"this model's layers with one are {sorted(_generators(model))}"
        )
    generators = _restore_generators(states, f"{where}: {path}")
    kept = [(p, p.copy()) for p, _ in copies]
    for p, a in copies:
        np.copyto(p, a)
    try:
        for key, layer in layers.items():
            check = getattr(layer, "check_state", None)
            if callable(check):
                check(f"layer {key} ({type(layer).__name__})")
    except ValueError as e:
        for p, old in kept:  # load_weights leaves the model as it was
            np.copyto(p, old)
        raise ModelFileError(f"{where}: {path} holds a state no model can be in: {e}") from None
    for key, g in generators.items():
        layers[key].rng = g
    return generators


def _restore_generators(states: Mapping[str, Any], where: str) -> dict[str, np.random.Generator]:
    """The generators a file's states describe, by path; a {"same_as": path} entry is that path's generator itself."""
    generators = {key: _rng_from_state(state, f"{where}: layer {key}'s generator")
                  for key, state in states.items() if not (isinstance(state, dict) and "same_as" in state)}
    for key, state in states.items():
        if key not in generators:
            generators[key] = _shared(state, generators, f"{where}: layer {key}'s generator")
    return generators


def _shared(state: Mapping[str, Any], generators: Mapping[str, np.random.Generator], where: str) -> np.random.Generator:
    """The generator a {"same_as": path} entry names, or a ModelFileError."""
    if state.get("same_as") not in generators or len(state) != 1:
        raise ModelFileError(f"{where} is said to be shared with {state!r:.100}, but the file holds no such layer's generator")
    return generators[state["same_as"]]


_MALFORMED = (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError, OverflowError, MemoryError)
"""What reading a malformed metadata field can raise; each becomes a ModelFileError naming the file."""


@contextlib.contextmanager
def _malformed(where: str, path: str) -> Iterator[None]:
    """Turn any error from a malformed field of the file at `path` into a ModelFileError naming it."""
    try:
        yield
    except ModelFileError:
        raise
    except _MALFORMED as e:
        raise ModelFileError(f"{where}: {path} has malformed minigrad metadata ({type(e).__name__}: {e!s:.300})") from None


def load_weights(path: str | os.PathLike[str], model: Any) -> None:
    """Copy the weights saved at `path` into an existing model of the same architecture (in place)."""
    _path_first("load_weights", path, model)
    meta, arrays = _read(path, "load_weights")
    with _malformed("load_weights", os.fspath(path)):
        _copy_weights("load_weights", os.fspath(path), meta, arrays, model)


def load_checkpoint(path: str | os.PathLike[str], model: Any = None) -> Checkpoint:
    """The model rebuilt from `path` (or `model`, given, with the file's weights copied in), with the optimizer, rng and extra dict saved alongside (if any)."""
    return _load(os.fspath(path), "load_checkpoint", model)


def _load(path: str, where: str, model: Any = None) -> Checkpoint:
    meta, arrays = _read(path, where)
    with _malformed(where, path):
        return _checkpoint(path, where, meta, arrays, model)


def _checkpoint(path: str, where: str, meta: dict[str, Any], arrays: dict[str, np.ndarray], model: Any = None) -> Checkpoint:
    try:
        if model is None:
            model = _build(meta.get("model"), f"{where}: {path}", arrays)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{where}: {path} has an invalid architecture entry: {e!r:.300}") from e
    try:
        chain_dims(model)
    except ValueError as e:
        raise ModelFileError(f"{where}: {path} holds layers that cannot run one after another: {e}") from None
    generators = _copy_weights(where, path, meta, arrays, model)
    ck = Checkpoint(model=model, extra=dict(meta.get("extra") or {}))
    if "optimizer" in meta:
        ck.optimizer = _optimizer(where, path, meta["optimizer"], arrays, model.params, _renamed(model))
    if "rng" in meta:
        state = meta["rng"]
        shared = isinstance(state, dict) and "same_as" in state
        ck.rng = _shared(state, generators, f"{where}: {path}: rng") if shared else _rng_from_state(state, f"{where}: {path}")
    return ck


def _optimizer(where: str, path: str, spec: Any, arrays: Mapping[str, np.ndarray], params: Mapping[str, np.ndarray],
               renamed: Mapping[str, str]) -> Optimizer:
    cls = OPTIMIZERS.get(str(spec.get("class", "")).lower()) if isinstance(spec, dict) else None
    if cls is None:
        raise ModelFileError(f"{where}: {path} names an unknown optimizer {spec!r}")
    state: dict[str, Any] = dict(spec.get("scalars", {}))
    for k, a in arrays.items():
        if k.startswith("optimizer/"):
            name = k[len("optimizer/"):]
            slot, _, key = name.partition(".")
            key = renamed.get(key, key)
            if key not in params or params[key].shape != a.shape:
                raise ModelFileError(f"{where}: {path} has optimizer state '{name}' that matches no parameter of the model")
            state[f"{slot}.{key}"] = a
    optimizer = cls()
    try:
        optimizer.load_state_dict(state)
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"{where}: {path} has an invalid {cls.__name__} state: {e}") from e
    return optimizer


def load_model(path: str | os.PathLike[str]) -> Any:
    """The model saved at `path`: a preset (TwoLayerNet, MultiLayerNet, SimpleConvNet) rebuilt from its config, or a Sequential."""
    return _load(os.fspath(path), "load_model").model
