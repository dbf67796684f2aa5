"""Preset networks from the chapter, built as Sequentials with a SoftmaxWithLoss."""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np
from numpy.typing import DTypeLike

from .conv import Convolution, Pooling, conv_output_size
from .layers import AddLayer, Affine, MulLayer, RandomLike, ReLU, Sigmoid, Tanh, init_weight
from .losses import SoftmaxWithLoss
from .network import Graph, Sequential

__all__ = ["TwoLayerNet", "MultiLayerNet", "SimpleConvNet", "price_graph"]

ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}
# The book's MultiLayerNet also accepts an activation's name for the initialisation that suits it.
INIT_ALIASES = {"relu": "he", "sigmoid": "xavier", "tanh": "xavier"}


class TwoLayerNet(Sequential):
    """The chapter's net: Affine(D, H) → ReLU → Affine(H, C) → SoftmaxWithLoss, W ~ N(0, weight_init_std²)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        weight_init_std: float = 0.01,
        rng: RandomLike = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        rng = np.random.default_rng(rng)
        sizes = [(input_size, hidden_size), (hidden_size, output_size)]
        first, second = (Affine.from_sizes(d, m, weight_init=weight_init_std, rng=rng, dtype=dtype) for d, m in sizes)
        super().__init__(first, ReLU(), second, loss=SoftmaxWithLoss())
        self.config = {
            "input_size": input_size,
            "hidden_size": hidden_size,
            "output_size": output_size,
            "weight_init_std": weight_init_std,
            "dtype": np.dtype(dtype).name,
        }


class MultiLayerNet(Sequential):
    """Affine → activation for each hidden size, then Affine → SoftmaxWithLoss; "he"/"xavier"/std init."""

    def __init__(
        self,
        input_size: int,
        hidden_size_list: list[int],
        output_size: int,
        activation: str = "relu",
        weight_init: str | float = "he",
        rng: RandomLike = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"MultiLayerNet: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
            )
        init = INIT_ALIASES.get(weight_init, weight_init) if isinstance(weight_init, str) else weight_init
        rng = np.random.default_rng(rng)
        sizes = [input_size, *hidden_size_list, output_size]
        layers = []
        for d, m in zip(sizes[:-1], sizes[1:]):
            layers += [Affine.from_sizes(d, m, weight_init=init, rng=rng, dtype=dtype), ACTIVATIONS[activation]()]
        super().__init__(*layers[:-1], loss=SoftmaxWithLoss())
        self.config = {
            "input_size": input_size,
            "hidden_size_list": list(hidden_size_list),
            "output_size": output_size,
            "activation": activation,
            "weight_init": weight_init,
            "dtype": np.dtype(dtype).name,
        }


BOOK_CONV_PARAM = MappingProxyType({"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1})
"""The book's first layer: 30 filters of 5×5, no padding, stride 1."""


class SimpleConvNet(Sequential):
    """The book's ch. 7 net: Convolution → ReLU → 2×2 max Pooling (stride 2) → Affine → ReLU → Affine → SoftmaxWithLoss.

    x (N, C, H, W) with (C, H, W) = input_dim. W ~ N(0, weight_init_std²) as the book, or weight_init="he".
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
    ) -> None:
        unknown = sorted(set(conv_param) - set(BOOK_CONV_PARAM))
        if unknown:
            raise ValueError(f"SimpleConvNet: conv_param takes keys {sorted(BOOK_CONV_PARAM)}, got unknown {unknown}")
        if len(input_dim) != 3:
            raise ValueError(f"SimpleConvNet: input_dim must be (C, H, W), got {tuple(input_dim)!r}")
        if weight_init not in ("std", "he"):
            raise ValueError(f"SimpleConvNet: weight_init must be 'std' (weight_init_std) or 'he', got {weight_init!r}")
        p = {**BOOK_CONV_PARAM, **conv_param}
        C, H, W = (int(n) for n in input_dim)
        FN, F = p["filter_num"], p["filter_size"]
        OH, OW = (conv_output_size(n, F, p["stride"], p["pad"]) for n in (H, W))
        if OH < 2 or OW < 2:
            raise ValueError(
                f"SimpleConvNet: a {F}x{F} filter with stride {p['stride']} and pad {p['pad']} turns {H}x{W} images "
                f"into {OH}x{OW}, too small for the 2x2 pooling"
            )
        pooled = FN * (OH // 2) * (OW // 2)
        rng = np.random.default_rng(rng)
        scale = weight_init_std if weight_init == "std" else "he"
        # drawn as init_weight's (C·F·F, FN) matrix, the he scale's home, then one filter per row
        filters = init_weight(C * F * F, FN, scale, rng, dtype).T.reshape(FN, C, F, F)
        conv = Convolution(filters, np.zeros(FN, dtype=dtype), stride=p["stride"], pad=p["pad"])
        sizes = [(pooled, hidden_size), (hidden_size, output_size)]
        first, second = (Affine.from_sizes(d, m, weight_init, weight_init_std, rng, dtype) for d, m in sizes)
        super().__init__(conv, ReLU(), Pooling(2, 2, stride=2), first, ReLU(), second, loss=SoftmaxWithLoss())
        self.config = {
            "input_dim": [C, H, W],
            "conv_param": dict(p),
            "hidden_size": hidden_size,
            "output_size": output_size,
            "weight_init_std": weight_init_std,
            "dtype": np.dtype(dtype).name,
            "weight_init": weight_init,
        }


def price_graph() -> Graph:
    """The chapter's shopping graph: price = (apple · apple_num + orange · orange_num) · tax."""
    g = Graph(["apple", "apple_num", "orange", "orange_num", "tax"])
    g.add("apple_price", MulLayer(), "apple", "apple_num")
    g.add("orange_price", MulLayer(), "orange", "orange_num")
    g.add("all_price", AddLayer(), "apple_price", "orange_price")
    g.add("price", MulLayer(), "all_price", "tax")
    return g
