r"""Single-site Gibbs updates of a group whose units are coupled among themselves.

Where the graph couples a group to itself (``pgm.Edge(g, g)``: a Boltzmann machine's
lateral connections, a Hopfield net) its units are not conditionally independent given
the other groups, so :func:`inference.gibbs.sweep` updates them one at a time: unit i is
redrawn from

.. math::

    p_\beta(x_i = 1 \mid x_{-i}) = \sigma(\ell_i), \qquad
    \ell_i = \texttt{model.site\_logits(group, i, values, beta)},

vectorised across chains (for ±1 "spin" units ℓ_i is the logit of s_i = +1). Every such
update leaves p_β invariant, so any order does: a *sequential* scan visits the units
0, 1, …, n−1; a *random* scan visits them in a fresh uniformly random permutation drawn
from the generator at every sweep (the same permutation for all chains).
"""

from __future__ import annotations

import torch
from torch.distributions import Bernoulli

from pgm import SPIN_KINDS

__all__ = ["SCANS", "self_coupled", "site_sweep", "check_scan"]

#: Orders in which a self-coupled group's units are visited.
SCANS = ("sequential", "random")


def self_coupled(graph) -> set[str]:
    """Names of the groups that ``graph`` couples to themselves (an undirected self-edge)."""
    return {e.src for e in graph.edges if not e.directed and e.src == e.dst}


def check_scan(scan, where: str) -> str:
    if scan not in SCANS:
        raise ValueError(f"{where}: scan must be one of {SCANS}, got {scan!r}")
    return scan


def site_sweep(model, values: dict, group: str, beta, generator, *, scan: str = "sequential",
               mean: bool = False, offset: torch.Tensor | None = None) -> Bernoulli:
    """Update every unit of ``group`` once, one at a time, in place on ``values[group]``
    (a fresh tensor replaces the old one, which is left untouched).

    Parameters
    ----------
    model : EnergyModel
        Must provide ``site_logits(group, index, values, beta) -> Tensor (batch,)``.
    values : dict[str, Tensor]
        Current values of every group, (batch, units).
    group : str
    beta : Tensor of shape (batch,) or float
        Inverse temperature; ∞ makes each update greedy (the more probable value, a tie
        broken at random).
    generator : torch.Generator or None
        Source of the draws and of a random scan's order (``None`` only with
        ``mean=True`` and a sequential scan).
    scan : {"sequential", "random"}
    mean : bool
        Set each unit to its conditional mean instead of a draw (sequential mean-field).
    offset : Tensor, shape (batch, units), optional
        Logits added to each unit's (AIS: a base factor raised to 1 − β).

    Returns
    -------
    Bernoulli
        The site conditionals used, logits of shape (batch, units): unit i's entry is its
        conditional at the moment it was updated.
    """
    if not hasattr(model, "site_logits"):
        raise TypeError(f"{type(model).__name__}.graph couples {group!r} to itself, so Gibbs sampling updates "
                        "it unit by unit and needs the method site_logits(group, index, values, beta)")
    spin = model.graph[group].kind in SPIN_KINDS
    x = values[group].clone()
    values[group] = x
    n = x.shape[1]
    order = torch.randperm(n, generator=generator, device=generator.device).tolist() if scan == "random" else range(n)
    logits = torch.empty_like(x)
    infinite = bool(torch.isinf(beta).any()) if isinstance(beta, torch.Tensor) else beta == float("inf")
    u = None if mean else torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    for i in order:
        logit = model.site_logits(group, i, values, beta)
        if offset is not None:
            logit = logit + offset[:, i]
        if infinite:  # β = ∞ (greedy descent): a tie (0 · ∞) is broken at random, σ(0) = 1/2
            logit = torch.nan_to_num(logit, nan=0.0)
        logits[:, i] = logit
        if mean:
            x[:, i] = torch.tanh(0.5 * logit) if spin else torch.sigmoid(logit)
        else:
            bit = u[:, i] < torch.sigmoid(logit)
            x[:, i] = (2 * bit - 1).to(x.dtype) if spin else bit.to(x.dtype)
    return Bernoulli(logits=logits, validate_args=False)
