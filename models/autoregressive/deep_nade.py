r"""The order-agnostic deep NADE (DeepNADE, Uria, Murray & Larochelle 2014)."""

from __future__ import annotations

import pyro.distributions as dist
import torch
import torch.nn.functional as F
from torch import nn

from pgm.checks import check_float, check_hidden, check_int, check_memory, check_seed

from .base import CHUNK, AutoregressiveModel

__all__ = ["OrderAgnosticNADE"]


class OrderAgnosticNADE(AutoregressiveModel):
    r"""A deep NADE trained over all orderings at once: one network gives the conditional of
    any dimension given any subset of the others.

    .. math::

        p(x_j = 1 \mid x_m) = \sigma\big(f_j(x \odot m,\ m)\big), \qquad
        p_o(x) = \prod_{i=1}^{D} p\big(x_{o_i} \mid x_{o_{<i}}\big),

    where m ∈ {0, 1}^D marks the observed dimensions (for the i-th conditional of the
    ordering o, m = 1 on o_1 … o_{i−1}) and f is an MLP of the 2D inputs (the masked
    vector and the mask itself, so that an observed 0 differs from a missing value) with
    relu hidden layers ``hidden`` and D output logits. Every ordering o is a member (a
    distribution p_o); an ensemble of K orderings has density (1/K) Σ_k p_{o_k}(x)
    (:meth:`~models.autoregressive.base.AutoregressiveModel.ensemble_log_prob`).

    **Training** (:meth:`order_agnostic_loss`) minimises E_o[−log p_o(x)], the expected
    negative log-likelihood over uniformly random orderings. Since
    −log p_o(x) = Σ_{d=0}^{D−1} ℓ(x_{o_{d+1}} | x_{o_{≤d}}) with ℓ = −log p, and since for a
    uniform o the observed set S = {o_1 … o_d} is a uniform subset of size d and o_{d+1}
    is uniform among the D − d others,

    .. math::

        \mathbb{E}_o[-\log p_o(x)]
          = D\, \mathbb{E}_{d \sim U\{0..D-1\}}\, \mathbb{E}_{|S| = d}
            \Big[\frac{1}{D - d} \sum_{j \notin S} \ell(x_j \mid x_S)\Big].

    One draw of (d, S) per example and one network pass give
    (D / (D − d)) Σ_{j∉S} ℓ(x_j | x_S), an unbiased estimate: the D/(D − d) turns the sum
    over the D − d unobserved dimensions into D times their average.

    **Exact likelihood** under one ordering takes D conditionals, D passes of masked
    inputs. The masks of the prefixes are nested, so the first layer's pre-activation is
    a running sum as in NADE, a_{i+1} = a_i + W^x_{:, o_i} x_{o_i} + W^m_{:, o_i}
    (W = [W^x, W^m] its weights), and of the last layer only the output o_i of pass i is
    needed: the passes cost O(D(H₁ + Σ_l H_{l−1} H_l)) per row instead of O(D²H₁), and
    are batched over positions in chunks of at most :data:`~models.autoregressive.base.CHUNK`
    values (rows × positions × (H₁ + Σ H_l)). Ancestral sampling makes the same passes one
    position at a time.

    Parameters
    ----------
    n_visible : int
    hidden : sequence of int (or an int), default (500,)
        The hidden layers' sizes, e.g. ``(500, 500)`` for two.
    ordering : sequence of int, optional
        The ordering of member ``None`` (default 0, 1, …).
    weight_std : float, optional
        Standard deviation of the initial weights (default 1/√fan_in per layer).
    seed : int, optional

    Attributes
    ----------
    layers : ModuleList of Linear
        (2D → H₁), (H₁ → H₂), …, (H_L → D); the first layer's weight is [W^x, W^m].

    References
    ----------
    B. Uria, I. Murray, H. Larochelle. A deep and tractable density estimator. ICML 2014.

    Examples
    --------
    >>> m = OrderAgnosticNADE(4, (8, 8), seed=0)
    >>> x = torch.tensor([[0., 1., 1., 0.]])
    >>> lp = torch.stack([m.log_prob(x, member) for member in m.members(3)])
    >>> bool(torch.allclose(m.ensemble_log_prob(x, 3), lp.logsumexp(0) - torch.tensor(3.).log()))
    True
    """

    order_agnostic = True

    def __init__(self, n_visible: int, hidden=(500,), ordering=None, *, weight_std: float | None = None,
                 seed: int | None = None):
        super().__init__()
        where = "OrderAgnosticNADE"
        n_visible = check_int(n_visible, "n_visible", where=where)
        self.hidden = tuple(check_hidden(hidden, where))
        seed = check_seed(seed, where)
        self.weight_std = None if weight_std is None else check_float(weight_std, "weight_std", where=where)
        sizes = [2 * n_visible, *self.hidden, n_visible]
        check_memory(where, sum((a + 1) * b for a, b in zip(sizes, sizes[1:])))
        self._set_ordering(n_visible, ordering, where)
        self.seed = seed
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        self.layers = nn.ModuleList()
        for fan_in, fan_out in zip(sizes, sizes[1:]):
            layer = nn.utils.skip_init(nn.Linear, fan_in, fan_out)  # initialised below, from gen only
            std = fan_in ** -0.5 if weight_std is None else self.weight_std
            with torch.no_grad():
                layer.weight.copy_(torch.randn(fan_out, fan_in, generator=gen) * std)
                layer.bias.zero_()
            self.layers.append(layer)

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "hidden": list(self.hidden), "ordering": self.ordering.tolist(),
                "weight_std": self.weight_std, "seed": self.seed}

    def _row_cost(self) -> int:
        return self.n_visible * (self.hidden[0] + sum(self.hidden))

    # -- the network ---------------------------------------------------------------------
    def _top(self, a1: torch.Tensor) -> torch.Tensor:
        """The last hidden layer from the first one's pre-activation."""
        h = torch.relu(a1)
        for layer in self.layers[1:-1]:
            h = torch.relu(layer(h))
        return h

    def conditional_logits(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The logit of p(x_j = 1 | x_m) for every dimension j, shape (n, D): one pass of the
        network on [x ⊙ m, m], ``mask`` bool or {0, 1} of shape (n, D) or (D,) (the values
        of x where m = 0 are ignored). Meaningful for the unobserved j."""
        m = mask.to(x.dtype).expand_as(x)
        return self.layers[-1](self._top(self.layers[0](torch.cat([x * m, m], -1))))

    def log_prob_dims(self, x, member=None):
        """log p(x_{o_i} | x_{o_<i}) of every dimension, shape (n, D) by dimension: the D
        passes of the prefixes' masks, the first layer by the running sum, in chunks of
        positions of at most :data:`~models.autoregressive.base.CHUNK` values."""
        order = self.ordering_of(member)
        D, out_layer = self.n_visible, self.layers[-1]
        first = self.layers[0].weight
        w_x, w_m = first[:, :D].t(), first[:, D:].t()
        step = max(1, CHUNK // max(1, x.shape[0] * (self.hidden[0] + sum(self.hidden))))
        offset, logits = self.layers[0].bias.expand(x.shape[0], -1), []
        for start in range(0, D, step):
            o = order[start:start + step]
            terms = torch.cumsum(x[:, o].unsqueeze(-1) * w_x[o] + w_m[o], 1)  # (n, positions, H1)
            a1 = offset.unsqueeze(1) + F.pad(terms[:, :-1], (0, 0, 1, 0))  # b + Σ_{j<i} (W^x x + W^m)_{:, o_j}
            logits.append(torch.einsum("nph,ph->np", self._top(a1), out_layer.weight[o]) + out_layer.bias[o])
            offset = offset + terms[:, -1]
        by_position = torch.cat(logits, 1)
        out = torch.empty_like(by_position)
        out[:, order] = by_position
        return -F.binary_cross_entropy_with_logits(out, x, reduction="none")

    # -- training ------------------------------------------------------------------------
    def order_agnostic_loss(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        r"""One unbiased estimate of E_o[−log p_o(x_b)] per row, shape (n,): a split
        d ~ U{0 … D−1} and an observed set S, uniform among the subsets of size d, per row,
        and (D / (D − d)) Σ_{j∉S} −log p(x_j | x_S) (see the class docstring)."""
        x = self.check_data(x)
        n, D = x.shape
        d = torch.randint(0, D, (n,), generator=generator, device=x.device)
        keys = torch.rand(n, D, generator=generator, device=x.device, dtype=x.dtype)
        observed = keys.argsort(1).argsort(1) < d.unsqueeze(1)  # the d smallest keys: a uniform subset
        nll = F.binary_cross_entropy_with_logits(self.conditional_logits(x, observed), x, reduction="none")
        return D / (D - d).to(x.dtype) * nll.masked_fill(observed, 0).sum(-1)

    def training_loss(self, x, generator=None):
        """The mean of :meth:`order_agnostic_loss` over the minibatch (a scalar)."""
        return self.order_agnostic_loss(x, generator).mean()

    # -- step by step: one pass per position ---------------------------------------------------
    def _start(self, n, member):
        return self.ordering_of(member), self.layers[0].bias.expand(n, -1)

    def _next(self, state, position):
        order, a1 = state
        d = int(order[position])
        out = self.layers[-1]
        return dist.Bernoulli(logits=self._top(a1) @ out.weight[d] + out.bias[d])

    def _observe(self, state, position, value):
        order, a1 = state
        d = int(order[position])
        first = self.layers[0].weight
        return order, a1 + value.unsqueeze(-1) * first[:, d] + first[:, self.n_visible + d]

    @property
    def n_parameters(self) -> int:
        """Weights and biases of the layers (2D → H₁ → … → H_L → D)."""
        sizes = [2 * self.n_visible, *self.hidden, self.n_visible]
        return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
