"""minigrad: a small, exact computational-graph autodiff framework on numpy.

The gradient checker is ``minigrad.gradcheck.gradcheck`` (the module keeps its name, so
``from minigrad.gradcheck import gradcheck``).
"""

from .gradcheck import GradcheckError, GradcheckResult
from .layers import Affine, AddLayer, Convolution, Layer, MulLayer, Pooling, ReLU, Sigmoid, Tanh
from .normalization import BatchNormalization, Dropout
from .losses import Loss, MeanSquaredError, SigmoidWithLoss, SoftmaxWithLoss
from .models import MultiLayerNet, SimpleConvNet, TwoLayerNet
from .network import Graph, Sequential
from .optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop, get_optimizer
from .serialization import load_checkpoint, load_model, save_model
from .trainer import EarlyStopping, History, ModelCheckpoint, Trainer, TrainingError, fit

__version__ = "0.1.0"

__all__ = [
    "Layer",
    "MulLayer",
    "AddLayer",
    "Affine",
    "Sigmoid",
    "ReLU",
    "Tanh",
    "Convolution",
    "Pooling",
    "BatchNormalization",
    "Dropout",
    "Loss",
    "SoftmaxWithLoss",
    "SigmoidWithLoss",
    "MeanSquaredError",
    "Sequential",
    "Graph",
    "TwoLayerNet",
    "MultiLayerNet",
    "SimpleConvNet",
    "GradcheckResult",
    "GradcheckError",
    "SGD",
    "Momentum",
    "Nesterov",
    "AdaGrad",
    "RMSprop",
    "Adam",
    "get_optimizer",
    "fit",
    "Trainer",
    "History",
    "TrainingError",
    "EarlyStopping",
    "ModelCheckpoint",
    "save_model",
    "load_model",
    "load_checkpoint",
]
