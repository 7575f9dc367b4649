"""Block Gibbs sampling for energy models, as an ``init``/``step`` pair.

The schedule comes from the model's graph: ``model.graph.gibbs_blocks()`` colours the
undirected graph so that groups within a block are conditionally independent given the
rest; one :func:`step` samples every block in turn from ``model.conditional``. Steps
never mutate the model; all randomness comes from the ``generator`` argument.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from models.energy import EnergyModel
from models.energy.validation import check_beta, check_units, validation_disabled
from pgm import REAL_KINDS

from .sampling import sample

__all__ = ["GibbsState", "init", "step", "run", "sweep"]


class GibbsState(NamedTuple):
    """State of a batch of Gibbs chains.

    Attributes
    ----------
    values : dict[str, Tensor]
        Group name → current values, shape (n_chains, units).
    beta : Tensor, shape (n_chains,)
        Inverse temperature of each chain.
    """

    values: dict
    beta: torch.Tensor


def _check_model(model):
    if not isinstance(model, EnergyModel):
        raise TypeError(f"model must be an EnergyModel, got {type(model).__name__}")


def _check_given(model, given, name, n_chains):
    out = {}
    for group, x in (given or {}).items():
        if group not in model.graph:
            raise ValueError(f"{name}: unknown group {group!r}; the model's groups are {model.graph.names}")
        width = model.graph[group].n_units
        x = check_units(x, f"{name}[{group!r}]", width, dtype=model.dtype, device=model.device,
                        unit_interval=model.graph[group].kind == "bernoulli")
        if x.shape[0] != n_chains:
            raise ValueError(
                f"{name}[{group!r}] must have one row per chain ({n_chains}), got shape {tuple(x.shape)}"
            )
        out[group] = x
    return out


def init(model: EnergyModel, n_chains: int, generator: torch.Generator, clamp=None, values=None,
         beta=1.0) -> GibbsState:
    """Start ``n_chains`` chains.

    Groups given in ``clamp`` or ``values`` start there; every other group is drawn from
    its conditional when its whole Markov blanket is already set, else uniformly
    (Bernoulli(1/2) units, standard normal for real-valued ones).

    Parameters
    ----------
    model : EnergyModel
    n_chains : int
    generator : torch.Generator
    clamp : dict[str, Tensor], optional
        Groups held fixed at these values, shape (n_chains, units).
    values : dict[str, Tensor], optional
        Starting values of free groups, shape (n_chains, units).
    beta : float or Tensor of shape (n_chains,)
        Inverse temperature of each chain.
    """
    _check_model(model)
    if not isinstance(n_chains, int) or isinstance(n_chains, bool) or n_chains < 1:
        raise ValueError(f"n_chains must be a positive int, got {n_chains!r}")
    state = {**_check_given(model, values, "values", n_chains), **_check_given(model, clamp, "clamp", n_chains)}
    beta = check_beta(beta, batch=n_chains)
    beta = torch.as_tensor(beta, dtype=model.dtype, device=model.device).expand(n_chains).clone()
    if ((beta < 0) | (beta > 1) | beta.isnan()).any():
        raise ValueError(f"beta must lie in [0, 1], got values in [{beta.min():.3g}, {beta.max():.3g}]")
    with torch.no_grad(), validation_disabled():
        for block in model.graph.gibbs_blocks():
            for group in block:
                if group in state:
                    continue
                if model.graph.markov_blanket(group) <= state.keys():
                    state[group] = sample(model.conditional(group, state, beta), generator)
        for grp in model.graph.groups:
            if grp.name not in state:
                shape = (n_chains, grp.n_units)
                opts = dict(generator=generator, dtype=model.dtype, device=model.device)
                if grp.kind in REAL_KINDS:
                    state[grp.name] = torch.randn(shape, **opts)
                else:
                    state[grp.name] = torch.rand(shape, **opts).lt_(0.5)
    return GibbsState(state, beta)


def sweep(model: EnergyModel, values: dict, beta, generator: torch.Generator | None, *, clamp=(), mean=(),
          skip=(), blocks=None, temper=None) -> dict:
    """One pass over the blocks of ``model.graph.gibbs_blocks()``, in place on ``values``.

    The one Gibbs sweep of the library: every sampler, learning rule, annealing loop and
    mean-field pass runs through it. Each group not in ``clamp`` or ``skip`` is replaced
    by a draw from ``model.conditional(group, values, beta)`` given the current values of
    the others (its conditional mean instead, for groups in ``mean``; a generator is then
    not needed). ``blocks`` replaces the graph's block order; ``temper(group, dist,
    beta)`` replaces each conditional by another distribution (AIS combines it with a
    base factor). No checks: callers check once.

    Returns
    -------
    dict
        Group → the conditional distribution used for it in this sweep.
    """
    used = {}
    for block in (model.graph.gibbs_blocks() if blocks is None else blocks):
        for group in block:
            if group in clamp or group in skip:
                continue
            dist = model.conditional(group, values, beta)
            if temper is not None:
                dist = temper(group, dist, beta)
            used[group] = dist
            values[group] = dist.mean if group in mean else sample(dist, generator)
    return used


def step(model: EnergyModel, state: GibbsState, generator: torch.Generator, clamp=None) -> GibbsState:
    """One sweep: sample each block of ``model.graph.gibbs_blocks()`` given the others.

    Groups in ``clamp`` keep their values (positive phases, conditional sampling,
    in-painting). Returns a new state; neither ``state`` nor ``model`` is modified.
    """
    values = dict(state.values)
    clamp = clamp or {}
    values.update(clamp)
    with torch.no_grad(), validation_disabled():
        sweep(model, values, state.beta, generator, clamp=clamp)
    return GibbsState(values, state.beta)


def run(model: EnergyModel, state: GibbsState, n_steps: int, generator: torch.Generator,
        clamp=None, progress: bool = False) -> GibbsState:
    """Apply :func:`step` ``n_steps`` times."""
    if clamp:
        clamp = _check_given(model, clamp, "clamp", state.beta.shape[0])
    steps = range(n_steps)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="gibbs", unit="sweep")
    for _ in steps:
        state = step(model, state, generator, clamp)
    return state
