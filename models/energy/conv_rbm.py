r"""The convolutional RBM with probabilistic max-pooling (Lee, Grosse, Ranganath & Ng 2009)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Bernoulli

import pgm

from .base import EnergyModel
from .pooling import BLOCK_KIND, BlockSoftmax, block_log_norm, pool, to_blocks
from .rbm import TwoLayerMarginals, _get
from pgm.checks import check_beta, check_float, check_init, check_int, check_memory, check_units

__all__ = ["ConvRBM"]


def _beta4(beta, like):
    """β as a float or a (batch, 1, 1, 1) tensor against (batch, K, H, W)."""
    if isinstance(beta, torch.Tensor):
        return beta.to(like).reshape(-1, 1, 1, 1)
    return beta


def _beta1(beta, like):
    return beta.to(like).reshape(-1) if isinstance(beta, torch.Tensor) else beta


class ConvRBM(TwoLayerMarginals, EnergyModel):
    r"""Convolutional RBM with binary visible units and probabilistic max-pooling.

    The visible layer is an image v of C_in channels, H × W pixels. K filters W^k of size
    n_w × n_w (over all channels) give K detection maps h^k of (H − n_w + 1) × (W − n_w + 1)
    binary units, cut into C × C blocks B_α of which at most one unit is on:

    .. math::

        E(v, h) = -\sum_k \sum_{ij} h^k_{ij} \bigl((\tilde W^k * v)_{ij} + b_k\bigr)
                  - \sum_{c} c_c \sum_{xy} v_{c,xy},
        \qquad \sum_{ij \in B_\alpha} h^k_{ij} \le 1 \ \text{for every block}

    (E = +∞ where a block has two units on), with * the "valid" cross-correlation of
    ``torch.nn.functional.conv2d``. With I(h^k_ij) = b_k + (W̃^k * v)_ij, each block is a
    categorical over C² + 1 states given v (:class:`~models.energy.pooling.BlockSoftmax`):
    P(h^k_ij = 1 | v) = e^{I} / (1 + Σ_{B_α} e^{I}); the pooling unit p^k_α = Σ_{ij∈B_α} h^k_ij
    is off with probability 1 / (1 + Σ_{B_α} e^{I}). The visible units are independent given
    h, p(v_{c,xy} = 1 | h) = σ(c_c + Σ_k (W^k ⋆ h^k)_{c,xy}) (a full convolution,
    ``conv_transpose2d``), and the hidden layer sums out:

    .. math::

        F(v) = -\sum_c c_c \sum_{xy} v_{c,xy}
               - \sum_k \sum_\alpha \log\Bigl(1 + \sum_{ij \in B_\alpha} e^{I(h^k_{ij})}\Bigr).

    **The pooling units are not a group of this graph.** In one layer p is a deterministic
    function of h (:meth:`pool`), so the graph is ``v`` — ``h`` (kind ``"block_softmax"``)
    and block Gibbs alternates the two. In a :class:`~models.directed.ConvDBN` the pooling
    units of the first layer are the visible layer of the second, where they couple upward.

    Parameters
    ----------
    image_shape : int or (int, int)
        (H, W) of the visible image (an int: a square side).
    n_filters : int
        K, the number of filters (detection groups).
    filter_size : int
        n_w; H − n_w + 1 and W − n_w + 1 must be multiples of ``pool_size``.
    pool_size : int, default 2
        C, the side of a pooling block (1: no pooling, every unit its own block).
    n_channels : int, default 1
        C_in, visible channels (a second layer's visible layer: the K first-layer pooling maps).
    weight_std : float, default 0.01
    seed : int, optional
        Seed of the weight initialisation.
    sparsity : float, optional
        Target mean activation ρ of the detection units (Lee et al. 2008; 2009 §3.5); with
        it, :meth:`training_penalty` adds λ N_h N_w Σ_k (ρ − q_k)² to the contrastive loss,
        q_k the mean of P(h^k_ij = 1 | v) over the batch and positions, its gradient on the
        hidden biases only. ``None``: no penalty.
    sparsity_cost : float, default 1.0
        λ.

    Attributes
    ----------
    W : Parameter, shape (K, C_in, n_w, n_w)
    b : Parameter, shape (K,)
        Detection biases, one per group (zero).
    c : Parameter, shape (C_in,)
        Visible biases, one per channel (zero; :meth:`init_visible_bias`).
    graph : pgm.Graph
        ``v`` (observed, bernoulli, C_in·H·W) — ``h`` (latent, block_softmax, K·N_h·N_w).

    Notes
    -----
    Values are held flat: v as (batch, C_in·H·W) in (channel, row, column) order, h as
    (batch, K·N_h·N_w) in (group, row, column) order.

    References
    ----------
    H. Lee, R. Grosse, R. Ranganath and A. Ng, "Convolutional deep belief networks for
    scalable unsupervised learning of hierarchical representations", ICML 2009.

    Examples
    --------
    >>> crbm = ConvRBM(8, n_filters=4, filter_size=5, pool_size=2, seed=0)
    >>> crbm.hidden_shape, crbm.pool_shape
    ((4, 4, 4), (4, 2, 2))
    >>> crbm.free_energy(torch.zeros(3, 64)).shape
    torch.Size([3])
    """

    default_method = "cd"
    #: The learning rate times the number of detection positions N_h·N_w: the gradient of
    #: F(v) sums over positions, so each instance's ``default_lr`` is this divided by them
    #: (0.05 for 8×8 digits and 5×5 filters; 0.0014 for 28×28 MNIST and 5×5 filters, where
    #: 0.05 diverged and 0.001 beat 0.005 by 8 in reconstruction error after 2 epochs).
    lr_per_position = 0.8
    default_lr = 0.05

    def __init__(self, image_shape, n_filters: int, filter_size: int, pool_size: int = 2, n_channels: int = 1, *,
                 weight_std: float = 0.01, seed: int | None = None, sparsity: float | None = None,
                 sparsity_cost: float = 1.0):
        super().__init__()
        where = "ConvRBM"
        if isinstance(image_shape, int) and not isinstance(image_shape, bool):
            image_shape = (image_shape, image_shape)
        if not isinstance(image_shape, (tuple, list)) or len(image_shape) != 2:
            raise TypeError(f"{where}: image_shape must be an int or a pair (height, width), got {image_shape!r}")
        height = check_int(image_shape[0], "image_shape[0]", 1, where)
        width = check_int(image_shape[1], "image_shape[1]", 1, where)
        n_filters = check_int(n_filters, "n_filters", 1, where)
        filter_size = check_int(filter_size, "filter_size", 1, where)
        pool_size = check_int(pool_size, "pool_size", 1, where)
        n_channels = check_int(n_channels, "n_channels", 1, where)
        if filter_size > min(height, width):
            raise ValueError(f"{where}: filter_size must be at most the image's smaller side {min(height, width)}, "
                             f"got {filter_size}")
        nh, nw = height - filter_size + 1, width - filter_size + 1
        if nh % pool_size or nw % pool_size:
            fits = [s for s in range(1, min(nh, nw) + 1) if nh % s == 0 and nw % s == 0]
            raise ValueError(f"{where}: pool_size must divide the detection maps' sides {nh} × {nw} "
                             f"(image {height} × {width}, filter {filter_size}), got {pool_size}; "
                             f"use one of {fits} or another filter_size")
        weight_std, seed = check_init(where, weight_std, seed)
        if sparsity is not None:
            sparsity = check_float(sparsity, "sparsity", 0.0, 1.0, low_open=True, high_open=True, where=where)
        sparsity_cost = check_float(sparsity_cost, "sparsity_cost", 0.0, where=where)
        check_memory(f"ConvRBM({n_filters} filters of {filter_size}²)",
                     n_filters * n_channels * filter_size**2 + n_filters + n_channels)
        self.image_shape, self.n_filters, self.filter_size = (height, width), n_filters, filter_size
        self.pool_size, self.n_channels = pool_size, n_channels
        self.weight_std, self.seed = float(weight_std), seed
        self.sparsity, self.sparsity_cost = sparsity, float(sparsity_cost)
        self.hidden_shape = (n_filters, nh, nw)
        self.pool_shape = (n_filters, nh // pool_size, nw // pool_size)
        self.visible_shape = (n_channels, height, width)
        self.n_visible, self.n_hidden = math.prod(self.visible_shape), math.prod(self.hidden_shape)
        self.default_lr = self.lr_per_position / (nh * nw)
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        self.W = nn.Parameter(torch.randn(n_filters, n_channels, filter_size, filter_size, generator=gen) * weight_std)
        self.b = nn.Parameter(torch.zeros(n_filters))
        self.c = nn.Parameter(torch.zeros(n_channels))
        self.graph = pgm.Graph(
            [pgm.VariableGroup("v", self.n_visible, "bernoulli", observed=True),
             pgm.VariableGroup("h", self.n_hidden, BLOCK_KIND)],
            [pgm.Edge("v", "h")],
        )

    def config(self) -> dict:
        return {"image_shape": list(self.image_shape), "n_filters": self.n_filters, "filter_size": self.filter_size,
                "pool_size": self.pool_size, "n_channels": self.n_channels, "weight_std": self.weight_std,
                "seed": self.seed, "sparsity": self.sparsity, "sparsity_cost": self.sparsity_cost}

    @property
    def n_pool(self) -> int:
        """Number of pooling units, K·(N_h/C)·(N_w/C)."""
        return math.prod(self.pool_shape)

    @classmethod
    def from_data(cls, data: torch.Tensor, n_filters: int, filter_size: int, pool_size: int = 2, *,
                  image_shape=None, n_channels: int = 1, **kwargs) -> "ConvRBM":
        """A conv RBM for ``data`` (n, C_in·H·W) with visible biases from its channel means.

        ``image_shape`` defaults to the square image of ``data.shape[1] / n_channels`` pixels.
        """
        data = check_units(data, "data", unit_interval=True)
        n_channels = check_int(n_channels, "n_channels", 1, "ConvRBM.from_data")
        if image_shape is None:
            pixels = data.shape[1] // n_channels
            side = math.isqrt(pixels)
            if side * side * n_channels != data.shape[1]:
                raise ValueError(f"ConvRBM.from_data: data has {data.shape[1]} columns, not {n_channels} square "
                                 "image(s); pass image_shape=(height, width)")
            image_shape = (side, side)
        model = cls(image_shape, n_filters, filter_size, pool_size, n_channels, **kwargs)
        model.init_visible_bias(data)
        return model

    @torch.no_grad()
    def init_visible_bias(self, data: torch.Tensor, eps: float = 1e-3) -> None:
        """c_c = logit of channel c's mean over the data, clipped to [ε, 1 − ε]."""
        data = check_units(data, "data", self.n_visible, unit_interval=True)
        p = data.double().reshape(data.shape[0], self.n_channels, -1).mean((0, 2)).clamp(eps, 1 - eps)
        self.c.copy_(torch.logit(p).to(self.c))

    # -- the two directions ------------------------------------------------------------
    def _check_v(self, v, name):
        return check_units(v, name, self.n_visible, unit_interval=True, dtype=self.W.dtype, device=self.W.device)

    def _check_h(self, h, name):
        return check_units(h, name, self.n_hidden, unit_interval=True, dtype=self.W.dtype, device=self.W.device)

    def hidden_logits(self, v: torch.Tensor) -> torch.Tensor:
        """I(h^k_ij) = b_k + (W̃^k * v)_ij, shape (batch, K, N_h, N_w)."""
        return F.conv2d(v.reshape(-1, *self.visible_shape), self.W, self.b)

    def visible_logits(self, h: torch.Tensor) -> torch.Tensor:
        """c_c + Σ_k (W^k ⋆ h^k)_c (full convolution), flat (batch, C_in·H·W)."""
        x = F.conv_transpose2d(h.reshape(-1, *self.hidden_shape), self.W)
        return (x + self.c.reshape(1, -1, 1, 1)).reshape(x.shape[0], -1)

    def _violated(self, h):
        """Rows of h with a block holding more than one unit on, (batch,) bool."""
        sums = to_blocks(h, self.hidden_shape, self.pool_size).sum(-1)
        return (sums > 1 + 1e-6).reshape(h.shape[0], -1).any(-1)

    def pool(self, h: torch.Tensor) -> torch.Tensor:
        """Pooling units p_α = Σ_{ij∈B_α} h_ij of detection values (batch, K·N_h·N_w), flat
        (batch, K·P_h·P_w); probabilities in give P(p_α = 1)."""
        return pool(self._check_h(h, "h"), self.hidden_shape, self.pool_size)

    def pooling_probabilities(self, v: torch.Tensor) -> torch.Tensor:
        """P(p^k_α = 1 | v) = 1 − 1 / (1 + Σ_{B_α} e^{I}), flat (batch, K·P_h·P_w): what a second
        layer is trained on."""
        return BlockSoftmax(self.hidden_logits(self._check_v(v, "v")), self.pool_size).pool_probs

    # -- the energy-model contract -----------------------------------------------------
    def energy(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        """E(v, h), shape (batch,); +∞ for rows that break the block constraint."""
        v = self._check_v(_get(state, "v", "energy"), "state['v']")
        h = self._check_h(_get(state, "h", "energy"), "state['h']")
        if v.shape[0] != h.shape[0]:
            raise ValueError(f"energy: state['v'] has batch {v.shape[0]} but state['h'] has {h.shape[0]}")
        vis = v.reshape(v.shape[0], self.n_channels, -1).sum(-1) @ self.c
        e = -(self.hidden_logits(v).reshape(v.shape[0], -1) * h).sum(-1) - vis
        return torch.where(self._violated(h), torch.full_like(e, math.inf), e)

    def conditional(self, group: str, state: dict[str, torch.Tensor], beta=1.0):
        """p_β(h | v) = BlockSoftmax(β I, C) or p_β(v | h) = Bernoulli(σ(β(c + W ⋆ h))), flat."""
        if group == "h":
            x = self._check_v(_get(state, "v", "conditional('h')"), "state['v']")
            logits = self.hidden_logits(x)
        elif group == "v":
            x = self._check_h(_get(state, "h", "conditional('v')"), "state['h']")
            logits = self.visible_logits(x)
        else:
            raise ValueError(f"conditional: group must be 'v' or 'h', got {group!r}")
        beta = check_beta(beta, batch=x.shape[0])
        if isinstance(beta, torch.Tensor):
            logits = logits * beta.to(logits).reshape((-1, 1, 1, 1) if group == "h" else (-1, 1))
        elif beta != 1.0:
            logits = logits * beta
        if group == "h":
            return BlockSoftmax(logits, self.pool_size)
        return Bernoulli(logits=logits, validate_args=False)

    def free_energy(self, v: torch.Tensor, beta=1.0) -> torch.Tensor:
        r"""F_β(v) = −β Σ_c c_c Σ v_c − Σ_{k,α} log(1 + Σ_{B_α} e^{β I}), shape (batch,)."""
        v = self._check_v(v, "v")
        beta = check_beta(beta, batch=v.shape[0])
        logits = self.hidden_logits(v)
        if not (isinstance(beta, float) and beta == 1.0):
            logits = logits * _beta4(beta, logits)
        lse = block_log_norm(to_blocks(logits, self.hidden_shape, self.pool_size))
        vis = v.reshape(v.shape[0], self.n_channels, -1).sum(-1) @ self.c
        return -_beta1(beta, vis) * vis - lse.reshape(v.shape[0], -1).sum(-1)

    def free_energy_hidden(self, h: torch.Tensor, beta=1.0) -> torch.Tensor:
        r"""F_β(h) = −β Σ_k b_k Σ_ij h^k_ij − Σ_{c,xy} softplus(β (c_c + (W ⋆ h)_{c,xy})), the
        visible units summed out; +∞ where a block has two units on."""
        h = self._check_h(h, "h")
        beta = check_beta(beta, batch=h.shape[0])
        lin = h.reshape(h.shape[0], self.n_filters, -1).sum(-1) @ self.b
        logits = self.visible_logits(h)
        b = _beta1(beta, lin)
        f = -b * lin - F.softplus(logits * (b.reshape(-1, 1) if isinstance(b, torch.Tensor) else b)).sum(-1)
        return torch.where(self._violated(h), torch.full_like(f, math.inf), f)

    def enumeration_values(self, group: str) -> torch.Tensor | None:
        """(0, 1) for both groups: exact enumeration may run over the detection units, where
        the states that break the block constraint have F = +∞ (zero weight)."""
        if group == "h":
            return torch.tensor([0.0, 1.0], dtype=torch.float64)
        return super().enumeration_values(group)

    # -- training -----------------------------------------------------------------------
    def training_penalty(self, v: torch.Tensor) -> torch.Tensor | None:
        r"""The sparsity penalty λ N_h N_w Σ_k (ρ − q_k)², q_k = mean over rows and positions
        of P(h^k_ij = 1 | v), with gradient on the hidden biases b only (the weights enter
        detached, as Lee et al. update only the biases); ``None`` without ``sparsity``. The
        factor N_h N_w (detection positions) puts it on the scale of the free energy, a sum
        over positions, so that λ means the same at any image size."""
        if self.sparsity is None or self.sparsity_cost == 0.0:
            return None
        logits = F.conv2d(v.reshape(-1, *self.visible_shape), self.W.detach(), self.b)
        q = BlockSoftmax(logits, self.pool_size).block_probs.mean((0, 2, 3, 4))
        positions = self.hidden_shape[1] * self.hidden_shape[2]
        return self.sparsity_cost * positions * (self.sparsity - q).square().sum()
