r"""The fully visible sigmoid belief net (logistic autoregressive network, Frey 1998)."""

from __future__ import annotations

import pyro.distributions as dist
import torch
import torch.nn.functional as F
from torch import nn

from pgm.checks import check_int, check_memory, check_seed

from .base import AutoregressiveModel

__all__ = ["FVSBN"]


class FVSBN(AutoregressiveModel):
    r"""A fully visible sigmoid belief net.

    .. math::

        p(x_{o_i} = 1 \mid x_{o_{<i}}) = \sigma\Big(b_{o_i} + \sum_{j<i} W_{o_i o_j} x_{o_j}\Big),

    one logistic regression per dimension on the dimensions before it in the ordering o:
    D(D − 1)/2 weights and D biases. The weights are a full (D, D) matrix W of which only
    the entries below the diagonal in the ordering are used (and trained): the mask
    M_{di} = 1[pos(i) < pos(d)].

    Parameters
    ----------
    n_visible : int
    ordering : sequence of int, optional
        The ordering o, a permutation of 0 … D − 1 (default: 0, 1, …).
    weight_std : float, default 0.01
        Standard deviation of the initial weights.
    seed : int, optional

    Examples
    --------
    >>> m = FVSBN(4, seed=0)
    >>> x = torch.tensor([[0., 1., 1., 0.]])
    >>> m.log_prob(x).shape
    torch.Size([1])
    """

    def __init__(self, n_visible: int, ordering=None, *, weight_std: float = 0.01, seed: int | None = None):
        super().__init__()
        n_visible = check_int(n_visible, "n_visible", where="FVSBN")
        seed = check_seed(seed, "FVSBN")
        check_memory("FVSBN", n_visible * (n_visible + 1) * 2)
        self._set_ordering(n_visible, ordering, "FVSBN")
        self.weight_std, self.seed = float(weight_std), seed
        position = torch.empty(n_visible, dtype=torch.long)
        position[self.ordering] = torch.arange(n_visible)
        self.register_buffer("mask", (position[None, :] < position[:, None]).float())
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        self.W = nn.Parameter(torch.randn(n_visible, n_visible, generator=gen) * self.weight_std * self.mask)
        self.b = nn.Parameter(torch.zeros(n_visible))

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "ordering": self.ordering.tolist(), "weight_std": self.weight_std,
                "seed": self.seed}

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """b + x (W ⊙ M)ᵀ: the logit of every dimension given the earlier ones, (n, D)."""
        return F.linear(x, self.W * self.mask, self.b)

    def log_prob_dims(self, x, member=None):
        logits = self.logits(x)
        return -F.binary_cross_entropy_with_logits(logits, x, reduction="none")

    # -- step by step --------------------------------------------------------------------
    def _start(self, n, member):
        return torch.zeros(n, self.n_visible, dtype=self.dtype, device=self.device)

    def _next(self, state, position):
        d = int(self.ordering[position])
        return dist.Bernoulli(logits=self.b[d] + state @ (self.W[d] * self.mask[d]))

    def _observe(self, state, position, value):
        state = state.clone()
        state[:, int(self.ordering[position])] = value
        return state

    @property
    def n_parameters(self) -> int:
        """Free parameters: D(D − 1)/2 weights and D biases."""
        return self.n_visible * (self.n_visible + 1) // 2
