r"""What the mean-covariance RBM and the mean-PoT share: real visible units whose
precision is gated by covariance hidden units through factors, and binary mean units.

Both models have the energy

.. math::

    E(v, h^c, h^m) = \tfrac12 v^\top v - b^\top v
        + \tfrac12 \sum_k h^c_k \sum_f P_{fk} (C_{\cdot f}^\top v)^2
        - \sum_j h^m_j (W_{\cdot j}^\top v + c_j) + g(h^c),

C (D × F) the factor filters, P (F × N) the non-negative pooling of factors into
covariance units, W (D × M) the mean filters, b the visible bias, c the mean biases and
g the covariance units' own term (:class:`~models.energy.mcrbm.MeanCovarianceRBM`:
−b^cᵀh^c with binary h^c; :class:`~models.energy.mpot.MPoT`: Σ_k h^c_k + (1 − γ_k) log
h^c_k with Gamma-distributed h^c ≥ 0). Given the hidden units v is Gaussian with a full
covariance,

.. math::

    p_\beta(v \mid h) = \mathcal N\bigl(\Lambda^{-1}(b + W h^m),\ (\beta\Lambda)^{-1}\bigr),
    \qquad \Lambda(h^c) = I + C \operatorname{diag}(P h^c)\, C^\top \succeq I,

and integrating v out in closed form gives

.. math::

    F_\beta(h) = \beta g(h^c) - \beta c^\top h^m - \tfrac\beta2 \eta^\top \Lambda^{-1} \eta
        + \tfrac12 \log\det(\beta\Lambda) - \tfrac D2 \log 2\pi, \qquad \eta = b + W h^m .

This module holds the parameters, the Gaussian conditional, F_β(h), the projection of P
onto its constraint set and the optional map from v to pixels used for pictures.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import MultivariateNormal

from pgm.checks import check_beta, check_init, check_int, check_memory, check_units, is_validation_enabled

from .marginals import column_means
from .rbm import _beta_vector, _get

__all__ = ["FactoredGaussian"]

_LOG_2PI = math.log(2 * math.pi)
#: The most float64 entries of one D x D temporary of the visible conditional's factorisation
#: (64 MB): rows are factorised in blocks of ``_CHOLESKY_ELEMENTS // D²``.
_CHOLESKY_ELEMENTS = 2 ** 23

#: β of the rows of a Gaussian conditional at β = 0 (flat, improper): a tiny precision
#: keeps the batch one distribution; such rows are never drawn from.
_BETA_FLOOR = 1e-12


class FactoredGaussian:
    """Mixin: the parameters, the Gaussian conditional of v and F_β(h) (module docstring).

    Subclasses call :meth:`_init_factored` and define :meth:`_cov_energy` (g(h^c)),
    :meth:`_cov_free_energy` (−log ∫ e^{−β(½ h^c s(v) + g(h^c))} dh^c per unit) and the
    conditional of ``hc``.
    """

    # -- construction -------------------------------------------------------------------------
    def _init_factored(self, where, n_visible, n_factors, n_covariance, n_mean, weight_std, seed, n_pixels):
        n_visible = check_int(n_visible, "n_visible", 1, where)
        n_factors = check_int(n_factors, "n_factors", 1, where)
        n_covariance = n_factors if n_covariance is None else check_int(n_covariance, "n_covariance", 1, where)
        n_mean = check_int(n_mean, "n_mean", 1, where)
        n_pixels = check_int(n_pixels, "n_pixels", 0, where)
        weight_std, seed = check_init(where, weight_std, seed)
        check_memory(f"{where}({n_visible}, {n_factors}, {n_covariance}, {n_mean})",
                     n_visible * (n_factors + n_mean + n_pixels) + n_factors * n_covariance)
        self.n_visible, self.n_factors, self.n_covariance, self.n_mean = n_visible, n_factors, n_covariance, n_mean
        self.weight_std, self.seed, self.n_pixels = weight_std, seed, n_pixels
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        self.C = nn.Parameter(torch.randn(n_visible, n_factors, generator=gen) * weight_std)
        self.W = nn.Parameter(torch.randn(n_visible, n_mean, generator=gen) * weight_std)
        if n_factors == n_covariance:  # the reference code's start: each covariance unit pools one factor
            pool = torch.eye(n_factors)
        else:
            pool = torch.rand(n_factors, n_covariance, generator=gen)
        self.P = nn.Parameter(pool)
        self.b = nn.Parameter(torch.zeros(n_visible))
        self.c = nn.Parameter(torch.full((n_mean,), -2.0))
        self.register_buffer("pixel_map", torch.zeros(n_pixels, n_visible if n_pixels else 0))
        self.project_parameters()

    def _factored_config(self) -> dict:
        return {"n_visible": self.n_visible, "n_factors": self.n_factors, "n_covariance": self.n_covariance,
                "n_mean": self.n_mean, "weight_std": self.weight_std, "seed": self.seed, "n_pixels": self.n_pixels}

    def _start_at(self, data, pixel_map, where):
        """``from_data``'s start: b = the data's mean (with C = W = 0 the model would be
        N(mean, I): the data should be whitened) and the pixel map, if given."""
        data = check_units(data, "data", self.n_visible)
        if data.shape[0] < 1:
            raise ValueError(f"{where}: data has no rows")
        with torch.no_grad():
            self.b.copy_(column_means(data))
            if pixel_map is not None:
                pm = torch.as_tensor(pixel_map)
                if pm.dim() != 2 or pm.shape[1] != self.n_visible or not pm.is_floating_point() \
                        or not bool(torch.isfinite(pm).all()):
                    raise ValueError(f"{where}: pixel_map must be a finite float tensor (n_pixels, {self.n_visible}) "
                                     f"mapping v to pixels, got {getattr(pm, 'shape', pm)}")
                self.pixel_map = pm.to(self.b)
                self.n_pixels = pm.shape[0]
        return self

    def project_parameters(self) -> None:
        """P ← its columns clipped at 0 and scaled to sum to 1 (a column that clipped to
        all zeros restarts as 1/F): what every optimizer step is followed by."""
        with torch.no_grad():
            P = self.P.clamp_(min=0.0)
            sums = P.sum(0, keepdim=True)
            dead = sums <= 1e-12
            if bool(dead.any()):
                P.copy_(torch.where(dead, torch.full_like(P, 1.0 / P.shape[0]), P))
                sums = P.sum(0, keepdim=True)
            P.div_(sums)

    # -- the pieces of the energy -------------------------------------------------------------
    def _check_v(self, x, name):
        return check_units(x, name, self.n_visible, dtype=self.C.dtype, device=self.C.device)

    def _check_m(self, x, name):
        x = check_units(x, name, self.n_mean, unit_interval=True, dtype=self.C.dtype, device=self.C.device)
        return x

    def factor_responses(self, v: torch.Tensor) -> torch.Tensor:
        """s(v) = Pᵀ (Cᵀv)², the squared factor outputs pooled per covariance unit, (batch, N)."""
        return (v @ self.C).square() @ self.P

    def mean_logits(self, v: torch.Tensor) -> torch.Tensor:
        """Wᵀv + c, the mean units' inputs, (batch, M)."""
        return torch.addmm(self.c, v, self.W)

    def _visible_terms(self, v):
        """½ vᵀv − bᵀv, (batch,)."""
        return 0.5 * v.square().sum(-1) - v @ self.b

    def precision(self, hc: torch.Tensor) -> torch.Tensor:
        """Λ(h^c) = I + C diag(P h^c) Cᵀ, (batch, D, D)."""
        d = hc @ self.P.t()
        eye = torch.eye(self.n_visible, dtype=self.C.dtype, device=self.C.device)
        return eye + (self.C * d[:, None, :]) @ self.C.t()

    def energy(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        """E(v, h^c, h^m) for a batch (module docstring), shape (batch,)."""
        v = self._check_v(_get(state, "v", "energy"), "state['v']")
        hc = self._check_c(_get(state, "hc", "energy"), "state['hc']")
        hm = self._check_m(_get(state, "hm", "energy"), "state['hm']")
        if not v.shape[0] == hc.shape[0] == hm.shape[0]:
            raise ValueError(f"energy: state['v'], state['hc'] and state['hm'] need the same batch, got "
                             f"{v.shape[0]}, {hc.shape[0]} and {hm.shape[0]}")
        return (self._visible_terms(v) + 0.5 * (hc * self.factor_responses(v)).sum(-1)
                - (hm * self.mean_logits(v)).sum(-1) + self._cov_energy(hc))

    def _visible_conditional(self, state, beta):
        hc = self._check_c(_get(state, "hc", "conditional('v')"), "state['hc']")
        hm = self._check_m(_get(state, "hm", "conditional('v')"), "state['hm']")
        beta = check_beta(beta, batch=hc.shape[0])
        eta = (self.b + hm @ self.W.t()).double()
        dtype, D = self.C.dtype, self.n_visible
        loc = torch.empty_like(eta)
        scale = eta.new_empty((eta.shape[0], D, D), dtype=dtype)
        # factorised in float64 (a trained model's Λ can be too ill-conditioned for float32), a
        # block of rows at a time so that the float64 D x D temporaries stay within _CHOLESKY_ELEMENTS
        block = max(1, _CHOLESKY_ELEMENTS // (D * D))
        for start in range(0, eta.shape[0], block):
            rows = slice(start, start + block)  # views: no copy of the rows
            chol = torch.linalg.cholesky(self.precision(hc[rows]).double())
            loc[rows] = torch.cholesky_solve(eta[rows, :, None], chol)[..., 0]
            scale[rows] = torch.linalg.cholesky(torch.cholesky_inverse(chol)).to(dtype)  # Λ^{-1} = S Sᵀ
        loc = loc.to(dtype)
        b = _beta_vector(beta, loc)
        if isinstance(b, torch.Tensor):
            scale = scale * b.clamp(min=_BETA_FLOOR).rsqrt()[:, None, None]
        elif b != 1.0:
            scale = scale / math.sqrt(max(b, _BETA_FLOOR))
        return MultivariateNormal(loc, scale_tril=scale, validate_args=False)

    def _mean_conditional(self, state, beta):
        from torch.distributions import Bernoulli

        v = self._check_v(_get(state, "v", "conditional('hm')"), "state['v']")
        beta = check_beta(beta, batch=v.shape[0])
        logits = self.mean_logits(v)
        b = _beta_vector(beta, logits)
        logits = logits * (b[:, None] if isinstance(b, torch.Tensor) else b)
        return Bernoulli(logits=logits, validate_args=False)

    def free_energy(self, v: torch.Tensor, beta=1.0) -> torch.Tensor:
        r"""F_β(v) = β(½vᵀv − bᵀv) + Σ_k φ_β(s_k(v)) − Σ_j softplus(β(W_{·j}ᵀv + c_j)), (batch,),
        with φ_β the covariance units' term (the class docstring): every hidden unit summed
        or integrated out."""
        v = self._check_v(v, "v")
        beta = check_beta(beta, batch=v.shape[0])
        b = _beta_vector(beta, v)
        col = b[:, None] if isinstance(b, torch.Tensor) else b
        return (b * self._visible_terms(v) + self._cov_free_energy(self.factor_responses(v), b).sum(-1)
                - F.softplus(col * self.mean_logits(v)).sum(-1))

    def marginal_sets(self) -> list[tuple[str, ...]]:
        """``[("v",), ("hc", "hm"), ("v", "hc", "hm")]``: the hidden units sum or integrate
        out given v (:meth:`free_energy`), v integrates out given them (:meth:`free_energy_hidden`)."""
        return [("v",), ("hc", "hm"), ("v", "hc", "hm")]

    def free_energy_given(self, state: dict[str, torch.Tensor], beta=1.0) -> torch.Tensor:
        """:meth:`free_energy` for ``{"v"}``, :meth:`free_energy_hidden` for ``{"hc", "hm"}``, β E for all."""
        if isinstance(state, dict) and set(state) == {"v"}:
            return self.free_energy(state["v"], beta)
        if isinstance(state, dict) and set(state) == {"hc", "hm"}:
            return self.free_energy_hidden(state["hc"], state["hm"], beta)
        return super().free_energy_given(state, beta)

    def free_energy_hidden(self, hc: torch.Tensor, hm: torch.Tensor, beta=1.0) -> torch.Tensor:
        r"""F_β(h) = −log ∫ exp(−β E(v, h)) dv (module docstring), shape (batch,); needs β > 0."""
        hc = self._check_c(hc, "hc")
        hm = self._check_m(hm, "hm")
        beta = check_beta(beta, batch=hc.shape[0])
        if (beta == 0 if isinstance(beta, float) else is_validation_enabled() and bool((beta == 0).any())):
            raise ValueError("free_energy_hidden: beta must be > 0 (at β = 0 the Gaussian visible units have no "
                             "normaliser: ∫ dv diverges)")
        lam = self.precision(hc)
        chol = torch.linalg.cholesky(lam)
        eta = self.b + hm @ self.W.t()
        z = torch.linalg.solve_triangular(chol, eta[..., None], upper=False)[..., 0]
        quad = z.square().sum(-1)  # ηᵀΛ⁻¹η
        log_det = 2 * torch.diagonal(chol, dim1=-2, dim2=-1).log().sum(-1)
        b = _beta_vector(beta, quad)
        inner = self._cov_energy(hc) - hm @ self.c - 0.5 * quad
        log_beta = b.log() if isinstance(b, torch.Tensor) else math.log(b)
        return b * inner + 0.5 * log_det + 0.5 * self.n_visible * (log_beta - _LOG_2PI)

    # -- pictures --------------------------------------------------------------------------
    def to_pixels(self, v: torch.Tensor) -> torch.Tensor:
        """v mapped to pixels by :attr:`pixel_map` (n, n_pixels); v itself without one."""
        return v if self.n_pixels == 0 else v @ self.pixel_map.t()
