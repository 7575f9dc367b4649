r"""The convolutional deep belief net: two conv RBMs with probabilistic max-pooling, stacked."""

from __future__ import annotations

import math

import torch
from torch import nn

import pgm

from ..energy import ConvRBM
from ..energy.pooling import BLOCK_KIND, from_blocks
from ..parameters import ParameterInfo
from pgm.checks import check_init, check_units

__all__ = ["ConvDBN"]


def _pair(value, name, where):
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{where}: {name} must be an int or a pair (layer 1, layer 2), got {value!r}")
    return tuple(value)


class ConvDBN(ParameterInfo, nn.Module):
    r"""A two-layer convolutional DBN (Lee, Grosse, Ranganath & Ng 2009), trained greedily.

    Layer 1 is a :class:`~models.energy.ConvRBM` on the image v with detection units h1 and
    pooling units p1 = pool(h1); layer 2 is a conv RBM whose visible layer is p1 (K1
    channels) and whose detection units are h2. As a DBN, the top conv RBM is the prior of
    p1 and the layers below are directed:

    .. math::

        p(v, h_1, p_1, h_2) = \frac{e^{-E_2(p_1, h_2)}}{Z_2} \; p(h_1 \mid p_1) \; p(v \mid h_1),
        \qquad p(v \mid h_1) = \prod \sigma(c_1 + W_1 \star h_1),

    where p(h1 | p1) places, in each block whose pooling unit is on, one detection unit
    uniformly among its C1² (the first layer's detection biases are shared within a group,
    so the first conv RBM prefers no position of a block a priori) and none in a block that
    is off: log p(h1 | p1) = −(Σ p1) log C1² for h1 with pool(h1) = p1. The recognition
    model is the first layer's exact conditional q(h1 | v) (probabilistic max-pooling).

    The graph is ``p1`` — ``h2`` (undirected, the top conv RBM), ``p1`` → ``h1`` → ``v``
    (directed): here, unlike in a single conv RBM, the pooling units are a group of their
    own, the coupling of the first layer to the second.

    Parameters
    ----------
    image_shape : int or (int, int)
        (H, W) of the binary image.
    n_filters : (int, int)
        K1, K2.
    filter_sizes : int or (int, int)
        Filter sides of the two layers.
    pool_sizes : int or (int, int)
        Pooling block sides C1, C2.
    weight_std : float, default 0.01
    seed : int, optional
    sparsity : float, optional
        Target mean activation of both layers' detection units (see :class:`ConvRBM`).
    sparsity_cost : float, default 1.0

    Attributes
    ----------
    layer1, layer2 : ConvRBM
        The two conv RBMs; ``layer2.n_channels == K1`` and its image is the pooling map.

    Notes
    -----
    The model is plain tensor code: sampling the top layer (Gibbs chains) and its log Z
    live in :mod:`inference.convdbn`, which the model does not import.

    Examples
    --------
    >>> dbn = ConvDBN(8, (4, 6), (3, 2), (2, 2), seed=0)
    >>> dbn.layer1.pool_shape, dbn.layer2.pool_shape
    ((4, 3, 3), (6, 1, 1))
    """

    default_method = "greedy"

    def __init__(self, image_shape, n_filters=(8, 16), filter_sizes=(3, 2), pool_sizes=(2, 2), *,
                 weight_std: float = 0.01, seed: int | None = None, sparsity: float | None = None,
                 sparsity_cost: float = 1.0):
        super().__init__()
        where = "ConvDBN"
        k1, k2 = _pair(n_filters, "n_filters", where)
        f1, f2 = _pair(filter_sizes, "filter_sizes", where)
        c1, c2 = _pair(pool_sizes, "pool_sizes", where)
        weight_std, seed = check_init(where, weight_std, seed)
        s2 = None if seed is None else seed + 1
        opts = dict(weight_std=weight_std, sparsity=sparsity, sparsity_cost=sparsity_cost)
        self.layer1 = ConvRBM(image_shape, k1, f1, c1, seed=seed, **opts)
        try:
            self.layer2 = ConvRBM(self.layer1.pool_shape[1:], k2, f2, c2, n_channels=k1, seed=s2, **opts)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: the second layer sees the {self.layer1.pool_shape[1]} × "
                             f"{self.layer1.pool_shape[2]} pooling maps of the first: {err}") from None
        self.weight_std, self.seed = float(weight_std), seed
        self.sparsity, self.sparsity_cost = self.layer1.sparsity, self.layer1.sparsity_cost
        self.n_visible = self.layer1.n_visible
        self.graph = pgm.Graph(
            [pgm.VariableGroup("v", self.n_visible, "bernoulli", observed=True),
             pgm.VariableGroup("h1", self.layer1.n_hidden, BLOCK_KIND),
             pgm.VariableGroup("p1", self.layer1.n_pool, "bernoulli"),
             pgm.VariableGroup("h2", self.layer2.n_hidden, BLOCK_KIND)],
            [pgm.Edge("h1", "v", directed=True), pgm.Edge("p1", "h1", directed=True), pgm.Edge("p1", "h2")],
        )

    def config(self) -> dict:
        l1, l2 = self.layer1, self.layer2
        return {"image_shape": list(l1.image_shape), "n_filters": [l1.n_filters, l2.n_filters],
                "filter_sizes": [l1.filter_size, l2.filter_size], "pool_sizes": [l1.pool_size, l2.pool_size],
                "weight_std": self.weight_std, "seed": self.seed, "sparsity": self.sparsity,
                "sparsity_cost": self.sparsity_cost}

    @property
    def visible_name(self) -> str:
        return "v"

    @property
    def layers(self) -> list:
        """``[layer1, layer2]``."""
        return [self.layer1, self.layer2]

    def check_data(self, x, name: str = "x", binary: bool = True) -> torch.Tensor:
        """``x`` checked, (batch, H·W), binary (or in [0, 1] with ``binary=False``), in the model's
        dtype and device."""
        return check_units(x, name, self.n_visible, binary=binary, unit_interval=True, dtype=self.dtype,
                           device=self.device)

    # -- the directed part -----------------------------------------------------------------
    @torch.no_grad()
    def up_pass(self, x: torch.Tensor) -> torch.Tensor:
        """P(p1 = 1 | v) of the first layer, (batch, K1·P_h·P_w): the second layer's training data."""
        return self.layer1.pooling_probabilities(self.check_data(x, binary=False))

    def log_p_h1_given_p1(self, h1: torch.Tensor) -> torch.Tensor:
        """log p(h1 | pool(h1)) = −(number of on blocks) · log C1², shape (batch,)."""
        c = self.layer1.pool_size
        return -self.layer1.pool(h1).sum(-1) * math.log(c * c)

    def log_p_v_given_h1(self, v: torch.Tensor, h1: torch.Tensor) -> torch.Tensor:
        """log p(v | h1) = Σ v log σ(a) + (1 − v) log σ(−a), a = c1 + W1 ⋆ h1, shape (batch,)."""
        a = self.layer1.visible_logits(h1)
        return -torch.nn.functional.binary_cross_entropy_with_logits(a, v.to(a), reduction="none").sum(-1)

    @torch.no_grad()
    def sample_h1(self, p1: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """h1 ~ p(h1 | p1): in every block whose pooling unit is on, one unit chosen uniformly;
        (batch, K1·N_h·N_w)."""
        l1 = self.layer1
        c2 = l1.pool_size ** 2
        on = p1.reshape(-1, *l1.pool_shape, 1)
        u = torch.rand(on.shape, generator=generator, dtype=p1.dtype, device=p1.device)
        k = (u * c2).long().clamp_(max=c2 - 1)
        onehot = torch.zeros((*on.shape[:-1], c2), dtype=p1.dtype, device=p1.device).scatter_(-1, k, 1.0)
        return from_blocks(onehot * on, l1.hidden_shape, l1.pool_size)

    @torch.no_grad()
    def sample_down(self, p1: torch.Tensor, generator: torch.Generator | None = None, mean: bool = True):
        """v from top-layer pooling states p1 (batch, K1·P_h·P_w): h1 ~ p(h1 | p1), then the
        means σ(c1 + W1 ⋆ h1) (``mean=True``) or a binary draw of v."""
        probs = torch.sigmoid(self.layer1.visible_logits(self.sample_h1(p1, generator)))
        if mean:
            return probs
        return torch.rand(probs.shape, generator=generator, dtype=probs.dtype, device=probs.device).lt_(probs).to(
            probs.dtype)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Mean reconstruction through the first layer: σ(c1 + W1 ⋆ E[h1 | v]), (n, H·W)."""
        x = self.check_data(x, binary=False)
        return torch.sigmoid(self.layer1.visible_logits(self.layer1.conditional("h", {"v": x}).mean))

    # -- filters in pixel space -----------------------------------------------------------------
    @torch.no_grad()
    def pixel_filters(self) -> tuple[torch.Tensor, torch.Tensor]:
        r"""The filters of both layers as images: layer 1's W1^k (K1, f1, f1), and each second-layer
        filter as the weighted combination of first-layer filters it stands for,

        .. math::

            \Phi^{k_2} = \sum_{k_1} \sum_{ab} W_2^{k_2 k_1}[a, b]
                \frac{1}{C_1^2} \sum_{(i, j) \in B_{ab}} W_1^{k_1} \text{ placed at } (i, j),

        a pooling unit standing for the mean of its block's detection units; shape
        (K2, side, side) with side = f2·C1 + f1 − 1.
        """
        l1, l2 = self.layer1, self.layer2
        c = l1.pool_size
        up = l2.W.repeat_interleave(c, 2).repeat_interleave(c, 3) / (c * c)  # (K2, K1, f2·C1, f2·C1)
        phi = torch.nn.functional.conv_transpose2d(up, l1.W)  # (K2, 1, f2·C1 + f1 − 1, ...)
        return l1.W[:, 0].clone(), phi[:, 0]

