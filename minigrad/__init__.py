"""minigrad: a small, exact computational-graph autodiff framework on numpy."""

from .gradcheck import GradcheckError, GradcheckResult, gradcheck
from .layers import Affine, AddLayer, Layer, MulLayer, ReLU, Sigmoid, Tanh
from .losses import Loss, MeanSquaredError, SigmoidWithLoss, SoftmaxWithLoss
from .models import MultiLayerNet, TwoLayerNet
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
    "Loss",
    "SoftmaxWithLoss",
    "SigmoidWithLoss",
    "MeanSquaredError",
    "Sequential",
    "Graph",
    "TwoLayerNet",
    "MultiLayerNet",
    "gradcheck",
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
