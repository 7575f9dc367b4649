r"""The real-valued neural autoregressive density estimator (RNADE, Uria, Murray & Larochelle 2013)."""

from __future__ import annotations

import math

import pyro.distributions as dist
import torch
import torch.nn.functional as F
from torch import nn

from pgm.checks import check_choice, check_float, check_int, check_memory, check_seed, check_units

from .base import AutoregressiveModel

__all__ = ["RNADE", "LOG_SCALE_RANGE"]

#: The bounds of the components' log-scales log σ: σ ∈ [e⁻⁹, e⁹] ≈ [1.2e-4, 8.1e3]. Without
#: a floor a component can collapse onto one training value and the likelihood grows without
#: bound (and exp overflows); values outside are clamped (no gradient there). Data whose
#: spread is far from 1 are better standardised first.
LOG_SCALE_RANGE = (-9.0, 9.0)

_COMPONENTS = {"gaussian": dist.Normal, "laplace": dist.Laplace}
_ACTIVATIONS = {"relu": torch.relu, "sigmoid": torch.sigmoid}


class RNADE(AutoregressiveModel):
    r"""RNADE: NADE's shared hidden layer with a mixture density per real-valued dimension.

    .. math::

        a_i = c + \sum_{j<i} W_{:, o_j} x_{o_j}, \qquad h_i = \mathrm{relu}(\rho_i a_i),

        p(x_{o_i} \mid x_{o_{<i}}) = \sum_{k=1}^{K} \pi_{ik}\,
            \mathcal{C}\big(x_{o_i};\ \mu_{ik}, \sigma_{ik}\big), \qquad
        \pi_i = \mathrm{softmax}(V^\alpha_{o_i} h_i + b^\alpha_{o_i}),\
        \mu_i = V^\mu_{o_i} h_i + b^\mu_{o_i},\
        \log\sigma_i = V^\sigma_{o_i} h_i + b^\sigma_{o_i},

    with components 𝒞 Gaussian (a mixture of Gaussians, RNADE-MoG) or Laplace (RNADE-MoL).
    As in NADE a_{i+1} = a_i + W_{:, o_i} x_{o_i}: all D conditionals cost O(HD(1 + 3K)),
    by an exclusive cumulative sum (one pass) or one column per step (sampling).

    The pre-activation a_i sums i − 1 terms, so its scale grows along the ordering; the
    paper's rescaling ρ_i (learned, one per position, initially 1) lets each position
    choose its own scale. The log-scales are clamped to :data:`LOG_SCALE_RANGE`.

    Parameters
    ----------
    n_visible, n_hidden : int
    ordering : sequence of int, optional
        The ordering o (default 0, 1, …).
    n_components : int, default 10
        K, the mixture components per dimension.
    components : {"gaussian", "laplace"}, default "gaussian"
    activation : {"relu", "sigmoid"}, default "relu"
        The hidden units' nonlinearity (the paper's RNADE uses rectified linear units).
    weight_std : float, optional
        Standard deviation of the initial W (default 1/√n_visible) and V (default 1/√n_hidden).
    seed : int, optional

    Attributes
    ----------
    W : Parameter, shape (n_hidden, n_visible)
    c : Parameter, shape (n_hidden,)
    rho : Parameter, shape (n_visible,)
        ρ_i by position i in the ordering.
    V_alpha, V_mu, V_sigma : Parameter, shape (n_visible, n_components, n_hidden)
        By dimension d = o_i.
    b_alpha, b_mu, b_sigma : Parameter, shape (n_visible, n_components)
        Initially b^α = 0, b^σ = 0 and b^μ at the standard normal's K quantiles
        Φ⁻¹((k − ½)/K); :meth:`from_data` sets them from data instead.

    References
    ----------
    B. Uria, I. Murray, H. Larochelle. RNADE: The real-valued neural autoregressive
    density-estimator. NeurIPS 2013.

    Examples
    --------
    >>> m = RNADE(3, 4, n_components=2, seed=0)
    >>> x = torch.tensor([[0.1, -0.5, 2.0]])
    >>> bool(torch.allclose(m.log_prob(x), m.log_prob_naive(x)))
    True
    """

    visible_kind = "gaussian"

    def __init__(self, n_visible: int, n_hidden: int, ordering=None, *, n_components: int = 10,
                 components: str = "gaussian", activation: str = "relu", weight_std: float | None = None,
                 seed: int | None = None):
        super().__init__()
        n_visible = check_int(n_visible, "n_visible", where="RNADE")
        n_hidden = check_int(n_hidden, "n_hidden", where="RNADE")
        K = check_int(n_components, "n_components", where="RNADE")
        self.components = check_choice(components, "components", tuple(_COMPONENTS), "RNADE")
        self.activation = check_choice(activation, "activation", tuple(_ACTIVATIONS), "RNADE")
        seed = check_seed(seed, "RNADE")
        self.weight_std = None if weight_std is None else check_float(weight_std, "weight_std", where="RNADE")
        check_memory("RNADE", n_hidden * n_visible * (1 + 3 * K) + n_hidden + n_visible * (1 + 3 * K))
        self._set_ordering(n_visible, ordering, "RNADE")
        self.n_hidden, self.n_components, self.seed = n_hidden, K, seed
        w_std = n_visible ** -0.5 if weight_std is None else self.weight_std
        v_std = n_hidden ** -0.5 if weight_std is None else self.weight_std
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        self.W = nn.Parameter(torch.randn(n_hidden, n_visible, generator=gen) * w_std)
        self.c = nn.Parameter(torch.zeros(n_hidden))
        self.rho = nn.Parameter(torch.ones(n_visible))
        self.V_alpha, self.V_mu, self.V_sigma = (
            nn.Parameter(torch.randn(n_visible, K, n_hidden, generator=gen) * v_std) for _ in range(3))
        quantiles = torch.distributions.Normal(0.0, 1.0).icdf((torch.arange(K) + 0.5) / K)
        self.b_alpha = nn.Parameter(torch.zeros(n_visible, K))
        self.b_mu = nn.Parameter(quantiles.expand(n_visible, K).clone())
        self.b_sigma = nn.Parameter(torch.zeros(n_visible, K))

    @classmethod
    def from_data(cls, data: torch.Tensor, n_hidden: int, ordering=None, **kwargs) -> "RNADE":
        r"""An RNADE whose conditionals start near the data's marginals.

        The output biases are set from ``data`` (shape (n, D), finite): the K means of
        dimension d at the data's quantiles (k − ½)/K of x_d, every log-scale at
        log(s_d / √K) with s_d the standard deviation of x_d (at least 10⁻³), equal weights;
        the output weights V are scaled by 0.1, so that μ, σ and π depend on the hidden
        units only a little at first. Other keywords go to the constructor.

        Examples
        --------
        >>> data = torch.rand(100, 3, generator=torch.Generator().manual_seed(0))
        >>> m = RNADE.from_data(data, 8, n_components=4, seed=0)
        >>> bool(m.log_prob(data).mean() > -3.0)
        True
        """
        data = check_units(data, "data")
        if data.shape[0] < 2:
            raise ValueError(f"RNADE.from_data: data must have at least 2 rows to estimate a spread, got "
                             f"{data.shape[0]}")
        model = cls(data.shape[1], n_hidden, ordering, **kwargs)
        K = model.n_components
        with torch.no_grad():
            x = data.detach()
            model.b_mu.copy_(_quantiles(x, [(k + 0.5) / K for k in range(K)]))
            spread = x.to(torch.float64).std(0).clamp_min(1e-3) / math.sqrt(K)
            model.b_sigma.copy_(spread.log().unsqueeze(-1).expand(-1, K))
            model.b_alpha.zero_()
            for v in (model.V_alpha, model.V_mu, model.V_sigma):
                v.mul_(0.1)
        return model

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "n_hidden": self.n_hidden, "ordering": self.ordering.tolist(),
                "n_components": self.n_components, "components": self.components, "activation": self.activation,
                "weight_std": self.weight_std, "seed": self.seed}

    def _row_cost(self) -> int:
        return self.n_visible * (2 * self.n_hidden + 4 * self.n_components)

    # -- one pass ----------------------------------------------------------------------------
    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """h_i = act(ρ_i a_i) at every position i of the ordering, shape (n, D, H), by the
        running sum a_i = c + Σ_{j<i} W_{:, o_j} x_{o_j} (an exclusive cumulative sum)."""
        terms = x[:, self.ordering].unsqueeze(-1) * self.W.t()[self.ordering]  # (n, D, H)
        a = self.c + F.pad(torch.cumsum(terms, 1)[:, :-1], (0, 0, 1, 0))
        return _ACTIVATIONS[self.activation](self.rho.unsqueeze(-1) * a)

    def mixture_params(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(mixture logits, means, log-scales) of p(x_{o_i} | x_{o_<i}) at every position i,
        each of shape (n, D, K), by position in the ordering."""
        h, order = self.hidden(x), self.ordering
        out = (torch.einsum("nih,ikh->nik", h, v[order]) + b[order]
               for v, b in ((self.V_alpha, self.b_alpha), (self.V_mu, self.b_mu), (self.V_sigma, self.b_sigma)))
        logits, mu, log_sigma = out
        return logits, mu, log_sigma.clamp(*LOG_SCALE_RANGE)

    def log_prob_dims(self, x, member=None):
        logits, mu, log_sigma = self.mixture_params(x)
        component = _COMPONENTS[self.components](mu, log_sigma.exp(), validate_args=False)
        by_position = torch.logsumexp(F.log_softmax(logits, -1)
                                      + component.log_prob(x[:, self.ordering].unsqueeze(-1)), -1)
        out = torch.empty_like(by_position)
        out[:, self.ordering] = by_position
        return out

    def log_prob_naive(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) by the defining sum, each conditional computed on its own (O(HD²)) as a
        ``torch.distributions.MixtureSameFamily``; the reference the running sum is tested
        against, shape (n,)."""
        x = self.check_data(x)
        total = x.new_zeros(x.shape[0])
        for i in range(self.n_visible):
            before, d = self.ordering[:i], int(self.ordering[i])
            a = self.c + x[:, before] @ self.W[:, before].t()
            total = total + self._conditional(a, i).log_prob(x[:, d])
        return total

    # -- step by step: the running sum ----------------------------------------------------------
    def _conditional(self, a, position):
        d = int(self.ordering[position])
        h = _ACTIVATIONS[self.activation](self.rho[position] * a)
        logits, mu, log_sigma = (h @ v[d].t() + b[d] for v, b in
                                 ((self.V_alpha, self.b_alpha), (self.V_mu, self.b_mu), (self.V_sigma, self.b_sigma)))
        scale = log_sigma.clamp(*LOG_SCALE_RANGE).exp()
        return dist.MixtureSameFamily(dist.Categorical(logits=logits), _COMPONENTS[self.components](mu, scale))

    def _start(self, n, member):
        return self.c.expand(n, self.n_hidden)

    def _next(self, state, position):
        return self._conditional(state, position)

    def _observe(self, state, position, value):
        return state + value.unsqueeze(-1) * self.W[:, int(self.ordering[position])]

    @property
    def n_parameters(self) -> int:
        """HD + H + D (W, c, ρ) and 3K(H + 1) per dimension (V and b of π, μ, σ)."""
        H, D, K = self.n_hidden, self.n_visible, self.n_components
        return H * D + H + D + 3 * K * (H + 1) * D


def _quantiles(x: torch.Tensor, qs) -> torch.Tensor:
    """The quantiles ``qs`` of every column of x, shape (D, len(qs)): linear interpolation
    between order statistics, like ``torch.quantile`` (which refuses more than 2²⁴ values)."""
    ordered = x.sort(0).values
    out = []
    for q in qs:
        position = q * (x.shape[0] - 1)
        low = math.floor(position)
        high = min(low + 1, x.shape[0] - 1)
        out.append(ordered[low] + (position - low) * (ordered[high] - ordered[low]))
    return torch.stack(out, -1)
