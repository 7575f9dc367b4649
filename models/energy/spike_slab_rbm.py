"""The spike-and-slab restricted Boltzmann machine: real visible units, binary spikes, real slabs."""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Bernoulli, Normal

import pgm

from .base import EnergyModel
from .gaussian_rbm import _InwardClamp, _positive_float
from .rbm import _beta_column, _get, check_layers
from pgm.checks import check_beta, check_units, is_validation_enabled

__all__ = ["SpikeSlabRBM"]

_LOG_2PI = math.log(2 * math.pi)
#: Rows of (n_visible × n_visible) precision matrices factorised at once by free_energy_hidden.
_CHOLESKY_VALUES = 2**22


class SpikeSlabRBM(EnergyModel):
    r"""Spike-and-slab RBM (μ-ssRBM without the Φ terms): Gaussian visible units v,
    binary spikes h and real-valued slabs s, one spike and one slab per hidden unit.

    The energy (Courville, Bergstra & Bengio 2011; Goodfellow et al. 2016, eq. 20.50,
    with Φ_i = 0), on standardised visible values z = (v − ``shift``) / ``scale``:

    .. math::

        E(v, s, h) = \tfrac12 z^\top \Lambda z
            - \sum_i h_i s_i\, z^\top W_{\cdot i}
            + \tfrac12 \sum_i \alpha_i s_i^2
            - \sum_i \alpha_i \mu_i s_i h_i
            - \sum_i b_i h_i
            + \tfrac12 \sum_i \alpha_i \mu_i^2 h_i ,

    a density with respect to Lebesgue measure on v ∈ ℝⁿ and s ∈ ℝᵐ (counting measure on
    h ∈ {0, 1}ᵐ). Λ is the diagonal visible precision (a function of the parameters: see
    the guard), α_i > 0 the slab precisions, μ_i the slab means, b_i the spike biases,
    W_{·i} the filter of hidden unit i. With h_i² = h_i the slab terms complete the square,
    ½ α_i s_i² − α_i μ_i s_i h_i + ½ α_i μ_i² h_i = ½ α_i (s_i − μ_i h_i)², so a spike that
    is off leaves its slab uncoupled, s_i ~ N(0, 1/α_i). (Writing
    α_i μ_i² h_i without the ½ only shifts b_i by ½ α_i μ_i²: the same family.) The
    per-unit quadratic terms ½ zᵀ Φ_i z h_i of the paper are not implemented.

    **Conditionals** (at inverse temperature β, p_β ∝ exp(−β E)), all factorised, so
    block Gibbs needs no matrix inverse:

    .. math::

        p_\beta(z \mid s, h) &= \mathcal N\bigl(\Lambda^{-1} W (s \odot h),\ (\beta\Lambda)^{-1}\bigr),\\
        p_\beta(s_i \mid v, h) &= \mathcal N\bigl(h_i (\mu_i + z^\top W_{\cdot i} / \alpha_i),\ 1/(\beta\alpha_i)\bigr),\\
        p_\beta(h_i = 1 \mid v, s) &= \sigma\bigl(\beta\,[b_i + s_i (z^\top W_{\cdot i} + \alpha_i\mu_i)
            - \tfrac12\alpha_i\mu_i^2]\bigr),\\
        p_\beta(h_i = 1 \mid v) &= \sigma(\beta \ell_i(v)), \quad
            \ell_i(v) = b_i + \mu_i\, z^\top W_{\cdot i} + (z^\top W_{\cdot i})^2 / (2\alpha_i)

    (the last with s integrated out). :meth:`conditional` returns p(h | v, s) when the
    state holds ``s`` and p(h | v) when it does not.

    **Block schedule.** The graph couples all three groups (v–h, v–s, h–s: the three-way
    term zᵀW_{·i} s_i h_i), so ``graph.gibbs_blocks()`` is ``[["v"], ["h"], ["s"]]`` and
    one sweep draws v | h, s, then h | v, s, then s | v, h: each step from an exact
    conditional, so the sweep leaves p_β(v, s, h) invariant. Given v alone, the pair
    (h, s) is drawn exactly by h ~ p(h | v), then s ~ p(s | v, h) (:meth:`sample_hidden`);
    :meth:`conditional_inputs` says so, and ``gibbs.init`` started from v (the chains of CD
    and PCD) draws them that way.

    **Free energies.** Summing h and integrating s out,

    .. math::

        F_\beta(v) = \tfrac\beta2 z^\top \Lambda z
            - \sum_i \Bigl[\operatorname{softplus}(\beta\ell_i(v)) + \tfrac12\log\frac{2\pi}{\beta\alpha_i}\Bigr];

    integrating v and s out given h, with P_h = Λ − Σ_i h_i W_{·i} W_{·i}ᵀ / α_i (the
    precision of p(z | h)) and m_h = W (μ ⊙ h),

    .. math::

        F_\beta(h) = -\beta b^\top h - \tfrac\beta2 m_h^\top P_h^{-1} m_h + \tfrac12 \log\det P_h
            - \tfrac n2 \log\frac{2\pi}\beta - \sum_i \tfrac12 \log\frac{2\pi}{\beta\alpha_i}
            - \sum_j \log \text{scale}_j,

    so that log Z = log Σ_h e^{−F(h)}, exact by enumerating h
    (``inference.exact_log_partition``). p(z | h) = N(P_h^{-1} m_h, P_h^{-1}): the spikes
    raise the variance along their filters.

    **Guard.** The model is proper only if every P_h is positive definite. The visible
    precision is not a free parameter but

    .. math::

        \Lambda_{jj} = \lambda_j + \sum_k |M_{jk}|, \qquad M = W \operatorname{diag}(1/\alpha) W^\top,
        \qquad \lambda_j = \exp(\operatorname{clamp}(\text{log\_lambda}_j,
            \log \text{min\_precision}, \log \text{max\_precision})),

    Λ bounded below by the absolute row sums of M. By Gershgorin's theorem every
    eigenvalue of Λ − M is at least min_j λ_j, and P_h ≽ Λ − M because each term h_i W_{·i}
    W_{·i}ᵀ / α_i is positive semi-definite, so λ_min(P_h) ≥ min_precision > 0 for every h
    and for any values of the parameters: no gradient step can make the model improper.
    ``log_lambda`` outside its interval gets gradient only towards it (as the Gaussian RBM's
    σ). The upper bound keeps p(z | h) from collapsing onto a point.

    Parameters
    ----------
    n_visible : int
        Number of (Gaussian) visible units.
    n_hidden : int
        Number of spike-and-slab hidden units.
    weight_std : float, default 0.01
        Standard deviation of the initial Gaussian weights.
    min_precision, max_precision : float, default 0.01 and 100
        Bounds of λ, the free part of Λ (standardised units); 0 < min ≤ 1 ≤ max (λ starts
        at 1).
    max_alpha : float, default 100
        Upper bound of the slab precisions α (at least 1; α starts at 1). Without it, PCD on
        the dequantised digits drives α to e^10 and μ to 25, the slabs frozen at their
        means, until the terms ½ α_i μ_i² h_i overwhelm float32 (non-finite parameters
        after 132 epochs at the default rate).
    seed : int, optional
        Seed of the weight initialisation; ``None`` draws from torch's global generator.

    Attributes
    ----------
    W : Parameter, shape (n_visible, n_hidden)
    b : Parameter, shape (n_hidden,)
        Spike biases (zero).
    mu : Parameter, shape (n_hidden,)
        Slab means (zero).
    log_alpha : Parameter, shape (n_hidden,)
        log α, the slab precisions (zero); α uses it clamped at log max_alpha, with
        gradient only back below the bound outside it.
    log_lambda : Parameter, shape (n_visible,)
        log λ (zero).
    standardised : bool
        Whether ``shift`` and ``scale`` were learned or loaded (``False`` for a model
        built by its constructor, which :func:`inference.fit` standardises to its data).
    shift, scale : buffers, shape (n_visible,)
        The standardisation z = (v − shift) / scale (zeros and ones; the data's means and
        standard deviations after :meth:`from_data`).
    graph : pgm.Graph
        ``v`` (observed, gaussian), ``h`` (latent, bernoulli), ``s`` (latent, real), all
        pairs coupled.

    Notes
    -----
    At β = 0 the Gaussian factors are flat: p_0(v | s, h) and p_0(s | v, h) are improper
    and :meth:`free_energy` and :meth:`free_energy_hidden` refuse β = 0. Annealing
    (``inference.ais_log_partition``) therefore runs on the joint state, where a proper
    base factor on v and on s makes every intermediate distribution proper.

    References
    ----------
    A. Courville, J. Bergstra and Y. Bengio, "A spike and slab restricted Boltzmann
    machine", AISTATS 2011; "Unsupervised models of images by spike-and-slab RBMs",
    ICML 2011. I. Goodfellow, Y. Bengio and A. Courville, "Deep Learning", 2016, §20.5.1.

    Examples
    --------
    >>> data = torch.randn(100, 5, generator=torch.Generator().manual_seed(0)) * 3 + 1
    >>> ssrbm = SpikeSlabRBM.from_data(data, 4, seed=0)
    >>> ssrbm.graph.gibbs_blocks()
    [['v'], ['h'], ['s']]
    >>> ssrbm.free_energy(data[:2]).shape, ssrbm.conditional("h", {"v": data[:2]}).batch_shape
    (torch.Size([2]), torch.Size([2, 4]))
    """

    #: The recipe :func:`inference.fit` uses with ``method=None`` / ``lr=None``: PCD-1 with
    #: fit's SGD on standardised units. On the dequantised digits with 16 hidden units and
    #: 200 epochs, lr 0.003 (the Gaussian RBM's) diverges after about 100 epochs (W, μ and
    #: Λ growing); 0.001 trains to 44.3 nats, 0.0003 to 41.7 (``benchmarks/ssrbm_digits.py``).
    default_method: str = "pcd"
    default_lr: float = 0.001

    def __init__(self, n_visible: int, n_hidden: int, *, weight_std: float = 0.01, min_precision: float = 0.01,
                 max_precision: float = 100.0, max_alpha: float = 100.0, seed: int | None = None):
        super().__init__()
        n_visible, n_hidden, seed = check_layers("SpikeSlabRBM", n_visible, n_hidden, weight_std, seed)
        min_precision = _positive_float(min_precision, "min_precision", "SpikeSlabRBM")
        max_precision = _positive_float(max_precision, "max_precision", "SpikeSlabRBM")
        if not min_precision <= 1 <= max_precision:
            raise ValueError(f"SpikeSlabRBM: need min_precision <= 1 <= max_precision (λ starts at 1), got "
                             f"min_precision={min_precision!r}, max_precision={max_precision!r}")
        self.n_visible, self.n_hidden, self.weight_std, self.seed = n_visible, n_hidden, weight_std, seed
        max_alpha = _positive_float(max_alpha, "max_alpha", "SpikeSlabRBM")
        if max_alpha < 1:
            raise ValueError(f"SpikeSlabRBM: need max_alpha >= 1 (α starts at 1), got max_alpha={max_alpha!r}")
        self.min_precision, self.max_precision, self.max_alpha = min_precision, max_precision, max_alpha
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        self.W = nn.Parameter(torch.randn(n_visible, n_hidden, generator=gen) * weight_std)
        self.b = nn.Parameter(torch.zeros(n_hidden))
        self.mu = nn.Parameter(torch.zeros(n_hidden))
        self.log_alpha = nn.Parameter(torch.zeros(n_hidden))
        self.log_lambda = nn.Parameter(torch.zeros(n_visible))
        self.register_buffer("shift", torch.zeros(n_visible))
        self.register_buffer("scale", torch.ones(n_visible))
        self.standardised = False
        self.register_load_state_dict_post_hook(_mark_standardised)
        self.graph = pgm.Graph(
            [pgm.VariableGroup("v", n_visible, "gaussian", observed=True),
             pgm.VariableGroup("h", n_hidden, "bernoulli"),
             pgm.VariableGroup("s", n_hidden, "real")],
            [pgm.Edge("v", "h"), pgm.Edge("v", "s"), pgm.Edge("h", "s")],
        )

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "n_hidden": self.n_hidden, "weight_std": self.weight_std,
                "min_precision": self.min_precision, "max_precision": self.max_precision,
                "max_alpha": self.max_alpha, "seed": self.seed}

    @classmethod
    def from_data(cls, data: torch.Tensor, n_hidden: int, *, eps: float = 1e-3, **kwargs) -> "SpikeSlabRBM":
        """A spike-and-slab RBM sized for ``data`` that standardises it.

        ``shift`` and ``scale`` are the data's per-unit means and standard deviations
        (ddof = 1), the latter floored at ``eps · max(scale)``, as
        :meth:`GaussianRBM.from_data <models.energy.GaussianRBM.from_data>`.

        Parameters
        ----------
        data : Tensor, shape (n, n_visible), n ≥ 2
        n_hidden : int
        eps : float, default 1e-3
        **kwargs
            Passed to the constructor.
        """
        eps = _positive_float(eps, "eps", "SpikeSlabRBM.from_data")
        data = check_units(data, "data")
        return cls(data.shape[1], n_hidden, **kwargs).standardise(data, eps=eps, func="SpikeSlabRBM.from_data")

    def standardise(self, data: torch.Tensor, *, eps: float = 1e-3, func: str = "SpikeSlabRBM.standardise"):
        """Learn ``shift`` and ``scale`` from ``data`` (as
        :meth:`GaussianRBM.standardise <models.energy.GaussianRBM.standardise>`) and return
        the model; :attr:`standardised` becomes ``True``."""
        data = check_units(data, "data", self.n_visible)
        if data.shape[0] < 2:
            raise ValueError(f"{func}: data needs at least 2 rows to estimate standard "
                             f"deviations, got shape {tuple(data.shape)}")
        eps = _positive_float(eps, "eps", func)
        v = data.double()
        mean, std = v.mean(0), v.std(0)
        top = float(std.max())
        with torch.no_grad():
            self.shift.copy_(mean)
            self.scale.copy_(std.clamp(min=eps * top if top > 0 else eps))
        self.standardised = True
        return self

    # -- derived quantities ------------------------------------------------------------
    @property
    def alpha(self) -> torch.Tensor:
        """α = exp(min(log_alpha, log max_alpha)), the slab precisions, shape (n_hidden,)."""
        return _InwardClamp.apply(self.log_alpha, -math.inf, math.log(self.max_alpha)).exp()

    def _lambda_free(self) -> torch.Tensor:
        return _InwardClamp.apply(self.log_lambda, math.log(self.min_precision), math.log(self.max_precision)).exp()

    @property
    def precision(self) -> torch.Tensor:
        """``Λ_jj = λ_j + Σ_k |(W diag(1/α) Wᵀ)_jk|``, the diagonal visible precision, shape (n_visible,)."""
        m = (self.W / self.alpha) @ self.W.t()
        return self._lambda_free() + m.abs().sum(-1)

    def standardize(self, v: torch.Tensor) -> torch.Tensor:
        """z = (v − shift) / scale, shape (batch, n_visible)."""
        return (v - self.shift) / self.scale

    def hidden_logits(self, v: torch.Tensor) -> torch.Tensor:
        """ℓ(v) = b + μ ⊙ (Wᵀz) + (Wᵀz)² / (2α), the logits of p(h | v), shape (batch, n_hidden)."""
        u = self.standardize(v) @ self.W
        return self.b + self.mu * u + u.square() / (2 * self.alpha)

    def slab_mean(self, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """E[s | v, h] = h ⊙ (μ + Wᵀz / α), shape (batch, n_hidden)."""
        return h * (self.mu + (self.standardize(v) @ self.W) / self.alpha)

    def visible_mean(self, s: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """E[v | s, h] = shift + scale ⊙ Λ⁻¹ W (s ⊙ h), shape (batch, n_visible)."""
        return self.shift + self.scale * (((s * h) @ self.W.t()) / self.precision)

    def hidden_precisions(self, h: torch.Tensor) -> torch.Tensor:
        """P_h = Λ − W diag(h / α) Wᵀ, the precision of p(z | h), shape (batch, n_visible, n_visible)."""
        wa = self.W / self.alpha
        return torch.diag(self.precision) - torch.einsum("ji,bi,ki->bjk", wa, h, self.W)

    # -- the energy-model contract -------------------------------------------------------
    def _check(self, v, name, width, binary_like=False):
        return check_units(v, name, width, unit_interval=binary_like, dtype=self.W.dtype, device=self.W.device)

    def energy(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        """E(v, s, h) for a batch; ``state`` maps ``"v"``, ``"h"``, ``"s"`` to (batch, units).

        Returns
        -------
        Tensor, shape (batch,)
        """
        v = self._check(_get(state, "v", "energy"), "state['v']", self.n_visible)
        h = self._check(_get(state, "h", "energy"), "state['h']", self.n_hidden, True)
        s = self._check(_get(state, "s", "energy"), "state['s']", self.n_hidden)
        if not v.shape[0] == h.shape[0] == s.shape[0]:
            raise ValueError(f"energy: state['v'], state['h'] and state['s'] must have the same batch, got "
                             f"{v.shape[0]}, {h.shape[0]} and {s.shape[0]}")
        z = self.standardize(v)
        alpha = self.alpha
        quad = 0.5 * (z.square() * self.precision).sum(-1)
        slab = 0.5 * (alpha * s.square()).sum(-1)
        inter = (h * s * (z @ self.W + alpha * self.mu)).sum(-1)
        spike = (h * (self.b - 0.5 * alpha * self.mu.square())).sum(-1)
        return quad + slab - inter - spike

    def conditional(self, group: str, state: dict[str, torch.Tensor], beta=1.0):
        """The conditional of one group at inverse temperature β (see the class notes).

        ``"v"`` needs ``h`` and ``s`` (a Normal); ``"s"`` needs ``v`` and ``h`` (a Normal);
        ``"h"`` needs ``v`` and, if given, uses ``s`` (Bernoulli p(h | v, s)); without ``s``
        it returns p(h | v), the slabs integrated out. The Normals' scales are infinite
        where β = 0 (improper, flat conditionals). Batch shape (batch, units).
        """
        if group == "h":
            v = self._check(_get(state, "v", "conditional('h')"), "state['v']", self.n_visible)
            beta = check_beta(beta, batch=v.shape[0])
            if isinstance(state, dict) and "s" in state:
                s = self._check(state["s"], "state['s']", self.n_hidden)
                alpha = self.alpha
                logits = self.b + s * (self.standardize(v) @ self.W + alpha * self.mu) - 0.5 * alpha * self.mu.square()
            else:
                logits = self.hidden_logits(v)
            if not (isinstance(beta, float) and beta == 1.0):
                logits = logits * _beta_column(beta, logits)
            return Bernoulli(logits=logits, validate_args=False)
        if group == "s":
            v = self._check(_get(state, "v", "conditional('s')"), "state['v']", self.n_visible)
            h = self._check(_get(state, "h", "conditional('s')"), "state['h']", self.n_hidden, True)
            beta = check_beta(beta, batch=v.shape[0])
            loc = self.slab_mean(v, h)
            return Normal(loc, self._scale(self.alpha.rsqrt().expand_as(loc), beta, loc), validate_args=False)
        if group == "v":
            h = self._check(_get(state, "h", "conditional('v')"), "state['h']", self.n_hidden, True)
            s = self._check(_get(state, "s", "conditional('v')"), "state['s']", self.n_hidden)
            beta = check_beta(beta, batch=h.shape[0])
            loc = self.visible_mean(s, h)
            scale = (self.scale * self.precision.rsqrt()).expand_as(loc)
            return Normal(loc, self._scale(scale, beta, loc), validate_args=False)
        raise ValueError(f"conditional: group must be 'v', 'h' or 's', got {group!r}")

    @staticmethod
    def _scale(scale, beta, like):
        if isinstance(beta, float) and beta == 1.0:
            return scale
        return scale * torch.as_tensor(_beta_column(beta, like), dtype=like.dtype, device=like.device).rsqrt()

    def conditional_inputs(self, group: str) -> set[str]:
        """``{"v"}`` for the spikes (p(h | v) integrates the slabs out), else the Markov blanket."""
        return {"v"} if group == "h" else super().conditional_inputs(group)

    @torch.no_grad()
    def sample_hidden(self, v: torch.Tensor, generator: torch.Generator, beta=1.0) -> dict[str, torch.Tensor]:
        """An exact draw of (h, s) from p_β(h, s | v): h ~ p_β(h | v), then s ~ p_β(s | v, h).

        Returns
        -------
        dict
            ``{"h": (batch, n_hidden), "s": (batch, n_hidden)}``.
        """
        v = self._check(v, "v", self.n_visible)
        p = self.conditional("h", {"v": v}, beta).probs
        h = torch.rand(p.shape, generator=generator, dtype=p.dtype, device=p.device).lt_(p).to(p.dtype)
        d = self.conditional("s", {"v": v, "h": h}, beta)
        s = d.loc + d.scale * torch.randn(d.loc.shape, generator=generator, dtype=p.dtype, device=p.device)
        return {"h": h, "s": s}

    def _check_positive_beta(self, beta, where):
        if (beta == 0 if isinstance(beta, float) else is_validation_enabled() and bool((beta == 0).any())):
            raise ValueError(f"{where}: beta must be > 0 (at β = 0 the Gaussian units have no normaliser: "
                             "the integral over them diverges)")

    @staticmethod
    def _beta_vector(beta, like):
        return beta.to(like).reshape(-1) if isinstance(beta, torch.Tensor) else beta

    def free_energy(self, v: torch.Tensor, beta=1.0) -> torch.Tensor:
        r"""F_β(v) = β zᵀΛz / 2 − Σ_i [softplus(β ℓ_i(v)) + ½ log(2π / (β α_i))], shape (batch,).

        p_β(v) ∝ exp(−F_β(v)) is the visible marginal of p_β ∝ exp(−β E); needs β > 0.
        """
        v = self._check(v, "v", self.n_visible)
        beta = check_beta(beta, batch=v.shape[0])
        self._check_positive_beta(beta, "free_energy")
        z = self.standardize(v)
        quad = 0.5 * (z.square() * self.precision).sum(-1)
        logits = self.hidden_logits(v)
        b = self._beta_vector(beta, quad)
        bcol = b[:, None] if isinstance(b, torch.Tensor) else b
        slab = 0.5 * (_LOG_2PI - self.alpha.log() - torch.log(torch.as_tensor(bcol, dtype=quad.dtype,
                                                                          device=quad.device))).sum(-1)
        f = b * quad - F.softplus(bcol * logits).sum(-1) - slab
        bad = f.isnan() & torch.isfinite(v).all(-1)
        if f.dtype != torch.float64 and bool(bad.any()):
            # ∞ − ∞: both quadratic terms overflow the dtype (|v| ≳ 1e19 in float32); the float64 value, rounded
            # to the dtype, is the answer (+inf where it is beyond the dtype's range)
            rows = beta.reshape(-1).expand(v.shape[0])[bad] if isinstance(beta, torch.Tensor) else beta
            with torch.no_grad():
                again = copy.deepcopy(self).double().free_energy(v[bad].double(), rows)
            f = f.masked_scatter(bad, again.to(f.dtype))
        return f

    def free_energy_slab(self, v: torch.Tensor, s: torch.Tensor, beta=1.0) -> torch.Tensor:
        r"""F_β(v, s) = −log Σ_h exp(−β E(v, s, h)), the spikes summed out, shape (batch,)."""
        v = self._check(v, "v", self.n_visible)
        s = self._check(s, "s", self.n_hidden)
        beta = check_beta(beta, batch=v.shape[0])
        z = self.standardize(v)
        alpha = self.alpha
        base = 0.5 * (z.square() * self.precision).sum(-1) + 0.5 * (alpha * s.square()).sum(-1)
        logits = self.b + s * (z @ self.W + alpha * self.mu) - 0.5 * alpha * self.mu.square()
        b = self._beta_vector(beta, base)
        bcol = b[:, None] if isinstance(b, torch.Tensor) else b
        return b * base - F.softplus(bcol * logits).sum(-1)

    def free_energy_hidden(self, h: torch.Tensor, beta=1.0) -> torch.Tensor:
        r"""F_β(h) = −log ∫∫ exp(−β E(v, s, h)) dv ds, shape (batch,); needs β > 0.

        .. math::

            F_\beta(h) = -\beta b^\top h - \tfrac\beta2 m_h^\top P_h^{-1} m_h + \tfrac12\log\det P_h
                - \tfrac n2 \log\frac{2\pi}{\beta} - \sum_i \tfrac12\log\frac{2\pi}{\beta\alpha_i}
                - \sum_j \log\text{scale}_j

        with P_h = Λ − W diag(h/α) Wᵀ and m_h = W(μ ⊙ h), by a Cholesky factorisation of
        P_h (in chunks of rows).
        """
        h = self._check(h, "h", self.n_hidden, True)
        beta = check_beta(beta, batch=h.shape[0])
        self._check_positive_beta(beta, "free_energy_hidden")
        rows = max(1, _CHOLESKY_VALUES // (self.n_visible**2))
        parts = []
        for start in range(0, h.shape[0], rows):
            hc = h[start:start + rows]
            chol = torch.linalg.cholesky(self.hidden_precisions(hc))
            m = (hc * self.mu) @ self.W.t()
            y = torch.linalg.solve_triangular(chol, m.unsqueeze(-1), upper=False).squeeze(-1)
            half_logdet = torch.diagonal(chol, dim1=-2, dim2=-1).log().sum(-1)
            parts.append((hc @ self.b + 0.5 * y.square().sum(-1), half_logdet))
        inner = torch.cat([p[0] for p in parts])
        half_logdet = torch.cat([p[1] for p in parts])
        b = self._beta_vector(beta, inner)
        log_b = b.log() if isinstance(b, torch.Tensor) else math.log(b)
        n, m_h = self.n_visible, self.n_hidden
        const = (0.5 * n * (_LOG_2PI - log_b) + 0.5 * (m_h * (_LOG_2PI - log_b) - self.alpha.log().sum())
                 + self.scale.log().sum())
        return -b * inner + half_logdet - const

    # -- the enumeration hook --------------------------------------------------------------
    def marginal_sets(self) -> list[tuple[str, ...]]:
        """``[("v",), ("h",), ("v", "s"), ("v", "h", "s")]``: h and s sum out given v, v and s
        integrate out given h, h sums out given v and s."""
        return [("v",), ("h",), ("v", "s"), ("v", "h", "s")]

    def free_energy_given(self, state: dict[str, torch.Tensor], beta=1.0) -> torch.Tensor:
        """:meth:`free_energy` for ``{"v"}``, :meth:`free_energy_hidden` for ``{"h"}``,
        :meth:`free_energy_slab` for ``{"v", "s"}``, β E for all three."""
        keys = set(state) if isinstance(state, dict) else None
        if keys == {"v"}:
            return self.free_energy(state["v"], beta)
        if keys == {"h"}:
            return self.free_energy_hidden(state["h"], beta)
        if keys == {"v", "s"}:
            return self.free_energy_slab(state["v"], state["s"], beta)
        return super().free_energy_given(state, beta)


def _mark_standardised(module, incompatible_keys) -> None:
    """A model whose state was loaded holds a standardisation (possibly the identity)."""
    module.standardised = True
