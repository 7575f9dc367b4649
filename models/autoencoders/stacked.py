r"""Stacked autoencoders: a deep autoencoder made of one autoencoder per layer.

Layer l encodes h_{l−1} (h_0 = x) into h_l = f(W_l h_{l−1} + b_l) and decodes it back with
its own decoder; the deep autoencoder encodes bottom-up through every layer and decodes
top-down through the decoders' means, r = g_1(… g_L(h_L)), scored by the bottom layer's
P(x | ·). Trained greedily (each layer an :class:`~models.autoencoders.Autoencoder` on the
codes of the one below, any variant) and then fine-tuned end to end
(:func:`inference.autoencoders.fit_stacked`), or its encoder stack with a softmax layer on
labels (:func:`inference.autoencoders.stacked_classifier`).
"""

from __future__ import annotations

import pyro
import torch
from pyro.nn import PyroModule
from torch import nn

import pgm
from pgm.checks import check_sizes

from ..parameters import ParameterInfo
from .autoencoder import Autoencoder

__all__ = ["StackedAutoencoder"]


class StackedAutoencoder(ParameterInfo, PyroModule):
    """A deep autoencoder of ``len(sizes) - 1`` autoencoder layers.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes from the data up, ``[n_0, n_1, …, n_L]`` (L ≥ 1).
    likelihood : {"bernoulli", "gaussian"}, default "bernoulli"
        P(x | ·) of the bottom layer; upper layers reconstruct sigmoid codes in [0, 1]
        with a Bernoulli (cross-entropy) and ReLU codes with a Gaussian.
    seed : int, optional
        Layer l is initialised from ``seed + l - 1``.
    **layer_options
        The :class:`Autoencoder` options of every layer (``tied``, ``activation``,
        ``noise``, ``noise_level``, ``sparsity``, ``sparsity_weight``, ``l1``,
        ``contraction``, ``weight_std``).

    Attributes
    ----------
    layers : nn.ModuleList of Autoencoder
    graph : pgm.Graph
        ``v`` → ``h1`` → … → ``hL`` → ``r{L-1}`` → … → ``v`` (codes up, means down).
    """

    default_method = "greedy"
    visible_name = "v"

    def __init__(self, sizes, *, likelihood: str = "bernoulli", seed: int | None = None, **layer_options):
        super().__init__()
        sizes = check_sizes(sizes, "StackedAutoencoder", 2, "the data's and at least one hidden")
        for key in ("n_visible", "n_hidden", "seed", "likelihood"):
            if key in layer_options:
                raise TypeError(f"StackedAutoencoder: {key} is set per layer by the stack; give sizes, likelihood "
                                "and seed to the stack")
        activation = layer_options.get("activation", "sigmoid")
        self.sizes, self.likelihood, self.seed, self.layer_options = list(sizes), likelihood, seed, dict(layer_options)
        self.layers = nn.ModuleList(
            Autoencoder(a, b, likelihood=likelihood if l == 0 else ("bernoulli" if activation == "sigmoid"
                                                                      else "gaussian"),
                        seed=None if seed is None else seed + l, **layer_options)
            for l, (a, b) in enumerate(zip(sizes, sizes[1:])))
        self.n_visible, self.visible_kind = sizes[0], self.layers[0].visible_kind
        with torch.no_grad(), pyro.validation_enabled(False):
            self.graph = pgm.from_pyro(self.model, torch.zeros(1, sizes[0]))

    def config(self) -> dict:
        return {"sizes": self.sizes, "likelihood": self.likelihood, "seed": self.seed, **self.layer_options}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    def check_data(self, x, name: str = "x") -> torch.Tensor:
        return self.layers[0].check_data(x, name)

    def codes(self, x: torch.Tensor) -> list:
        """The clean codes ``[h_1, …, h_L]`` of ``x``, bottom-up."""
        out, h = [], x
        for layer in self.layers:
            h = layer.encode(h)
            out.append(h)
        return out

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The top code h_L, shape (batch, n_L)."""
        return self.codes(x)[-1]

    def decode_to_first(self, h: torch.Tensor) -> torch.Tensor:
        """The means of the upper decoders from the top code down to h_1 (h itself for one layer)."""
        for layer in reversed(self.layers[1:]):
            h = layer.decode(h)
        return h

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """E[x | h_L] through every decoder, shape (batch, n_0)."""
        return self.layers[0].decode(self.decode_to_first(h))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """r(x) = decode(encode(x)), shape (batch, n_0)."""
        with torch.no_grad():
            return self.decode(self.encode(self.check_data(x)))

    def log_prob(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """log P(x | h_L) per example through the decoders' means: the deep reconstruction loss."""
        return self.layers[0].log_prob(x, self.decode_to_first(h))

    def model(self, x: torch.Tensor) -> None:
        """The codes up (deterministic), the decoders' means down, ``v`` observed as ``x``."""
        with pyro.plate("data", x.shape[0]):
            h = x
            for l, layer in enumerate(self.layers, 1):
                h = pyro.deterministic(f"h{l}", layer.encode(h), event_dim=1)
            for l in range(self.n_layers, 1, -1):
                h = pyro.deterministic(f"r{l - 1}", self.layers[l - 1].decode(h), event_dim=1)
            pyro.sample("v", self.layers[0].reconstruction_distribution(h).to_event(1), obs=x)
