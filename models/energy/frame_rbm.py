r"""A batch of binary RBMs sharing their weights, with biases of their own: one RBM per frame
of a sequence model, its biases set by the frame's context."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Bernoulli

import pgm

from .base import EnergyModel
from .rbm import TwoLayerMarginals, _beta_column, _get
from pgm.checks import check_beta, check_units

__all__ = ["FrameRBM"]


class FrameRBM(TwoLayerMarginals, EnergyModel):
    r"""R binary RBMs with shared weights W and row-wise biases b_r, c_r:

    .. math::

        E_r(v, h) = -b_r^\top v - c_r^\top h - v^\top W h, \qquad
        F_r(v) = -b_r^\top v - \sum_j \operatorname{softplus}(c_{r,j} + (v^\top W)_j).

    Row r of every batch belongs to RBM r, so every state has exactly R rows. It is the
    RBM of each frame of a :class:`~models.energy.temporal_rbm.TemporalRBM` (biases b_t,
    c_t from the frame's context) as an ordinary energy model, so that the library's
    samplers and annealers run on all frames at once. Its tensors are detached copies:
    it is for evaluation, not training.

    Parameters
    ----------
    W : Tensor, shape (n_visible, n_hidden)
    b : Tensor, shape (R, n_visible)
    c : Tensor, shape (R, n_hidden)
    """

    def __init__(self, W: torch.Tensor, b: torch.Tensor, c: torch.Tensor):
        super().__init__()
        if not all(isinstance(t, torch.Tensor) for t in (W, b, c)):
            raise TypeError("FrameRBM: W, b and c must be tensors")
        if W.dim() != 2 or b.dim() != 2 or c.dim() != 2 or b.shape != (c.shape[0], W.shape[0]) \
                or c.shape[1] != W.shape[1]:
            raise ValueError(f"FrameRBM: expected W (n_visible, n_hidden), b (R, n_visible), c (R, n_hidden), got "
                             f"W {tuple(W.shape)}, b {tuple(b.shape)}, c {tuple(c.shape)}")
        self.W = nn.Parameter(W.detach().clone(), requires_grad=False)
        self.b = nn.Parameter(b.detach().clone().to(W.dtype), requires_grad=False)
        self.c = nn.Parameter(c.detach().clone().to(W.dtype), requires_grad=False)
        self.n_visible, self.n_hidden = W.shape
        self.graph = pgm.Graph([pgm.VariableGroup("v", self.n_visible, "bernoulli", observed=True),
                                pgm.VariableGroup("h", self.n_hidden, "bernoulli")], [pgm.Edge("v", "h")])

    @property
    def n_rows(self) -> int:
        """R, the number of RBMs (rows of every batch)."""
        return self.b.shape[0]

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "n_hidden": self.n_hidden, "n_rows": self.n_rows}

    def _check(self, x, name, width):
        x = check_units(x, name, width, unit_interval=True, dtype=self.W.dtype, device=self.W.device)
        if x.shape[0] != self.n_rows:
            raise ValueError(f"FrameRBM: {name} must have one row per RBM, {self.n_rows} rows, got {x.shape[0]}")
        return x

    def energy(self, state):
        """E_r(v_r, h_r), shape (R,)."""
        v = self._check(_get(state, "v", "energy"), "state['v']", self.n_visible)
        h = self._check(_get(state, "h", "energy"), "state['h']", self.n_hidden)
        return -(v * self.b).sum(-1) - (h * self.c).sum(-1) - ((v @ self.W) * h).sum(-1)

    def conditional(self, group, state, beta=1.0):
        """p_β(h | v) = Bernoulli(σ(β(c_r + vW))), p_β(v | h) = Bernoulli(σ(β(b_r + W h)))."""
        if group == "h":
            x = self._check(_get(state, "v", "conditional('h')"), "state['v']", self.n_visible)
            logits = self.c + x @ self.W
        elif group == "v":
            x = self._check(_get(state, "h", "conditional('v')"), "state['h']", self.n_hidden)
            logits = self.b + x @ self.W.t()
        else:
            raise ValueError(f"conditional: group must be 'v' or 'h', got {group!r}")
        beta = check_beta(beta, batch=x.shape[0])
        if not (isinstance(beta, float) and beta == 1.0):
            logits = logits * _beta_column(beta, logits)
        return Bernoulli(logits=logits, validate_args=False)

    def free_energy(self, v, beta=1.0):
        """F_{β,r}(v_r), shape (R,)."""
        v = self._check(v, "v", self.n_visible)
        return _rowwise_free_energy(v, self.b, self.c + v @ self.W, check_beta(beta, batch=v.shape[0]))

    def free_energy_hidden(self, h, beta=1.0):
        """The visibles summed out: −β c_rᵀh − Σ_i softplus(β(b_r,i + (W h)_i)), shape (R,)."""
        h = self._check(h, "h", self.n_hidden)
        return _rowwise_free_energy(h, self.c, self.b + h @ self.W.t(), check_beta(beta, batch=h.shape[0]))


def _rowwise_free_energy(x, bias_rows, other_logits, beta):
    """−β bias_rᵀx − Σ_j softplus(β · logits_j) with a bias per row, shape (R,)."""
    lin = (x * bias_rows).sum(-1)
    if isinstance(beta, torch.Tensor):
        beta = beta.to(x).reshape(-1)
        return -beta * lin - F.softplus(other_logits * beta[:, None]).sum(-1)
    return -beta * lin - F.softplus(beta * other_logits).sum(-1)
