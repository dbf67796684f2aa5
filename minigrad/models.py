"""Preset networks from the chapter, built as Sequentials with a SoftmaxWithLoss."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from .layers import AddLayer, Affine, MulLayer, RandomLike, ReLU, Sigmoid, Tanh
from .losses import SoftmaxWithLoss
from .network import Graph, Sequential

__all__ = ["TwoLayerNet", "MultiLayerNet", "price_graph"]

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


def price_graph() -> Graph:
    """The chapter's shopping graph: price = (apple · apple_num + orange · orange_num) · tax."""
    g = Graph(["apple", "apple_num", "orange", "orange_num", "tax"])
    g.add("apple_price", MulLayer(), "apple", "apple_num")
    g.add("orange_price", MulLayer(), "orange", "orange_num")
    g.add("all_price", AddLayer(), "apple_price", "orange_price")
    g.add("price", MulLayer(), "all_price", "tax")
    return g
