r"""Averaging the iterates of training: Polyak (uniform) or exponential."""

from __future__ import annotations

import torch

__all__ = ["ParameterAverage"]


class ParameterAverage:
    r"""Running average of the parameters after the updates numbered above ``start``.

    Uniform (Polyak): :math:`\bar\theta_n = \bar\theta_{n-1} + (\theta - \bar\theta_{n-1})/n`;
    exponential (EMA with decay ``mode``): :math:`\bar\theta_n = \text{mode}\,\bar\theta_{n-1}
    + (1 - \text{mode})\,\theta`, the first iterate taken as is.

    Parameters
    ----------
    model : torch.nn.Module
    mode : "polyak" or float in (0, 1)
    start : int
        Updates before averaging begins.
    """

    def __init__(self, model, mode, start):
        self.params = [p for p in model.parameters()]
        self.mode, self.start = mode, start
        self.n = 0
        self.avg = [p.detach().clone() for p in self.params]

    @torch.no_grad()
    def update(self, step):
        """Fold in the iterate after update number ``step`` (1, 2, …) if ``step > start``."""
        if step <= self.start:
            return
        self.n += 1
        weight = 1.0 / self.n if self.mode == "polyak" else (1.0 if self.n == 1 else 1.0 - self.mode)
        for a, p in zip(self.avg, self.params):
            a.lerp_(p, weight)

    @torch.no_grad()
    def swap(self):
        """Exchange the model's parameters with the averages (no-op before the start)."""
        if self.n == 0:
            return
        for a, p in zip(self.avg, self.params):
            tmp = p.detach().clone()
            p.copy_(a)
            a.copy_(tmp)

    def state_dict(self):
        """``{"n", "start", "avg"}`` (copies), for checkpoints."""
        return {"n": self.n, "start": self.start, "avg": [a.clone() for a in self.avg]}

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned."""
        self.n, self.start = int(state["n"]), int(state["start"])
        for a, s in zip(self.avg, state["avg"]):
            a.copy_(s)
