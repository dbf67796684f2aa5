"""minigrad: a small, exact computational-graph autodiff framework on numpy."""

from .layers import Affine, AddLayer, Layer, MulLayer, ReLU, Sigmoid, Tanh
from .losses import Loss, MeanSquaredError, SigmoidWithLoss, SoftmaxWithLoss
from .models import MultiLayerNet, TwoLayerNet
from .network import Graph, Sequential

__version__ = "0.1.0"

__all__ = [
    "Layer",
    "MulLayer",
    "AddLayer",
    "Affine",
    "Sigmoid",
    "ReLU",
    "Tanh",
    "Loss",
    "SoftmaxWithLoss",
    "SigmoidWithLoss",
    "MeanSquaredError",
    "Sequential",
    "Graph",
    "TwoLayerNet",
    "MultiLayerNet",
]
