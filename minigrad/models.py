"""Preset networks from the chapter, built as Sequentials with a SoftmaxWithLoss."""

from __future__ import annotations

import os
from types import MappingProxyType
from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ._files import ModelFileError
from .arguments import RandomLike, float_dtype, generator, integer, number
from .conv import Convolution, Pooling, conv_output_size
from .layers import AddLayer, Affine, MulLayer, ReLU, Sigmoid, Tanh, init_weight
from .losses import SoftmaxWithLoss
from .network import Graph, Sequential
from .normalization import BatchNormalization, Dropout
from .pickles import read_pickle, write_pickle
from .protocol import buffers as buffers_of
from .protocol import params as params_of

__all__ = ["TwoLayerNet", "MultiLayerNet", "SimpleConvNet", "DeepConvNet", "price_graph", "book_keys"]


def book_keys(layers: Sequence[Any]) -> dict[str, str]:
    """The book's keys for a chain's parameters: each name numbered by the layers holding it so far.

    {"0.W": "W1", "0.b": "b1", "1.gamma": "gamma1", ..., "4.W": "W2", ...}, as the book's nets key
    `params`; pass it as Sequential(..., keys=book_keys(layers)).
    """
    counts: dict[str, int] = {}
    keys = {}
    for i, layer in enumerate(layers):
        for name in params_of(layer):
            counts[name] = counts.get(name, 0) + 1
            keys[f"{i}.{name}"] = f"{name}{counts[name]}"
    return keys

ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}
# The book's MultiLayerNet also accepts an activation's name for the initialisation that suits it.
INIT_ALIASES = {"relu": "he", "sigmoid": "xavier", "tanh": "xavier"}


def _book_arrays(layers: Sequence[Any]) -> dict[str, np.ndarray]:
    """The chain's parameters and running statistics by the book's names, each numbered by the layers holding it so far: W1, b1, gamma1, running_mean1, ..., W2."""
    counts: dict[str, int] = {}
    arrays = {}
    for layer in layers:  # numbered as book_keys numbers params
        for name, a in {**params_of(layer), **buffers_of(layer)}.items():
            counts[name] = counts.get(name, 0) + 1
            arrays[f"{name}{counts[name]}"] = a
    return arrays


HOMOGENEOUS = (ReLU, Pooling, Dropout)
"""Layers f with f(c·x) = c·f(x) for c > 0: a Dropout's factor passes through them."""


def _dropout_scales(layers: Sequence[Any]) -> dict[int, float]:
    """id of each weight array that takes book Dropouts' (1 − r) factors -> their product.

    A Dropout's factor goes to the next Affine or Convolution across ReLU, Pooling and Dropout (its W
    only), or, when none follows, to the one before (its W and b: c·(x·W + b) = x·cW + cb).
    """
    scales: dict[int, float] = {}
    for i, layer in enumerate(layers):
        if type(layer) is not Dropout:
            continue
        for path, names in ((layers[i + 1 :], ("W",)), (layers[i - 1 :: -1] if i else [], ("W", "b"))):
            target = next((lay for lay in path if not isinstance(lay, HOMOGENEOUS)), None)
            if isinstance(target, (Affine, Convolution)):
                for name in names:
                    a = target.params[name]
                    scales[id(a)] = scales.get(id(a), 1.0) * (1 - layer.dropout_ratio)
                break
        else:
            raise ValueError(f"the Dropout at layer {i} has no Affine or Convolution to take its factor (only ReLU, Pooling and Dropout between)")
    return scales


class BookParams:
    """The book's load_params / save_params for a preset: a pickle of the book's names (W1, b1, ...) to arrays.

    The book's Dropout scales by (1 − r) at inference and minigrad's (inverted) Dropout by 1/(1 − r)
    in training, so weights trained by the book carry that factor into minigrad's next layer:
    load_params multiplies it in, save_params divides it out, and the book's predict(x) with
    train_flg=False and minigrad's predict(x) give the same scores from the same file.
    """

    layers: tuple[Any, ...]

    def load_params(self, file_name: str | os.PathLike[str] = "params.pkl") -> None:
        """Set every parameter from the book's pickle at file_name (read by minigrad.pickles: nothing in it runs)."""
        where = f"{type(self).__name__}.load_params"
        saved = read_pickle(file_name, where)
        if not isinstance(saved, dict) or not all(isinstance(k, str) and isinstance(a, np.ndarray) for k, a in saved.items()):
            raise ModelFileError(f"{where}: {os.fspath(file_name)} holds a {type(saved).__name__}, not a dict of names to arrays as the book's save_params writes")
        arrays = _book_arrays(self.layers)
        missing = [k for k in arrays if k not in saved and not k.startswith("running_")]  # the book saves no running statistics
        unknown = [k for k in saved if k not in arrays]
        if missing or unknown:
            wrong = " and ".join([f"lacks {missing}"] * bool(missing) + [f"has unknown {unknown}"] * bool(unknown))
            raise ModelFileError(f"{where}: {os.fspath(file_name)} {wrong}; this net's keys are {list(arrays)}")
        for k, a in saved.items():
            if a.shape != arrays[k].shape or a.dtype.kind not in "biuf":
                raise ModelFileError(f"{where}: {os.fspath(file_name)} holds {k} of shape {a.shape} and dtype {a.dtype}, this net's {k} is a {arrays[k].dtype} array of shape {arrays[k].shape}")
        scales = _dropout_scales(self.layers)
        for k, a in saved.items():
            arrays[k][...] = a
            arrays[k] *= scales.get(id(arrays[k]), 1.0)

    def save_params(self, file_name: str | os.PathLike[str] = "params.pkl") -> None:
        """Write every parameter (and running statistic) to file_name as the book's save_params does: pickle.dump of a dict of arrays."""
        scales = _dropout_scales(self.layers)
        write_pickle(file_name, {k: a / scales[id(a)] if id(a) in scales else a.copy() for k, a in _book_arrays(self.layers).items()})


class TwoLayerNet(BookParams, Sequential):
    """The chapter's net: Affine(D, H) → ReLU → Affine(H, C) → SoftmaxWithLoss, W ~ N(0, weight_init_std²); params W1, b1, W2, b2."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        weight_init_std: float = 0.01,
        rng: RandomLike = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        rng, dtype = generator(rng, "TwoLayerNet"), float_dtype(dtype, "TwoLayerNet")
        sizes = [(input_size, hidden_size), (hidden_size, output_size)]
        first, second = (Affine.from_sizes(d, m, weight_init=weight_init_std, rng=rng, dtype=dtype) for d, m in sizes)
        layers = [first, ReLU(), second]
        super().__init__(*layers, loss=SoftmaxWithLoss(), keys=book_keys(layers))
        self.config = {
            "input_size": input_size,
            "hidden_size": hidden_size,
            "output_size": output_size,
            "weight_init_std": weight_init_std,
            "dtype": np.dtype(dtype).name,
        }


class MultiLayerNet(BookParams, Sequential):
    """Affine → [BatchNormalization] → activation → [Dropout] per hidden size, then Affine → SoftmaxWithLoss; L + ½λΣ‖W‖².

    The book's MultiLayerNet and MultiLayerNetExtend in one, accepting the book's argument names:
    weight_init_std ("relu"/"he", "sigmoid"/"xavier" or a standard deviation) for weight_init, and
    dropout_ration for dropout_ratio; batchnorm_eps=1e-6 is the book's eps (10e-7). With weight_decay_lambda = λ > 0, loss(x, t) adds ½λ Σ‖W‖² over
    every Affine's W and backward adds λW to each dW, as the book does. params are keyed as the
    book's: W1, b1, (gamma1, beta1,) W2, ...
    """

    def __init__(
        self,
        input_size: int,
        hidden_size_list: list[int] | int,
        output_size: int,
        activation: str = "relu",
        weight_init: str | float | None = None,
        rng: RandomLike = None,
        dtype: DTypeLike = np.float64,
        *,
        weight_init_std: str | float | None = None,
        weight_decay_lambda: float = 0.0,
        use_dropout: bool = False,
        dropout_ratio: float = 0.5,
        use_batchnorm: bool = False,
        dropout_ration: float | None = None,
        batchnorm_eps: float = 1e-5,
    ) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"MultiLayerNet: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
            )
        if weight_init is not None and weight_init_std is not None:
            raise ValueError(
                f"MultiLayerNet: give weight_init or the book's weight_init_std, not both (got {weight_init!r} and {weight_init_std!r})"
            )
        if dropout_ration is not None:  # the book's spelling
            if dropout_ratio not in (0.5, dropout_ration):
                raise ValueError(f"MultiLayerNet: dropout_ratio={dropout_ratio!r} and the book's dropout_ration={dropout_ration!r} disagree")
            dropout_ratio = dropout_ration
        weight_decay_lambda = number(weight_decay_lambda, "MultiLayerNet", "weight_decay_lambda", low=0)
        dropout_ratio = number(dropout_ratio, "MultiLayerNet", "dropout_ratio", low=0, high=1, open_high=True)
        if not isinstance(hidden_size_list, (list, tuple)):  # one hidden layer, given as its size
            hidden_size_list = [integer(hidden_size_list, "MultiLayerNet", "hidden_size_list (a list of sizes, or one size)", least=1)]
        hidden_size_list = [integer(h, "MultiLayerNet", f"hidden_size_list[{i}]", least=1) for i, h in enumerate(hidden_size_list)]
        weight_init = next((w for w in (weight_init, weight_init_std) if w is not None), "he")
        init = INIT_ALIASES.get(weight_init, weight_init) if isinstance(weight_init, str) else weight_init
        rng, dtype = generator(rng, "MultiLayerNet"), float_dtype(dtype, "MultiLayerNet")
        sizes = [input_size, *hidden_size_list, output_size]
        affines = [Affine.from_sizes(d, m, weight_init=init, rng=rng, dtype=dtype) for d, m in zip(sizes[:-1], sizes[1:])]
        layers: list = []
        for affine in affines[:-1]:  # the same weights with and without the extras, for a fair comparison
            m = affine.params["b"].size
            layers += [affine, BatchNormalization(np.ones(m, dtype), np.zeros(m, dtype), eps=batchnorm_eps)] if use_batchnorm else [affine]
            layers.append(ACTIVATIONS[activation]())
            if use_dropout:
                layers.append(Dropout(dropout_ratio, rng=np.random.default_rng(rng.integers(2**63))))
        layers.append(affines[-1])
        super().__init__(*layers, loss=SoftmaxWithLoss(), keys=book_keys(layers))
        self.weight_decay_lambda = float(weight_decay_lambda)
        self._affines = affines
        self.config = {
            "input_size": input_size,
            "hidden_size_list": list(hidden_size_list),
            "output_size": output_size,
            "activation": activation,
            "weight_init": weight_init,
            "dtype": np.dtype(dtype).name,
            "weight_decay_lambda": self.weight_decay_lambda,
            "use_dropout": bool(use_dropout),
            "dropout_ratio": float(dropout_ratio),
            "use_batchnorm": bool(use_batchnorm),
            "batchnorm_eps": float(batchnorm_eps),
        }

    def forward(self, x: ArrayLike, t: ArrayLike | None = None) -> Any:
        """The chain's output, or with targets the loss L + ½λ Σ‖W‖² (λ = weight_decay_lambda)."""
        out = super().forward(x, t)
        if t is None or not self.weight_decay_lambda:
            return out
        return out + 0.5 * self.weight_decay_lambda * sum(float(np.sum(a.params["W"] ** 2)) for a in self._affines)

    def backward(self, dout: Any = None, need_dx: bool = True, optimizer: Any = None) -> Any:
        """Sequential.backward, with λW (times dout) added to every dW after a loss when weight_decay_lambda = λ > 0."""
        if not self.weight_decay_lambda or self._mode != "loss":
            return super().backward(dout, need_dx, optimizer)
        dx = super().backward(dout, need_dx)  # the optimizer steps after the decay is in every dW
        decay = self.weight_decay_lambda * (1.0 if dout is None else float(dout))
        for affine in self._affines:
            affine.grads["W"] += decay * affine.params["W"]
        if optimizer is not None:
            optimizer.update(self.params, self.grads)
        return dx


BOOK_CONV_PARAM = MappingProxyType({"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1})
"""The book's first layer: 30 filters of 5×5, no padding, stride 1."""


class SimpleConvNet(BookParams, Sequential):
    """The book's ch. 7 net: Convolution → ReLU → 2×2 max Pooling (stride 2) → Affine → ReLU → Affine → SoftmaxWithLoss.

    x (N, C, H, W) with (C, H, W) = input_dim. W ~ N(0, weight_init_std²) as the book, or weight_init="he".
    use_batchnorm puts a BatchNormalization before each ReLU (per channel after the convolution).
    params are keyed as the book's: W1, b1 (the convolution), W2, b2, W3, b3 (the Affines).
    """

    def __init__(
        self,
        input_dim: Sequence[int] = (1, 28, 28),
        conv_param: Mapping[str, int] = BOOK_CONV_PARAM,
        hidden_size: int = 100,
        output_size: int = 10,
        weight_init_std: float = 0.01,
        rng: RandomLike = None,
        dtype: DTypeLike = np.float64,
        weight_init: str = "std",
        use_batchnorm: bool = False,
    ) -> None:
        unknown = sorted(set(conv_param) - set(BOOK_CONV_PARAM))
        if unknown:
            raise ValueError(f"SimpleConvNet: conv_param takes keys {sorted(BOOK_CONV_PARAM)}, got unknown {unknown}")
        if isinstance(input_dim, (str, bytes)) or not hasattr(input_dim, "__len__") or len(input_dim) != 3:
            raise ValueError(f"SimpleConvNet: input_dim must be (C, H, W), got {input_dim!r:.80}")
        if weight_init not in ("std", "he"):
            raise ValueError(f"SimpleConvNet: weight_init must be 'std' (weight_init_std) or 'he', got {weight_init!r}")
        p = {**BOOK_CONV_PARAM, **conv_param}
        p = {k: integer(v, "SimpleConvNet", f"conv_param[{k!r}]", least=0 if k == "pad" else 1) for k, v in p.items()}
        C, H, W = (integer(n, "SimpleConvNet", f"input_dim[{i}]", least=1) for i, n in enumerate(input_dim))
        FN, F = p["filter_num"], p["filter_size"]
        OH, OW = (conv_output_size(n, F, p["stride"], p["pad"]) for n in (H, W))
        if OH < 2 or OW < 2:
            raise ValueError(
                f"SimpleConvNet: a {F}x{F} filter with stride {p['stride']} and pad {p['pad']} turns {H}x{W} images "
                f"into {OH}x{OW}, too small for the 2x2 pooling"
            )
        pooled = FN * (OH // 2) * (OW // 2)
        rng, dtype = generator(rng, "SimpleConvNet"), float_dtype(dtype, "SimpleConvNet")
        scale = weight_init_std if weight_init == "std" else "he"
        # drawn as init_weight's (C·F·F, FN) matrix, the he scale's home, then one filter per row
        filters = init_weight(C * F * F, FN, scale, rng, dtype).T.reshape(FN, C, F, F)
        conv = Convolution(filters, np.zeros(FN, dtype=dtype), stride=p["stride"], pad=p["pad"])
        sizes = [(pooled, hidden_size), (hidden_size, output_size)]
        first, second = (Affine.from_sizes(d, m, weight_init, weight_init_std, rng, dtype) for d, m in sizes)
        def norm(m: int) -> list[Any]:
            return [BatchNormalization(np.ones(m, dtype), np.zeros(m, dtype))] if use_batchnorm else []

        layers = [conv, *norm(FN), ReLU(), Pooling(2, 2, stride=2), first, *norm(hidden_size), ReLU(), second]
        super().__init__(*layers, loss=SoftmaxWithLoss(), keys=book_keys(layers))
        self.config = {
            "input_dim": [C, H, W],
            "conv_param": dict(p),
            "hidden_size": hidden_size,
            "output_size": output_size,
            "weight_init_std": weight_init_std,
            "dtype": np.dtype(dtype).name,
            "weight_init": weight_init,
            "use_batchnorm": bool(use_batchnorm),
        }


def _conv_param(where: str, arg: str, given: Mapping[str, int], default: Mapping[str, int]) -> dict[str, int]:
    """given over default, once its keys are the book's (filter_num, filter_size, pad, stride)."""
    if not isinstance(given, Mapping):
        raise TypeError(f"{where}: {arg} must be a dict like {dict(default)}, got {type(given).__name__}")
    unknown = sorted(set(given) - set(default))
    if unknown:
        raise ValueError(f"{where}: {arg} takes keys {sorted(default)}, got unknown {unknown}")
    return {k: integer(v, where, f"{arg}[{k!r}]", least=0 if k == "pad" else 1) for k, v in {**default, **given}.items()}


DEEP_CONV_PARAMS = tuple(MappingProxyType({"filter_num": n, "filter_size": 3, "pad": pad, "stride": 1})
                         for n, pad in ((16, 1), (16, 1), (32, 1), (32, 2), (64, 1), (64, 1)))
"""The book's six 3×3 convolutions: 16, 16, 32, 32, 64, 64 filters, the fourth padded by 2 (28×28 → 4×4 after three poolings)."""


class DeepConvNet(BookParams, Sequential):
    """The book's ch. 8 net: (Conv 3×3 → ReLU → Conv 3×3 → ReLU → 2×2 max Pooling) × 3 → Affine → ReLU → Dropout → Affine → Dropout → SoftmaxWithLoss.

    x (N, C, H, W) with (C, H, W) = input_dim; He initialisation (W ~ N(0, 2/fan-in)) as the book;
    each Dropout drops half, inverted (see BookParams for the book's weights). params W1, b1, ..., W8, b8.
    """

    def __init__(
        self,
        input_dim: Sequence[int] = (1, 28, 28),
        conv_param_1: Mapping[str, int] = DEEP_CONV_PARAMS[0],
        conv_param_2: Mapping[str, int] = DEEP_CONV_PARAMS[1],
        conv_param_3: Mapping[str, int] = DEEP_CONV_PARAMS[2],
        conv_param_4: Mapping[str, int] = DEEP_CONV_PARAMS[3],
        conv_param_5: Mapping[str, int] = DEEP_CONV_PARAMS[4],
        conv_param_6: Mapping[str, int] = DEEP_CONV_PARAMS[5],
        hidden_size: int = 50,
        output_size: int = 10,
        rng: RandomLike = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        given = (conv_param_1, conv_param_2, conv_param_3, conv_param_4, conv_param_5, conv_param_6)
        params = [_conv_param("DeepConvNet", f"conv_param_{i + 1}", p, d) for i, (p, d) in enumerate(zip(given, DEEP_CONV_PARAMS))]
        if isinstance(input_dim, (str, bytes)) or not hasattr(input_dim, "__len__") or len(input_dim) != 3:
            raise ValueError(f"DeepConvNet: input_dim must be (C, H, W), got {input_dim!r:.80}")
        C, H, W = (integer(n, "DeepConvNet", f"input_dim[{i}]", least=1) for i, n in enumerate(input_dim))
        hidden_size = integer(hidden_size, "DeepConvNet", "hidden_size", least=1)
        output_size = integer(output_size, "DeepConvNet", "output_size", least=1)
        rng, dtype = generator(rng, "DeepConvNet"), float_dtype(dtype, "DeepConvNet")
        layers: list[Any] = []
        for i, p in enumerate(params):
            FN, F = p["filter_num"], p["filter_size"]
            H, W = (conv_output_size(n, F, p["stride"], p["pad"]) for n in (H, W))
            if H < 1 or W < 1 or (i % 2 and (H < 2 or W < 2)):
                raise ValueError(
                    f"DeepConvNet: conv_param_{i + 1} ({F}x{F}, stride {p['stride']}, pad {p['pad']}) turns the images into "
                    f"{H}x{W}, too small{' for the 2x2 pooling after it' if i % 2 else ''}; input_dim is {tuple(input_dim)}"
                )
            filters = init_weight(C * F * F, FN, "he", rng, dtype).T.reshape(FN, C, F, F)  # as SimpleConvNet: one filter per row
            layers += [Convolution(filters, np.zeros(FN, dtype=dtype), stride=p["stride"], pad=p["pad"]), ReLU()]
            if i % 2:
                layers.append(Pooling(2, 2, stride=2))
                H, W = H // 2, W // 2
            C = FN
        def dropout() -> Dropout:
            return Dropout(0.5, rng=np.random.default_rng(rng.integers(2**63)))

        hidden, last = (Affine.from_sizes(d, m, "he", rng=rng, dtype=dtype) for d, m in ((C * H * W, hidden_size), (hidden_size, output_size)))
        layers += [hidden, ReLU(), dropout(), last, dropout()]
        super().__init__(*layers, loss=SoftmaxWithLoss(), keys=book_keys(layers))
        self.config = {
            "input_dim": [int(n) for n in input_dim],
            **{f"conv_param_{i + 1}": p for i, p in enumerate(params)},
            "hidden_size": hidden_size,
            "output_size": output_size,
            "dtype": np.dtype(dtype).name,
        }


def price_graph() -> Graph:
    """The chapter's shopping graph: price = (apple · apple_num + orange · orange_num) · tax."""
    g = Graph(["apple", "apple_num", "orange", "orange_num", "tax"])
    g.add("apple_price", MulLayer(), "apple", "apple_num")
    g.add("orange_price", MulLayer(), "orange", "orange_num")
    g.add("all_price", AddLayer(), "apple_price", "orange_price")
    g.add("price", MulLayer(), "all_price", "tax")
    return g
