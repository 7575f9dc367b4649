"""The deep Boltzmann machine: a chain of binary layers with undirected couplings."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Bernoulli

import pgm

from .base import EnergyModel
from .marginals import column_means
from pgm.checks import check_beta, check_init, check_memory, check_sizes, check_units

__all__ = ["DBM"]


def _beta_column(beta, like: torch.Tensor):
    if isinstance(beta, torch.Tensor):
        return beta.to(dtype=like.dtype, device=like.device).reshape(-1, 1)
    return beta


class DBM(EnergyModel):
    r"""Deep Boltzmann machine with binary layers x_0 = v, x_1 = h1, …, x_L = hL.

    .. math::

        E(x) = -\sum_{l=1}^{L} (x_{l-1} - \mu_{l-1})^\top W_l (x_l - \mu_l)
               - \sum_{l=0}^{L} b_l^\top (x_l - \mu_l)

    with offsets μ_l = 0 for the plain model (Salakhutdinov & Hinton, 2009) and, with
    ``centered=True``, offsets that track the layer means (Montavon & Müller, 2012;
    Goodfellow, Bengio & Courville, eq. 20.37). Each layer couples only to its
    neighbours, so given the others it factorises:

    .. math::

        p(x_l = 1 \mid x_{l-1}, x_{l+1}) = \sigma(g_l), \qquad
        g_l = b_l + W_l^\top (x_{l-1} - \mu_{l-1}) + W_{l+1} (x_{l+1} - \mu_{l+1}).

    The graph is a chain v — h1 — … — hL; its colouring gives two Gibbs blocks, the
    even layers (v, h2, …) and the odd layers (h1, h3, …). Either block sums out given
    the other (:meth:`free_energy_given`), which is the model's enumeration hook for
    exact log Z and the AIS path with odd layers summed out. The visible marginal
    itself has no closed form: there is no :meth:`free_energy`.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, visible first (at least two layers), e.g. ``(64, 32, 16)``.
    centered : bool, default False
        Use offsets μ_l (buffers ``offset{l}``, initially 1/2; the visible one is set
        from data by :meth:`init_visible_bias`). Moving them with :meth:`set_offsets`
        re-parameterises the biases so that the distribution is unchanged.
    weight_std : float, default 0.01
        Standard deviation of the initial Gaussian weights.
    seed : int, optional
        Seed of the weight initialisation.

    Attributes
    ----------
    weights : ParameterList
        W_l of shape (sizes[l-1], sizes[l]), l = 1 … L.
    biases : ParameterList
        b_l of shape (sizes[l],), l = 0 … L (zero initially).
    graph : pgm.Graph
        ``v`` (observed) — ``h1`` — … — ``hL``, all ``bernoulli``.

    References
    ----------
    R. Salakhutdinov and G. Hinton, "Deep Boltzmann machines", AISTATS 2009.
    G. Montavon and K.-R. Müller, "Deep Boltzmann machines and the centering trick",
    Neural Networks: Tricks of the Trade, 2012.

    Examples
    --------
    >>> dbm = DBM([6, 4, 3], seed=0)
    >>> dbm.graph.gibbs_blocks()
    [['v', 'h2'], ['h1']]
    """

    default_method = "sml"
    default_lr = 0.02  # binarized digits, 64-16-16, 30 epochs of SML: 0.02 beat 0.05 by 1.6 nats

    def __init__(self, sizes, centered: bool = False, *, weight_std: float = 0.01, seed: int | None = None):
        super().__init__()
        where = "DBM"
        sizes = check_sizes(sizes, where, 2, "visible and one hidden")
        if not isinstance(centered, bool):
            raise TypeError(f"{where}: centered must be a bool, got {centered!r}")
        weight_std, seed = check_init(where, weight_std, seed)
        check_memory(f"DBM({sizes})", sum(a * b for a, b in zip(sizes, sizes[1:])) + sum(sizes))
        self.sizes, self.centered, self.weight_std, self.seed = sizes, centered, float(weight_std), seed
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        self.weights = nn.ParameterList(
            [nn.Parameter(torch.randn(a, b, generator=gen) * weight_std) for a, b in zip(sizes, sizes[1:])])
        self.biases = nn.ParameterList([nn.Parameter(torch.zeros(n)) for n in sizes])
        if centered:
            for l, n in enumerate(sizes):
                self.register_buffer(f"offset{l}", torch.full((n,), 0.5))
        self.names = ["v"] + [f"h{l}" for l in range(1, len(sizes))]
        self.graph = pgm.Graph(
            [pgm.VariableGroup("v", sizes[0], "bernoulli", observed=True)]
            + [pgm.VariableGroup(n, s, "bernoulli") for n, s in zip(self.names[1:], sizes[1:])],
            [pgm.Edge(a, b) for a, b in zip(self.names, self.names[1:])],
        )

    def config(self) -> dict:
        return {"sizes": list(self.sizes), "centered": self.centered, "weight_std": self.weight_std,
                "seed": self.seed}

    @property
    def n_layers(self) -> int:
        """Number of hidden layers L."""
        return len(self.sizes) - 1

    @classmethod
    def from_data(cls, data: torch.Tensor, hidden, **kwargs) -> "DBM":
        """A DBM with ``data.shape[1]`` visible units and hidden layers ``hidden``,
        visible bias (and offset, if centred) set from the data marginals."""
        data = check_units(data, "data", unit_interval=True)
        hidden = [hidden] if isinstance(hidden, int) else list(hidden)
        model = cls([data.shape[1], *hidden], **kwargs)
        model.init_visible_bias(data)
        return model

    @torch.no_grad()
    def init_visible_bias(self, data: torch.Tensor, eps: float = 1e-3) -> None:
        r"""b_0 = logit(p) from the data marginals p (clipped to [ε, 1−ε]); a centred
        model also sets its visible offset μ_0 = p."""
        data = check_units(data, "data", self.sizes[0], unit_interval=True)
        p = column_means(data).clamp(eps, 1 - eps)
        self.biases[0].copy_(torch.logit(p).to(self.biases[0]))
        if self.centered:
            self.offset0.copy_(p.to(self.offset0))

    # -- offsets ---------------------------------------------------------------------------
    def offsets(self) -> list[torch.Tensor]:
        """μ_0 … μ_L (zeros for a plain model), each of shape (sizes[l],)."""
        if self.centered:
            return [getattr(self, f"offset{l}") for l in range(len(self.sizes))]
        return [torch.zeros_like(b) for b in self.biases]

    @torch.no_grad()
    def set_offsets(self, offsets, rate: float = 1.0) -> None:
        r"""Move the offsets towards ``offsets`` and re-parameterise the biases.

        μ'_l = μ_l + rate (target_l − μ_l), and, with Δ_l = μ'_l − μ_l,
        b'_l = b_l + W_lᵀ Δ_{l−1} + W_{l+1} Δ_{l+1}: the energy changes by a constant
        only, so the distribution is the same (Montavon & Müller, 2012).

        Parameters
        ----------
        offsets : sequence of Tensor
            One target per layer, shape (sizes[l],), values in [0, 1]; ``None`` entries
            keep that layer's offset.
        rate : float in (0, 1]
            Fraction of the way to move (a running average of the layer means).
        """
        if not self.centered:
            raise ValueError("DBM.set_offsets: the model was built with centered=False; build it with centered=True")
        if not isinstance(offsets, (list, tuple)) or len(offsets) != len(self.sizes):
            raise ValueError(f"DBM.set_offsets: offsets must be a list of {len(self.sizes)} tensors (or None), "
                             f"got {type(offsets).__name__}")
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 < rate <= 1:
            raise ValueError(f"DBM.set_offsets: rate must be a number in (0, 1], got {rate!r}")
        old = self.offsets()
        delta = []
        for l, (mu, target) in enumerate(zip(old, offsets)):
            if target is None:
                delta.append(torch.zeros_like(mu))
                continue
            target = check_units(target.reshape(1, -1), f"offsets[{l}]", self.sizes[l], unit_interval=True,
                                 dtype=mu.dtype, device=mu.device)[0]
            delta.append(rate * (target - mu))
        for l, b in enumerate(self.biases):
            if l >= 1:
                b.add_(delta[l - 1] @ self.weights[l - 1])
            if l < self.n_layers:
                b.add_(self.weights[l] @ delta[l + 1])
        for mu, d in zip(old, delta):
            mu.add_(d)

    # -- the energy-model contract ---------------------------------------------------------
    def _layer(self, state, l, where):
        name = self.names[l]
        if not isinstance(state, dict):
            raise TypeError(f"{where}: state must be a dict mapping group name to tensor, got {type(state).__name__}")
        if name not in state:
            raise ValueError(f"{where}: state needs group {name!r}, got groups {sorted(state)}")
        return check_units(state[name], f"state[{name!r}]", self.sizes[l], unit_interval=True,
                           dtype=self.biases[0].dtype, device=self.biases[0].device)

    def _centred(self, x, l):
        return x - getattr(self, f"offset{l}") if self.centered else x

    def _input(self, l, x_below, x_above):
        """g_l = b_l + W_lᵀ(x_{l−1} − μ_{l−1}) + W_{l+1}(x_{l+1} − μ_{l+1}), (batch, sizes[l])."""
        g = self.biases[l]
        if x_below is not None:
            g = torch.addmm(g, self._centred(x_below, l - 1), self.weights[l - 1])
        if x_above is not None:
            g = torch.addmm(g, self._centred(x_above, l + 1), self.weights[l].t())
        return g

    def layer_input(self, group: str, state: dict) -> torch.Tensor:
        """The total input g_l of layer ``group`` given its neighbours in ``state``,
        shape (batch, units): the logits of its conditional at β = 1."""
        l = self._index(group, "layer_input")
        where = f"layer_input({group!r})"
        below = self._layer(state, l - 1, where) if l > 0 else None
        above = self._layer(state, l + 1, where) if l < self.n_layers else None
        if below is not None and above is not None and below.shape[0] != above.shape[0]:
            raise ValueError(f"{where}: the neighbouring layers have batch sizes {below.shape[0]} and {above.shape[0]}")
        return self._input(l, below, above)

    def _index(self, group, where):
        if group not in self.names:
            raise ValueError(f"{where}: group must be one of {self.names}, got {group!r}")
        return self.names.index(group)

    def energy(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        """E(x) for a batch; ``state`` maps every layer name to (batch, units) values in
        [0, 1] (mean-field values give E at the means, which is E_q[E] for factorial q).

        Returns
        -------
        Tensor, shape (batch,)
        """
        xs = [self._centred(self._layer(state, l, "energy"), l) for l in range(len(self.sizes))]
        batch = {x.shape[0] for x in xs}
        if len(batch) != 1:
            raise ValueError(f"energy: the layers have different batch sizes {[x.shape[0] for x in xs]}")
        e = -sum(x @ b for x, b in zip(xs, self.biases))
        for l, W in enumerate(self.weights):
            e = e - ((xs[l] @ W) * xs[l + 1]).sum(-1)
        return e

    def conditional(self, group: str, state: dict[str, torch.Tensor], beta=1.0) -> Bernoulli:
        """p_β(x_l | x_{l−1}, x_{l+1}) = Bernoulli(σ(β g_l)); ``state`` needs only the
        neighbouring layers. Values in [0, 1] are accepted (mean-field)."""
        logits = self.layer_input(group, state)
        beta = check_beta(beta, batch=logits.shape[0])
        if not (isinstance(beta, float) and beta == 1.0):
            logits = logits * _beta_column(beta, logits)
        return Bernoulli(logits=logits, validate_args=False)

    def parity_layers(self, parity: int) -> tuple[str, ...]:
        """The even (``parity=0``: v, h2, …) or odd (``1``: h1, h3, …) layers."""
        return tuple(self.names[parity::2])

    def marginal_sets(self) -> list[tuple[str, ...]]:
        """The even layers (odd ones summed out), the odd layers (even ones summed out),
        and all layers."""
        return [self.parity_layers(0), self.parity_layers(1), tuple(self.names)]

    def free_energy_given(self, state: dict[str, torch.Tensor], beta=1.0) -> torch.Tensor:
        r"""F_β of one parity's layers with the other parity's summed out, shape (batch,).

        .. math::

            F_\beta(x_{\text{kept}}) = -\beta \sum_{l\ \text{kept}} b_l^\top (x_l - \mu_l)
              + \sum_{l\ \text{summed}} \Big[\beta\, \mu_l^\top g_l
              - \sum_j \operatorname{softplus}(\beta\, g_{l,j})\Big],

        g_l the input of a summed layer from its (kept) neighbours. For all layers,
        β E.
        """
        keys = set(state) if isinstance(state, dict) else None
        for parity in (0, 1):
            if keys == set(self.parity_layers(parity)):
                return self._free_energy_parity(state, parity, beta)
        return super().free_energy_given(state, beta)

    def _free_energy_parity(self, state, parity, beta):
        where = "free_energy_given"
        xs = {l: self._layer(state, l, where) for l in range(parity, len(self.sizes), 2)}
        batch = {x.shape[0] for x in xs.values()}
        if len(batch) != 1:
            raise ValueError(f"{where}: the layers have different batch sizes {sorted(batch)}")
        n = batch.pop()
        beta = check_beta(beta, batch=n)
        if isinstance(beta, torch.Tensor):
            beta = beta.to(self.biases[0]).reshape(-1, 1)
        f = 0.0
        for l, x in xs.items():
            f = f - (beta * (self._centred(x, l) * self.biases[l])).sum(-1)
        for l in range(1 - parity, len(self.sizes), 2):
            g = self._input(l, xs.get(l - 1), xs.get(l + 1))
            if g.dim() == 1:  # no kept neighbour cannot happen in a chain of ≥ 2 layers
                g = g.expand(n, -1)
            term = -F.softplus(beta * g).sum(-1)
            if self.centered:
                term = term + (beta * g * getattr(self, f"offset{l}")).sum(-1)
            f = f + term
        return f
