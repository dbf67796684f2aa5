"""minigrad's per-sample losses as PyTorch modules (imported only by minigrad.interop, which needs torch).

PyTorch's ``MSELoss`` and ``BCEWithLogitsLoss`` average over every element; minigrad's
``MeanSquaredError`` and ``SigmoidWithLoss`` sum over each sample and average over the N samples.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["HalfSquaredError", "SigmoidCrossEntropy"]


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
