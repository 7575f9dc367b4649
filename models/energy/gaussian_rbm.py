"""The Gaussian-Bernoulli restricted Boltzmann machine: real-valued visible units."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Bernoulli, Normal

import pgm

from .base import EnergyModel
from .rectified import DEFAULT_STEPS, RectifiedHidden, check_hidden_units
from .rbm import TwoLayerMarginals, _beta_column, _beta_vector, _get, check_layers, init_layers
from pgm.checks import check_beta, check_units, is_validation_enabled

__all__ = ["GaussianRBM"]

_LOG_2PI = math.log(2 * math.pi)


def _positive_float(value, name, where="GaussianRBM"):
    if (not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
            or value <= 0):
        raise ValueError(f"{where}: {name} must be a finite positive float, got {value!r}")
    return float(value)


class _InwardClamp(torch.autograd.Function):
    """``x.clamp(lo, hi)`` whose gradient points back into [lo, hi].

    Inside the interval the gradient passes unchanged. Outside it passes only where a
    descent step (x ← x − η g) moves x back towards the interval, and is zero where it
    would push x further out. So a parameter that overshoots a bound (a large step, then
    momentum) returns as soon as the loss pulls it in, instead of being stuck where
    ``clamp``'s zero gradient would leave it, and never drifts further out by its own
    gradient.
    """

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        return x.clamp(lo, hi)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        keep = ((x >= lo) & (x <= hi)) | ((x > hi) & (grad > 0)) | ((x < lo) & (grad < 0))
        return grad * keep, None, None


class GaussianRBM(TwoLayerMarginals, RectifiedHidden, EnergyModel):
    r"""Restricted Boltzmann machine with Gaussian visible and binary hidden units.

    With per-unit standard deviations σ_i of the visible units,

    .. math::

        E(v, h) = \sum_i \frac{(v_i - b_i)^2}{2\sigma_i^2} - c^\top h
                  - \sum_{ij} \frac{v_i}{\sigma_i} W_{ij} h_j,
        \qquad p(v, h) = e^{-E(v, h)} / Z,

    a density with respect to Lebesgue measure on v ∈ ℝⁿ (counting measure on h). The
    conditionals factorise: p(h_j = 1 | v) = σ(c_j + (v/σ)ᵀW_{·j}) and
    p(v | h) = N(b + σ ⊙ W h, diag σ²). Summing out h or integrating out v,

    .. math::

        F(v) = \sum_i \frac{(v_i - b_i)^2}{2\sigma_i^2}
               - \sum_j \operatorname{softplus}\bigl(c_j + (v/\sigma)^\top W_{\cdot j}\bigr),

        F(h) = -c^\top h - \sum_i \Bigl[\frac{b_i}{\sigma_i} (W h)_i + \tfrac12 (W h)_i^2\Bigr]
               - \sum_i \log\bigl(\sigma_i \sqrt{2\pi}\bigr),

    so that log Z = log Σ_h e^{−F(h)}, exact by enumeration for up to ~20 hidden units.
    All densities are on the scale of v (nats; a change of units of v shifts log p(v)).

    **Internal standardisation.** The learned tensors act on standardised visible values
    z = (v − ``shift``) / ``scale``, where ``shift`` and ``scale`` are buffers (0 and 1 for
    a new model; the data's per-unit means and standard deviations after
    :meth:`from_data`). ``W``, ``b``, ``c`` and σ = exp(``log_sigma``) are the
    parameters of the energy above in z, and the energy in v is that same energy, which
    is again of the form above, with effective parameters

    .. math::

        \tilde b = \text{shift} + \text{scale} \odot b, \quad
        \tilde\sigma = \text{scale} \odot \sigma, \quad
        \tilde c = c - W^\top (\text{shift} / \tilde\sigma), \quad \tilde W = W

    (:attr:`visible_bias`, :attr:`sigma`, :attr:`hidden_bias`). Energies, conditionals
    and free energies take and return values on the scale of v: the Jacobian of
    v ↦ z is in :meth:`free_energy_hidden` (through σ̃), hence in log Z and in every
    log-likelihood. Standardising only changes the coordinates in which gradient steps
    are taken: on raw data, units with small variance get large, badly scaled gradients.

    **Guard.** σ is confined to [``min_sigma``, ``max_sigma``] (standardised units;
    [0.01, 1] from :meth:`from_data`): the model uses σ_i = exp(clamp(log_sigma_i, log min_sigma,
    log max_sigma)), so σ̃_i ∈ [min_sigma · scale_i, max_sigma · scale_i] whatever the
    training does. Outside the interval ``log_sigma`` receives gradient only towards it,
    so an overshoot comes back. With ``scale`` the data's standard deviations
    (:meth:`from_data`) the upper bound excludes no stationary point of the likelihood:
    there the model's variance of each z_i equals the data's (≈ 1, the z² and z
    statistics being matched), and it is σ_i² + Var(σ_i (W h)_i) ≥ σ_i². The lower bound
    keeps the likelihood bounded (a mixture component collapsing onto a data point). Both
    matter in practice: ∂F/∂log σ_i carries ((v_i − b̃_i)/σ̃_i)², so one example far out
    in a nearly constant unit can multiply σ by e^10 in one SGD step, and with
    mean-field reconstructions (``sample_visible=False``) σ grows without end.

    The bounds do not make every learning rate safe: the curvature of the
    log-likelihood in b and W grows like 1/σ⁴ and 1/σ² (standardised units) and with
    the layer sizes, so the largest stable SGD step falls as σ is learned and the model
    grows. Hence the small :attr:`default_lr`: on the dequantised digits, PCD-1 with
    fit's SGD trains 16 and 64 hidden units at 0.003 but diverges (non-finite
    parameters within 10 epochs) at 0.03, and already at 0.005 in a run with 64 hidden
    units.

    Parameters
    ----------
    n_visible : int
        Number of (Gaussian) visible units.
    n_hidden : int
        Number of (binary) hidden units.
    learn_sigma : bool, default True
        Learn σ (``log_sigma`` is a Parameter); else it is a buffer, fixed at 1 (that is,
        σ̃ = ``scale``) unless set, e.g. by :meth:`from_data`.
    weight_std : float, default 0.01
        Standard deviation of the initial Gaussian weights.
    min_sigma : float, default 0.01
        Lower bound of σ in standardised units (σ̃ / scale), at most 1 (σ starts at 1).
    max_sigma : float, optional
        Upper bound of σ, at least 1; ``None``: none. :meth:`from_data` sets 1, the bound
        its standardisation justifies (see the notes). For a model not made by
        :meth:`from_data` (shift 0, scale 1) both bounds are in the units of v.
    seed : int, optional
        Seed of the weight initialisation; ``None`` draws from torch's global generator.
    hidden : {"binary", "stepped", "nrelu"}, default "binary"
        Hidden unit type. ``"stepped"``: h_j ∈ {0, …, N} counts N binary copies with
        biases shifted by −½, −3/2, …; the energy gains −Σ_j log e_N(h_j), p(h | v) is
        exact (:class:`~models.energy.rectified.SteppedSigmoid`), F(v) replaces
        softplus(x_j) by Σ_{k=1}^N softplus(x_j − k + ½) and F(h) gains −β Σ_j log e_N(h_j).
        ``"nrelu"``: the same model with the noisy rectified linear approximation as
        ``conditional("h")``. See :mod:`models.energy.rectified`. With finitely many
        copies the model is always proper; as N → ∞ it needs ‖W‖₂ < 1 (the h²/2 of the
        multiplicity must beat the ½‖Wh‖² that integrating out v leaves).
    n_steps : int, optional
        N, the number of copies of a rectified unit (default 10); only with rectified units.

    Attributes
    ----------
    W : Parameter, shape (n_visible, n_hidden)
    b : Parameter, shape (n_visible,)
        Visible means in standardised units (zero).
    c : Parameter, shape (n_hidden,)
        Hidden biases (zero).
    log_sigma : Parameter or buffer, shape (n_visible,)
        log σ in standardised units (zero).
    shift, scale : buffers, shape (n_visible,)
        The standardisation z = (v − shift) / scale (zeros and ones).
    standardised : bool
        Whether the standardisation was learned (:meth:`from_data`, :meth:`standardise`)
        or loaded (``load_state_dict``); ``False`` for a model built by its constructor,
        which :func:`inference.fit` then standardises to its training data.
    graph : pgm.Graph
        ``v`` (observed, gaussian) -- ``h`` (latent, bernoulli).

    Notes
    -----
    At inverse temperature β the model is p_β(v, h) ∝ exp(−β E(v, h)): p_β(v | h) is
    N(b̃ + σ̃ ⊙ W h, σ̃²/β), and :meth:`free_energy_hidden` carries
    Σ_i log(σ̃_i √(2π/β)). At β = 0 the Gaussian is flat (its scale is infinite): p_0(v | h)
    is improper and only meaningful combined with a proper base distribution, as in the
    path of annealed importance sampling; :meth:`free_energy_hidden` refuses β = 0.

    References
    ----------
    G. Hinton, "A Practical Guide to Training Restricted Boltzmann Machines", 2010, §13.2.
    K. Cho, A. Ilin and T. Raiko, "Improved learning of Gaussian-Bernoulli restricted
    Boltzmann machines", ICANN 2011.

    Examples
    --------
    >>> data = torch.randn(100, 5, generator=torch.Generator().manual_seed(0)) * 3 + 1
    >>> grbm = GaussianRBM.from_data(data, 4, seed=0)
    >>> grbm.free_energy(data[:2]).shape, grbm.conditional("v", {"h": torch.ones(2, 4)}).batch_shape
    (torch.Size([2]), torch.Size([2, 5]))
    """

    #: Learning rate :func:`inference.fit` uses with ``lr=None``, for fit's SGD (momentum
    #: 0.5 then 0.9, linear decay, batch 20) on standardised units. With ``method="pcd"``
    #: and 200 epochs on the dequantised digits: test log-density 45.6 ± 0.3 nats (16
    #: hidden units, exact log Z) and 55.5 ± 0.5 (64, AIS), over 3 seeds
    #: (``benchmarks/grbm_digits.py``). See the class notes on stability.
    default_method: str = "pcd"
    default_lr: float = 0.003
    #: The learning rate with stepped or NReLU hidden units (``hidden != "binary"``), whose
    #: counts up to N make larger steps: each such instance's ``default_lr``, and with NReLU
    #: units of more than 10 copies ``rectified_lr · 10 / N``. Measured with the default
    #: recipe (50 epochs) on the dequantised digits: at N = 10, 0.003 diverges within 10
    #: epochs, 0.001 with NReLU units at 64 hidden units (3 of 3 seeds), 0.0005 trains both
    #: unit types at 16 and 64 hidden units (3 seeds each); stepped units also at N = 20 and
    #: 50, NReLU units at 64 hidden units only at 10 / N of it (diverging at epoch 15 with
    #: 0.0005 at N = 20 and 50; 0.00025 and 0.0001 train, 3 seeds each). ``pgm fit grbm
    #: --units stepped`` then reaches a test log-density of 47.4 ± 0.8 nats (AIS; seed 0).
    rectified_lr: float = 0.0005

    def __init__(self, n_visible: int, n_hidden: int, *, learn_sigma: bool = True, weight_std: float = 0.01,
                 min_sigma: float = 0.01, max_sigma: float | None = None, seed: int | None = None,
                 hidden: str = "binary", n_steps: int | None = None):
        super().__init__()
        n_visible, n_hidden, seed = check_layers("GaussianRBM", n_visible, n_hidden, weight_std, seed)
        self.hidden, self.n_steps = check_hidden_units(hidden, n_steps, "GaussianRBM")
        if self.hidden != "binary":
            self.default_lr = self.rectified_lr * (min(1.0, DEFAULT_STEPS / self.n_steps) if self.hidden == "nrelu"
                                                   else 1.0)
        if not isinstance(learn_sigma, bool):
            raise TypeError(f"GaussianRBM: learn_sigma must be True or False, got {learn_sigma!r}")
        min_sigma = _positive_float(min_sigma, "min_sigma")
        if max_sigma is not None:
            max_sigma = _positive_float(max_sigma, "max_sigma")
        if not min_sigma <= 1 <= (math.inf if max_sigma is None else max_sigma):
            raise ValueError(f"GaussianRBM: need min_sigma <= 1 <= max_sigma (σ starts at 1), got "
                             f"min_sigma={min_sigma!r}, max_sigma={max_sigma!r}")
        init_layers(self, n_visible, n_hidden, weight_std, seed)
        self.learn_sigma = learn_sigma
        self.min_sigma = min_sigma
        self.max_sigma = max_sigma
        if learn_sigma:
            self.log_sigma = nn.Parameter(torch.zeros(n_visible))
        else:
            self.register_buffer("log_sigma", torch.zeros(n_visible))
        self.register_buffer("shift", torch.zeros(n_visible))
        self.register_buffer("scale", torch.ones(n_visible))
        self.standardised = False
        self.register_load_state_dict_post_hook(_mark_standardised)
        self.graph = pgm.Graph(
            [pgm.VariableGroup("v", n_visible, "gaussian", observed=True),
             pgm.VariableGroup("h", n_hidden, self.hidden_kind)],
            [pgm.Edge("v", "h")],
        )

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "n_hidden": self.n_hidden, "learn_sigma": self.learn_sigma,
                "weight_std": self.weight_std, "min_sigma": self.min_sigma,
                "max_sigma": self.max_sigma, "seed": self.seed, **self.hidden_config()}

    @classmethod
    def from_data(cls, data: torch.Tensor, n_hidden: int, *, eps: float = 1e-3, **kwargs) -> "GaussianRBM":
        r"""A Gaussian RBM sized for ``data`` that standardises it and starts at its marginals.

        Sets ``shift = m`` and ``scale = s``, the data's per-unit means and standard
        deviations (ddof = 1), s floored at ``eps · max(s)`` for units that barely vary;
        ``b = 0`` and σ = 1 then give b̃ = m and σ̃ = s (:attr:`visible_bias`,
        :attr:`sigma`): with W = 0 the model is the data's diagonal Gaussian. Unless
        given, ``max_sigma = 1`` (σ̃ ≤ s; see the class notes).

        Parameters
        ----------
        data : Tensor, shape (n, n_visible), n ≥ 2
        n_hidden : int
        eps : float, default 1e-3
            Relative floor of the standard deviations.
        **kwargs
            Passed to the constructor (``learn_sigma``, ``weight_std``, ``min_sigma``,
            ``max_sigma``, ``seed``).
        """
        eps = _positive_float(eps, "eps", "GaussianRBM.from_data")
        kwargs.setdefault("max_sigma", 1.0)
        data = check_units(data, "data")
        model = cls(data.shape[1], n_hidden, **kwargs)
        return model.standardise(data, eps=eps, bound_sigma=False, func="GaussianRBM.from_data")

    def standardise(self, data: torch.Tensor, *, eps: float = 1e-3, bound_sigma: bool = True,
                    func: str = "GaussianRBM.standardise"):
        r"""Learn the standardisation from ``data`` and return the model.

        ``shift`` and ``scale`` become the data's per-unit means m and standard deviations
        s (ddof = 1), s floored at ``eps · max(s)``; with ``bound_sigma`` ``max_sigma``
        becomes 1 where it was unbounded (σ̃ ≤ s; see the class notes), as :meth:`from_data`
        sets it by default; :attr:`standardised` becomes ``True``.
        :func:`inference.fit` calls this on a model that was never standardised (built
        by its constructor, not :meth:`from_data` nor loaded from a file).

        Parameters
        ----------
        data : Tensor, shape (n, n_visible), n ≥ 2
        eps : float, default 1e-3
            Relative floor of the standard deviations.
        """
        data = check_units(data, "data", self.n_visible)
        if data.shape[0] < 2:
            raise ValueError(f"{func}: data needs at least 2 rows to estimate standard "
                             f"deviations, got shape {tuple(data.shape)}")
        eps = _positive_float(eps, "eps", func)
        x = data.double()
        mean, std = x.mean(0), x.std(0)
        top = float(std.max())
        std = std.clamp(min=eps * top if top > 0 else eps)
        with torch.no_grad():
            self.shift.copy_(mean)
            self.scale.copy_(std)
        if bound_sigma and self.max_sigma is None:
            self.max_sigma = 1.0
        self.standardised = True
        return self

    # -- derived quantities ------------------------------------------------------------
    def _sigma(self) -> torch.Tensor:
        """σ = exp(clamp(log_sigma, log min_sigma, log max_sigma)) in standardised units, shape (n_visible,)."""
        hi = math.inf if self.max_sigma is None else math.log(self.max_sigma)
        return _InwardClamp.apply(self.log_sigma, math.log(self.min_sigma), hi).exp()

    @property
    def sigma(self) -> torch.Tensor:
        """σ̃ = scale ⊙ σ, the visible standard deviations on the scale of v, shape (n_visible,)."""
        return self.scale * self._sigma()

    @property
    def visible_bias(self) -> torch.Tensor:
        """b̃ = shift + scale ⊙ b, the visible means of the energy on the scale of v."""
        return self.shift + self.scale * self.b

    @property
    def hidden_bias(self) -> torch.Tensor:
        """c̃ = c − Wᵀ(shift / σ̃), the hidden biases of the energy in v."""
        return self.c - (self.shift / self.sigma) @ self.W

    def standardize(self, v: torch.Tensor) -> torch.Tensor:
        """z = (v − shift) / scale, shape (batch, n_visible)."""
        return (v - self.shift) / self.scale

    def hidden_logits(self, v: torch.Tensor) -> torch.Tensor:
        """Pre-activations c + (z/σ)ᵀW = c̃ + (v/σ̃)ᵀW of the hidden units, shape (batch, n_hidden)."""
        return torch.addmm(self.c, self.standardize(v) / self._sigma(), self.W)

    def visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        """E[v | h] = b̃ + σ̃ ⊙ (W h), shape (batch, n_visible)."""
        return self.shift + self.scale * (self.b + self._sigma() * (h @ self.W.t()))

    # -- the energy-model contract -------------------------------------------------------
    def _check_v(self, x, name):
        return check_units(x, name, self.n_visible, dtype=self.W.dtype, device=self.W.device)

    def _check_h(self, x, name):
        return self._check_hidden_values(x, name, self.W.dtype, self.W.device)

    def _quadratic(self, v):
        """Σ_i (z_i − b_i)² / (2σ_i²) = Σ_i (v_i − b̃_i)² / (2σ̃_i²), shape (batch,)."""
        return ((self.standardize(v) - self.b) / self._sigma()).pow(2).sum(-1) * 0.5

    def energy(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        """E(v, h) for a batch; ``state = {"v": (batch, n_visible), "h": (batch, n_hidden)}``.

        Returns
        -------
        Tensor, shape (batch,)
        """
        v = self._check_v(_get(state, "v", "energy"), "state['v']")
        h = self._check_h(_get(state, "h", "energy"), "state['h']")
        if v.shape[0] != h.shape[0]:
            raise ValueError(f"energy: state['v'] has batch {v.shape[0]} but state['h'] has {h.shape[0]}")
        e = self._quadratic(v) - (self.hidden_logits(v) * h).sum(-1)
        return e if self.hidden == "binary" else e - self._hidden_log_weight(h)

    def conditional(self, group: str, state: dict[str, torch.Tensor], beta=1.0):
        """p_β(h | v) = Bernoulli(σ(β(c̃ + (v/σ̃)ᵀW))) or p_β(v | h) = N(b̃ + σ̃ ⊙ W h, σ̃²/β).

        ``state`` needs only the other group. Both have batch shape (batch, units); the
        Normal's scale is infinite where β = 0 (an improper, flat conditional).
        """
        if group == "h":
            v = self._check_v(_get(state, "v", "conditional('h')"), "state['v']")
            beta = check_beta(beta, batch=v.shape[0])
            logits = self.hidden_logits(v)
            if self.hidden != "binary":
                return self._hidden_distribution(logits, beta)
            if not (isinstance(beta, float) and beta == 1.0):
                logits = logits * _beta_column(beta, logits)
            return Bernoulli(logits=logits, validate_args=False)
        if group == "v":
            h = self._check_h(_get(state, "h", "conditional('v')"), "state['h']")
            beta = check_beta(beta, batch=h.shape[0])
            loc = self.visible_mean(h)
            scale = self.sigma.expand_as(loc)
            if not (isinstance(beta, float) and beta == 1.0):
                scale = scale * torch.as_tensor(_beta_column(beta, loc), dtype=loc.dtype,
                                                device=loc.device).rsqrt()
            return Normal(loc, scale, validate_args=False)
        raise ValueError(f"conditional: group must be 'v' or 'h', got {group!r}")

    def free_energy(self, v: torch.Tensor, beta=1.0) -> torch.Tensor:
        r"""F_β(v) = β Σ_i (v_i − b̃_i)²/(2σ̃_i²) − Σ_j softplus(β (c̃_j + (v/σ̃)ᵀW_{·j})), shape (batch,).

        p_β(v) ∝ exp(−F_β(v)) is the visible marginal of p_β(v, h) ∝ exp(−β E(v, h)).
        """
        v = self._check_v(v, "v")
        beta = check_beta(beta, batch=v.shape[0])
        quad, logits = self._quadratic(v), self.hidden_logits(v)
        if self.hidden != "binary":
            return _beta_vector(beta, quad) * quad - self._hidden_log_sum(logits, beta)
        if isinstance(beta, torch.Tensor):
            beta = beta.to(quad).reshape(-1)
            return beta * quad - F.softplus(logits * beta[:, None]).sum(-1)
        return beta * quad - F.softplus(beta * logits).sum(-1)

    def free_energy_hidden(self, h: torch.Tensor, beta=1.0) -> torch.Tensor:
        r"""F_β(h) = −log ∫ exp(−β E(v, h)) dv, the visibles integrated out, shape (batch,).

        .. math::

            F_\beta(h) = -\beta\, c^\top h - \beta \sum_i \Bigl[\frac{b_i}{\sigma_i} (W h)_i
                + \tfrac12 (W h)_i^2\Bigr] - \sum_i \log\bigl(\tilde\sigma_i \sqrt{2\pi/\beta}\bigr)

        (b, σ, c in standardised units, which is the same value as the formula with b̃, σ̃,
        c̃; σ̃ = scale ⊙ σ carries the Jacobian of the standardisation). Needs β > 0.
        """
        h = self._check_h(h, "h")
        beta = check_beta(beta, batch=h.shape[0])
        if (beta == 0 if isinstance(beta, float) else is_validation_enabled() and bool((beta == 0).any())):
            raise ValueError("free_energy_hidden: beta must be > 0 (at β = 0 the Gaussian visible units "
                             "have no normaliser: ∫ dv diverges)")
        sigma = self._sigma()
        wh = h @ self.W.t()
        inner = h @ self.c + (wh * (self.b / sigma) + 0.5 * wh.pow(2)).sum(-1) + self._hidden_log_weight(h)
        log_norm = (self.scale.log() + sigma.log()).sum() + 0.5 * self.n_visible * _LOG_2PI
        if isinstance(beta, torch.Tensor):
            beta = beta.to(inner).reshape(-1)
            return -beta * inner - log_norm + 0.5 * self.n_visible * beta.log()
        return -beta * inner - log_norm + 0.5 * self.n_visible * math.log(beta)


def _mark_standardised(module, incompatible_keys) -> None:
    """A model whose state was loaded holds a standardisation (possibly the identity)."""
    module.standardised = True
