r"""The mean product of Student-t experts (mPoT; Ranzato, Mnih & Hinton, 2010): Gamma
covariance units gate the precision of Gaussian visible units, binary mean units shift
their mean."""

from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Gamma

import pgm
from pgm.checks import check_beta, check_float, check_units, is_validation_enabled

from .base import EnergyModel
from .factored import _BETA_FLOOR, FactoredGaussian
from .rbm import _beta_vector, _get

__all__ = ["MPoT"]


class MPoT(FactoredGaussian, EnergyModel):
    r"""Mean product of Student-t experts: real visible units v (D), Gamma covariance
    units h^c > 0 (N) reading squared factor outputs, binary mean units h^m (M).

    .. math::

        E(v, h^c, h^m) = \tfrac12 v^\top v - b^\top v
            + \sum_k \Bigl[h^c_k \bigl(1 + \tfrac12 \sum_f P_{fk} (C_{\cdot f}^\top v)^2\bigr)
            + (1 - \gamma_k) \log h^c_k\Bigr] - \sum_j h^m_j (W_{\cdot j}^\top v + c_j),

    (a density in v and h^c, counting measure in h^m). Given v the covariance units are
    independent Gammas, p_β(h^c_k | v) = Gamma(β(γ_k − 1) + 1, β r_k(v)) with
    r_k = 1 + ½ s_k(v), s(v) = Pᵀ(Cᵀv)², and the mean units Bernoulli; given the hidden
    units v is Gaussian with the full covariance Λ(h^c)⁻¹, Λ = I + C diag(P h^c) Cᵀ, and
    mean Λ⁻¹(b + W h^m) (:mod:`models.energy.factored`). Integrating the hidden units out,

    .. math::

        F_\beta(v) = \beta(\tfrac12 v^\top v - b^\top v)
            + \sum_k \bigl[a_k \log(\beta r_k(v)) - \log\Gamma(a_k)\bigr]
            - \sum_j \operatorname{softplus}\bigl(\beta(W_{\cdot j}^\top v + c_j)\bigr),
            \qquad a_k = \beta(\gamma_k - 1) + 1,

    at β = 1 the product of Student-t experts Π_k (1 + ½ s_k)^{−γ_k} times the mean
    units' softplus terms and the Gaussian ½vᵀv. F_β(v) is −∞ at β = 0 (a Gamma unit's
    flat measure on (0, ∞) is infinite), so AIS anneals β F(v) instead
    (:func:`inference.partition.hmc_ais_log_partition`). Exact log Z has no enumeration
    (h^c is continuous); for D ≤ 2 :func:`inference.partition.quadrature_log_partition`
    integrates exp(−F(v)) on a grid.

    **Where the paper and its code differ, and what this class follows.** The NIPS paper
    (and the PAMI version of the gated MRF) write P ≥ 0 with the plus sign above, the
    unnormalised v and fixed γ; the published gated-MRF code, like the mcRBM's, normalises
    the input of the covariance units by the length of v, rescales C's columns to a common
    (running-average) norm and P's columns to unit L1 norm after clipping negative
    entries. This class follows the equations (unnormalised v, so that p(v | h) is
    Gaussian and exact conditionals and F(h) exist), keeps P ≥ 0 with columns summing to
    1 (:meth:`project_parameters`, called by :func:`inference.fit` after every optimizer
    step; with P = I this loses nothing, since C carries the scale: the energy is
    invariant to C_{·f} → s C_{·f}, P_{f·} → P_{f·}/s²) and leaves C free. γ is learned
    per unit and kept at least ``min_gamma``.

    Parameters
    ----------
    n_visible, n_factors, n_covariance, n_mean, weight_std, seed, n_pixels
        As for :class:`~models.energy.mcrbm.MeanCovarianceRBM`.
    gamma : float, default 1.0
        Initial γ of every covariance unit (the Student-t experts' shape).
    min_gamma : float, default 0.05
        Lower bound of γ, kept by :meth:`project_parameters` (a Gamma needs β(γ − 1) + 1 > 0).

    Attributes
    ----------
    C, P, W, b, c, pixel_map
        As for :class:`~models.energy.mcrbm.MeanCovarianceRBM`.
    gamma : Parameter (N,)
    graph : pgm.Graph
        ``v`` (observed, gaussian) -- ``hc`` (gamma), ``v`` -- ``hm`` (bernoulli).

    References
    ----------
    M. Ranzato, V. Mnih and G. E. Hinton, "Generating more realistic images using gated
    MRF's", NIPS 2010.

    Examples
    --------
    >>> m = MPoT(4, 3, n_mean=2, seed=0)
    >>> v = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    >>> m.conditional("hc", {"v": v}).batch_shape
    torch.Size([5, 3])
    """

    default_method: str = "hmc"
    #: Learning rate with fit's SGD (momentum 0.5, then 0.9 after 5 epochs; decayed
    #: linearly to 0), batch 100, on the whitened 8 × 8 patches (63-64-16, 10 epochs, seed
    #: 0; ``benchmarks/covariance_patches.py``): at 0.1, the mcRBM's rate, the run breaks
    #: when the momentum rises (epoch 6: γ jumps from 0.6 to 77, the HMC acceptance falls
    #: to 0); 0.03 trains, acceptance staying near 0.9.
    default_lr: float = 0.03

    def __init__(self, n_visible: int, n_factors: int, n_covariance: int | None = None, n_mean: int = 16, *,
                 weight_std: float = 0.02, seed: int | None = None, n_pixels: int = 0, gamma: float = 1.0,
                 min_gamma: float = 0.05):
        super().__init__()
        self.min_gamma = check_float(min_gamma, "min_gamma", 0.0, low_open=True, where="MPoT")
        self.gamma_init = check_float(gamma, "gamma", self.min_gamma, where="MPoT")
        self.gamma = nn.Parameter(torch.zeros(0))  # sized below; project_parameters reads it
        self._init_factored("MPoT", n_visible, n_factors, n_covariance, n_mean, weight_std, seed, n_pixels)
        self.gamma = nn.Parameter(torch.full((self.n_covariance,), self.gamma_init))
        self.graph = pgm.Graph(
            [pgm.VariableGroup("v", self.n_visible, "gaussian", observed=True),
             pgm.VariableGroup("hc", self.n_covariance, "gamma"),
             pgm.VariableGroup("hm", self.n_mean, "bernoulli")],
            [pgm.Edge("v", "hc"), pgm.Edge("v", "hm")],
        )

    def config(self) -> dict:
        return {**self._factored_config(), "gamma": self.gamma_init, "min_gamma": self.min_gamma}

    @classmethod
    def from_data(cls, data: torch.Tensor, n_factors: int, n_covariance: int | None = None, n_mean: int = 16, *,
                  pixel_map: torch.Tensor | None = None, **kwargs) -> "MPoT":
        """A model sized for ``data`` (n, D), b at the data's mean; as
        :meth:`MeanCovarianceRBM.from_data <models.energy.mcrbm.MeanCovarianceRBM.from_data>`."""
        data = check_units(data, "data")
        model = cls(data.shape[1], n_factors, n_covariance, n_mean, **kwargs)
        return model._start_at(data, pixel_map, "MPoT.from_data")

    def project_parameters(self) -> None:
        """P onto its constraint set (:class:`~models.energy.factored.FactoredGaussian`) and γ ≥ ``min_gamma``."""
        super().project_parameters()
        with torch.no_grad():
            self.gamma.clamp_(min=self.min_gamma)

    def _check_c(self, x, name):
        x = check_units(x, name, self.n_covariance, dtype=self.C.dtype, device=self.C.device)
        if is_validation_enabled() and bool((x <= 0).any()):
            raise ValueError(f"{name} must hold positive values (Gamma covariance units), got values such as "
                             f"{x[x <= 0][:3].tolist()}")
        return x

    def _cov_energy(self, hc):
        return (hc + (1 - self.gamma) * hc.log()).sum(-1)

    def _cov_free_energy(self, s, beta):
        """a log(β r) − log Γ(a) per unit, a = β(γ − 1) + 1, r = 1 + s/2: (batch, N)."""
        col = beta[:, None] if isinstance(beta, torch.Tensor) else beta
        a = col * (self.gamma - 1) + 1
        return a * torch.log(col * (1 + 0.5 * s)) - torch.lgamma(a)

    def conditional(self, group: str, state: dict[str, torch.Tensor], beta=1.0):
        """p_β(hc | v) (Gamma(β(γ − 1) + 1, β r(v))), p_β(hm | v) (Bernoulli) or
        p_β(v | hc, hm) (a MultivariateNormal with precision βΛ(h^c)); rows at β = 0 are
        flat (improper), held at a tiny β."""
        if group == "hc":
            v = self._check_v(_get(state, "v", "conditional('hc')"), "state['v']")
            beta = check_beta(beta, batch=v.shape[0])
            rate = 1 + 0.5 * self.factor_responses(v)
            b = _beta_vector(beta, rate)
            col = b.clamp(min=_BETA_FLOOR)[:, None] if isinstance(b, torch.Tensor) else max(b, _BETA_FLOOR)
            raw = b[:, None] if isinstance(b, torch.Tensor) else b
            return Gamma(raw * (self.gamma - 1) + 1, col * rate, validate_args=False)
        if group == "hm":
            return self._mean_conditional(state, beta)
        if group == "v":
            return self._visible_conditional(state, beta)
        raise ValueError(f"conditional: group must be 'v', 'hc' or 'hm', got {group!r}")
