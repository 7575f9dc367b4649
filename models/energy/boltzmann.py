r"""The general (fully connected) Boltzmann machine with visible and hidden units."""

from __future__ import annotations

import torch
from torch import nn

import pgm

from .base import EnergyModel
from .lateral import LateralBernoulli
from .marginals import column_means
from pgm.checks import check_beta, check_init, check_int, check_memory, check_units

__all__ = ["BoltzmannMachine"]


class BoltzmannMachine(EnergyModel):
    r"""Boltzmann machine (Ackley, Hinton & Sejnowski, 1985) with binary {0, 1} units.

    The units x = (v, h) are all coupled to one another:

    .. math::

        E(x) = -\tfrac12\, x^\top U x - a^\top x, \qquad p(x) = e^{-E(x)} / Z,

    with U symmetric and zero on the diagonal. U is stored as its n(n−1)/2 entries above
    the diagonal (``u``), so any update of ``u`` keeps U symmetric with a zero diagonal.
    The conditional of one unit given all the others is

    .. math::

        p_\beta(x_i = 1 \mid x_{-i}) = \sigma\bigl(\beta\,(a_i + \textstyle\sum_j U_{ij} x_j)\bigr),

    which is what single-site Gibbs sampling (:func:`inference.gibbs.sweep`) uses: the
    graph couples each group to itself, so the sampler updates its units one at a time.

    Parameters
    ----------
    n_visible : int
        Number of visible units (≥ 1).
    n_hidden : int, default 0
        Number of hidden units (0: a fully visible Boltzmann machine).
    weight_std : float, default 0.01
        Standard deviation of the initial Gaussian couplings.
    seed : int, optional
        Seed of the initialisation; ``None`` draws from torch's global generator.

    Attributes
    ----------
    u : Parameter, shape (n (n − 1) / 2,)
        Couplings U_ij, i < j, in the row-major order of ``torch.triu_indices(n, n, 1)``.
    a : Parameter, shape (n,)
        Biases (zero), visible units first.
    U : Tensor, shape (n, n)
        The symmetric coupling matrix built from ``u`` (differentiable).
    graph : pgm.Graph
        ``v`` (observed) and ``h`` (latent, when ``n_hidden > 0``), both bernoulli, each
        coupled to itself, and ``v`` -- ``h``.

    References
    ----------
    D. Ackley, G. Hinton, T. Sejnowski, "A learning algorithm for Boltzmann machines",
    Cognitive Science 9, 1985.

    Examples
    --------
    >>> bm = BoltzmannMachine(4, 2, seed=0)
    >>> x = {"v": torch.tensor([[1., 0., 1., 1.]]), "h": torch.tensor([[0., 1.]])}
    >>> bm.energy(x).shape
    torch.Size([1])
    """

    default_method = "pcd"
    default_lr = 0.05

    def __init__(self, n_visible: int, n_hidden: int = 0, *, weight_std: float = 0.01, seed: int | None = None):
        super().__init__()
        where = "BoltzmannMachine"
        n_visible = check_int(n_visible, "n_visible", 1, where)
        n_hidden = check_int(n_hidden, "n_hidden", 0, where)
        weight_std, seed = check_init(where, weight_std, seed)
        n = n_visible + n_hidden
        check_memory(f"{where}({n_visible}, {n_hidden})", n * n + n)
        self.n_visible, self.n_hidden, self.weight_std, self.seed = n_visible, n_hidden, weight_std, seed
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        n_pairs = n * (n - 1) // 2
        self.u = nn.Parameter(torch.randn(n_pairs, generator=gen) * weight_std)
        self.a = nn.Parameter(torch.zeros(n))
        rows, cols = torch.triu_indices(n, n, 1)
        pack = torch.full((n, n), n_pairs, dtype=torch.long)  # index n_pairs: an appended zero
        pack[rows, cols] = torch.arange(n_pairs)
        pack[cols, rows] = torch.arange(n_pairs)
        self.register_buffer("_pack", pack, persistent=False)
        self._slices = {"v": slice(0, n_visible), "h": slice(n_visible, n)}
        groups = [pgm.VariableGroup("v", n_visible, "bernoulli", observed=True)]
        edges = [pgm.Edge("v", "v")]
        if n_hidden:
            groups.append(pgm.VariableGroup("h", n_hidden, "bernoulli"))
            edges += [pgm.Edge("h", "h"), pgm.Edge("v", "h")]
        else:
            del self._slices["h"]
        self.graph = pgm.Graph(groups, edges)

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "n_hidden": self.n_hidden,
                "weight_std": self.weight_std, "seed": self.seed}

    @property
    def n_units(self) -> int:
        return self.n_visible + self.n_hidden

    @property
    def U(self) -> torch.Tensor:
        """The coupling matrix, (n, n), symmetric with a zero diagonal."""
        return torch.cat([self.u, self.u.new_zeros(1)])[self._pack]

    @classmethod
    def from_data(cls, data: torch.Tensor, n_hidden: int = 0, **kwargs) -> "BoltzmannMachine":
        """A machine sized for ``data`` with visible biases a_i = logit of the data marginals."""
        data = check_units(data, "data", unit_interval=True)
        model = cls(data.shape[1], n_hidden, **kwargs)
        with torch.no_grad():
            p = column_means(data).clamp(1e-3, 1 - 1e-3)
            model.a[:model.n_visible] = torch.logit(p).to(model.a)
        return model

    # -- the energy-model contract ---------------------------------------------------
    def _group(self, state, name, where):
        if not isinstance(state, dict):
            raise TypeError(f"{where}: state must be a dict mapping group name to tensor, got {type(state).__name__}")
        if name not in state:
            raise ValueError(f"{where}: state needs group {name!r}, got groups {sorted(state)}")
        width = self.graph[name].n_units
        return check_units(state[name], f"state[{name!r}]", width, unit_interval=True,
                           dtype=self.a.dtype, device=self.a.device)

    def _joint(self, state, where) -> torch.Tensor:
        parts = [self._group(state, g, where) for g in self._slices]
        if len({p.shape[0] for p in parts}) > 1:
            raise ValueError(f"{where}: groups have different batch sizes {[p.shape[0] for p in parts]}")
        return torch.cat(parts, -1) if len(parts) > 1 else parts[0]

    def energy(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        """E(x) = −½ xᵀUx − aᵀx for a batch; ``state`` holds every group, (batch, units).

        Returns
        -------
        Tensor, shape (batch,)
        """
        x = self._joint(state, "energy")
        return -0.5 * ((x @ self.U) * x).sum(-1) - x @ self.a

    def _check_group(self, group, where):
        if group not in self._slices:
            raise ValueError(f"{where}: group must be one of {list(self._slices)}, got {group!r}")

    def conditional(self, group: str, state: dict[str, torch.Tensor], beta=1.0) -> LateralBernoulli:
        r"""The exact p_β(group | other group): a :class:`LateralBernoulli` with field
        a_g + U_{g,rest} x_rest and couplings U_gg. ``state`` needs only the other group.
        Its units are coupled, so it normalises by enumeration (small groups only);
        samplers use :meth:`site_logits` instead."""
        self._check_group(group, "conditional")
        U, sl = self.U, self._slices[group]
        others = [g for g in self._slices if g != group]
        field = self.a[sl]
        batch = None
        for g in others:
            x = self._group(state, g, f"conditional({group!r})")
            field = field + x @ U[self._slices[g], sl]
            batch = x.shape[0]
        if batch is None:  # no other group: the field is the bias, one row per given chain
            batch = next(iter(state.values())).shape[0] if isinstance(state, dict) and state else 1
            field = field.expand(batch, -1)
        beta = check_beta(beta, batch=batch)
        return LateralBernoulli(field, U[sl, sl], beta)

    def site_logits(self, group: str, index: int, values: dict[str, torch.Tensor], beta) -> torch.Tensor:
        r"""β (a_i + Σ_j U_ij x_j) for unit ``index`` of ``group``: the logit of
        p_β(x_i = 1 | all other units), shape (batch,). No checks (the sampler's hot loop)."""
        i = self._slices[group].start + index
        x = torch.cat([values[g] for g in self._slices], -1) if len(self._slices) > 1 else values["v"]
        col = torch.cat([self.u, self.u.new_zeros(1)])[self._pack[:, i]]
        logit = torch.addmv(self.a[i].expand(x.shape[0]), x, col)
        if isinstance(beta, torch.Tensor):
            return logit * beta.to(logit).reshape(-1)
        return logit * beta
