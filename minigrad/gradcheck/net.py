"""The book's nets under gradcheck: an object with params, loss(x, t) and gradient(x, t), checked as ch05/gradient_check.py does.

The net is seen as a loss over its parameters (BookNet: forward is the net's loss, backward its
gradient), so every entry of net.params is compared with the central difference of loss through the
same probes, hygiene and report as a layer's parameters. A loss that takes the book's train_flg is
called with train_flg=True, as the book's gradient calls it; the net's randomness (a Dropout drawing
from np.random) is replayed before every forward, the one gradient runs itself included.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import protocol


class BookNet:
    """A book net as a loss layer over its params: forward(x, t) = net.loss(x, t); backward(dout) = dout · net.gradient(x, t)."""

    def __init__(self, net: Any) -> None:
        self.net = net
        self.params = net.params  # the net's own dict: the live arrays its layers compute with
        self.grads: dict[str, Any] = {}
        self.replay: Callable[[], None] = lambda: None
        """Set by gradcheck: the net's random sources back as they were before the check's forwards."""
        self.xt: tuple[Any, Any] | None = None

    def forward(self, x: Any, t: Any) -> Any:
        self.xt = None
        loss = protocol.apply_mode(self.net.loss, x, t, training=True)
        self.xt = (x, t)
        return loss

    def backward(self, dout: Any = 1.0) -> tuple[None, None]:
        if self.xt is None:
            raise RuntimeError(f"{type(self.net).__name__}.gradient: called before loss")
        self.replay()  # gradient runs its own forward: the same draws as the check's
        grads = self.net.gradient(*self.xt)
        self.grads = {k: None if g is None else np.asarray(g) * dout for k, g in grads.items()}
        return None, None
