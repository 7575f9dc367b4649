"""Block Gibbs sampling for energy models, as an ``init``/``step`` pair.

The schedule comes from the model's graph: ``model.graph.gibbs_blocks()`` colours the
undirected graph so that groups within a block are conditionally independent given the
rest; one :func:`step` samples every block in turn from ``model.conditional``. A group
that the graph couples to itself (a Boltzmann machine's or Hopfield net's lateral
connections) is updated one unit at a time from the model's site conditionals instead
(:mod:`inference.mcmc.single_site`; ``scan`` sets the order). Steps never mutate the
model; all randomness comes from the ``generator`` argument.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch.distributions import Bernoulli

from models.energy import EnergyModel
from pgm.checks import (check_beta, check_bool, check_chains_memory, check_int, check_model, check_onehot, check_units,
                        is_validation_enabled, validation_disabled)
from pgm import COUNT_KINDS, ONEHOT_KINDS, REAL_KINDS, SPIN_KINDS

from .sampling import one_hot_categorical, sample
from .single_site import check_scan, self_coupled, site_sweep

__all__ = ["GibbsState", "init", "step", "run", "sweep", "check_state"]


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


def _check_model(model, where):
    check_model(model, EnergyModel, f"gibbs.{where}")


def _check_generator(generator, model, where):
    """All randomness comes from ``generator``: it must be a torch.Generator on the model's device."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"gibbs.{where}: generator must be a torch.Generator (every random draw comes from it, "
            f"never from torch's global generator), got {type(generator).__name__}; "
            "make one with inference.make_generator(seed)"
        )
    if generator.device.type != model.device.type:
        raise ValueError(f"gibbs.{where}: generator is on {generator.device} but the model is on {model.device}; "
                         f"make it with inference.make_generator(seed, {str(model.device)!r})")


def _check_given(model, given, name, n_chains):
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise TypeError(f"{name} must be a dict mapping group name to a tensor (n_chains, units), "
                        f"got {type(given).__name__}")
    out = {}
    for group, x in given.items():
        if group not in model.graph:
            raise ValueError(f"{name}: unknown group {group!r}; the model's groups are {model.graph.names}")
        width = model.graph[group].n_units
        kind = model.graph[group].kind
        if kind in ONEHOT_KINDS:
            x = check_onehot(x, f"{name}[{group!r}]", width, exact=False, dtype=model.dtype, device=model.device)
        else:
            x = check_units(x, f"{name}[{group!r}]", width, dtype=model.dtype, device=model.device,
                            unit_interval=kind == "bernoulli" or _zero_one(model, group), spin=kind in SPIN_KINDS)
        if kind in COUNT_KINDS and is_validation_enabled():
            top = float(model.enumeration_values(group).max())
            if ((x < 0) | (x > top)).any():
                raise ValueError(f"{name}[{group!r}] must hold counts in [0, {top:g}] (its units' values), got "
                                 f"values in [{float(x.min()):.4g}, {float(x.max()):.4g}]")
        if x.shape[0] != n_chains:
            raise ValueError(
                f"{name}[{group!r}] must have one row per chain ({n_chains}), got shape {tuple(x.shape)}"
            )
        out[group] = x
    return out


def _zero_one(model, group) -> bool:
    """Whether the units of ``group`` take the values {0, 1} (``model.enumeration_values``),
    as the detection units of probabilistic max-pooling do: their values lie in [0, 1]."""
    values = model.enumeration_values(group)
    return values is not None and values.numel() == 2 and values.tolist() == [0.0, 1.0]


def check_state(model: EnergyModel, state, where: str = "step") -> GibbsState:
    """``state`` checked against ``model``: a :class:`GibbsState` whose ``values`` hold
    every group of the graph (and nothing else) with one row per chain, finite values of
    the model's width (in [0, 1] for Bernoulli groups, probability rows for softmax groups), converted to the model's dtype and
    device, and ``beta`` of shape (n_chains,) in [0, 1]. Returns the converted state."""
    if not isinstance(state, GibbsState):
        raise TypeError(f"gibbs.{where}: state must be a GibbsState (from gibbs.init), got {type(state).__name__}; "
                        "wrap values as GibbsState(values, beta) with beta of shape (n_chains,)")
    values, beta = state
    if not isinstance(values, dict):
        raise TypeError(f"gibbs.{where}: state.values must be a dict mapping group name to tensor, "
                        f"got {type(values).__name__}")
    names = model.graph.names
    missing, extra = [g for g in names if g not in values], sorted(set(values) - set(names), key=str)
    if missing or extra:
        raise ValueError(f"gibbs.{where}: state.values must hold exactly the groups {names}, "
                         f"got {list(values)}" + (f" (missing {missing})" if missing else "")
                         + (f" (unknown {extra})" if extra else ""))
    if not isinstance(beta, torch.Tensor) or beta.dim() != 1 or not torch.is_floating_point(beta):
        got = f"shape {tuple(beta.shape)}, {beta.dtype}" if isinstance(beta, torch.Tensor) else type(beta).__name__
        raise TypeError(f"gibbs.{where}: state.beta must be a floating tensor of shape (n_chains,), got {got}")
    n_chains = beta.shape[0]
    checked = _check_given(model, values, "state.values", n_chains)
    beta = check_beta(beta, "state.beta", batch=n_chains).to(dtype=model.dtype, device=model.device)
    return GibbsState({g: checked[g] for g in names}, beta)


def init(model: EnergyModel, n_chains: int, generator: torch.Generator, clamp=None, values=None,
         beta=1.0) -> GibbsState:
    """Start ``n_chains`` chains.

    Groups given in ``clamp`` or ``values`` start there; every other group is drawn from
    its conditional when the groups it needs (``model.conditional_inputs(group)``: its
    Markov blanket, unless the model sums some out) are already set and it is not coupled
    to itself, else uniformly (Bernoulli(1/2) units, ±1 with probability 1/2 for spin
    units, standard normal for real-valued ones, a uniform one-hot draw for softmax groups).

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
    _check_model(model, "init")
    n_chains = check_int(n_chains, "n_chains", 1, "gibbs.init")
    _check_generator(generator, model, "init")
    check_chains_memory(model, n_chains, "gibbs.init")
    state = {**_check_given(model, values, "values", n_chains), **_check_given(model, clamp, "clamp", n_chains)}
    beta = check_beta(beta, batch=n_chains)
    beta = torch.as_tensor(beta, dtype=model.dtype, device=model.device).expand(n_chains).clone()
    if ((beta < 0) | (beta > 1) | beta.isnan()).any():
        raise ValueError(f"beta must lie in [0, 1], got values in [{beta.min():.3g}, {beta.max():.3g}]")
    lateral = self_coupled(model.graph)
    with torch.no_grad(), validation_disabled():
        for block in model.graph.gibbs_blocks():
            for group in block:
                if group in state or group in lateral:
                    continue
                if model.conditional_inputs(group) <= state.keys():
                    state[group] = sample(model.conditional(group, state, beta), generator)
        for grp in model.graph.groups:
            if grp.name not in state:
                shape = (n_chains, grp.n_units)
                opts = dict(generator=generator, dtype=model.dtype, device=model.device)
                if grp.kind in REAL_KINDS:
                    state[grp.name] = torch.randn(shape, **opts)
                elif grp.kind in SPIN_KINDS:
                    state[grp.name] = torch.rand(shape, **opts).lt_(0.5).mul_(2).sub_(1)
                elif grp.kind in ONEHOT_KINDS:
                    uniform = torch.full(shape, 1.0 / grp.n_units, dtype=model.dtype, device=model.device)
                    state[grp.name] = one_hot_categorical(uniform, generator)
                else:
                    state[grp.name] = torch.rand(shape, **opts).lt_(0.5)
    return GibbsState(state, beta)


def sweep(model: EnergyModel, values: dict, beta, generator: torch.Generator | None, *, clamp=(), mean=(),
          skip=(), blocks=None, temper=None, scan: str = "sequential") -> dict:
    """One pass over the blocks of ``model.graph.gibbs_blocks()``, in place on ``values``.

    The one Gibbs sweep of the library: every sampler, learning rule, annealing loop and
    mean-field pass runs through it. Each group not in ``clamp`` or ``skip`` is replaced
    by a draw from ``model.conditional(group, values, beta)`` given the current values of
    the others (its conditional mean instead, for groups in ``mean``; a generator is then
    not needed). ``blocks`` replaces the graph's block order; ``temper(group, dist,
    beta)`` replaces each conditional by another distribution (AIS combines it with a
    base factor). A group coupled to itself in the graph is updated unit by unit
    (:func:`~inference.mcmc.single_site.site_sweep`, in the order ``scan``:
    ``"sequential"`` or ``"random"``, a fresh permutation from ``generator`` each
    sweep); ``temper`` applies to such a group when it acts on a Bernoulli conditional by
    adding to its logits, as AIS's base factors do. No checks: callers check once.

    Returns
    -------
    dict
        Group → the conditional distribution used for it in this sweep.
    """
    used = {}
    lateral = self_coupled(model.graph)
    for block in (model.graph.gibbs_blocks() if blocks is None else blocks):
        for group in block:
            if group in clamp or group in skip:
                continue
            if group in lateral:
                offset = None if temper is None else _temper_offset(temper, group, values[group], beta)
                used[group] = site_sweep(model, values, group, beta, generator, scan=scan, mean=group in mean,
                                         offset=offset)
                continue
            dist = model.conditional(group, values, beta)
            if temper is not None:
                dist = temper(group, dist, beta)
            used[group] = dist
            values[group] = dist.mean if group in mean else sample(dist, generator)
    return used


def _temper_offset(temper, group, x, beta):
    """The logits a tempering factor adds to each unit of a self-coupled group, (batch, units):
    ``temper`` applied to a Bernoulli of zero logits."""
    out = temper(group, Bernoulli(logits=torch.zeros_like(x), validate_args=False), beta)
    if not isinstance(out, Bernoulli):
        raise TypeError(f"gibbs.sweep: group {group!r} is coupled to itself and updated unit by unit; its "
                        f"tempering must act on Bernoulli logits, got {type(out).__name__}")
    return out.logits


def step(model: EnergyModel, state: GibbsState, generator: torch.Generator, clamp=None,
         scan: str = "sequential") -> GibbsState:
    """One sweep: sample each block of ``model.graph.gibbs_blocks()`` given the others.

    Groups in ``clamp`` keep their values (positive phases, conditional sampling,
    in-painting). Returns a new state; neither ``state`` nor ``model`` is modified.
    ``state`` is checked (:func:`check_state`), as are ``clamp`` and ``generator``; loops
    that call it many times check once and use :func:`sweep` (or :func:`run`).
    ``scan`` orders the unit-by-unit updates of self-coupled groups (see :func:`sweep`).
    """
    _check_model(model, "step")
    check_scan(scan, "gibbs.step")
    state = check_state(model, state, "step")
    _check_generator(generator, model, "step")
    clamp = _check_given(model, clamp, "clamp", state.beta.shape[0])
    return _step(model, state, generator, clamp, scan)


def _step(model, state, generator, clamp, scan="sequential"):
    values = dict(state.values)
    values.update(clamp)
    with torch.no_grad(), validation_disabled():
        sweep(model, values, state.beta, generator, clamp=clamp, scan=scan)
    return GibbsState(values, state.beta)


def run(model: EnergyModel, state: GibbsState, n_steps: int, generator: torch.Generator,
        clamp=None, progress: bool = False, scan: str = "sequential") -> GibbsState:
    """Apply :func:`step` ``n_steps`` (≥ 0) times; the arguments are checked once."""
    _check_model(model, "run")
    check_scan(scan, "gibbs.run")
    n_steps = check_int(n_steps, "n_steps", 0, "gibbs.run")
    check_bool(progress, "progress", "gibbs.run")
    state = check_state(model, state, "run")
    _check_generator(generator, model, "run")
    clamp = _check_given(model, clamp, "clamp", state.beta.shape[0])
    steps = range(n_steps)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="gibbs", unit="sweep")
    for _ in steps:
        state = _step(model, state, generator, clamp, scan)
    return state
