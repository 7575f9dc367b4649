r"""The generative moment matching network (Li, Swersky & Zemel 2015): a generator trained
to minimise the maximum mean discrepancy to the data, in data space or in the code space
of an autoencoder (GMMN+AE)."""

from __future__ import annotations

import math

import torch
from torch import nn

from pgm.checks import check_choice, check_float, check_hidden, check_int, check_memory, check_seed

from .generator import OUTPUTS, GeneratorProgram, evaluation_mode, seeded

__all__ = ["GMMN", "GMMNAutoencoder", "DATA_BANDWIDTHS", "CODE_BANDWIDTHS"]

#: The paper's kernel bank on MNIST pixels (σ of exp(−‖a − b‖² / (2σ²)), pixels in [0, 1]).
DATA_BANDWIDTHS = (2.0, 5.0, 10.0, 20.0, 40.0, 80.0)
#: The bank its authors' code uses in an autoencoder's code space on TFD (on MNIST codes a
#: single σ = 1).
CODE_BANDWIDTHS = (1.0, 2.0, 5.0, 10.0, 20.0, 40.0)


class _MLP(nn.Module):
    def __init__(self, sizes, output):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.output = output

    def forward(self, z, y=None):
        h = z
        for layer in self.layers[:-1]:
            h = torch.relu(layer(h))
        h = self.layers[-1](h)
        return torch.sigmoid(h) if self.output == "sigmoid" else h


class GMMN(GeneratorProgram, nn.Module):
    r"""A generative moment matching network (Li, Swersky & Zemel 2015) as a Pyro program.

    .. math::

        z \sim \mathcal{N}(0, I), \qquad v = g(z), \qquad
        \min_g \mathrm{MMD}^2\big(p_\text{data}, p_g\big), \quad
        k(a, b) = \sum_s \exp\!\big(-\lVert a - b\rVert^2 / (2 s^2)\big),

    g an MLP with ReLU hidden layers and a sigmoid (data in [0, 1]) or linear output;
    trained by :func:`inference.adversarial.mmd.fit_gmmn`. A generator only: there is no
    discriminator. The paper draws z uniformly in [−1, 1]; here z ~ N(0, I), the prior
    every generator of this package shares.

    Parameters
    ----------
    n_visible : int
    n_latent : int, default 10
    hidden : sequence of int, default (64, 256, 256)
        Hidden layers from z up (the paper's MNIST net is 10-64-256-256-1024-784).
    bandwidths : sequence of float, default :data:`DATA_BANDWIDTHS` (2, 5, 10, 20, 40, 80)
        The kernel's s, σ-parametrised as in the paper (s is a length in data units). Use
        :data:`CODE_BANDWIDTHS` or a single small σ in an autoencoder's code space, and
        scales near the spread of the data on low-dimensional toys.
    output : {"sigmoid", "linear"}, default "sigmoid"
    seed : int, optional
        Seed of the initialisation (PyTorch's default ``nn.Linear`` scheme).

    Attributes
    ----------
    generator : nn.Module
        ``generator(z)`` → (n, n_visible).

    Examples
    --------
    >>> g = GMMN(2, n_latent=4, hidden=(16,), bandwidths=(0.5, 1.0), output="linear", seed=0)
    >>> g.sample(5, torch.Generator().manual_seed(0)).shape
    torch.Size([5, 2])
    """

    n_classes = 0

    def __init__(self, n_visible: int, n_latent: int = 10, hidden=(64, 256, 256), bandwidths=DATA_BANDWIDTHS,
                 output: str = "sigmoid", *, seed: int | None = None):
        super().__init__()
        where = "GMMN"
        n_visible = check_int(n_visible, "n_visible", 1, where)
        n_latent = check_int(n_latent, "n_latent", 1, where)
        hidden = tuple(check_hidden(hidden, where, empty=True))
        self.bandwidths = check_bandwidths(bandwidths, where)
        check_choice(output, "output", OUTPUTS, where)
        seed = check_seed(seed, where)
        sizes = (n_latent, *hidden, n_visible)
        check_memory(where, sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])))
        self.n_visible, self.n_latent, self.hidden, self.output, self.seed = n_visible, n_latent, hidden, output, seed
        self.visible_kind = "bernoulli" if output == "sigmoid" else "gaussian"
        with seeded(seed):
            self.generator = _MLP(sizes, output)

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "n_latent": self.n_latent, "hidden": list(self.hidden),
                "bandwidths": list(self.bandwidths), "output": self.output, "seed": self.seed}


def check_bandwidths(bandwidths, where: str) -> tuple:
    """A non-empty sequence (or one number) of finite bandwidths > 0, as a tuple of floats."""
    seq = bandwidths if isinstance(bandwidths, (list, tuple)) else [bandwidths]
    if not seq:
        raise ValueError(f"{where}: bandwidths must hold at least one bandwidth, got {bandwidths!r}")
    name = "bandwidths[{}]" if isinstance(bandwidths, (list, tuple)) else "bandwidths{}"
    return tuple(check_float(s, name.format(i if isinstance(bandwidths, (list, tuple)) else ""), 0.0, math.inf,
                             low_open=True, high_open=True, where=where) for i, s in enumerate(seq))


class GMMNAutoencoder(nn.Module):
    r"""GMMN+AE (Li et al. 2015, §3.3): a GMMN over the codes h of a trained autoencoder,
    sampled by decoding, x = E[x | h = g(z)].

    Train the autoencoder first (``inference.fit(autoencoder, data)``), then the GMMN on
    its codes (:func:`inference.adversarial.mmd.fit_gmmn_codes`); the autoencoder is not
    changed by either. A sigmoid code (the autoencoder's default) lies in [0, 1]^H, so a
    sigmoid GMMN output matches it.

    Parameters
    ----------
    autoencoder : models.Autoencoder
        Anything with ``encode(x)`` → (n, H), ``decode(h)`` → (n, n_visible),
        ``check_data`` and ``n_visible``.
    gmmn : GMMN
        With ``n_visible`` = H, the code width.
    """

    def __init__(self, autoencoder, gmmn: GMMN):
        super().__init__()
        for attr in ("encode", "decode", "check_data", "n_visible"):
            if not hasattr(autoencoder, attr):
                raise TypeError(f"GMMNAutoencoder: autoencoder must be an autoencoder with encode and decode (such "
                                f"as models.Autoencoder), got {type(autoencoder).__name__} without {attr}")
        if not isinstance(gmmn, GMMN):
            raise TypeError(f"GMMNAutoencoder: gmmn must be a GMMN, got {type(gmmn).__name__}")
        with torch.no_grad():
            width = autoencoder.encode(torch.zeros(1, autoencoder.n_visible)).shape[-1]
        if gmmn.n_visible != width:
            raise ValueError(f"GMMNAutoencoder: gmmn.n_visible must equal the code width {width} of the autoencoder, "
                             f"got {gmmn.n_visible}")
        self.autoencoder, self.gmmn = autoencoder, gmmn
        self.n_visible, self.n_latent, self.n_code = autoencoder.n_visible, gmmn.n_latent, width

    def check_data(self, x, name: str = "x") -> torch.Tensor:
        return self.autoencoder.check_data(x, name)

    @torch.no_grad()
    def codes(self, x) -> torch.Tensor:
        """h = encode(x), (n, n_code), in eval mode."""
        x = self.check_data(x, "data")
        with evaluation_mode(self.autoencoder):
            return self.autoencoder.encode(x)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, z=None) -> torch.Tensor:
        """``n`` draws decode(g(z)), shape (n, n_visible)."""
        h = self.gmmn.sample(n, generator, z=z)
        with evaluation_mode(self.autoencoder):
            return self.autoencoder.decode(h)
