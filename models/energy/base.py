"""The contract every undirected energy model fulfils."""

from __future__ import annotations

import abc

import torch
from torch import nn
from torch.distributions import Distribution

import pgm

from ..parameters import ParameterInfo
from pgm.checks import check_beta

__all__ = ["EnergyModel", "has_free_energy"]


class EnergyModel(ParameterInfo, nn.Module, abc.ABC):
    r"""Base class of undirected energy models, p(x) = exp(-E(x)) / Z.

    Subclasses set ``self.graph`` (a :class:`pgm.Graph` built from their sizes) and
    implement :meth:`energy` and :meth:`conditional`; models whose latent groups can be
    summed out analytically also implement :meth:`free_energy`. Inference code (Gibbs
    sampling, mean-field, AIS, parallel tempering) uses only these methods and the graph.

    Inverse temperature ``beta`` scales the energy: p_β(x) ∝ exp(-β E(x)). It is a float
    or a tensor of shape (batch,), one value per chain.

    Attributes
    ----------
    graph : pgm.Graph
        Variable groups and couplings of the model.
    """

    graph: pgm.Graph

    @abc.abstractmethod
    def energy(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        """Energy E(x) of a joint state; ``state`` maps group name → (batch, units)."""

    @abc.abstractmethod
    def conditional(self, group: str, state: dict[str, torch.Tensor], beta=1.0) -> Distribution:
        """The exact conditional p_β(group | Markov blanket) as a batched distribution."""

    def conditional_inputs(self, group: str) -> set[str]:
        """The groups :meth:`conditional` needs for ``group``: its Markov blanket, unless the
        model sums some of them out (the spike-and-slab RBM's spikes need only ``v``, the
        slabs integrated out). ``gibbs.init`` draws a group once these are set."""
        return self.graph.markov_blanket(group)

    def free_energy(self, v: torch.Tensor, beta=1.0) -> torch.Tensor:
        r"""Free energy F_β(v) = -log Σ_h exp(-β E(v, h)), shape (batch,)."""
        raise NotImplementedError(
            f"{type(self).__name__} has no tractable free energy; use a sampler instead"
        )

    def marginal_sets(self) -> list[tuple[str, ...]]:
        """Sets S of groups given which all other groups sum (or integrate) out in closed form.

        For each S listed, :meth:`free_energy_given` is exact. Exact enumeration of log Z
        (``inference.exact_log_partition``) picks the listed set of binary groups with the
        fewest units. The default lists only the set of all groups (nothing summed out:
        F = βE); models override it (RBM: ``[("v",), ("h",), ("v", "h")]``).
        """
        return [tuple(self.graph.names)]

    def enumeration_values(self, group: str) -> torch.Tensor | None:
        """The values each unit of ``group`` takes, where finitely many, as a float64 tensor:
        (0, 1) for ``bernoulli`` groups, (−1, +1) for spin groups, ``None`` otherwise
        (real-valued units). Exact enumeration runs over these values; models with other
        discrete units (counts) override it."""
        kind = self.graph[group].kind
        if kind in pgm.BERNOULLI_KINDS:
            return torch.tensor([0.0, 1.0], dtype=torch.float64)
        if kind in pgm.SPIN_KINDS:
            return torch.tensor([-1.0, 1.0], dtype=torch.float64)
        return None

    def free_energy_given(self, state: dict[str, torch.Tensor], beta=1.0) -> torch.Tensor:
        r"""F_β(x_S) = −log Σ_{x_rest} exp(−β E(x_S, x_rest)), shape (batch,).

        ``state`` holds exactly the groups of one set S of :meth:`marginal_sets`; the sum
        runs over the other groups (an integral, with Lebesgue measure, for real-valued
        ones). Then log Z = log Σ_{x_S} exp(−F(x_S)). The default handles S = all groups
        (F_β = βE).
        """
        names = set(self.graph.names)
        if not isinstance(state, dict) or set(state) != names:
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(
                f"{type(self).__name__}.free_energy_given: state must hold one of the sets "
                f"{self.marginal_sets()}, got {got}"
            )
        beta = check_beta(beta, batch=next(iter(state.values())).shape[0])
        e = self.energy(state)
        if isinstance(beta, torch.Tensor):
            return beta.to(e).reshape(-1) * e
        return beta * e

    def training_penalty(self, v: torch.Tensor) -> torch.Tensor | None:
        """A regulariser that contrastive training adds to its surrogate loss, given the
        positive phase's data rows (batch, :attr:`data_width`): a 0-d tensor whose gradient
        joins the contrastive one, or ``None`` (the default) for none. The conv RBM's
        sparsity target is one."""
        return None

    def project_parameters(self) -> None:
        """Put the parameters back into their constraint set, in place and without
        gradient; nothing by default. The training loops of energy models call it after
        every optimizer step, so a model with a constraint that a gradient step can leave
        (the mcRBM's non-negative pooling matrix P with unit column sums) states it once,
        here, for every optimizer."""

    #: The training recipe :func:`inference.fit` uses when it is not told otherwise:
    #: the learning rule (``method=None``) and the learning rate (``lr=None``).
    default_method: str = "cd"
    default_lr: float = 0.1

    @abc.abstractmethod
    def config(self) -> dict:
        """Hyperparameters as given to ``__init__`` (JSON-serialisable)."""

    @property
    def visible_name(self) -> str:
        """Name of the (first) observed group."""
        for grp in self.graph.groups:
            if grp.observed:
                return grp.name
        raise ValueError(f"{type(self).__name__}.graph has no observed group")

    @property
    def data_groups(self) -> tuple[str, ...]:
        """The observed groups whose values, side by side in this order, form one row of
        data: what :func:`inference.fit` trains on and what :meth:`free_energy` and the
        likelihoods take. The visible group alone by default; a classification RBM's
        pixels and one-hot label (``("v", "y")``)."""
        return (self.visible_name,)

    @property
    def data_width(self) -> int:
        """Columns of a row of data: the units of :attr:`data_groups` together."""
        return sum(self.graph[g].n_units for g in self.data_groups)

    def split_data(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Data rows (batch, :attr:`data_width`) → group name → (batch, units), by columns
        (views, no copy); the inverse of :meth:`join_data`."""
        groups = self.data_groups
        if len(groups) == 1:
            return {groups[0]: x}
        return dict(zip(groups, x.split([self.graph[g].n_units for g in groups], dim=-1)))

    def join_data(self, values: dict[str, torch.Tensor]) -> torch.Tensor:
        """The data groups of ``values`` side by side, (batch, :attr:`data_width`)."""
        groups = self.data_groups
        if len(groups) == 1:
            return values[groups[0]]
        return torch.cat([values[g] for g in groups], -1)


def has_free_energy(model: EnergyModel) -> bool:
    """Whether ``model`` overrides :meth:`EnergyModel.free_energy` (its latent groups sum out
    analytically given the visible one)."""
    return type(model).free_energy is not EnergyModel.free_energy
