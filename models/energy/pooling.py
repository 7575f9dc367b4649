r"""Probabilistic max-pooling: the conditional of a detection layer whose units come in blocks.

A detection layer of K groups, each an N_h × N_w map, is cut into C × C blocks B_α. Within
a block at most one unit is on, so a block is one categorical variable with C² + 1 states
(one of its units on, or all off). Given the bottom-up inputs I (one per unit),

.. math::

    P(h_{ij} = 1 \mid I) = \frac{e^{I_{ij}}}{1 + \sum_{(i', j') \in B_\alpha} e^{I_{i'j'}}}, \qquad
    P(p_\alpha = 0 \mid I) = \frac{1}{1 + \sum_{(i', j') \in B_\alpha} e^{I_{i'j'}}},

where p_α = Σ_{ij ∈ B_α} h_ij ∈ {0, 1} is the block's pooling unit (Lee, Grosse, Ranganath
& Ng 2009). The layer is held flat, (batch, K·N_h·N_w) in (group, row, column) order.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import Distribution, constraints

__all__ = ["BlockSoftmax", "BLOCK_KIND", "to_blocks", "from_blocks", "block_log_norm", "pool"]

#: The unit kind of a detection layer under probabilistic max-pooling: binary units in
#: C × C blocks of which at most one is on.
BLOCK_KIND = "block_softmax"


def to_blocks(x: torch.Tensor, shape: tuple, pool_size: int) -> torch.Tensor:
    """Flat detection values (batch, K·N_h·N_w) → blocks (batch, K, N_h/C, N_w/C, C²)."""
    k, nh, nw = shape
    c = pool_size
    x = x.reshape(-1, k, nh // c, c, nw // c, c)
    return x.permute(0, 1, 2, 4, 3, 5).reshape(-1, k, nh // c, nw // c, c * c)


def from_blocks(xb: torch.Tensor, shape: tuple, pool_size: int) -> torch.Tensor:
    """Blocks (batch, K, N_h/C, N_w/C, C²) → flat detection values (batch, K·N_h·N_w)."""
    k, nh, nw = shape
    c = pool_size
    x = xb.reshape(-1, k, nh // c, nw // c, c, c).permute(0, 1, 2, 4, 3, 5)
    return x.reshape(-1, k * nh * nw)


def block_log_norm(logits_b: torch.Tensor) -> torch.Tensor:
    r"""log(1 + Σ_{ij ∈ B_α} exp(I_ij)) of each block, (batch, K, P_h, P_w), computed stably."""
    m = logits_b.amax(-1).clamp(min=0.0)
    return m + torch.log(torch.exp(-m) + torch.exp(logits_b - m.unsqueeze(-1)).sum(-1))


def pool(h: torch.Tensor, shape: tuple, pool_size: int) -> torch.Tensor:
    """Pooling units p_α = Σ_{ij ∈ B_α} h_ij (the OR of a block under the constraint), flat
    (batch, K·P_h·P_w); probabilities in give P(p_α = 1)."""
    return to_blocks(h, shape, pool_size).sum(-1).reshape(h.shape[0], -1)


class BlockSoftmax(Distribution):
    r"""Independent blocks of C² binary units, each block a categorical over "one unit on"
    or "all off" (probabilistic max-pooling).

    Parameters
    ----------
    logits : Tensor, shape (batch, K, N_h, N_w)
        Inputs I of the detection units (β I at inverse temperature β).
    pool_size : int
        C; N_h and N_w are multiples of it.

    Attributes
    ----------
    probs : Tensor, shape (batch, K·N_h·N_w)
        P(h_ij = 1) = e^{I_ij} / (1 + Σ_{B_α} e^{I}).
    pool_probs : Tensor, shape (batch, K·P_h·P_w)
        P(p_α = 1) = 1 − 1 / (1 + Σ_{B_α} e^{I}).

    Notes
    -----
    The event is a whole layer: ``log_prob(x)`` has shape (batch,), the sum over blocks of
    Σ_{ij} x_ij I_ij − log(1 + Σ e^{I}), and −∞ where a block has more than one unit on.
    Draws come from :meth:`sample_with` with an explicit generator (one uniform per block,
    inverted through the block's cumulative probabilities).
    """

    arg_constraints = {}
    support = constraints.independent(constraints.boolean, 1)
    has_rsample = False

    def __init__(self, logits: torch.Tensor, pool_size: int, validate_args=False):
        if logits.dim() != 4:
            raise ValueError(f"BlockSoftmax: logits must have shape (batch, K, N_h, N_w), got {tuple(logits.shape)}")
        c = pool_size
        if not isinstance(c, int) or c < 1 or logits.shape[2] % c or logits.shape[3] % c:
            raise ValueError(f"BlockSoftmax: pool_size must be a positive int dividing N_h={logits.shape[2]} and "
                             f"N_w={logits.shape[3]}, got {pool_size!r}")
        self.logits, self.pool_size, self.shape3 = logits, c, tuple(logits.shape[1:])
        self._blocks = to_blocks(logits, self.shape3, c)
        self._log_norm = block_log_norm(self._blocks)
        n = math.prod(self.shape3)
        super().__init__(torch.Size([logits.shape[0]]), torch.Size([n]), validate_args=False)

    @property
    def block_probs(self) -> torch.Tensor:
        """P(h_ij = 1) arranged by block, (batch, K, P_h, P_w, C²)."""
        return torch.exp(self._blocks - self._log_norm.unsqueeze(-1))

    @property
    def probs(self) -> torch.Tensor:
        return from_blocks(self.block_probs, self.shape3, self.pool_size)

    @property
    def mean(self) -> torch.Tensor:
        return self.probs

    @property
    def pool_probs(self) -> torch.Tensor:
        """P(p_α = 1) = 1 − P(block off), flat (batch, K·P_h·P_w)."""
        return -torch.expm1(-self._log_norm).reshape(self.logits.shape[0], -1)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """log P(h = value), shape (batch,); −∞ where a block has more than one unit on."""
        xb = to_blocks(value.to(self.logits), self.shape3, self.pool_size)
        lp = (xb * self._blocks).sum(-1) - self._log_norm
        lp = lp.reshape(lp.shape[0], -1).sum(-1)
        bad = (xb.sum(-1) > 1 + 1e-6).reshape(xb.shape[0], -1).any(-1)
        return torch.where(bad, torch.full_like(lp, -math.inf), lp)

    def sample_with(self, generator: torch.Generator | None) -> torch.Tensor:
        """One draw, (batch, K·N_h·N_w) in the logits' dtype: per block, unit j is on when
        F_{j−1} ≤ u < F_j (F the cumulative probabilities, u ~ U[0, 1)); off when u ≥ F_{C²}."""
        probs = self.block_probs
        u = torch.rand((*probs.shape[:-1], 1), generator=generator, dtype=probs.dtype, device=probs.device)
        k = (probs.cumsum(-1) <= u).sum(-1, keepdim=True)
        onehot = torch.zeros((*probs.shape[:-1], probs.shape[-1] + 1), dtype=probs.dtype, device=probs.device)
        onehot.scatter_(-1, k, 1.0)
        return from_blocks(onehot[..., :-1], self.shape3, self.pool_size)

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        """Draws from torch's global generator, shape ``sample_shape + (batch, units)``."""
        n = math.prod(sample_shape)
        with torch.no_grad():
            draws = [self.sample_with(None) for _ in range(max(n, 1))]
        if not tuple(sample_shape):
            return draws[0]
        return torch.stack(draws).reshape(*sample_shape, *draws[0].shape)

    def entropy(self) -> torch.Tensor:
        """Σ over blocks of the categorical entropy, shape (batch,)."""
        h = self._log_norm - (self.block_probs * self._blocks).sum(-1)  # log p_j = I_j − L, log p_off = −L
        return h.reshape(h.shape[0], -1).sum(-1)
