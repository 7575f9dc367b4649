r"""The autoencoder as a conditional probabilistic program: plain, denoising, sparse and
contractive in one class.

.. math::

    h = f(W \tilde x + b), \qquad r = g(W' h + c), \qquad
    \ell(x) = -\log P(x \mid h) + \Omega(h),

with x̃ = x, or x̃ ~ C(x̃ | x) for a denoising autoencoder (Vincent et al. 2008); f the
sigmoid or ReLU; W' = Wᵀ (tied) or its own matrix; P(x | h) Bernoulli with logits
W'h + c (the cross-entropy loss; binary or grey-level data) or Gaussian with mean
W'h + c and a learned or fixed σ (the squared error, scaled; real values). The penalty
Ω is the sum of

* the sparsity penalty β Σ_j KL(ρ ‖ ρ̂_j) on the mean activations ρ̂_j of sigmoid units;
* the L1 activation penalty ``λ₁ Σ_j |h_j|``;
* the contraction penalty λ ‖∂h/∂x‖²_F (Rifai et al. 2011), in closed form
  Σ_j f'(a_j)² Σ_i W_ji² (sigmoid: f' = h(1 − h); ReLU: f' = 1[a > 0]).
"""

from __future__ import annotations

import contextlib
import math

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F
from pyro.nn import PyroModule
from torch import nn

import pgm
from pgm.checks import check_bool, check_choice, check_init, check_int, check_memory, check_units

from ..parameters import ParameterInfo
from .corruption import Corruption

__all__ = ["Autoencoder", "ACTIVATIONS", "LIKELIHOODS"]

ACTIVATIONS = ("sigmoid", "relu")
LIKELIHOODS = ("bernoulli", "gaussian")
_LOG_2PI = math.log(2 * math.pi)


def _nonneg(value, name, where="Autoencoder", high=math.inf):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
            or not 0 <= value <= high:
        raise ValueError(f"{where}: {name} must be a finite number in [0, {high}], got {value!r}")
    return float(value)


class Autoencoder(ParameterInfo, PyroModule):
    r"""An autoencoder (plain, denoising, sparse or contractive) as a Pyro program.

    Parameters
    ----------
    n_visible, n_hidden : int
    tied : bool, default False
        Decoder weights W' = Wᵀ.
    activation : {"sigmoid", "relu"}, default "sigmoid"
    likelihood : {"bernoulli", "gaussian"}, default "bernoulli"
        P(x | h): Bernoulli (cross-entropy; data in [0, 1]) or Gaussian (squared error).
    sigma : float, optional
        Gaussian only: a fixed σ of every unit; ``None`` learns one σ_i per unit.
    noise : {None, "masking", "salt_pepper", "gaussian"}, default None
        The corruption C(x̃ | x) of a denoising autoencoder.
    noise_level : float, default 0
        p of masking and salt-and-pepper noise (in [0, 1)), σ of Gaussian noise.
    sparsity : float in (0, 1), optional
        The target mean activation ρ of every (sigmoid) hidden unit.
    sparsity_weight : float, default 0
        β of the sparsity penalty β Σ_j KL(ρ ‖ ρ̂_j).
    l1 : float, default 0
        λ₁ of the L1 activation penalty.
    contraction : float, default 0
        λ of the contraction penalty λ ‖∂h/∂x‖²_F.
    weight_std : float, optional
        Standard deviation of the initial weights; default 1/√n_visible.
    seed : int, optional

    Attributes
    ----------
    W : Parameter, shape (n_hidden, n_visible)
    b : Parameter, shape (n_hidden,)
    W_dec : Parameter, shape (n_visible, n_hidden), untied only
    c : Parameter, shape (n_visible,)
    log_sigma : Parameter or buffer, shape (n_visible,), Gaussian only
    graph : pgm.Graph
        Traced from :meth:`model`: (``noise`` → ``x_tilde`` →) ``h`` → ``v``.

    Examples
    --------
    >>> ae = Autoencoder(6, 3, noise="masking", noise_level=0.25, seed=0)
    >>> ae.graph.parents("v")
    {'h'}
    >>> ae.reconstruct(torch.ones(2, 6)).shape
    torch.Size([2, 6])
    """

    #: The training method :func:`inference.fit` uses when none is given.
    default_method = "reconstruction"
    visible_name = "v"

    def __init__(self, n_visible: int, n_hidden: int, *, tied: bool = False, activation: str = "sigmoid",
                 likelihood: str = "bernoulli", sigma: float | None = None, noise: str | None = None,
                 noise_level: float = 0.0, sparsity: float | None = None, sparsity_weight: float = 0.0,
                 l1: float = 0.0, contraction: float = 0.0, weight_std: float | None = None,
                 seed: int | None = None):
        super().__init__()
        where = "Autoencoder"
        n_visible = check_int(n_visible, "n_visible", 1, where)
        n_hidden = check_int(n_hidden, "n_hidden", 1, where)
        check_bool(tied, "tied", where)
        check_choice(activation, "activation", ACTIVATIONS, where)
        check_choice(likelihood, "likelihood", LIKELIHOODS, where)
        if sigma is not None:
            if likelihood != "gaussian":
                raise ValueError(f"{where}: sigma is the fixed σ of a Gaussian likelihood; likelihood is {likelihood!r}")
            sigma = _nonneg(sigma, "sigma")
            if sigma == 0:
                raise ValueError(f"{where}: sigma must be > 0, got 0")
        corruption = None if noise is None else Corruption.make(noise, noise_level, where)
        if noise is None and noise_level != 0:
            raise ValueError(f"{where}: noise_level={noise_level!r} needs a noise kind (masking, salt_pepper, gaussian)")
        if sparsity is not None:
            if not isinstance(sparsity, (int, float)) or isinstance(sparsity, bool) or not 0 < sparsity < 1:
                raise ValueError(f"{where}: sparsity (the target mean activation ρ) must lie in (0, 1), got {sparsity!r}")
            if activation != "sigmoid":
                raise ValueError(f"{where}: the sparsity penalty KL(ρ ‖ ρ̂) needs activations in (0, 1): use "
                                 f"activation='sigmoid', or the l1 penalty for {activation} units")
            sparsity = float(sparsity)
        sparsity_weight = _nonneg(sparsity_weight, "sparsity_weight")
        if sparsity_weight > 0 and sparsity is None:
            raise ValueError(f"{where}: sparsity_weight={sparsity_weight} needs a target: sparsity=ρ in (0, 1)")
        l1, contraction = _nonneg(l1, "l1"), _nonneg(contraction, "contraction")
        std = 1 / math.sqrt(n_visible) if weight_std is None else weight_std
        std, seed = check_init(where, std, seed)
        check_memory(where, n_hidden * n_visible * (1 if tied else 2) + n_hidden + 2 * n_visible)
        self.n_visible, self.n_hidden, self.tied, self.activation = n_visible, n_hidden, tied, activation
        self.likelihood, self.sigma, self.corruption = likelihood, sigma, corruption
        self.sparsity, self.sparsity_weight, self.l1, self.contraction = sparsity, sparsity_weight, l1, contraction
        self.weight_std, self.seed = weight_std, seed
        self.visible_kind = likelihood
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        self.W = nn.Parameter(torch.randn(n_hidden, n_visible, generator=gen) * std)
        self.b = nn.Parameter(torch.zeros(n_hidden))
        if not tied:
            self.W_dec = nn.Parameter(torch.randn(n_visible, n_hidden, generator=gen) * std)
        self.c = nn.Parameter(torch.zeros(n_visible))
        if likelihood == "gaussian":
            log_sigma = torch.full((n_visible,), 0.0 if sigma is None else math.log(sigma))
            if sigma is None:
                self.log_sigma = nn.Parameter(log_sigma)
            else:
                self.register_buffer("log_sigma", log_sigma)
        with torch.no_grad(), pyro.validation_enabled(False), contextlib.ExitStack():
            self.graph = pgm.from_pyro(self.model, torch.zeros(1, n_visible))

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "n_hidden": self.n_hidden, "tied": self.tied,
                "activation": self.activation, "likelihood": self.likelihood, "sigma": self.sigma,
                "noise": None if self.corruption is None else self.corruption.kind,
                "noise_level": 0.0 if self.corruption is None else self.corruption.level,
                "sparsity": self.sparsity, "sparsity_weight": self.sparsity_weight, "l1": self.l1,
                "contraction": self.contraction, "weight_std": self.weight_std, "seed": self.seed}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    # -- the maps --------------------------------------------------------------------------
    @property
    def decoder_weight(self) -> torch.Tensor:
        """W', shape (n_visible, n_hidden)."""
        return self.W.t() if self.tied else self.W_dec

    def check_data(self, x, name: str = "x") -> torch.Tensor:
        """``x`` checked (``(batch, n_visible)``, finite; in [0, 1] for a Bernoulli
        likelihood) and moved to the model's dtype and device."""
        return check_units(x, name, self.n_visible, unit_interval=self.likelihood == "bernoulli",
                           dtype=self.dtype, device=self.device)

    def pre_activation(self, x: torch.Tensor) -> torch.Tensor:
        """a = W x + b, shape (batch, n_hidden)."""
        return F.linear(x, self.W, self.b)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """h = f(W x + b), shape (batch, n_hidden) (no corruption)."""
        a = self.pre_activation(x)
        return torch.sigmoid(a) if self.activation == "sigmoid" else F.relu(a)

    def decoder_output(self, h: torch.Tensor) -> torch.Tensor:
        """W' h + c: the Bernoulli logits or the Gaussian means, shape (batch, n_visible)."""
        return F.linear(h, self.decoder_weight, self.c)

    def reconstruction_distribution(self, h: torch.Tensor):
        """P(x | h) as a Pyro distribution over each unit (batch shape (batch, n_visible)).

        The Bernoulli's log-probability is taken at grey levels in [0, 1] too (its
        support is not enforced): x log p + (1 − x) log(1 − p), the cross-entropy loss,
        which is a normalised probability only for binary x."""
        out = self.decoder_output(h)
        if self.likelihood == "bernoulli":
            return dist.Bernoulli(logits=out, validate_args=False)
        return dist.Normal(out, self.log_sigma.exp())

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """E[x | h], shape (batch, n_visible)."""
        out = self.decoder_output(h)
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """r(x) = E[x | h = f(W x + b)] of clean inputs, shape (batch, n_visible)."""
        with torch.no_grad():
            return self.decode(self.encode(self.check_data(x)))

    def log_prob(self, x: torch.Tensor, h: torch.Tensor, fixed_sigma: bool = False) -> torch.Tensor:
        """log P(x | h) per example, shape (batch,): the negative reconstruction loss
        (``fixed_sigma``: no gradient reaches a learned σ)."""
        out = self.decoder_output(h)
        if self.likelihood == "bernoulli":
            return -F.binary_cross_entropy_with_logits(out, x, reduction="none").sum(-1)
        log_sigma = self.log_sigma.detach() if fixed_sigma else self.log_sigma
        z = (x - out) / log_sigma.exp()
        return -(0.5 * z.square() + log_sigma + 0.5 * _LOG_2PI).sum(-1)

    # -- the penalties ---------------------------------------------------------------------
    def contraction_norm(self, x: torch.Tensor) -> torch.Tensor:
        r"""‖∂h/∂x‖²_F per example, shape (batch,), in closed form:
        Σ_j f'(a_j)² Σ_i W_ji² with f'(a) = h(1 − h) (sigmoid) or 1[a > 0] (ReLU)."""
        a = self.pre_activation(x)
        if self.activation == "sigmoid":
            h = torch.sigmoid(a)
            slope = h * (1 - h)
        else:
            slope = (a > 0).to(a.dtype)
        return slope.square() @ self.W.square().sum(1)

    def sparsity_penalty(self, rho_hat: torch.Tensor) -> torch.Tensor:
        r"""Σ_j KL(ρ ‖ ρ̂_j) = Σ_j ρ log(ρ / ρ̂_j) + (1 − ρ) log((1 − ρ) / (1 − ρ̂_j)), a scalar."""
        rho = self.sparsity
        rho_hat = rho_hat.clamp(1e-7, 1 - 1e-7)
        return (rho * (math.log(rho) - rho_hat.log()) + (1 - rho) * (math.log(1 - rho) - torch.log1p(-rho_hat))).sum()

    def penalty(self, x: torch.Tensor, h: torch.Tensor, rho_hat: torch.Tensor | None = None) -> torch.Tensor:
        """Ω for the batch, a scalar: β Σ_j KL(ρ ‖ ρ̂_j) (``rho_hat``: the mean activations to
        use, default the batch's), plus the batch means of ``λ₁ Σ_j |h_j|`` and λ ‖∂h/∂x‖²_F."""
        total = h.new_zeros(())
        if self.sparsity_weight > 0:
            total = total + self.sparsity_weight * self.sparsity_penalty(h.mean(0) if rho_hat is None else rho_hat)
        if self.l1 > 0:
            total = total + self.l1 * h.abs().sum(-1).mean()
        if self.contraction > 0:
            total = total + self.contraction * self.contraction_norm(x).mean()
        return total

    # -- the program -----------------------------------------------------------------------
    def model(self, x: torch.Tensor) -> None:
        """x̃ ~ C(· | x) (denoising only), h = f(W x̃ + b), ``v`` ~ P(· | h) observed as ``x``."""
        with pyro.plate("data", x.shape[0]):
            x_in = x if self.corruption is None or self.corruption.level == 0 else self.corruption.pyro_sample(x)
            h = pyro.deterministic("h", self.encode(x_in), event_dim=1)
            pyro.sample("v", self.reconstruction_distribution(h).to_event(1), obs=x)
