"""Shapes: what one sample looks like after each layer of a chain, found without running it.

``chain_dims(net)`` walks a Sequential the way ``predict`` would and returns one output sample's
shape, or raises a ValueError naming the first layer that cannot take what the layer before it
gives. A shape is a list of sizes, ``None`` for a size the layers leave open (an image's height and
width before any layer fixes them); ``None`` for the whole shape before any layer tells it. Layers
it does not know (a user's own) leave everything after them open.
"""

from __future__ import annotations

import math
from typing import Any, Union

from .conv import Convolution, Pooling, conv_output_size
from .layers import Affine, ReLU, Sigmoid, Tanh
from .network import Sequential
from .normalization import BatchNormalization, Dropout

__all__ = ["Dims", "chain_dims", "layer_dims"]

Dims = Union[list[Union[int, None]], None]
"""One sample's shape as far as the layers tell it (None for a size they leave open), or None before any layer does."""

SHAPE_KEEPING = (ReLU, Sigmoid, Tanh, Dropout)


def _show(dims: Dims) -> str:
    return "(N, ...)" if dims is None else f"(N, {', '.join('?' if d is None else str(d) for d in dims)})"


def _spatial(layer: Any, pos: str, dims: Dims, channels: int | None, fh: int, fw: int, out_channels: int | None) -> Dims:
    """The (C, OH, OW) a window of fh×fw with the layer's stride and pad makes of images dims (None: unknown)."""
    name = type(layer).__name__
    if dims is None:
        return [out_channels, None, None]
    if len(dims) != 3 or (channels is not None and dims[0] not in (None, channels)):
        c = "C" if channels is None else str(channels)
        raise ValueError(f"layer {pos} ({name}) takes images (N, {c}, H, W), but receives {_show(dims)}")
    out: list[int | None] = [dims[0] if out_channels is None else out_channels]
    for size, f in zip(dims[1:], (fh, fw)):
        if size is not None and size + 2 * layer.pad < f:
            raise ValueError(f"layer {pos} ({name}) has a {fh}x{fw} window, larger than its input {_show(dims)} padded by {layer.pad}")
        out.append(None if size is None else conv_output_size(size, f, layer.stride, layer.pad))
    return out


def layer_dims(layer: Any, pos: str, dims: Dims) -> Dims:
    """One output sample's shape for `layer` at position `pos` given its input's, or a ValueError naming the layer."""
    kind = type(layer)
    if kind in SHAPE_KEEPING:
        return dims
    if kind is Affine:
        D, M = layer.params["W"].shape
        if dims is not None:
            known = math.prod(d for d in dims if d is not None)
            if (None not in dims and known != D) or D % known:
                raise ValueError(f"layer {pos} (Affine) takes {D} features per sample, but receives {_show(dims)}")
        return [M]
    if kind is Convolution:
        FN, C, FH, FW = layer.params["W"].shape
        return _spatial(layer, pos, dims, C, FH, FW, FN)
    if kind is Pooling:
        return _spatial(layer, pos, dims, None, layer.pool_h, layer.pool_w, None)
    if kind is BatchNormalization:
        d = layer.params["gamma"].size
        if dims is None:
            return None
        per_feature = dims[0] in (None, d)  # (N, D) per feature, or (N, C, H, W) per channel
        known = math.prod(x for x in dims if x is not None)
        per_activation = len(dims) == 3 and (known == d if None not in dims else d % known == 0)  # the book's flattening
        if not (per_feature or per_activation):
            raise ValueError(f"layer {pos} (BatchNormalization) normalizes {d} features or channels, but receives {_show(dims)}")
        return dims
    if isinstance(layer, Sequential) and layer.last_layer is None:
        return chain_dims(layer, f"{pos}.", dims)
    return None  # a layer this module does not know: nothing after it can be checked


def chain_dims(net: Sequential, prefix: str = "", dims: Dims = None) -> Dims:
    """One output sample's shape of net's layers run in order from input dims, or a ValueError naming the first layer that cannot run."""
    for i, layer in enumerate(net.layers):
        dims = layer_dims(layer, f"{prefix}{i}", dims)
    return dims
