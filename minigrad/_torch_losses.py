"""minigrad's losses where PyTorch has no exact match, as PyTorch modules (imported only by minigrad.interop).

PyTorch's ``MSELoss`` and ``BCEWithLogitsLoss`` average over every element; minigrad's
``MeanSquaredError`` and ``SigmoidWithLoss`` sum over each sample and average over the N samples.
MultiLayerNet's weight decay is part of its loss; PyTorch's usually lives in the optimizer.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["HalfSquaredError", "SigmoidCrossEntropy", "WeightDecay"]


class HalfSquaredError(nn.Module):
    """L = 0.5 Σ (y − t)² / N for y (N, ...), N = 1 for one sample (C,): minigrad's MeanSquaredError."""

    def forward(self, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        n = y.shape[0] if y.dim() > 1 else 1
        return 0.5 * F.mse_loss(y, t, reduction="sum") / n


class SigmoidCrossEntropy(nn.Module):
    """L = Σ BCE(sigmoid(x), t) / N for logits x (N, ...), N = len(x): minigrad's SigmoidWithLoss."""

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        n = x.shape[0] if x.dim() else 1
        return F.binary_cross_entropy_with_logits(x, t, reduction="sum") / n


class WeightDecay(nn.Module):
    """L = loss(y, t) + ½λ Σ‖W‖² over the given weights: MultiLayerNet's weight_decay_lambda = λ."""

    def __init__(self, loss: nn.Module, weights: list[torch.Tensor], weight_decay_lambda: float) -> None:
        super().__init__()
        self.loss = loss
        self.weights = list(weights)  # a plain list: the weights stay the network's parameters, not the loss's
        self.weight_decay_lambda = weight_decay_lambda

    def forward(self, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.loss(y, t) + 0.5 * self.weight_decay_lambda * sum((W * W).sum() for W in self.weights)

    def extra_repr(self) -> str:
        return f"weight_decay_lambda={self.weight_decay_lambda}, over {len(self.weights)} weights"
