r"""The mean-covariance RBM (Ranzato & Hinton, 2010): binary covariance units gate the
precision of Gaussian visible units, binary mean units shift their mean."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Bernoulli

import pgm
from pgm.checks import check_beta, check_units

from .base import EnergyModel
from .factored import FactoredGaussian
from .rbm import _beta_vector, _get

__all__ = ["MeanCovarianceRBM"]


class MeanCovarianceRBM(FactoredGaussian, EnergyModel):
    r"""Mean-covariance RBM: real visible units v (D), binary covariance units h^c (N)
    reading squared factor outputs, binary mean units h^m (M).

    .. math::

        E(v, h^c, h^m) = \tfrac12 v^\top v - b^\top v
            + \sum_k h^c_k \Bigl(\tfrac12 \sum_f P_{fk} (C_{\cdot f}^\top v)^2 - b^c_k\Bigr)
            - \sum_j h^m_j (W_{\cdot j}^\top v + c_j),

    with C (D × F) the factor filters and P (F × N) ≥ 0 the pooling. The hidden units are
    conditionally independent given v, p(h^c_k = 1 | v) = σ(b^c_k − ½ s_k(v)) with
    s(v) = Pᵀ(Cᵀv)², p(h^m_j = 1 | v) = σ(W_{·j}ᵀv + c_j); given them v is Gaussian with
    the full covariance Λ(h^c)⁻¹, Λ = I + C diag(P h^c) Cᵀ, and mean Λ⁻¹(b + W h^m)
    (:mod:`models.energy.factored`). Summing the hidden units out,

    .. math::

        F_\beta(v) = \beta(\tfrac12 v^\top v - b^\top v)
            - \sum_k \operatorname{softplus}\bigl(\beta(b^c_k - \tfrac12 s_k(v))\bigr)
            - \sum_j \operatorname{softplus}\bigl(\beta(W_{\cdot j}^\top v + c_j)\bigr).

    Integrating v out instead leaves F_β(h^c, h^m) in closed form (a Gaussian integral),
    so ``inference.exact_log_partition`` enumerates the 2^(N+M) hidden states of a small
    model exactly.

    **Where the paper and its code differ, and what this class follows.**

    * *Normalising v.* The CVPR paper writes the energy above (its Eq. 3–4; its mean and
      covariance parts sum), with a Gaussian p(v | h). Its experiments and the published
      code (``train_mcRBM.py``) feed the covariance units a normalised input,
      v / √(‖v‖²/D + ½), which makes p(v | h) non-Gaussian and F(v) the only tractable
      quantity. This class follows the paper's equations, unnormalised: the Gaussian
      conditional, the closed-form F(h), exact log Z of small models and Gibbs sampling
      all need it, and on whitened patches (unit variance per coordinate) ‖v‖²/D is
      near 1, where the two energies are close.
    * *P's sign.* The paper takes P non-positive, E ⊃ −½ Σ P h^c (Cᵀv)²; the code stores a
      non-negative P (``FH``) with the minus sign in the hidden units' input,
      b^c − ½ Pᵀ(Cᵀv)². This class follows the code (a non-negative P, the sign explicit):
      then Λ = I + C diag(P h^c) Cᵀ ⪰ I for every h^c, so p(v | h) is always proper.
    * *Column norms.* The code rescales C's columns after every update to a common norm (a
      running average of their mean norm), and P's columns to unit L1 norm after clipping
      its negative entries, learning P only after some epochs and at a small rate. The
      energy is invariant to C_{·f} → s C_{·f} with P_{f·} → P_{f·}/s², so one of the two
      scales is redundant. This class keeps P's constraint (entries ≥ 0, columns summing to
      1, :meth:`project_parameters`, which :func:`inference.fit` calls after every
      optimizer step) and leaves C free, carrying the scale that the code's normVF
      heuristic steers: it is a restriction only where P mixes several factors into one unit.

    Parameters
    ----------
    n_visible : int
        D, real-valued visible units (whitened data: the energy's ½vᵀv fixes a unit scale).
    n_factors : int
        F, factors (columns of C).
    n_covariance : int, optional
        N, covariance units (default F: P starts as the identity, as in the code; else
        uniform random columns).
    n_mean : int, default 16
        M, mean units.
    weight_std : float, default 0.02
        Standard deviation of the initial C and W (the code's 0.02).
    seed : int, optional
        Seed of the initialisation.
    n_pixels : int, default 0
        Rows of :attr:`pixel_map`, the map from v to pixels for pictures (0: none).

    Attributes
    ----------
    C : Parameter (D, F)
    P : Parameter (F, N), entries ≥ 0, columns summing to 1
    W : Parameter (D, M)
    b : Parameter (D,)
        Visible bias (0; :meth:`from_data`: the data's mean).
    bc : Parameter (N,)
        Covariance biases (2, the code's start: units on).
    c : Parameter (M,)
        Mean biases (−2, the code's start).
    pixel_map : buffer (n_pixels, D)
    graph : pgm.Graph
        ``v`` (observed, gaussian) -- ``hc`` (bernoulli), ``v`` -- ``hm`` (bernoulli).

    References
    ----------
    M. Ranzato and G. E. Hinton, "Modeling pixel means and covariances using factorized
    third-order Boltzmann machines", CVPR 2010.

    Examples
    --------
    >>> m = MeanCovarianceRBM(4, 3, n_mean=2, seed=0)
    >>> v = torch.randn(5, 4, generator=torch.Generator().manual_seed(0))
    >>> m.free_energy(v).shape
    torch.Size([5])
    >>> m.conditional("v", {"hc": torch.ones(5, 3), "hm": torch.zeros(5, 2)}).event_shape
    torch.Size([4])
    """

    default_method: str = "hmc"
    #: Learning rate with fit's SGD (momentum 0.5 then 0.9, decayed linearly to 0), batch
    #: 100, on the whitened 8 × 8 patches (63-64-16, 3 epochs, seed 0): test log-density
    #: −72.7 at 0.05, −37.5 at 0.2, −307 at 0.5 (the HMC acceptance falls, the model
    #: breaks). Half the best rate, for a margin; 10 epochs at it reach −35.0
    #: (``benchmarks/covariance_patches.py``).
    default_lr: float = 0.1

    def __init__(self, n_visible: int, n_factors: int, n_covariance: int | None = None, n_mean: int = 16, *,
                 weight_std: float = 0.02, seed: int | None = None, n_pixels: int = 0):
        super().__init__()
        self._init_factored("MeanCovarianceRBM", n_visible, n_factors, n_covariance, n_mean, weight_std, seed,
                            n_pixels)
        self.bc = nn.Parameter(torch.full((self.n_covariance,), 2.0))
        self.graph = pgm.Graph(
            [pgm.VariableGroup("v", self.n_visible, "gaussian", observed=True),
             pgm.VariableGroup("hc", self.n_covariance, "bernoulli"),
             pgm.VariableGroup("hm", self.n_mean, "bernoulli")],
            [pgm.Edge("v", "hc"), pgm.Edge("v", "hm")],
        )

    def config(self) -> dict:
        return self._factored_config()

    @classmethod
    def from_data(cls, data: torch.Tensor, n_factors: int, n_covariance: int | None = None, n_mean: int = 16, *,
                  pixel_map: torch.Tensor | None = None, **kwargs) -> "MeanCovarianceRBM":
        """A model sized for ``data`` (n, D), b at the data's mean; ``pixel_map`` (n_pixels,
        D), e.g. ``PatchTransform.dewhiten_matrix``, draws v as pixels in pictures.
        ``kwargs``: ``weight_std``, ``seed``."""
        data = check_units(data, "data")
        model = cls(data.shape[1], n_factors, n_covariance, n_mean, **kwargs)
        return model._start_at(data, pixel_map, "MeanCovarianceRBM.from_data")

    def _check_c(self, x, name):
        return check_units(x, name, self.n_covariance, unit_interval=True, dtype=self.C.dtype, device=self.C.device)

    def _cov_energy(self, hc):
        return -(hc @ self.bc)

    def _cov_free_energy(self, s, beta):
        """−softplus(β(b^c − ½ s)) per unit, (batch, N)."""
        col = beta[:, None] if isinstance(beta, torch.Tensor) else beta
        return -F.softplus(col * (self.bc - 0.5 * s))

    def covariance_logits(self, v: torch.Tensor) -> torch.Tensor:
        """b^c − ½ Pᵀ(Cᵀv)², the covariance units' inputs, (batch, N)."""
        return self.bc - 0.5 * self.factor_responses(v)

    def conditional(self, group: str, state: dict[str, torch.Tensor], beta=1.0):
        """p_β(hc | v), p_β(hm | v) (Bernoulli, logits times β) or p_β(v | hc, hm) (a
        MultivariateNormal with precision βΛ(h^c)); ``state`` needs only the Markov blanket."""
        if group == "hc":
            v = self._check_v(_get(state, "v", "conditional('hc')"), "state['v']")
            beta = check_beta(beta, batch=v.shape[0])
            logits = self.covariance_logits(v)
            b = _beta_vector(beta, logits)
            return Bernoulli(logits=logits * (b[:, None] if isinstance(b, torch.Tensor) else b), validate_args=False)
        if group == "hm":
            return self._mean_conditional(state, beta)
        if group == "v":
            return self._visible_conditional(state, beta)
        raise ValueError(f"conditional: group must be 'v', 'hc' or 'hm', got {group!r}")
