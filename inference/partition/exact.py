r"""Partition functions: the estimate type and exact enumeration for small models.

Every estimator of log Z in :mod:`inference` returns a :class:`LogZEstimate`: the value,
a lower and an upper bound, the effective sample size and the method. Exact enumeration
(:func:`exact_log_partition`) is the oracle the estimators are tested against.

For a model with two binary layers (an RBM), one layer can be summed out analytically
through the free energy, so only the smaller layer has to be enumerated:

.. math::

    \log Z = \log \sum_{v} e^{-F(v)} = \log \sum_{h} e^{-F(h)},

which costs 2^min(n_visible, n_hidden) free-energy evaluations instead of
2^(n_visible + n_hidden) energies.
"""

from __future__ import annotations

import copy
import math
from typing import NamedTuple

import torch

from models.energy import EnergyModel
from models.energy.validation import validation_disabled

__all__ = ["LogZEstimate", "exact_log_partition", "MAX_EXACT_UNITS"]

#: Default limit on the number of units :func:`exact_log_partition` enumerates (2^25 states).
MAX_EXACT_UNITS = 25


class LogZEstimate(NamedTuple):
    """An estimate of log Z with its uncertainty, all values Python floats (float64).

    Attributes
    ----------
    log_z : float
        The estimate of log Z, in nats.
    lower, upper : float
        A bracket around ``log_z``. Exact enumeration: ``lower == upper == log_z``.
        Sampling estimators document what their bracket means (for AIS, the log of
        mean weight ∓ 3 standard errors; ``lower`` may be ``-inf``).
    ess : float
        Effective sample size of the importance weights, (Σw)² / Σw², between 1 and
        ``n_chains``. Exact enumeration has ``ess = inf`` (no sampling error).
    n_chains : int
        Number of independent chains (importance samples); 0 for exact enumeration.
    method : str
        ``"exact"``, ``"ais"`` or ``"reverse_ais"``.
    """

    log_z: float
    lower: float
    upper: float
    ess: float
    n_chains: int
    method: str


def _float64_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A detached float64 copy of ``model`` (the original is left untouched)."""
    return copy.deepcopy(model).to(torch.float64)


def _bits(start: int, stop: int, n: int, device) -> torch.Tensor:
    """Rows ``start .. stop-1`` of the table of all binary vectors of length ``n``, float64.

    Row ``k`` is the binary expansion of ``k`` with the first column most significant.
    """
    k = torch.arange(start, stop, device=device, dtype=torch.int64).unsqueeze(1)
    shifts = torch.arange(n - 1, -1, -1, device=device, dtype=torch.int64)
    return ((k >> shifts) & 1).to(torch.float64)


def _bipartite_binary(model, func: str) -> tuple[str, str]:
    """The (visible, hidden) group names of a model with two coupled binary layers."""
    if not isinstance(model, EnergyModel):
        raise TypeError(f"{func}: model must be an EnergyModel, got {type(model).__name__}")
    graph = model.graph
    groups = list(graph.groups)
    kinds = {g.name: g.kind for g in groups}
    if len(groups) != 2 or any(k != "bernoulli" for k in kinds.values()):
        raise TypeError(
            f"{func}: needs a model with exactly two binary (bernoulli) groups, such as an "
            f"RBM; got groups {kinds}"
        )
    vis = model.visible_name
    (hid,) = [g.name for g in groups if g.name != vis]
    if graph.neighbours(vis) != {hid} or graph.neighbours(hid) != {vis}:
        raise TypeError(
            f"{func}: needs the two groups {vis!r} and {hid!r} coupled to each other only "
            f"(a bipartite graph without lateral couplings); got edges {list(graph.edges)}"
        )
    return vis, hid


def exact_log_partition(model: EnergyModel, chunk_size: int = 2**16, *,
                        max_units: int = MAX_EXACT_UNITS) -> LogZEstimate:
    r"""Exact log Z of a model with two binary layers, by enumerating the smaller one.

    .. math::

        \log Z = \log \sum_{v \in \{0,1\}^{n_v}} e^{-F(v)}
               = \log \sum_{h \in \{0,1\}^{n_h}} e^{-F(h)},

    with F(v) = ``model.free_energy(v)`` (hidden units summed out) and F(h) =
    ``model.free_energy_hidden(h)`` (visible units summed out). The smaller layer is
    enumerated (the visible one if the model has no ``free_energy_hidden``). Structure is
    read from ``model.graph``: two ``bernoulli`` groups coupled only to each other.

    All arithmetic is in float64 on a copy of the model, chunk by chunk, the chunks
    combined with ``logsumexp``; memory stays O(chunk_size × n_units).

    Parameters
    ----------
    model : EnergyModel
        E.g. an :class:`models.energy.RBM`. It is not modified.
    chunk_size : int, default 65536
        Number of states evaluated at once.
    max_units : int, default 25
        Refuse to enumerate a layer larger than this (2^25 ≈ 3.4e7 states take seconds
        to a minute, depending on the other layer's size).

    Returns
    -------
    LogZEstimate
        ``log_z = lower = upper`` (exact), ``ess = inf``, ``n_chains = 0``,
        ``method = "exact"``.

    Raises
    ------
    TypeError
        The model is not an energy model with two coupled binary layers.
    ValueError
        The smaller layer has more than ``max_units`` units, or ``chunk_size`` is not a
        positive int.

    Examples
    --------
    >>> from models.energy import RBM
    >>> est = exact_log_partition(RBM(6, 4, seed=0))
    >>> est.method, est.lower == est.log_z == est.upper
    ('exact', True)
    """
    vis, hid = _bipartite_binary(model, "exact_log_partition")
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise ValueError(f"exact_log_partition: chunk_size must be a positive int, got {chunk_size!r}")
    if not isinstance(max_units, int) or isinstance(max_units, bool) or max_units < 0:
        raise ValueError(f"exact_log_partition: max_units must be a non-negative int, got {max_units!r}")
    n = {vis: model.graph[vis].n_units, hid: model.graph[hid].n_units}
    # free energy of each group's states with the other group summed out
    free = {vis: "free_energy"}
    if callable(getattr(model, "free_energy_hidden", None)):
        free[hid] = "free_energy_hidden"
    group = min(free, key=lambda g: (n[g], g != vis))
    if n[group] > max_units:
        raise ValueError(
            f"exact_log_partition: enumerating group {group!r} means 2^{n[group]} states "
            f"({n[group]} units; sizes {n}), above max_units={max_units}. Estimate log Z with "
            "inference.ais_log_partition(model, data=...) instead, or raise max_units if "
            "you can afford 2^n free-energy evaluations."
        )
    model64 = _float64_copy(model)
    energy_of = getattr(model64, free[group])
    total = 2 ** n[group]
    parts = []
    with torch.no_grad(), validation_disabled():
        for start in range(0, total, chunk_size):
            states = _bits(start, min(start + chunk_size, total), n[group], model64.device)
            parts.append(torch.logsumexp(-energy_of(states).to(torch.float64), 0))
        log_z = float(torch.logsumexp(torch.stack(parts), 0))
    return LogZEstimate(log_z, log_z, log_z, math.inf, 0, "exact")
