r"""The variational autoencoder: Gaussian latent, MLP decoder and encoder."""

from __future__ import annotations

import contextlib

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F
from torch import nn

from pgm.checks import check_int, check_memory, check_seed
from .base import DirectedModel

__all__ = ["VAE", "LIKELIHOODS"]

#: Visible likelihoods of :class:`VAE`.
LIKELIHOODS = ("bernoulli", "gaussian")


class _Decoder(nn.Module):
    def __init__(self, n_latent, n_hidden, n_visible, gaussian):
        super().__init__()
        self.hidden = nn.Linear(n_latent, n_hidden)
        self.out = nn.Linear(n_hidden, n_visible)
        if gaussian:
            self.log_scale = nn.Parameter(torch.zeros(n_visible))

    def forward(self, z):
        return self.out(F.softplus(self.hidden(z)))


class _Encoder(nn.Module):
    def __init__(self, n_visible, n_hidden, n_latent):
        super().__init__()
        self.hidden = nn.Linear(n_visible, n_hidden)
        self.loc = nn.Linear(n_hidden, n_latent)
        self.scale = nn.Linear(n_hidden, n_latent)

    def forward(self, x):
        h = F.softplus(self.hidden(x))
        return self.loc(h), F.softplus(self.scale(h)) + 1e-5


class VAE(DirectedModel):
    r"""A variational autoencoder (Kingma & Welling 2014) as a Pyro program.

    .. math::

        p(z) = \mathcal{N}(0, I), \qquad
        p(x \mid z) = \prod_i \mathrm{Bernoulli}(x_i; \sigma(f(z)_i))
        \ \text{or}\ \prod_i \mathcal{N}(x_i; f(z)_i, \sigma_i^2), \qquad
        q(z \mid x) = \mathcal{N}(\mu(x), \operatorname{diag} s(x)^2),

    with f(z) = W_2 softplus(W_1 z + b_1) + b_2 and μ, s = softplus(·) + 10⁻⁵ read off
    one softplus hidden layer of the encoder. Trained by the ELBO (``Trace_ELBO``) or
    the K-sample importance-weighted bound (IWAE, Burda et al. 2016).

    Parameters
    ----------
    n_visible, n_hidden, n_latent : int
        Sizes of the data, of the hidden layer of both MLPs, and of z.
    likelihood : {"bernoulli", "gaussian"}, default "bernoulli"
        p(x | z): Bernoulli for binary data, Gaussian with a learned per-unit scale σ_i
        (``decoder.log_scale``) for real data.
    seed : int, optional
        Seed of the initialisation (PyTorch's default ``nn.Linear`` scheme).

    Attributes
    ----------
    encoder, decoder : nn.Module
    graph : pgm.Graph
        ``z`` (latent, gaussian) → ``v`` (observed).

    Examples
    --------
    >>> vae = VAE(6, 8, 2, seed=0)
    >>> vae.graph.parents("v")
    {'z'}
    >>> vae.sample(3, torch.Generator().manual_seed(0)).shape
    torch.Size([3, 6])
    """

    #: The training method :func:`inference.fit` uses when none is given.
    default_method = "elbo"

    def __init__(self, n_visible: int, n_hidden: int, n_latent: int, likelihood: str = "bernoulli", *,
                 seed: int | None = None):
        super().__init__()
        n_visible = check_int(n_visible, "n_visible", where="VAE")
        n_hidden = check_int(n_hidden, "n_hidden", where="VAE")
        n_latent = check_int(n_latent, "n_latent", where="VAE")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"VAE: likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        seed = check_seed(seed, "VAE")
        check_memory("VAE", 2 * n_hidden * (n_visible + n_latent) + 2 * n_hidden * n_latent)
        self.n_visible, self.n_hidden, self.n_latent = n_visible, n_hidden, n_latent
        self.likelihood, self.seed = likelihood, seed
        self.visible_kind = likelihood
        with torch.random.fork_rng() if seed is not None else contextlib.nullcontext():
            if seed is not None:
                torch.manual_seed(seed)
            self.encoder = _Encoder(n_visible, n_hidden, n_latent)
            self.decoder = _Decoder(n_latent, n_hidden, n_visible, likelihood == "gaussian")
        self.graph = self._trace_graph(n_visible)

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "n_hidden": self.n_hidden, "n_latent": self.n_latent,
                "likelihood": self.likelihood, "seed": self.seed}

    @property
    def latent_names(self) -> list[str]:
        return ["z"]

    def _visible(self, z: torch.Tensor):
        out = self.decoder(z)
        if self.likelihood == "bernoulli":
            return dist.Bernoulli(logits=out)
        return dist.Normal(out, self.decoder.log_scale.exp())

    def model(self, x: torch.Tensor) -> None:
        """p(z) p(x | z) with ``v`` observed as ``x`` (batch, n_visible)."""
        x = self.check_data(x)
        with pyro.plate("data", x.shape[0]):
            zero = x.new_zeros(x.shape[0], self.n_latent)
            z = pyro.sample("z", dist.Normal(zero, 1.0).to_event(1))
            pyro.sample("v", self._visible(z).to_event(1), obs=x)

    def guide(self, x: torch.Tensor) -> None:
        """q(z | x) = N(μ(x), diag s(x)²)."""
        x = self.check_data(x)
        with pyro.plate("data", x.shape[0]):
            loc, scale = self.encoder(x)
            pyro.sample("z", dist.Normal(loc, scale).to_event(1))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ(x), s(x)), each (batch, n_latent)."""
        return self.encoder(self.check_data(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """E[x | z]: σ(f(z)) (Bernoulli) or f(z) (Gaussian), shape (batch, n_visible)."""
        out = self.decoder(z)
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out

    def decoder_log_prob(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x | z) of aligned rows, shape (N,), differentiable in z (N, n_latent): what
        decoder AIS anneals with (:func:`inference.evaluation.decoder_ais.decoder_ais`)."""
        return self._visible(z).log_prob(x).sum(-1)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        r"""The decoder's mean at the encoder's mean, r(x) = E[x | z = μ(x)], shape (n, n_visible)."""
        x = self.check_data(x, "x")
        return self.decode(self.encode(x)[0])

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, mean: bool = False):
        """``n`` draws of x: z ~ N(0, I), then x ~ p(x | z) (or E[x | z] with ``mean=True``)."""
        n = check_int(n, "n", 0, where="VAE.sample")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"VAE.sample: generator must be a torch.Generator or None, got {type(generator).__name__}")
        z = torch.randn(n, self.n_latent, generator=generator, dtype=self.dtype, device=self.device)
        m = self.decode(z)
        if mean:
            return m
        if self.likelihood == "bernoulli":
            return torch.bernoulli(m, generator=generator)
        noise = torch.randn(m.shape, generator=generator, dtype=m.dtype, device=m.device)
        return m + self.decoder.log_scale.exp() * noise

