r"""The masked autoencoder for distribution estimation (MADE, Germain, Gregor, Murray &
Larochelle 2015).

An MLP from the D inputs to D Bernoulli logits whose weight matrices are multiplied by
binary masks, so that output d sees only the inputs before d in an ordering: one network
pass gives all D conditionals. The masks come from *degrees*: input d has degree
m⁰(d) = its position in the ordering + 1, a hidden unit k of layer l has a degree m^l(k)
drawn uniformly from [min_j m^{l−1}(j), D − 1], and

.. math::

    M^l_{kj} = 1[m^l(k) \ge m^{l-1}(j)], \qquad M^{out}_{dk} = 1[m^0(d) > m^L(k)],
    \qquad M^{direct}_{dj} = 1[m^0(d) > m^0(j)].

Connectivity-agnostic training uses a finite set of such mask sets (``n_masks``), one
drawn per minibatch; each mask set is a member of the model (a factorisation of its own),
and an ensemble averages the members' probabilities.

The masks are stored as their degrees: the buffers ``orderings`` (n_masks, D) and
``hidden_degrees`` (n_masks, Σ hidden), saved in the state dict and drawn at construction
from (seed, k) for mask set k. The (0/1) masks of set k are formed from them by a
comparison whenever the network runs under k: O(number of weights), the cost of the
product W ⊙ M that a masked layer forms anyway, with no cache to invalidate.

``pyro.nn.AutoRegressiveNN`` is not used: its ``MaskedLinear`` layers hold one mask each,
fixed at construction from one permutation, with hidden degrees spaced evenly
(``torch.linspace``, rounded) rather than drawn. Several mask sets, chosen per minibatch
and per member, would mean swapping the buffers of every layer on each call; the masked
layers here take the mask set as an argument instead.
"""

from __future__ import annotations

from typing import NamedTuple

import pyro.distributions as dist
import torch
import torch.nn.functional as F
from torch import nn

from pgm.checks import check_bool, check_choice, check_hidden, check_int, check_memory, check_seed

from .base import AutoregressiveModel

__all__ = ["MADE"]

ACTIVATIONS = {"relu": F.relu, "sigmoid": torch.sigmoid}

_GOLDEN = 0x9E3779B97F4A7C15  # odd 64-bit constant that spreads (seed, k) over generator seeds


class _State(NamedTuple):
    """The step-by-step state: the input filled so far (zeros elsewhere), the mask index
    and the masked weights of that mask set (formed once per walk)."""

    x: torch.Tensor
    k: int
    weights: list
    direct: torch.Tensor | None


class MADE(AutoregressiveModel):
    r"""MADE: a masked MLP giving all D conditionals of binary data in one pass.

    .. math::

        h^0 = x, \qquad h^l = g\big(b^l + (W^l \odot M^l) h^{l-1}\big), \qquad
        p(x_d = 1 \mid x_{o_{<i}}) = \sigma\big(c_d + (V \odot M^{out})_d\, h^L
        + (A \odot M^{direct})_d\, x\big),

    with g the ``activation`` and the masks M built from the degrees of mask set k (see
    :mod:`models.autoregressive.made`). A member is a mask index k ∈ [0, n_masks) (``None``
    is mask set 0, whose ordering is the model's ``ordering``).

    Parameters
    ----------
    n_visible : int
    hidden : int or sequence of int, default (500,)
        Hidden layer sizes, e.g. (500,) or (500, 500).
    ordering : sequence of int, optional
        The ordering of mask set 0 (default 0, 1, …).
    n_masks : int, default 1
        Mask sets trained (one drawn per minibatch by :meth:`training_loss`).
    order_agnostic : bool, default False
        Whether mask sets 1 … n_masks − 1 draw their own ordering (else all share
        ``ordering`` and differ in hidden connectivity only). Stored as
        :attr:`draw_orderings`: the base class's ``order_agnostic`` (any ordering is a
        member) stays False for MADE, whose members are mask indices.
    direct : bool, default False
        Direct input → output weights A (masked strictly lower in the ordering).
    activation : {"relu", "sigmoid"}, default "relu"
    seed : int, optional
        Seeds the initial weights and the mask sets (mask set k from (seed, k), so the
        first mask sets do not depend on ``n_masks``); without it both are random and the
        state dict carries the masks.

    Attributes
    ----------
    weights : ParameterList
        W¹ (H₁, D), …, W^L, then V (D, H_L).
    biases : ParameterList
        b¹ … b^L, then c (D,).
    direct_weight : Parameter, shape (D, D)
        A (only with ``direct``).
    orderings : LongTensor, shape (n_masks, D)
        The ordering of every mask set (row 0 is ``ordering``).
    hidden_degrees : LongTensor, shape (n_masks, Σ hidden)
        m¹ … m^L of every mask set, concatenated.

    Examples
    --------
    >>> m = MADE(4, (8, 8), n_masks=2, seed=0)
    >>> x = torch.tensor([[0., 1., 1., 0.]])
    >>> m.log_prob(x, member=1).shape
    torch.Size([1])
    """

    order_agnostic = False

    def __init__(self, n_visible: int, hidden=(500,), ordering=None, *, n_masks: int = 1,
                 order_agnostic: bool = False, direct: bool = False, activation: str = "relu",
                 seed: int | None = None):
        super().__init__()
        where = "MADE"
        n_visible = check_int(n_visible, "n_visible", where=where)
        hidden = check_hidden(hidden, where)
        n_masks = check_int(n_masks, "n_masks", where=where)
        self.draw_orderings = check_bool(order_agnostic, "order_agnostic", where)
        self.direct = check_bool(direct, "direct", where)
        self.activation = check_choice(activation, "activation", ACTIVATIONS, where)
        self.seed = check_seed(seed, where)
        sizes = [n_visible, *hidden, n_visible]
        n_weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) + (n_visible ** 2 if self.direct else 0)
        check_memory(where, n_weights + sum(sizes[1:]) + n_masks * (n_visible + sum(hidden)))
        self._set_ordering(n_visible, ordering, where)
        self.hidden, self.n_masks = hidden, n_masks

        gen = torch.Generator().manual_seed(self.seed) if self.seed is not None else None
        weights, biases = [], []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):  # nn.Linear's U(±1/√fan_in)
            bound = fan_in ** -0.5
            weights.append(nn.Parameter((torch.rand(fan_out, fan_in, generator=gen) * 2 - 1) * bound))
            biases.append(nn.Parameter((torch.rand(fan_out, generator=gen) * 2 - 1) * bound))
        self.weights, self.biases = nn.ParameterList(weights), nn.ParameterList(biases)
        if self.direct:
            bound = n_visible ** -0.5
            self.direct_weight = nn.Parameter((torch.rand(n_visible, n_visible, generator=gen) * 2 - 1) * bound)

        base = self.seed if self.seed is not None else int(torch.randint(2 ** 62, ()))
        orders, degrees = zip(*(self._draw_mask_set(base, k) for k in range(n_masks)))
        self.register_buffer("orderings", torch.stack(orders))
        self.register_buffer("hidden_degrees", torch.stack(degrees))

    def _draw_mask_set(self, base: int, k: int):
        """The ordering and hidden degrees of mask set k, from a generator seeded by (base, k)."""
        gen = torch.Generator().manual_seed((base + _GOLDEN * k) % 2 ** 63)
        D = self.n_visible
        order = torch.randperm(D, generator=gen) if self.draw_orderings and k > 0 else self.ordering.clone()
        low, degrees = 1, []
        for size in self.hidden:
            m = torch.randint(min(low, D - 1), D, (size,), generator=gen)  # uniform on [low, D − 1]
            degrees.append(m)
            low = int(m.min())
        return order, torch.cat(degrees)

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "hidden": list(self.hidden), "ordering": self.ordering.tolist(),
                "n_masks": self.n_masks, "order_agnostic": self.draw_orderings, "direct": self.direct,
                "activation": self.activation, "seed": self.seed}

    # -- masks ----------------------------------------------------------------------------
    def degrees(self, k: int = 0) -> list:
        """[m⁰, m¹, …, m^L] of mask set k: the input degrees (position in the ordering + 1)
        and those of each hidden layer, LongTensors."""
        order = self.orderings[k]
        m0 = torch.empty_like(order)
        m0[order] = torch.arange(1, self.n_visible + 1, device=order.device)
        return [m0, *self.hidden_degrees[k].split(self.hidden)]

    def masks(self, k: int = 0) -> tuple[list, torch.Tensor]:
        """The masks of set k in the model's dtype: [M¹, …, M^L, M^out] (shaped as
        :attr:`weights`) and M^direct (D, D)."""
        m = self.degrees(k)
        masks = [m[l + 1][:, None] >= m[l][None, :] for l in range(len(self.hidden))]
        masks.append(m[0][:, None] > m[-1][None, :])
        return [mask.to(self.dtype) for mask in masks], (m[0][:, None] > m[0][None, :]).to(self.dtype)

    def _masked(self, k: int):
        masks, direct = self.masks(k)
        weights = [w * mask for w, mask in zip(self.weights, masks)]
        return weights, (self.direct_weight * direct if self.direct else None)

    def _top(self, x, weights):
        """h^L, the last hidden layer, shape (n, H_L)."""
        g, h = ACTIVATIONS[self.activation], x
        for w, b in zip(weights[:-1], self.biases[:-1]):
            h = g(F.linear(h, w, b))
        return h

    def logits(self, x: torch.Tensor, member=None) -> torch.Tensor:
        """The logit of p(x_d = 1 | x_{o_<i}) of every dimension d under a member's masks,
        shape (n, D), columns by dimension."""
        weights, direct = self._masked(self._index(member))
        out = F.linear(self._top(x, weights), weights[-1], self.biases[-1])
        return out if direct is None else out + x @ direct.t()

    def log_prob_dims(self, x, member=None):
        return -F.binary_cross_entropy_with_logits(self.logits(x, member), x, reduction="none")

    def _row_cost(self) -> int:
        return 3 * self.n_visible + 2 * sum(self.hidden)

    # -- members --------------------------------------------------------------------------
    def _index(self, member) -> int:
        return 0 if member is None else int(member)

    def check_member(self, member, where: str):
        """``None`` (mask set 0) or a mask index, an int in [0, n_masks)."""
        if member is None:
            return None
        expect = f"member must be None or a mask index, an int in [0, {self.n_masks})"
        try:
            if isinstance(member, bool):
                raise TypeError
            index = int(member.__index__())
        except (AttributeError, TypeError, RuntimeError, ValueError):
            raise TypeError(f"{where}: {expect}, got {type(member).__name__} {member!r}") from None
        if not 0 <= index < self.n_masks:
            raise ValueError(f"{where}: {expect} (the model has {self.n_masks} mask set"
                             f"{'s' if self.n_masks != 1 else ''}), got {index}")
        return index

    def members(self, k: int, seed: int = 0) -> list:
        """Mask sets 0 … k − 1 (``seed`` is unused: the mask sets are fixed at construction)."""
        k = check_int(k, "k", 1, "MADE.members")
        if k > self.n_masks:
            raise ValueError(f"MADE.members: an ensemble takes at most n_masks = {self.n_masks} members (the mask "
                             f"sets trained), got k = {k}; train a MADE with n_masks >= {k} for a larger ensemble")
        return list(range(k))

    def ordering_of(self, member) -> torch.Tensor:
        return self.orderings[self._index(member)]

    def inpainting_member(self, observed: torch.Tensor, member=None):
        """The first mask set, starting with ``member`` and then 0, 1, …, whose ordering
        has the ``observed`` dimensions as a prefix; ValueError if none has."""
        start = self._index(member)
        k_obs = int(observed.sum())
        for k in [start, *(k for k in range(self.n_masks) if k != start)]:
            if bool(observed[self.orderings[k].cpu()][:k_obs].all()):
                return member if k == start else k
        raise ValueError(f"MADE.sample: exact in-painting needs the observed dimensions first in a mask set's "
                         f"ordering, but no ordering of the {self.n_masks} mask sets begins with these {k_obs} "
                         f"dimensions; observe a prefix of ordering_of(k) for some k, or train with "
                         f"order_agnostic=True and more masks")

    def training_loss(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """−(1/B) Σ_b log p_k(x_b) under one mask set k drawn uniformly from ``generator``
        (``torch.randint(n_masks, ())``, one draw per call) when n_masks > 1; the plain
        NLL of mask set 0 (no draw) otherwise."""
        if self.n_masks == 1:
            return super().training_loss(x, generator)
        device = generator.device if generator is not None else None
        k = int(torch.randint(self.n_masks, (), generator=generator, device=device))
        return -self.log_prob_dims(x, k).sum(-1).mean()

    # -- step by step: one network pass per dimension ----------------------------------------
    def _start(self, n, member):
        k = self._index(member)
        weights, direct = self._masked(k)
        return _State(torch.zeros(n, self.n_visible, dtype=self.dtype, device=self.device), k, weights, direct)

    def _next(self, state, position):
        d = int(self.orderings[state.k, position])
        logit = self._top(state.x, state.weights) @ state.weights[-1][d] + self.biases[-1][d]
        if state.direct is not None:
            logit = logit + state.x @ state.direct[d]
        return dist.Bernoulli(logits=logit)

    def _observe(self, state, position, value):
        x = state.x.clone()
        x[:, int(self.orderings[state.k, position])] = value
        return state._replace(x=x)

    @property
    def n_parameters(self) -> int:
        """Biases and the weights that at least one mask set connects."""
        used = None
        for k in range(self.n_masks):
            masks, direct = self.masks(k)
            flags = [mask.bool() for mask in masks] + ([direct.bool()] if self.direct else [])
            used = flags if used is None else [u | f for u, f in zip(used, flags)]
        return sum(int(u.sum()) for u in used) + sum(b.numel() for b in self.biases)
