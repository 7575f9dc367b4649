r"""The neural autoregressive distribution estimator (NADE, Larochelle & Murray 2011)."""

from __future__ import annotations

import pyro.distributions as dist
import torch
import torch.nn.functional as F
from torch import nn

from pgm.checks import check_int, check_memory, check_seed

from .base import AutoregressiveModel

__all__ = ["NADE"]


class NADE(AutoregressiveModel):
    r"""NADE: one hidden layer shared across the conditionals, Bernoulli outputs.

    .. math::

        a_i = c + \sum_{j<i} W_{:, o_j} x_{o_j}, \qquad h_i = \sigma(a_i), \qquad
        p(x_{o_i} = 1 \mid x_{o_{<i}}) = \sigma(b_{o_i} + V_{o_i} \cdot h_i).

    The pre-activations obey a_{i+1} = a_i + W_{:, o_i} x_{o_i}, so all D conditionals cost
    O(HD) (the running sum), for training (an exclusive cumulative sum over the ordering)
    and for ancestral sampling (one column added per step).

    Parameters
    ----------
    n_visible, n_hidden : int
    ordering : sequence of int, optional
        The ordering o (default 0, 1, …).
    weight_std : float, optional
        Standard deviation of the initial W and V (default 1/√n_visible).
    seed : int, optional

    Attributes
    ----------
    W : Parameter, shape (n_hidden, n_visible)
    c : Parameter, shape (n_hidden,)
    V : Parameter, shape (n_visible, n_hidden)
    b : Parameter, shape (n_visible,)

    Examples
    --------
    >>> m = NADE(4, 3, seed=0)
    >>> x = torch.tensor([[0., 1., 1., 0.]])
    >>> bool(torch.allclose(m.log_prob(x), m.log_prob_naive(x)))
    True
    """

    def __init__(self, n_visible: int, n_hidden: int, ordering=None, *, weight_std: float | None = None,
                 seed: int | None = None):
        super().__init__()
        n_visible = check_int(n_visible, "n_visible", where="NADE")
        n_hidden = check_int(n_hidden, "n_hidden", where="NADE")
        seed = check_seed(seed, "NADE")
        check_memory("NADE", 2 * n_hidden * n_visible + n_hidden + n_visible)
        self._set_ordering(n_visible, ordering, "NADE")
        self.n_hidden, self.seed = n_hidden, seed
        self.weight_std = None if weight_std is None else float(weight_std)
        std = n_visible ** -0.5 if weight_std is None else float(weight_std)
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        self.W = nn.Parameter(torch.randn(n_hidden, n_visible, generator=gen) * std)
        self.c = nn.Parameter(torch.zeros(n_hidden))
        self.V = nn.Parameter(torch.randn(n_visible, n_hidden, generator=gen) * std)
        self.b = nn.Parameter(torch.zeros(n_visible))

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "n_hidden": self.n_hidden, "ordering": self.ordering.tolist(),
                "weight_std": self.weight_std, "seed": self.seed}

    def _row_cost(self) -> int:
        return self.n_visible * self.n_hidden

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """h_i = σ(a_i) at every position i of the ordering, shape (n, D, H), by the running
        sum a_i = c + Σ_{j<i} W_{:, o_j} x_{o_j} (an exclusive cumulative sum)."""
        natural = self.natural
        xo = x if natural else x[:, self.ordering]
        wt = self.W.t() if natural else self.W.t()[self.ordering]
        terms = xo.unsqueeze(-1) * wt  # (n, D, H): W_{:, o_j} x_{o_j}
        a = torch.cumsum(terms, 1) - terms + self.c
        return torch.sigmoid(a)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The logit of p(x_d = 1 | x_{o_<i}) of every dimension d, shape (n, D), by dimension."""
        h = self.hidden(x)
        if self.natural:
            return (h * self.V).sum(-1) + self.b
        by_position = (h * self.V[self.ordering]).sum(-1) + self.b[self.ordering]
        out = torch.empty_like(by_position)
        out[:, self.ordering] = by_position
        return out

    def log_prob_dims(self, x, member=None):
        return -F.binary_cross_entropy_with_logits(self.logits(x), x, reduction="none")

    def log_prob_naive(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) by the defining sum, each conditional computed on its own (O(HD²));
        the reference the running sum is tested against, shape (n,)."""
        x = self.check_data(x)
        total = x.new_zeros(x.shape[0])
        for i in range(self.n_visible):
            before, d = self.ordering[:i], int(self.ordering[i])
            h = torch.sigmoid(self.c + x[:, before] @ self.W[:, before].t())
            logit = self.b[d] + h @ self.V[d]
            total = total - F.binary_cross_entropy_with_logits(logit, x[:, d], reduction="none")
        return total

    def visible_weights(self) -> torch.Tensor:
        """The input weights Wᵀ, (n_visible, n_hidden): each hidden unit's filter."""
        return self.W.detach().t()

    # -- step by step: the running sum ----------------------------------------------------------
    def _start(self, n, member):
        return self.c.expand(n, self.n_hidden)

    def _next(self, state, position):
        d = int(self.ordering[position])
        return dist.Bernoulli(logits=self.b[d] + torch.sigmoid(state) @ self.V[d])

    def _observe(self, state, position, value):
        return state + value.unsqueeze(-1) * self.W[:, int(self.ordering[position])]

    @property
    def n_parameters(self) -> int:
        return 2 * self.n_hidden * self.n_visible + self.n_hidden + self.n_visible
