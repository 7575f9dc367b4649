"""The contract every undirected energy model fulfils."""

from __future__ import annotations

import abc

import torch
from torch import nn
from torch.distributions import Distribution

import pgm

__all__ = ["EnergyModel"]


class EnergyModel(nn.Module, abc.ABC):
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

    def free_energy(self, v: torch.Tensor, beta=1.0) -> torch.Tensor:
        r"""Free energy F_β(v) = -log Σ_h exp(-β E(v, h)), shape (batch,)."""
        raise NotImplementedError(
            f"{type(self).__name__} has no tractable free energy; use a sampler instead"
        )

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
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config().items())
