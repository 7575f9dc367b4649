r"""Simulated annealing (Kirkpatrick et al. 1983; Geman & Geman 1984) over Gibbs sweeps.

Each chain runs Gibbs sweeps of p_β(x) ∝ exp(−β E(x)) while β rises along a schedule,
from β = 1/T_high to β = 1/T_low, and remembers the lowest-energy state it visited. The
sweep is the library's one Gibbs sweep (:func:`inference.gibbs.sweep`: blocks from the
graph, self-coupled groups unit by unit), so annealing works for every energy model.
β may exceed 1 here, and β = ∞ is a zero-temperature (greedy) sweep: each unit takes its
more probable value given the others, a tie broken at random, so the energy never rises.
A schedule of ∞ alone is plain zero-temperature descent.

As every sampler here, annealing is an ``init``/``step`` pair over a ``NamedTuple``
state; :func:`anneal` runs a whole schedule.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from models.energy import EnergyModel
from pgm.checks import check_chains_memory, check_int, check_memory, validation_disabled

from . import gibbs
from .gibbs import _check_generator, _check_given, _check_model
from .single_site import check_scan

__all__ = ["AnnealState", "Annealed", "init", "step", "anneal", "geometric_schedule"]


class AnnealState(NamedTuple):
    """State of a batch of annealing chains.

    Attributes
    ----------
    values : dict[str, Tensor]
        Current values of every group, (n_chains, units).
    beta : Tensor, shape (n_chains,)
        Inverse temperature of each chain's last sweep (≥ 0, possibly ∞).
    best_values : dict[str, Tensor]
        The lowest-energy state each chain has visited.
    best_energy : Tensor, shape (n_chains,)
        Its energy, float64.
    """

    values: dict
    beta: torch.Tensor
    best_values: dict
    best_energy: torch.Tensor


class Annealed(NamedTuple):
    """What :func:`anneal` returns.

    Attributes
    ----------
    states : dict[str, Tensor]
        Lowest-energy state of each chain, (n_chains, units).
    energies : Tensor, shape (n_chains,)
        Their energies, float64.
    trace : Tensor, shape (n_steps, n_chains)
        Energy of each chain after each sweep, float64.
    final : AnnealState
        The chains' state at the end (to continue annealing).
    """

    states: dict
    energies: torch.Tensor
    trace: torch.Tensor
    final: AnnealState


def geometric_schedule(t_high: float, t_low: float, n_steps: int) -> torch.Tensor:
    r"""Inverse temperatures β_k = 1/T_k with T_k falling geometrically from ``t_high`` to
    ``t_low`` in ``n_steps`` sweeps: T_k = T_high (T_low/T_high)^{k/(n−1)}, float64."""
    n_steps = check_int(n_steps, "n_steps", 1, "geometric_schedule")
    for name, t in (("t_high", t_high), ("t_low", t_low)):
        if not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t) or t <= 0:
            raise ValueError(f"geometric_schedule: {name} must be a finite temperature > 0, got {t!r}")
    if t_low > t_high:
        raise ValueError(f"geometric_schedule: t_low ({t_low}) must not exceed t_high ({t_high})")
    k = torch.arange(n_steps, dtype=torch.float64) / max(n_steps - 1, 1)
    return 1.0 / (t_high * (t_low / t_high) ** k)


def _energy(model, values):
    return model.energy(values).to(torch.float64)


def init(model: EnergyModel, n_chains: int, generator: torch.Generator, clamp=None, values=None) -> AnnealState:
    """Start ``n_chains`` chains as :func:`inference.gibbs.init` does (at β = 1); the
    starting state is each chain's best so far."""
    g = gibbs.init(model, n_chains, generator, clamp=clamp, values=values)
    with torch.no_grad(), validation_disabled():
        energy = _energy(model, g.values)
    return AnnealState(g.values, g.beta, dict(g.values), energy)


def _check_beta(beta, n_chains, model, where):
    beta = torch.as_tensor(beta, dtype=torch.float64)
    if beta.dim() > 1 or (beta.dim() == 1 and beta.shape[0] not in (1, n_chains)):
        raise ValueError(f"{where}: beta must be a number or a tensor of shape ({n_chains},), got shape {tuple(beta.shape)}")
    if (beta.isnan() | (beta < 0)).any():
        raise ValueError(f"{where}: beta must be ≥ 0 (∞ allowed), got {beta.flatten()[:5].tolist()}")
    return beta.to(dtype=model.dtype, device=model.device).expand(n_chains).clone()


def _step(model, state, beta, generator, clamp, scan):
    values = dict(state.values)
    values.update(clamp)
    with torch.no_grad(), validation_disabled():
        gibbs.sweep(model, values, beta, generator, clamp=clamp, scan=scan)
        energy = _energy(model, values)
    better = energy < state.best_energy
    best = {g: torch.where(better[:, None], x, state.best_values[g]) for g, x in values.items()}
    return AnnealState(values, beta, best, torch.where(better, energy, state.best_energy)), energy


def step(model: EnergyModel, state: AnnealState, beta, generator: torch.Generator, clamp=None,
         scan: str = "sequential") -> AnnealState:
    """One Gibbs sweep of every chain at inverse temperature ``beta`` (a number or a
    tensor of shape (n_chains,), ≥ 0, ∞ for a greedy sweep); the best states are updated.
    Returns a new state; neither ``state`` nor ``model`` is modified."""
    _check_model(model, "anneal.step")
    if not isinstance(state, AnnealState):
        raise TypeError(f"annealing.step: state must be an AnnealState (from annealing.init), got {type(state).__name__}")
    _check_generator(generator, model, "anneal.step")
    check_scan(scan, "annealing.step")
    n = state.best_energy.shape[0]
    beta = _check_beta(beta, n, model, "annealing.step")
    return _step(model, state, beta, generator, _check_given(model, clamp, "clamp", n), scan)[0]


def anneal(model: EnergyModel, n_chains: int, schedule, generator: torch.Generator, *, clamp=None, values=None,
           scan: str = "sequential", progress: bool = False) -> Annealed:
    """Anneal ``n_chains`` chains along ``schedule`` and return the best states found.

    Parameters
    ----------
    model : EnergyModel
    n_chains : int
    schedule : Tensor or sequence, shape (n_steps,) or (n_steps, n_chains)
        Inverse temperature of each sweep (ascending for annealing; ≥ 0, ∞ allowed), one
        per chain if 2-D. :func:`geometric_schedule` builds the usual one.
    generator : torch.Generator
    clamp, values : dict[str, Tensor], optional
        As for :func:`inference.gibbs.init` (clamped groups never change).
    scan : {"sequential", "random"}
        Order of the unit-by-unit updates of self-coupled groups.
    progress : bool
        Show a progress bar over sweeps.

    Returns
    -------
    Annealed
        ``(states, energies, trace, final)``.

    Examples
    --------
    >>> from models import BoltzmannMachine
    >>> from inference import make_generator
    >>> bm = BoltzmannMachine(6, weight_std=1.0, seed=0)
    >>> out = anneal(bm, 4, geometric_schedule(5.0, 0.1, 50), make_generator(0))
    >>> out.trace.shape
    torch.Size([50, 4])
    """
    _check_model(model, "anneal")
    n_chains = check_int(n_chains, "n_chains", 1, "anneal")
    _check_generator(generator, model, "anneal")
    check_scan(scan, "anneal")
    if not isinstance(progress, bool):
        raise TypeError(f"anneal: progress must be a bool, got {progress!r}")
    sched = torch.as_tensor(schedule, dtype=torch.float64)
    if sched.dim() not in (1, 2) or sched.shape[0] == 0 or (sched.dim() == 2 and sched.shape[1] != n_chains):
        raise ValueError(f"anneal: schedule must have shape (n_steps,) or (n_steps, {n_chains}) with n_steps ≥ 1, "
                         f"got {tuple(sched.shape)}")
    if (sched.isnan() | (sched < 0)).any():
        raise ValueError("anneal: schedule must hold inverse temperatures ≥ 0 (∞ allowed)")
    check_chains_memory(model, n_chains, "anneal", copies=2)  # the chains and each one's best state
    check_memory("anneal", sched.shape[0] * n_chains, torch.float64,
                 f"the energy trace of {sched.shape[0]} sweeps × {n_chains} chains", "use fewer chains or sweeps")
    state = init(model, n_chains, generator, clamp=clamp, values=values)
    clamp = _check_given(model, clamp, "clamp", n_chains)
    trace = torch.empty(sched.shape[0], n_chains, dtype=torch.float64, device=model.device)
    steps = range(sched.shape[0])
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="anneal", unit="sweep")
    for t in steps:
        beta = sched[t].to(dtype=model.dtype, device=model.device).expand(n_chains).clone()
        state, trace[t] = _step(model, state, beta, generator, clamp, scan)
    return Annealed(state.best_values, state.best_energy, trace, state)
