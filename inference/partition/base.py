r"""The base distribution of an annealing path: a product of independent unit factors.

AIS anneals from a tractable base p_A to the model along p_β ∝ p_A^(1−β) p_model^β. The
base here factorises over the model's groups and units, with a known normaliser:

.. math::

    \text{Bernoulli (binary units):}\quad \tilde p_A(x) = e^{a^\top x}, \qquad
        \log Z_A = \textstyle\sum_i \operatorname{softplus}(a_i),

    \text{Spin (±1 units):}\quad \tilde p_A(x) = e^{a^\top x}, \qquad
        \log Z_A = \textstyle\sum_i \log 2\cosh a_i,

    \text{Categorical (a softmax group):}\quad \tilde p_A(x) = e^{a^\top x}, \qquad
        \log Z_A = \log \textstyle\sum_k e^{a_k},

    \text{Normal (real units):}\quad \tilde p_A(x) = e^{-\sum_i (x_i - \mu_i)^2 / 2 s_i^2},
        \qquad \log Z_A = \textstyle\sum_i \log s_i + \tfrac{n}{2} \log 2\pi .

Raised to the power 1−β, a factor adds to a group's conditional in natural parameters:
(1−β) a to the logits of a Bernoulli or OneHotCategorical conditional (2(1−β) a to the logit
of s = +1 for spins); (1−β)/s² to the precision and
(1−β) μ/s² to the precision-weighted mean of a Normal one (:meth:`FactorisedBase.temper`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Distribution, Independent, MultivariateNormal, Normal, OneHotCategorical

from models.energy.marginals import column_means
from pgm.checks import check_onehot, check_units
from pgm import BERNOULLI_KINDS, ONEHOT_KINDS, REAL_KINDS, SPIN_KINDS

__all__ = ["BernoulliFactor", "SpinFactor", "NormalFactor", "CategoricalFactor", "FactorisedBase", "base_rate_bias"]

_F64 = torch.float64


def base_rate_bias(data: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    r"""Visible biases of the base-rate model: b_A,i = logit(clip(mean_n v_ni, ε, 1-ε)).

    The same clipped logits as :meth:`models.energy.RBM.init_visible_bias`.

    Parameters
    ----------
    data : Tensor, shape (n, n_visible), values in [0, 1]
    eps : float
        Clipping of the marginals, so that no bias is infinite.

    Returns
    -------
    Tensor, shape (n_visible,), float64
    """
    data = check_units(data, "data", unit_interval=True)
    if data.shape[0] == 0:
        raise ValueError("base_rate_bias: data has no rows; pass at least one example")
    if not (isinstance(eps, float) and 0 < eps < 0.5):
        raise ValueError(f"base_rate_bias: eps must be a float in (0, 0.5), got {eps!r}")
    return torch.logit(column_means(data).clamp(eps, 1 - eps))


def _vector(t, name):
    if not isinstance(t, torch.Tensor) or not torch.is_floating_point(t) or t.dim() != 1:
        got = f"{t.dtype} of shape {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__
        raise TypeError(f"{name} must be a 1-D floating tensor (one value per unit), got {got}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must be finite")
    return t.detach()


def _unwrap(dist):
    while isinstance(dist, Independent):
        dist = dist.base_dist
    return dist


class BernoulliFactor(NamedTuple):
    """Independent Bernoulli units with logits ``a``: p̃(x) = exp(aᵀx), x ∈ {0, 1}^n.

    Attributes
    ----------
    logits : Tensor, shape (n,)
    """

    logits: torch.Tensor

    @property
    def n_units(self) -> int:
        return self.logits.shape[0]

    def cast(self, dtype, device) -> "BernoulliFactor":
        return BernoulliFactor(self.logits.to(dtype=dtype, device=device))

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """log p̃(x) = aᵀx, shape (batch,)."""
        return x @ self.logits

    def log_z(self) -> float:
        return float(F.softplus(self.logits.to(_F64)).sum())

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        p = torch.sigmoid(self.logits).expand(n, -1)
        return torch.rand(p.shape, generator=generator, dtype=p.dtype, device=p.device).lt_(p)

    def temper(self, dist: Distribution, weight: float) -> Distribution:
        """The Bernoulli conditional ``dist`` times this factor to the power ``weight``."""
        d = _unwrap(dist)
        if not isinstance(d, Bernoulli):
            raise TypeError(f"a Bernoulli base factor needs a Bernoulli conditional, got {type(d).__name__}")
        return Bernoulli(logits=d.logits + weight * self.logits, validate_args=False)


class SpinFactor(NamedTuple):
    """Independent ±1 units with fields ``a``: p̃(x) = exp(aᵀx), x ∈ {−1, +1}^n, so
    p(x_i = +1) = σ(2 a_i).

    Attributes
    ----------
    logits : Tensor, shape (n,)
        The fields a (half the logit of x_i = +1).
    """

    logits: torch.Tensor

    @property
    def n_units(self) -> int:
        return self.logits.shape[0]

    def cast(self, dtype, device) -> "SpinFactor":
        return SpinFactor(self.logits.to(dtype=dtype, device=device))

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """log p̃(x) = aᵀx, shape (batch,)."""
        return x @ self.logits

    def log_z(self) -> float:
        """Σ log(e^a + e^−a) = Σ softplus(2a) − a."""
        a = self.logits.to(_F64)
        return float((F.softplus(2 * a) - a).sum())

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        p = torch.sigmoid(2 * self.logits).expand(n, -1)
        bits = torch.rand(p.shape, generator=generator, dtype=p.dtype, device=p.device).lt_(p)
        return bits.to(p.dtype).mul_(2).sub_(1)

    def temper(self, dist: Distribution, weight: float) -> Distribution:
        """The conditional ``dist`` (a Bernoulli over s = +1, as the single-site sampler
        gives it) times this factor to the power ``weight``: its logits gain 2·weight·a."""
        d = _unwrap(dist)
        if not isinstance(d, Bernoulli):
            raise TypeError(f"a spin base factor needs a Bernoulli conditional (of s = +1), got {type(d).__name__}")
        return Bernoulli(logits=d.logits + 2 * weight * self.logits, validate_args=False)


class NormalFactor(NamedTuple):
    """Independent Normal units: p̃(x) = exp(−Σ (x_i − μ_i)² / 2 s_i²).

    Attributes
    ----------
    mean, std : Tensor, shape (n,)
    """

    mean: torch.Tensor
    std: torch.Tensor

    @property
    def n_units(self) -> int:
        return self.mean.shape[0]

    def cast(self, dtype, device) -> "NormalFactor":
        return NormalFactor(self.mean.to(dtype=dtype, device=device), self.std.to(dtype=dtype, device=device))

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """log p̃(x) = −Σ (x − μ)² / 2s², shape (batch,)."""
        return -0.5 * ((x - self.mean) / self.std).square().sum(-1)

    def log_z(self) -> float:
        std = self.std.to(_F64)
        return float(std.log().sum() + 0.5 * std.shape[0] * math.log(2 * math.pi))

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        eps = torch.randn((n, self.n_units), generator=generator, dtype=self.mean.dtype, device=self.mean.device)
        return eps.mul_(self.std).add_(self.mean)

    def temper(self, dist: Distribution, weight: float) -> Distribution:
        """The Normal conditional ``dist`` times this factor to the power ``weight``.

        Works in precisions, so that a conditional of infinite scale (β = 0) is accepted; a
        MultivariateNormal conditional gains the factor's diagonal precision.
        """
        d = _unwrap(dist)
        if isinstance(d, MultivariateNormal):  # a full-covariance conditional (the mcRBM's v)
            prec_a = (weight / self.std.square()).to(d.loc)
            prec = d.precision_matrix + torch.diag_embed(prec_a.expand_as(d.loc))
            eta = (d.precision_matrix @ d.loc[..., None])[..., 0] + prec_a * self.mean
            chol = torch.linalg.cholesky(prec)
            return MultivariateNormal(torch.cholesky_solve(eta[..., None], chol)[..., 0], precision_matrix=prec,
                                      validate_args=False)
        if not isinstance(d, Normal):
            raise TypeError(f"a Normal base factor needs a Normal or MultivariateNormal conditional, got "
                            f"{type(d).__name__}")
        prec_m = d.scale.reciprocal().square()  # scale = inf → precision 0
        eta_m = torch.where(prec_m > 0, d.loc * prec_m, torch.zeros_like(prec_m))
        prec_a = weight / self.std.square()
        prec = prec_m + prec_a
        eta = eta_m + prec_a * self.mean
        return Normal(eta / prec, prec.rsqrt(), validate_args=False)


class CategoricalFactor(NamedTuple):
    """One K-way variable held as K one-hot units (a softmax group) with logits ``a``:
    p̃(x) = exp(aᵀx), x one-hot.

    Attributes
    ----------
    logits : Tensor, shape (K,)
    """

    logits: torch.Tensor

    @property
    def n_units(self) -> int:
        return self.logits.shape[0]

    def cast(self, dtype, device) -> "CategoricalFactor":
        return CategoricalFactor(self.logits.to(dtype=dtype, device=device))

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """log p̃(x) = aᵀx, shape (batch,)."""
        return x @ self.logits

    def log_z(self) -> float:
        return float(torch.logsumexp(self.logits.to(_F64), 0))

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        from ..mcmc.sampling import one_hot_categorical

        return one_hot_categorical(torch.softmax(self.logits, 0).expand(n, -1), generator)

    def temper(self, dist: Distribution, weight: float) -> Distribution:
        """The OneHotCategorical conditional ``dist`` times this factor to the power ``weight``."""
        d = _unwrap(dist)
        if not isinstance(d, OneHotCategorical):
            raise TypeError(f"a Categorical base factor needs a OneHotCategorical conditional, got {type(d).__name__}")
        return OneHotCategorical(logits=d.logits + weight * self.logits, validate_args=False)


class FactorisedBase:
    r"""A base distribution p_A(x) = Π_g Π_i p_A(x_gi): one factor per annealed group.

    Parameters
    ----------
    factors : dict[str, BernoulliFactor | NormalFactor]
        Group name → factor. In the marginal form of an annealing path only the visible
        group has a factor; in the joint form every group has one.

    Examples
    --------
    >>> base = FactorisedBase({"v": BernoulliFactor(torch.zeros(3, dtype=torch.float64))})
    >>> round(base.log_z(), 6) == round(3 * math.log(2), 6)
    True
    """

    def __init__(self, factors: dict):
        if not isinstance(factors, dict) or not factors:
            raise TypeError(f"FactorisedBase: factors must be a non-empty dict of group name → factor, got {factors!r}")
        out = {}
        for name, f in factors.items():
            if isinstance(f, (BernoulliFactor, SpinFactor, CategoricalFactor)):
                out[name] = type(f)(_vector(f.logits, f"FactorisedBase: factor {name!r} logits"))
            elif isinstance(f, NormalFactor):
                mean = _vector(f.mean, f"FactorisedBase: factor {name!r} mean")
                std = _vector(f.std, f"FactorisedBase: factor {name!r} std")
                if mean.shape != std.shape or (std <= 0).any():
                    raise ValueError(
                        f"FactorisedBase: factor {name!r} needs mean and positive std of one shape, "
                        f"got shapes {tuple(mean.shape)} and {tuple(std.shape)}, min std {std.min().item():.4g}"
                    )
                out[name] = NormalFactor(mean, std)
            else:
                raise TypeError(
                    f"FactorisedBase: factor {name!r} must be a BernoulliFactor or NormalFactor (a SpinFactor for "
                    f"±1 units, a CategoricalFactor for a softmax group), got {type(f).__name__}"
                )
        self.factors = out

    def __repr__(self):
        parts = ", ".join(f"{k}: {type(f).__name__}({f.n_units})" for k, f in self.factors.items())
        return f"FactorisedBase({{{parts}}})"

    @classmethod
    def uniform(cls, graph, names) -> "FactorisedBase":
        """Bernoulli(1/2) units for binary groups, N(0, 1) for real ones, uniform classes for
        softmax groups, over ``names``."""
        return cls({name: _uniform_factor(graph[name]) for name in names})

    @classmethod
    def fit(cls, graph, name: str, data: torch.Tensor, eps: float = 1e-3) -> "FactorisedBase":
        """A factor for group ``name`` matching the marginals of ``data`` (n, units).

        Binary groups: logits from :func:`base_rate_bias` (marginals clipped to [ε, 1−ε]);
        spin groups: fields atanh(mean), the same clipping of p(+1);
        real groups: the data's mean and standard deviation (at least ε); softmax groups:
        the log class frequencies (at least ε).
        """
        grp = graph[name]
        if grp.kind in ONEHOT_KINDS:
            data = check_onehot(data, "data", grp.n_units)
            if data.shape[0] == 0:
                raise ValueError("data has no rows; pass at least one example")
            return cls({name: CategoricalFactor(column_means(data).clamp(min=eps).log())})
        if grp.kind in BERNOULLI_KINDS:
            data = check_units(data, "data", grp.n_units, unit_interval=True)
            return cls({name: BernoulliFactor(base_rate_bias(data, eps))})
        if grp.kind in SPIN_KINDS:
            data = check_units(data, "data", grp.n_units).to(_F64)
            if data.shape[0] == 0:
                raise ValueError("data has no rows; pass at least one example")
            if not ((data == 1) | (data == -1)).all():
                raise ValueError(f"data: group {name!r} has ±1 units, so data must hold values in {{-1, +1}}")
            m = data.mean(0).clamp(-1 + 2 * eps, 1 - 2 * eps)  # p(+1) clipped to [ε, 1 − ε]
            return cls({name: SpinFactor(torch.atanh(m))})
        if grp.kind in REAL_KINDS:
            data = check_units(data, "data", grp.n_units).to(_F64)
            if data.shape[0] == 0:
                raise ValueError("data has no rows; pass at least one example")
            return cls({name: NormalFactor(data.mean(0), data.std(0, unbiased=False).clamp(min=eps))})
        raise _kind_error(grp)

    def cast(self, dtype, device=None) -> "FactorisedBase":
        """The same base with every tensor in ``dtype`` on ``device``."""
        new = object.__new__(FactorisedBase)
        new.factors = {k: f.cast(dtype, device) for k, f in self.factors.items()}
        return new

    def log_z(self) -> float:
        """log Z_A = Σ_g log Z_{A,g}, float64."""
        return sum(f.log_z() for f in self.factors.values())

    def log_density(self, state: dict) -> torch.Tensor:
        """log p̃_A(x) summed over the factored groups present in ``state``, shape (batch,)."""
        return sum(f.log_density(state[k]) for k, f in self.factors.items())

    def sample(self, n: int, generator: torch.Generator) -> dict:
        """Exact draws of every factored group, group name → (n, units)."""
        return {k: f.sample(n, generator) for k, f in self.factors.items()}

    def temper(self, name: str, dist: Distribution, beta: float) -> Distribution:
        """p_β(x_g | rest) ∝ p_model,β(x_g | rest) · p_A(x_g)^(1−β) from the model's conditional.

        ``dist`` is ``model.conditional(name, state, beta)``; groups without a factor and
        β = 1 return it unchanged.
        """
        f = self.factors.get(name)
        if f is None or beta == 1.0:
            return dist
        return f.temper(dist, 1.0 - beta)


def _kind_error(grp):
    return TypeError(
        f"no base factor for group {grp.name!r} of kind {grp.kind!r}; annealing supports binary groups "
        f"{list(BERNOULLI_KINDS)}, spin groups {list(SPIN_KINDS)}, softmax groups {list(ONEHOT_KINDS)} and real-valued groups {list(REAL_KINDS)}"
    )


def _uniform_factor(grp):
    n = grp.n_units
    if grp.kind in BERNOULLI_KINDS:
        return BernoulliFactor(torch.zeros(n, dtype=_F64))
    if grp.kind in SPIN_KINDS:
        return SpinFactor(torch.zeros(n, dtype=_F64))
    if grp.kind in REAL_KINDS:
        return NormalFactor(torch.zeros(n, dtype=_F64), torch.ones(n, dtype=_F64))
    if grp.kind in ONEHOT_KINDS:
        return CategoricalFactor(torch.zeros(n, dtype=_F64))
    raise _kind_error(grp)
