r"""The common part of autoregressive models: an exact likelihood factorised along an ordering.

.. math::

    p(x) = \prod_{i=1}^{D} p(x_{o_i} \mid x_{o_1}, \dots, x_{o_{i-1}}),

for an ordering o of the D dimensions. A model gives the conditionals two ways:

* all at once, given a full vector (:meth:`AutoregressiveModel.log_prob_dims`, the fast path
  that training and evaluation use);
* one position at a time (``_start`` / ``_next`` / ``_observe``), the path the Pyro program
  :meth:`AutoregressiveModel.model` and the ancestral sampler walk.

The tests prove the two equal. A *member* names one factorisation: ``None`` for the
model's own ordering; an ordering (a permutation) for order-agnostic models
(:attr:`AutoregressiveModel.order_agnostic`); a mask index for MADE. An ensemble of K
members has log-likelihood log (1/K) Σ_k p_k(x) (:meth:`ensemble_log_prob`): a
logsumexp over members, never an average of their logits or log-probabilities.

The Pyro program has one sample site per dimension, ``x_d`` (``obs=x[:, d]``), visited in
the member's ordering: the ordering is then the program's control flow, the dependence
of each site on every earlier one is what :func:`pgm.from_pyro` traces, and the site's
distribution is the exact conditional. (One site with an autoregressive distribution
would hide the ordering from the graph.) The traced graph is grouped along the ordering
(``group_size`` dimensions per group, image rows by default) so that 64 or 784 sites stay
legible: :attr:`AutoregressiveModel.graph`.
"""

from __future__ import annotations

import math

import pyro
import pyro.distributions as dist
import torch
from pyro.nn import PyroModule

import pgm
from pgm.checks import check_int, check_units, validation_disabled

from ..parameters import ParameterInfo

__all__ = ["AutoregressiveModel", "draw_from", "check_ordering", "ordering_graph"]

#: Rows × columns of a chunk of the one-pass computations, so that evaluation of many rows
#: stays within memory: rows are processed in chunks of at most this many values.
CHUNK = 1 << 24


def check_ordering(ordering, n_visible: int, where: str, name: str = "ordering") -> torch.Tensor:
    """``ordering`` as a LongTensor permutation of 0 … n_visible − 1 (on the CPU);
    ValueError naming ``name`` otherwise."""
    try:
        order = torch.as_tensor(ordering)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"{where}: {name} must be a permutation of 0..{n_visible - 1} (a sequence of ints), got "
                        f"{type(ordering).__name__}") from None
    if order.dim() != 1 or order.is_floating_point() or order.dtype == torch.bool or order.is_complex():
        raise ValueError(f"{where}: {name} must be a 1-D sequence of ints, got {order.dtype} of shape "
                         f"{tuple(order.shape)}")
    order = order.long().cpu()
    if order.numel() != n_visible or not torch.equal(order.sort().values, torch.arange(n_visible)):
        missing = sorted(set(range(n_visible)) - set(order.tolist()))[:5]
        raise ValueError(f"{where}: {name} must be a permutation of 0..{n_visible - 1}, got {order.numel()} values "
                         f"(missing e.g. {missing})")
    return order


def draw_from(distribution, generator: torch.Generator | None) -> torch.Tensor:
    """One draw from a conditional with an explicit generator: Bernoulli, Normal, Laplace,
    or a mixture of Normals or Laplacians (``MixtureSameFamily``)."""
    d = distribution
    while isinstance(d, torch.distributions.Independent):
        d = d.base_dist
    if isinstance(d, torch.distributions.Bernoulli):
        u = torch.rand(d.probs.shape, generator=generator, dtype=d.probs.dtype, device=d.probs.device)
        return (u < d.probs).to(d.probs.dtype)
    if isinstance(d, torch.distributions.MixtureSameFamily):
        probs = d.mixture_distribution.probs
        k = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, generator=generator).reshape(probs.shape[:-1])
        comp = d.component_distribution
        loc = comp.loc.gather(-1, k.unsqueeze(-1)).squeeze(-1)
        scale = comp.scale.gather(-1, k.unsqueeze(-1)).squeeze(-1)
        return _location_scale(type(comp), loc, scale, generator)
    if isinstance(d, (torch.distributions.Normal, torch.distributions.Laplace)):
        return _location_scale(type(d), d.loc, d.scale, generator)
    raise TypeError(f"draw_from: no generator-driven sampler for {type(d).__name__}")


def _location_scale(kind, loc, scale, generator):
    if issubclass(kind, torch.distributions.Normal):
        eps = torch.randn(loc.shape, generator=generator, dtype=loc.dtype, device=loc.device)
    elif issubclass(kind, torch.distributions.Laplace):
        u = torch.rand(loc.shape, generator=generator, dtype=loc.dtype, device=loc.device) - 0.5
        eps = -u.sign() * torch.log1p(-2 * u.abs()).clamp_max(0)  # inverse CDF of the standard Laplace
    else:
        raise TypeError(f"draw_from: no generator-driven sampler for {kind.__name__} components")
    return loc + scale * eps


def ordering_graph(graph: pgm.Graph, ordering: torch.Tensor, group_size: int) -> pgm.Graph:
    """The traced per-dimension graph grouped along ``ordering``: group k holds the sites of
    positions k·g … (k+1)·g − 1, named ``x{first}-{last}`` by position."""
    D = ordering.numel()
    groups = {}
    for start in range(0, D, group_size):
        stop = min(D, start + group_size)
        name = f"x{start}" if stop - start == 1 else f"x{start}-{stop - 1}"
        groups[name] = [f"x_{int(d)}" for d in ordering[start:stop]]
    return graph.grouped(groups)


class AutoregressiveModel(ParameterInfo, PyroModule):
    r"""Base class of autoregressive models: p(x) = Π_i p(x_{o_i} | x_{o_<i}).

    A subclass sets ``n_visible`` and the ``ordering`` buffer (:meth:`_set_ordering`),
    defines ``config()``, the one-pass :meth:`log_prob_dims` and the step-by-step
    ``_start(n, member)``, ``_next(state, position)`` (the conditional of dimension
    ``ordering[position]`` as a torch distribution of batch shape (n,)) and
    ``_observe(state, position, value)``.

    Attributes
    ----------
    n_visible : int
    ordering : LongTensor, shape (n_visible,)
        The model's own ordering o (member ``None``).
    order_agnostic : bool
        Whether any ordering is a member (trained over random orderings).
    visible_kind : str
        ``"bernoulli"`` (binary data) or ``"gaussian"`` (real-valued data).
    graph : pgm.Graph
        The traced program grouped along the ordering (:func:`ordering_graph`).
    """

    visible_kind = "bernoulli"
    order_agnostic = False
    default_method = "likelihood"

    def _set_ordering(self, n_visible: int, ordering, where: str) -> None:
        self.n_visible = n_visible
        order = torch.arange(n_visible) if ordering is None else check_ordering(ordering, n_visible, where)
        self.register_buffer("ordering", order)
        self._graph = None
        self._note_ordering()
        self.register_load_state_dict_post_hook(lambda module, keys: module._note_ordering())

    def _note_ordering(self) -> None:
        """Cache whether the ordering is 0, 1, …, D − 1 (``natural``: no gathers needed)."""
        self.natural = bool(torch.equal(self.ordering.cpu(), torch.arange(self.n_visible)))
        self._graph = None

    # -- data and members ---------------------------------------------------------------
    def check_data(self, x, name: str = "x") -> torch.Tensor:
        """``x`` checked (a float tensor ``(batch, n_visible)``; binary for Bernoulli units,
        finite for real ones) in the model's dtype and device."""
        return check_units(x, name, self.n_visible, binary=self.visible_kind == "bernoulli", dtype=self.dtype,
                           device=self.device)

    def check_member(self, member, where: str):
        """``member`` normalised; ValueError if the model has no such factorisation."""
        if member is None:
            return None
        if not self.order_agnostic:
            order = check_ordering(member, self.n_visible, where, "member")
            if torch.equal(order, self.ordering.cpu()):
                return None
            raise ValueError(f"{where}: a {type(self).__name__} factorises along its own ordering only (trained on "
                             "it); member must be None (or that ordering); an order-agnostic model takes any ordering")
        return check_ordering(member, self.n_visible, where, "member")

    def members(self, k: int, seed: int = 0) -> list:
        """``k`` members for an ensemble: the model's own ordering, then (order-agnostic
        models) ``k − 1`` orderings drawn uniformly from ``seed``."""
        k = check_int(k, "k", 1, f"{type(self).__name__}.members")
        if not self.order_agnostic:
            if k != 1:
                raise ValueError(f"{type(self).__name__}.members: the model has one ordering, so an ensemble has "
                                 f"k = 1 member, got k = {k}; train an order-agnostic model for ensembles")
            return [None]
        gen = torch.Generator().manual_seed(seed)
        return [None] + [torch.randperm(self.n_visible, generator=gen) for _ in range(k - 1)]

    def ordering_of(self, member) -> torch.Tensor:
        """The ordering (LongTensor on the model's device) of a checked member."""
        return self.ordering if member is None else torch.as_tensor(member, device=self.ordering.device)

    # -- likelihood ---------------------------------------------------------------------
    def log_prob_dims(self, x: torch.Tensor, member=None) -> torch.Tensor:
        """log p(x_d | x_{o_<i}) for every dimension d (at its position i in the member's
        ordering), shape (n, n_visible), columns indexed by dimension."""
        raise NotImplementedError

    def log_prob(self, x: torch.Tensor, member=None) -> torch.Tensor:
        """The exact log-likelihood log p(x) of each row, shape (n,)."""
        x = self.check_data(x)
        member = self.check_member(member, f"{type(self).__name__}.log_prob")
        return self._rows(lambda rows: self.log_prob_dims(rows, member).sum(-1), x)

    def ensemble_log_prob(self, x: torch.Tensor, members) -> torch.Tensor:
        """log (1/K) Σ_k p_k(x) over K members (a list, or an int K for :meth:`members`),
        shape (n,): the mixture of the members' distributions."""
        if isinstance(members, int) and not isinstance(members, bool):
            members = self.members(members)
        members = list(members)
        if not members:
            raise ValueError(f"{type(self).__name__}.ensemble_log_prob: members must not be empty")
        lp = torch.stack([self.log_prob(x, m) for m in members])
        return torch.logsumexp(lp, 0) - math.log(len(members))

    def _rows(self, fn, x):
        """``fn`` applied to chunks of rows of ``x`` (memory bound :data:`CHUNK`), concatenated."""
        step = max(1, CHUNK // max(1, self._row_cost()))
        if x.shape[0] <= step:
            return fn(x)
        return torch.cat([fn(x[i:i + step]) for i in range(0, x.shape[0], step)])

    def _row_cost(self) -> int:
        """Values one row of the one-pass computation holds (for chunking)."""
        return self.n_visible

    def training_loss(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The minibatch objective (a scalar): −(1/B) Σ_b log p(x_b) by default."""
        return -self.log_prob_dims(x).sum(-1).mean()

    # -- the program and the sampler ----------------------------------------------------------
    def model(self, x: torch.Tensor | None = None, n: int = 1, member=None) -> torch.Tensor:
        """The Pyro program: ``x_d`` ~ p(x_d | x_{o_<i}) for i = 1 … D along the member's
        ordering, inside ``pyro.plate("data")`` over rows; observed where ``x`` is given."""
        member = self.check_member(member, f"{type(self).__name__}.model")
        if x is not None:
            x = self.check_data(x)
            n = x.shape[0]
        order = self.ordering_of(member)
        out = []
        with pyro.plate("data", n):
            state = self._start(n, member)
            for i in range(self.n_visible):
                d = int(order[i])
                value = pyro.sample(f"x_{d}", self._next(state, i), obs=None if x is None else x[:, d])
                state = self._observe(state, i, value)
                out.append((d, value))
        result = torch.empty(n, self.n_visible, dtype=self.dtype, device=self.device)
        for d, value in out:
            result[:, d] = value
        return result

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, member=None, observed=None,
               values=None) -> torch.Tensor:
        """``n`` ancestral draws, shape (n, n_visible); with ``observed`` (bool, (n_visible,))
        and ``values`` ((n, n_visible) or (n_visible,)) the missing dimensions are drawn from
        p(x_missing | x_observed): exactly, along an ordering that puts the observed first
        (:meth:`inpainting_member`)."""
        where = f"{type(self).__name__}.sample"
        n = check_int(n, "n", 0, where)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"{where}: generator must be a torch.Generator or None, got {type(generator).__name__}")
        member = self.check_member(member, where)
        fixed = None
        if observed is not None or values is not None:
            observed, fixed = self._clamp(observed, values, n, where)
            member = self.inpainting_member(observed, member)
        order = self.ordering_of(member)
        out = torch.zeros(n, self.n_visible, dtype=self.dtype, device=self.device)
        with validation_disabled():
            state = self._start(n, member)
            for i in range(self.n_visible):
                d = int(order[i])
                value = fixed[:, d] if fixed is not None and bool(observed[d]) else draw_from(self._next(state, i),
                                                                                         generator)
                out[:, d] = value
                state = self._observe(state, i, value)
        return out

    def _clamp(self, observed, values, n, where):
        if observed is None or values is None:
            raise ValueError(f"{where}: in-painting needs both observed (a bool mask of the {self.n_visible} "
                             "dimensions) and values (the observed values)")
        observed = torch.as_tensor(observed, device=self.device)
        if observed.dtype != torch.bool or observed.shape != (self.n_visible,):
            raise ValueError(f"{where}: observed must be a bool tensor of shape ({self.n_visible},), got "
                             f"{observed.dtype} {tuple(observed.shape)}")
        values = values.expand(n, -1) if isinstance(values, torch.Tensor) and values.dim() == 1 else values
        values = self.check_data(values, "values")
        if values.shape[0] != n:
            raise ValueError(f"{where}: values must have n = {n} rows (or be one row), got {values.shape[0]}")
        return observed.cpu(), values

    def inpainting_member(self, observed: torch.Tensor, member=None):
        """A member whose ordering puts the ``observed`` dimensions first, so that ancestral
        sampling of the rest draws from the exact conditional: for an order-agnostic model
        the member's ordering with the observed dimensions moved to the front (relative
        order kept); otherwise the member itself if the observed dimensions are a prefix
        of its ordering, else ValueError."""
        order = self.ordering_of(member).cpu()
        first = observed[order]
        if not self.order_agnostic:
            k = int(first.sum())
            if bool(first[:k].all()):
                return member
            raise ValueError(f"{type(self).__name__}.sample: the observed dimensions must come first in the model's "
                             f"ordering for exact in-painting ({k} observed, but position {int((~first).nonzero()[0])}"
                             f" of the ordering is missing and comes before observed ones); observe a prefix of the "
                             f"ordering, or train an order-agnostic model")
        return torch.cat([order[first], order[~first]])

    # -- structure -----------------------------------------------------------------------
    @property
    def group_size(self) -> int:
        """Dimensions per group of :attr:`graph`: the side of a square image, else 8."""
        side = math.isqrt(self.n_visible)
        return side if side * side == self.n_visible and side > 1 else min(8, self.n_visible)

    @property
    def graph(self) -> pgm.Graph:
        """The traced program grouped along the ordering (traced once, on first use)."""
        if self._graph is None:
            with torch.no_grad(), validation_disabled():
                traced = pgm.from_pyro(self.model, torch.zeros(1, self.n_visible, dtype=self.dtype,
                                                                device=self.device))
            self._graph = ordering_graph(traced, self.ordering.cpu(), self.group_size)
        return self._graph

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
