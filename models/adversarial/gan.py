r"""The generative adversarial network (Goodfellow et al. 2014) and its conditional form
(Mirza & Osindero 2014): an MLP generator x = G(z[, y]) and an MLP discriminator D(x[, y])."""

from __future__ import annotations

from functools import partial

import torch
from pyro.nn import PyroModule
from torch import nn

from pgm.checks import check_choice, check_hidden, check_int, check_memory, check_seed

from .generator import OBSERVATIONS, OUTPUTS, GeneratorProgram, seeded

__all__ = ["GAN", "OUTPUTS", "OBSERVATIONS"]



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


class GAN(GeneratorProgram, PyroModule):
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

    The program, labels, samples and decoder are those of every generator of this package
    (:class:`~models.adversarial.generator.GeneratorProgram`): :meth:`sample` without
    labels gives a conditional GAN's rows the classes in turn, 0, 1, …, K − 1, 0, …;
    :meth:`decoder` of a conditional GAN takes the labels of the rows of x; the generator
    is evaluated in eval mode (no effect on these MLPs, which have no batch normalisation).

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

    Examples
    --------
    >>> gan = GAN(6, n_latent=2, hidden=(8,), seed=0)
    >>> gan.graph.parents("v")
    {'z'}
    >>> gan.sample(3, torch.Generator().manual_seed(0)).shape
    torch.Size([3, 6])
    """

    def __init__(self, n_visible: int, n_latent: int = 10, hidden=(128,), n_classes: int = 0,
                 output: str = "sigmoid", *, seed: int | None = None):
        super().__init__()
        n_visible = check_int(n_visible, "n_visible", where="GAN")
        n_latent = check_int(n_latent, "n_latent", where="GAN")
        hidden = check_hidden(hidden, "GAN", one_int=False, empty=True)
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
        with seeded(seed):
            self.generator = _Generator(n_latent, hidden, n_visible, n_classes, output)
            self.discriminator = _Discriminator(n_visible, hidden, n_classes)

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "n_latent": self.n_latent, "hidden": list(self.hidden),
                "n_classes": self.n_classes, "output": self.output, "seed": self.seed}
