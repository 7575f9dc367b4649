r"""The generative adversarial network (Goodfellow et al. 2014) and its conditional form
(Mirza & Osindero 2014): an MLP generator x = G(z[, y]) and an MLP discriminator D(x[, y])."""

from __future__ import annotations

import contextlib
from functools import partial

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F
from pyro.nn import PyroModule
from torch import nn

import pgm
from pgm.checks import check_choice, check_float, check_int, check_memory, check_seed, check_units, validation_disabled

from ..parameters import ParameterInfo

__all__ = ["GAN", "OUTPUTS", "OBSERVATIONS"]

#: Output layers of the generator: data in [0, 1] or real data.
OUTPUTS = ("sigmoid", "linear")
#: Observation models of the visible site ``"v"`` of :meth:`GAN.model`.
OBSERVATIONS = ("delta", "gaussian", "bernoulli")


def _mlp(sizes, activation):
    layers = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(a, b), activation()]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


class _Generator(nn.Module):
    """z (n, n_latent) [and a one-hot y (n, n_classes)] → x (n, n_visible)."""

    def __init__(self, n_latent, hidden, n_visible, n_classes, output):
        super().__init__()
        self.net = _mlp([n_latent + n_classes, *hidden, n_visible], nn.ReLU)
        self.output = output

    def forward(self, z, y=None):
        out = self.net(z if y is None else torch.cat([z, y], -1))
        return torch.sigmoid(out) if self.output == "sigmoid" else out


class _Discriminator(nn.Module):
    """x (n, n_visible) [and a one-hot y (n, n_classes)] → one logit per row, shape (n,)."""

    def __init__(self, n_visible, hidden, n_classes):
        super().__init__()
        self.net = _mlp([n_visible + n_classes, *hidden, 1], partial(nn.LeakyReLU, 0.2))

    def forward(self, x, y=None):
        return self.net(x if y is None else torch.cat([x, y], -1)).squeeze(-1)


class GAN(ParameterInfo, PyroModule):
    r"""A generative adversarial network, optionally conditioned on a class label.

    The generator is a Pyro program: a latent z ~ N(0, I) and, for a conditional GAN, a
    label y ~ Categorical(1/K), mapped to x̂ = G(z, y) by an MLP (ReLU hidden layers; a
    sigmoid output for data in [0, 1], a linear one for real data). The discriminator
    D(x, y) = σ(f(x, y)) is an MLP (LeakyReLU(0.2) hidden layers) returning the logit f.
    The two play the game

    .. math::

        \min_G \max_D \; V(D, G) = \mathbb{E}_{x \sim p_\text{data}} \log D(x)
        + \mathbb{E}_{z \sim p(z)} \log\bigl(1 - D(G(z))\bigr)

    (trained by :func:`inference.adversarial.fit_gan`). A GAN defines no likelihood:
    the visible site ``"v"`` of :meth:`model` is the point mass at x̂ unless a Gaussian or
    Bernoulli observation is asked for, which is how decoder AIS
    (:meth:`decoder`) gives the GAN a likelihood at a chosen noise level σ.

    Parameters
    ----------
    n_visible : int
    n_latent : int, default 10
    hidden : sequence of int, default (128,)
        Hidden layer sizes of both MLPs (may be empty: an affine generator).
    n_classes : int, default 0
        Number of labels of a conditional GAN; 0: unconditional. The one-hot label is
        concatenated to the input of both networks.
    output : {"sigmoid", "linear"}, default "sigmoid"
    seed : int, optional
        Seed of the initialisation (PyTorch's default ``nn.Linear`` scheme).

    Attributes
    ----------
    generator : nn.Module
        ``generator(z[, y_onehot])`` → x̂, shape (n, n_visible).
    discriminator : nn.Module
        ``discriminator(x[, y_onehot])`` → logits, shape (n,).
    visible_kind : str
        ``"bernoulli"`` (sigmoid output: data in [0, 1]) or ``"gaussian"`` (linear output).
    graph : pgm.Graph
        ``z`` (and ``y``) → ``v``, traced from :meth:`model`.

    Examples
    --------
    >>> gan = GAN(6, n_latent=2, hidden=(8,), seed=0)
    >>> gan.graph.parents("v")
    {'z'}
    >>> gan.sample(3, torch.Generator().manual_seed(0)).shape
    torch.Size([3, 6])
    """

    visible_name = "v"

    def __init__(self, n_visible: int, n_latent: int = 10, hidden=(128,), n_classes: int = 0,
                 output: str = "sigmoid", *, seed: int | None = None):
        super().__init__()
        n_visible = check_int(n_visible, "n_visible", where="GAN")
        n_latent = check_int(n_latent, "n_latent", where="GAN")
        if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
            raise TypeError(f"GAN: hidden must be a sequence of layer sizes, e.g. (128,), got "
                            f"{type(hidden).__name__} {hidden!r}")
        hidden = [check_int(h, f"hidden[{i}]", 1, "GAN") for i, h in enumerate(hidden)]
        n_classes = check_int(n_classes, "n_classes", 0, "GAN")
        if n_classes == 1:
            raise ValueError("GAN: n_classes must be 0 (unconditional) or at least 2, got 1")
        check_choice(output, "output", OUTPUTS, "GAN")
        seed = check_seed(seed, "GAN")
        sizes_g = [n_latent + n_classes, *hidden, n_visible]
        sizes_d = [n_visible + n_classes, *hidden, 1]
        check_memory("GAN", sum((a + 1) * b for s in (sizes_g, sizes_d) for a, b in zip(s, s[1:])))
        self.n_visible, self.n_latent, self.hidden, self.n_classes = n_visible, n_latent, hidden, n_classes
        self.output, self.seed = output, seed
        self.visible_kind = "bernoulli" if output == "sigmoid" else "gaussian"
        with torch.random.fork_rng() if seed is not None else contextlib.nullcontext():
            if seed is not None:
                torch.manual_seed(seed)
            self.generator = _Generator(n_latent, hidden, n_visible, n_classes, output)
            self.discriminator = _Discriminator(n_visible, hidden, n_classes)
        self._graph = None

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "n_latent": self.n_latent, "hidden": list(self.hidden),
                "n_classes": self.n_classes, "output": self.output, "seed": self.seed}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def latent_names(self) -> list[str]:
        return ["z"]

    @property
    def graph(self) -> pgm.Graph:
        """``z`` (and the observed label ``y``) → ``v`` (observed), traced from :meth:`model`
        with the observation of the model's visible kind, so that ``v`` is a ``bernoulli``
        or ``gaussian`` group."""
        if self._graph is None:
            with torch.no_grad(), validation_disabled():
                x = torch.zeros(1, self.n_visible, dtype=self.dtype, device=self.device)
                y = torch.zeros(1, dtype=torch.long, device=self.device) if self.n_classes else None
                self._graph = pgm.from_pyro(self.model, x, 1, y, self.visible_kind, 1.0)
        return self._graph

    # -- checks ---------------------------------------------------------------------------------
    def check_data(self, x, name: str = "x") -> torch.Tensor:
        """``x`` checked (a float tensor ``(batch, n_visible)``; values in [0, 1] for a
        sigmoid output, finite for a linear one) and moved to the model's dtype and device."""
        return check_units(x, name, self.n_visible, unit_interval=self.output == "sigmoid", dtype=self.dtype,
                           device=self.device)

    def check_labels(self, y, n: int | None = None, name: str = "y", where: str = "GAN") -> torch.Tensor:
        """Labels ``y``: an integer tensor (n,) of classes in 0..n_classes − 1 (on the
        model's device); refused for an unconditional GAN."""
        if self.n_classes == 0:
            raise ValueError(f"{where}: {name} is only for a conditional GAN (n_classes > 0); this GAN has "
                             f"n_classes=0, so pass {name}=None")
        if not isinstance(y, torch.Tensor) or y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise TypeError(f"{where}: {name} must be an integer tensor of class labels, shape (n,), got "
                            f"{getattr(y, 'dtype', type(y).__name__)}; convert with torch.as_tensor({name}).long()")
        if y.dim() != 1 or (n is not None and y.shape[0] != n):
            want = "n" if n is None else n
            raise ValueError(f"{where}: {name} must have shape ({want},), one label per row, got {tuple(y.shape)}")
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= self.n_classes):
            raise ValueError(f"{where}: {name} must hold classes in 0..{self.n_classes - 1}, got values in "
                             f"{int(y.min())}..{int(y.max())}")
        return y.to(device=self.device, dtype=torch.long)

    def one_hot(self, y: torch.Tensor | None) -> torch.Tensor | None:
        """The one-hot code (n, n_classes) of checked labels, in the model's dtype (None → None)."""
        return None if y is None else F.one_hot(y, self.n_classes).to(self.dtype)

    def _default_labels(self, n: int) -> torch.Tensor | None:
        return torch.arange(n, device=self.device) % self.n_classes if self.n_classes else None

    def _check_sigma(self, sigma, where):
        return check_float(sigma, "sigma", 0.0, low_open=True, where=where)

    # -- the generator as a Pyro program ---------------------------------------------------------
    def model(self, x: torch.Tensor | None = None, n: int = 1, y: torch.Tensor | None = None,
              observation: str = "delta", sigma: float | None = None):
        r"""p(z) [p(y)] p(v | x̂ = G(z[, y])): ``z`` ~ N(0, I) (``to_event(1)``), for a
        conditional GAN ``y`` ~ Categorical(1/K) (observed when given), and the visible
        site ``"v"`` (observed as ``x`` when given, else ``n`` rows are drawn):

        * ``"delta"``: the point mass at x̂ (the GAN itself; training);
        * ``"gaussian"``: N(x̂, σ² I) (``sigma`` required; decoder AIS);
        * ``"bernoulli"``: Bernoulli(x̂) (sigmoid output only).

        Returns the value of ``"v"``, shape (n, n_visible).
        """
        check_choice(observation, "observation", OBSERVATIONS, "GAN.model")
        if observation == "gaussian":
            sigma = self._check_sigma(sigma, "GAN.model")
        if observation == "bernoulli" and self.output != "sigmoid":
            raise ValueError("GAN.model: observation='bernoulli' needs output='sigmoid' (x̂ in [0, 1]); use "
                             "'gaussian' for a linear output")
        if x is not None:
            x = self.check_data(x)
            n = x.shape[0]
        else:
            n = check_int(n, "n", 1, "GAN.model")
        if y is not None:
            y = self.check_labels(y, n, where="GAN.model")
        with pyro.plate("data", n):
            z = pyro.sample("z", dist.Normal(torch.zeros(n, self.n_latent, dtype=self.dtype, device=self.device),
                                             1.0).to_event(1))
            if self.n_classes:
                logits = torch.zeros(n, self.n_classes, dtype=self.dtype, device=self.device)
                y = pyro.sample("y", dist.Categorical(logits=logits), obs=y).long()
            mean = self.generator(z, self.one_hot(y))
            if observation == "delta":
                fn = dist.Delta(mean, event_dim=1)
            elif observation == "gaussian":
                fn = dist.Normal(mean, sigma).to_event(1)
            else:
                fn = dist.Bernoulli(probs=mean.clamp(0.0, 1.0)).to_event(1)
            return pyro.sample("v", fn, obs=x)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, y=None, z=None) -> torch.Tensor:
        """``n`` draws G(z[, y]) with z ~ N(0, I) from ``generator`` (or the given ``z``, shape
        (n, n_latent)); labels ``y`` (ints, shape (n,)) of a conditional GAN default to the
        classes in turn, 0, 1, …, K − 1, 0, …; returns (n, n_visible)."""
        n = check_int(n, "n", 0, where="GAN.sample")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"GAN.sample: generator must be a torch.Generator or None, got {type(generator).__name__}")
        y = self._default_labels(n) if y is None else self.check_labels(y, n, where="GAN.sample")
        if z is None:
            z = torch.randn(n, self.n_latent, generator=generator, dtype=self.dtype, device=self.device)
        else:
            z = self._check_latent(z, n, "GAN.sample")
        return self.generator(z, self.one_hot(y))

    def _check_latent(self, z, n, where):
        if not isinstance(z, torch.Tensor) or not z.is_floating_point():
            raise TypeError(f"{where}: z must be a floating tensor of shape (n, {self.n_latent}), got "
                            f"{getattr(z, 'dtype', type(z).__name__)}")
        if z.dim() != 2 or z.shape[1] != self.n_latent or (n is not None and z.shape[0] != n):
            raise ValueError(f"{where}: z must have shape ({'n' if n is None else n}, {self.n_latent}), got "
                             f"{tuple(z.shape)}")
        if not bool(torch.isfinite(z).all()):
            raise ValueError(f"{where}: z contains NaN or infinite values")
        return z.to(dtype=self.dtype, device=self.device)

    # -- a likelihood at noise level sigma, for decoder AIS --------------------------------------
    def decoder_log_prob(self, z: torch.Tensor, x: torch.Tensor, sigma: float, y=None) -> torch.Tensor:
        r"""log N(x; G(z[, y]), σ² I) of aligned rows, summed over dimensions, shape (N,),
        differentiable in z (N, n_latent). Labels ``y`` of a conditional GAN: shape (N,), or
        (n,) with N a multiple of n, each label then repeated N / n times in a row (how
        decoder AIS repeats the rows of x for its chains)."""
        if y is not None:
            y = self.check_labels(y, None, where="GAN.decoder_log_prob")
            if z.shape[0] % max(y.shape[0], 1):
                raise ValueError(f"GAN.decoder_log_prob: z has {z.shape[0]} rows, not a multiple of the "
                                 f"{y.shape[0]} labels y")
            y = y.repeat_interleave(z.shape[0] // y.shape[0])
        elif self.n_classes:
            raise ValueError("GAN.decoder_log_prob: a conditional GAN needs the labels y of the rows of x")
        mean = self.generator(z, self.one_hot(y))
        return dist.Normal(mean, sigma).log_prob(x).sum(-1)

    def decoder(self, sigma: float, y=None):
        """``(log_lik, n_latent)`` for :func:`inference.evaluation.decoder_ais.decoder_ais`:
        ``log_lik(z, x)`` = :meth:`decoder_log_prob` with σ = ``sigma`` (and the labels ``y``
        of the rows of x, for a conditional GAN) bound in."""
        sigma = self._check_sigma(sigma, "GAN.decoder")
        if y is not None:
            y = self.check_labels(y, None, where="GAN.decoder")
        elif self.n_classes:
            raise ValueError("GAN.decoder: a conditional GAN needs the labels y of the rows of x")
        return partial(self.decoder_log_prob, sigma=sigma, y=y), self.n_latent
