r"""Rectified hidden units for the RBM and the Gaussian RBM: stepped sigmoid and NReLU.

A **stepped-sigmoid unit** (Nair & Hinton, 2010) is N binary copies of one hidden unit
that share its weights and bias c and differ in a fixed offset: copy k has bias
c − k + ½, k = 1 … N. With x = c + (input from the visible units) the copies are
independent given v, and the unit's value is their count n ∈ {0, …, N}. Summing the
energy over which copies are on leaves an energy of the count alone,

.. math::

    E(v, n) = E_0(v) - \sum_j \bigl[n_j x_j(v) + \log e_N(n_j)\bigr], \qquad
    e_N(n) = \sum_{|S| = n,\, S \subseteq \{1..N\}} e^{-\sum_{k \in S} (k - 1/2)}
           = r^{n^2/2} \binom{N}{n}_r, \quad r = e^{-1},

where E_0 is the visible part of the model's energy and \binom{N}{n}_r the Gaussian
(q-)binomial coefficient (q-binomial theorem: Π_{k=1}^N (1 + t r^{k−½}) =
Σ_n r^{n²/2} \binom{N}{n}_r tⁿ). The multiplicity e_N(n) replaces the binomial
coefficient of N identical copies, because the copies' offsets differ. This energy is
exact: p(n_j | v) ∝ exp(n_j x_j + log e_N(n_j)) is the law of the sum of N independent
Bernoulli(σ(x_j − k + ½)) (a Poisson-binomial), and the hidden units sum out in
closed form,

.. math::

    \log \sum_{n=0}^{N} e^{n x + \log e_N(n)} = \sum_{k=1}^{N} \operatorname{softplus}(x - k + \tfrac12)
    \;\approx\; \operatorname{softplus}(x) \text{ for } 0 \ll N.

At inverse temperature β the count energy is scaled, p_β(n | v) ∝ exp(β(n x + log e_N(n))):
uniform on {0, …, N} at β = 0.

A **noisy rectified linear unit** (NReLU) draws h = max(0, x + √σ(x) ε), ε ~ N(0, 1):
the mean and variance of a stepped unit with N → ∞ copies are ≈ softplus(x) and σ(x).
Here it is clipped at N, where N copies saturate. It is an approximation: no energy has
it as its exact conditional. A model with ``hidden="nrelu"`` is the stepped model (the
same energy, free energy, log Z and likelihood) whose Gibbs sampler draws the hidden
units from NReLU instead of the exact count conditional; its chains therefore target a
distribution close to, but not equal to, the model's.

References
----------
V. Nair and G. Hinton, "Rectified linear units improve restricted Boltzmann machines",
ICML 2010.
"""

from __future__ import annotations

import torch
from torch.distributions import Distribution, constraints

import pgm

from pgm.checks import check_int, check_units, is_validation_enabled

__all__ = ["HIDDEN_UNITS", "COUNT_KIND", "SteppedSigmoid", "NoisyReLU", "log_multiplicity", "check_hidden_units",
           "RectifiedHidden"]

#: Values of the ``hidden`` argument of :class:`~models.energy.RBM` and :class:`~models.energy.GaussianRBM`.
HIDDEN_UNITS = ("binary", "stepped", "nrelu")
#: Graph kind of a group of stepped-sigmoid units: integer counts in {0, …, N}.
COUNT_KIND = pgm.COUNT_KINDS[0]
#: Default number of binary copies N of a rectified unit.
DEFAULT_STEPS = 10
_TERMS = 64  # r^64 = e^-64: the tail of the q-Pochhammer product below float64 resolution


def _log_qpochhammer(a: torch.Tensor) -> torch.Tensor:
    r"""log (r; r)_a = Σ_{i ≥ 1} [log(1 − r^i) − log(1 − r^{a+i})], r = e^{−1}, for real a ≥ 0.

    At integers it is log Π_{i=1}^{a} (1 − r^i); between them the unique extension that
    the ratio (r; r)_∞ / (r^{a+1}; r)_∞ gives (the q-gamma function).
    """
    i = torch.arange(1, _TERMS + 1, dtype=a.dtype, device=a.device)
    return (torch.log1p(-torch.exp(-i)) - torch.log1p(-torch.exp(-(a.unsqueeze(-1) + i)))).sum(-1)


def log_multiplicity(n, n_steps: int) -> torch.Tensor:
    r"""log e_N(n) = −n²/2 + log \binom{N}{n}_{1/e}: the log-weight of n of N copies being on.

    Parameters
    ----------
    n : Tensor, any shape, values in [0, N]
        Counts. Real values between the integers use the q-gamma extension (the energy
        of NReLU draws); at integers the value is exact.
    n_steps : int
        N.
    """
    n = torch.as_tensor(n)
    if not torch.is_floating_point(n):
        n = n.double()
    n = n.clamp(0, n_steps)
    full = _log_qpochhammer(torch.tensor(float(n_steps), dtype=n.dtype, device=n.device))
    return -0.5 * n * n + full - _log_qpochhammer(n) - _log_qpochhammer(n_steps - n)


def _beta_col(beta, like):
    if isinstance(beta, torch.Tensor):
        return beta.to(dtype=like.dtype, device=like.device).reshape(-1, *([1] * (like.dim() - 1)))
    return beta


class SteppedSigmoid(Distribution):
    r"""The count of N stepped binary copies: p_β(n) ∝ exp(β (n x + log e_N(n))), n ∈ {0..N}.

    At β = 1 the law of Σ_{k=1}^N Bernoulli(σ(x − k + ½)), with mean Σ_k σ(x − k + ½).

    Parameters
    ----------
    x : Tensor, shape (batch, units)
        Total inputs.
    n_steps : int
        N.
    beta : float or Tensor of shape (batch,), default 1
    """

    arg_constraints = {}
    has_enumerate_support = False

    def __init__(self, x: torch.Tensor, n_steps: int, beta=1.0):
        self.x, self.n_steps = x, n_steps
        n = torch.arange(n_steps + 1, dtype=x.dtype, device=x.device)
        self.values = n
        logits = x.unsqueeze(-1) * n + log_multiplicity(n, n_steps)
        if not (isinstance(beta, float) and beta == 1.0):
            logits = logits * _beta_col(beta, logits)
        self.count_logits = logits - torch.logsumexp(logits, -1, keepdim=True)  # (batch, units, N+1)
        super().__init__(batch_shape=x.shape, validate_args=False)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.n_steps)

    @property
    def probs(self) -> torch.Tensor:
        """p(n), shape (batch, units, N+1)."""
        return self.count_logits.exp()

    @property
    def mean(self) -> torch.Tensor:
        return self.probs @ self.values

    @property
    def variance(self) -> torch.Tensor:
        p = self.probs
        return p @ self.values.pow(2) - (p @ self.values).pow(2)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        idx = value.round().long().clamp(0, self.n_steps).unsqueeze(-1)
        return self.count_logits.gather(-1, idx.expand(*self.count_logits.shape[:-1], 1)).squeeze(-1)

    def sample_with(self, generator: torch.Generator) -> torch.Tensor:
        """A draw by inversion of the CDF with uniforms from ``generator``, shape (batch, units)."""
        u = torch.rand(self.x.shape, generator=generator, dtype=self.x.dtype, device=self.x.device)
        cdf = self.probs.cumsum(-1)
        return (u.unsqueeze(-1) > cdf[..., :-1]).sum(-1).to(self.x.dtype)

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        with torch.no_grad():
            idx = torch.distributions.Categorical(logits=self.count_logits).sample(sample_shape)
        return idx.to(self.x.dtype)


class NoisyReLU(Distribution):
    r"""NReLU clipped at N: h = min(N, max(0, y)), y ~ N(βx, σ(βx)) (variance σ(βx)).

    A mixed law: point masses Φ(−βx/s) at 0 and Φ((βx − N)/s) at N (s = √σ(βx)), the
    normal density between. :meth:`log_prob` is with respect to δ₀ + δ_N + Lebesgue.
    The mean is E[max(0, y)] − E[max(0, y − N)], with E[max(0, y − a)] = (μ − a) Φ((μ − a)/s)
    + s φ((μ − a)/s).

    Parameters
    ----------
    x : Tensor, shape (batch, units)
        Total inputs.
    n_steps : int
        N, the clipping point.
    beta : float or Tensor of shape (batch,), default 1
        Scales the input (an approximation of the tempered stepped unit).
    """

    arg_constraints = {}

    def __init__(self, x: torch.Tensor, n_steps: int, beta=1.0):
        if not (isinstance(beta, float) and beta == 1.0):
            x = x * _beta_col(beta, x)
        self.loc, self.n_steps = x, n_steps
        self.scale = torch.sigmoid(x).sqrt()
        super().__init__(batch_shape=x.shape, validate_args=False)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(0.0, float(self.n_steps))

    def _excess(self, a):
        z = (self.loc - a) / self.scale
        normal = torch.distributions.Normal(torch.zeros_like(z), torch.ones_like(z))
        return (self.loc - a) * normal.cdf(z) + self.scale * normal.log_prob(z).exp()

    @property
    def mean(self) -> torch.Tensor:
        return self._excess(0.0) - self._excess(float(self.n_steps))

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        normal = torch.distributions.Normal(self.loc, self.scale, validate_args=False)
        z0, zn = -self.loc / self.scale, (self.loc - self.n_steps) / self.scale
        out = normal.log_prob(value)
        out = torch.where(value <= 0, torch.special.log_ndtr(z0), out)
        return torch.where(value >= self.n_steps, torch.special.log_ndtr(zn), out)

    def sample_with(self, generator: torch.Generator) -> torch.Tensor:
        eps = torch.randn(self.loc.shape, generator=generator, dtype=self.loc.dtype, device=self.loc.device)
        return (self.loc + self.scale * eps).clamp_(0, self.n_steps)

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        with torch.no_grad():
            y = torch.distributions.Normal(self.loc, self.scale).sample(sample_shape)
        return y.clamp(0, self.n_steps)


def check_hidden_units(hidden, n_steps, where: str):
    """``(hidden, n_steps)`` checked: ``hidden`` one of :data:`HIDDEN_UNITS`; ``n_steps`` an
    int ≥ 1 for rectified units (``None``: :data:`DEFAULT_STEPS`) and ``None`` for binary ones."""
    if hidden not in HIDDEN_UNITS:
        raise ValueError(f"{where}: hidden must be one of {list(HIDDEN_UNITS)}, got {hidden!r}")
    if hidden == "binary":
        if n_steps is not None:
            raise ValueError(f"{where}: n_steps is the number of copies of a rectified unit; binary hidden "
                             f"units take none (hidden='stepped' or 'nrelu'), got n_steps={n_steps!r}")
        return hidden, None
    return hidden, check_int(DEFAULT_STEPS if n_steps is None else n_steps, "n_steps", 1, where)


class RectifiedHidden:
    """The hidden-unit arithmetic shared by the RBM and the Gaussian RBM.

    Binary units: values in [0, 1], conditional Bernoulli(σ(βx)), log Σ_h = softplus(βx),
    no multiplicity. Stepped and NReLU units: counts in [0, N], the count energy of the
    module docstring. Subclasses set ``hidden`` and ``n_steps`` (:func:`check_hidden_units`).
    """

    hidden: str = "binary"
    n_steps: int | None = None

    @property
    def hidden_kind(self) -> str:
        """The graph kind of ``h``: ``"bernoulli"`` or ``"count"``."""
        return "bernoulli" if self.hidden == "binary" else COUNT_KIND

    def hidden_config(self) -> dict:
        """``{"hidden", "n_steps"}`` for rectified units, ``{}`` for binary ones (so that the
        configuration of a binary model is what it was before rectified units existed)."""
        return {} if self.hidden == "binary" else {"hidden": self.hidden, "n_steps": self.n_steps}

    def with_hidden(self, hidden: str, n_steps: int | None = None):
        """A copy with the same parameters and hidden units of type ``hidden`` (``n_steps``
        copies; default: this model's N). ``model.with_hidden("stepped")`` of an NReLU model
        is the same distribution with the exact sampler: what AIS should anneal (its
        transitions are the model's conditionals) and what Gibbs samples of the model
        itself come from."""
        cfg = {k: v for k, v in self.config().items() if k not in ("hidden", "n_steps")}
        if hidden != "binary":
            cfg.update(hidden=hidden, n_steps=self.n_steps if n_steps is None else n_steps)
        out = type(self)(**cfg).to(dtype=self.dtype, device=self.device)
        out.load_state_dict(self.state_dict())
        return out

    def enumeration_values(self, group: str):
        if group == "h" and self.hidden != "binary":
            return torch.arange(self.n_steps + 1, dtype=torch.float64)
        return super().enumeration_values(group)

    def _check_hidden_values(self, h, name, dtype, device):
        if self.hidden == "binary":
            return check_units(h, name, self.n_hidden, unit_interval=True, dtype=dtype, device=device)
        h = check_units(h, name, self.n_hidden, dtype=dtype, device=device)
        if is_validation_enabled():
            bad = (h < 0) | (h > self.n_steps)
            if bad.any():
                raise ValueError(f"{name} must hold counts in [0, {self.n_steps}] (n_steps={self.n_steps} copies "
                                 f"per {self.hidden} unit), got values such as {h[bad][:5].tolist()}")
        return h

    def _hidden_distribution(self, x, beta):
        """p_β(h | v) from the total inputs x, shape (batch, n_hidden)."""
        if self.hidden == "stepped":
            return SteppedSigmoid(x, self.n_steps, beta)
        if self.hidden == "nrelu":
            return NoisyReLU(x, self.n_steps, beta)
        if not (isinstance(beta, float) and beta == 1.0):
            x = x * _beta_col(beta, x)
        return torch.distributions.Bernoulli(logits=x, validate_args=False)

    def _hidden_log_sum(self, x, beta):
        r"""Σ_j log Σ_{h_j} exp(β (h_j x_j + log e(h_j))), shape (batch,): softplus(βx) summed
        for binary units, the (N+1)-term logsumexp for counts."""
        if self.hidden == "binary":
            return torch.nn.functional.softplus(x * _beta_col(beta, x)).sum(-1)
        n = torch.arange(self.n_steps + 1, dtype=x.dtype, device=x.device)
        logits = x.unsqueeze(-1) * n + log_multiplicity(n, self.n_steps)
        return torch.logsumexp(logits * _beta_col(beta, logits), -1).sum(-1)

    def _hidden_log_weight(self, h):
        """Σ_j log e_N(h_j), shape (batch,); zero for binary units."""
        if self.hidden == "binary":
            return h.new_zeros(h.shape[0])
        return log_multiplicity(h, self.n_steps).sum(-1)
