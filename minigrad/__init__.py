"""minigrad: a small, exact computational-graph autodiff framework on numpy.

The gradient checker is ``minigrad.gradcheck.gradcheck`` (the module keeps its name, so
``from minigrad.gradcheck import gradcheck``).
"""

from .arithmetic import DivLayer, Exp, Index, Log, MatMulLayer, Mean, NegLayer, PowLayer, Reshape, SubLayer, Sum, Transpose
from .gradcheck import GradcheckError, GradcheckResult
from . import protocol
from .conv import Convolution, Pooling
from .layers import Affine, AddLayer, Layer, MulLayer, ReLU, Sigmoid, Tanh
from .normalization import BatchNormalization, Dropout
from .losses import Loss, MeanSquaredError, SigmoidWithLoss, SoftmaxWithLoss
from .models import DeepConvNet, MultiLayerNet, SimpleConvNet, TwoLayerNet
from .network import Graph, Sequential
from .optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop, get_optimizer
from .serialization import load_checkpoint, load_model, save_model
from .trainer import EarlyStopping, History, ModelCheckpoint, Trainer, TrainingError, fit
from .variable import Variable, grad, no_grad

__version__ = "0.1.0"

__all__ = [
    "Layer",
    "MulLayer",
    "AddLayer",
    "Affine",
    "Sigmoid",
    "ReLU",
    "Tanh",
    "SubLayer",
    "DivLayer",
    "NegLayer",
    "PowLayer",
    "MatMulLayer",
    "Exp",
    "Log",
    "Sum",
    "Mean",
    "Reshape",
    "Transpose",
    "Index",
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
    "DeepConvNet",
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
    "Variable",
    "no_grad",
    "grad",
]
