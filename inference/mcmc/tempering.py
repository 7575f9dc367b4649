r"""Parallel tempering (replica exchange; Swendsen & Wang 1986, Geyer 1991) over Gibbs sweeps.

R replicas of each of C chains run at a ladder of inverse temperatures
β_0 > β_1 > … > β_{R−1} (β_0 the target, usually 1). One :func:`step` is a Gibbs sweep
of every replica at its own β (:func:`inference.gibbs.sweep`, so any energy model) and
then proposed swaps of the states of neighbouring replicas (t, t+1), each accepted with

.. math::

    \min\bigl(1, \exp\bigl((\beta_t - \beta_{t+1})(E_t - E_{t+1})\bigr)\bigr),

which keeps the product Π_t p_{β_t} invariant; the β_0 replica is therefore an exact
sampler of p_{β_0}. Even pairs (0–1, 2–3, …) are proposed on even steps, odd pairs on
odd steps (the pairs of one step are disjoint). Accepted and proposed swaps are counted
per pair (:func:`swap_rates`).

The state is a ``NamedTuple`` whose ``values`` hold all R·C rows, replica-major: rows
t·C … (t+1)·C − 1 are the chains at β_t (:func:`replica` picks them out).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from models.energy import EnergyModel
from pgm.checks import check_chains_memory, check_int, validation_disabled

from . import gibbs
from .gibbs import _check_generator, _check_given, _check_model
from .single_site import check_scan

__all__ = ["PTState", "ladder", "init", "step", "run", "swap_rates", "replica"]


class PTState(NamedTuple):
    """State of C parallel-tempering chains of R replicas each.

    Attributes
    ----------
    values : dict[str, Tensor]
        Group → (R·C, units), replica-major (rows t·C … (t+1)·C − 1 at ``betas[t]``).
    betas : Tensor, shape (R,)
        The ladder, β_0 (target) first.
    energy : Tensor, shape (R·C,)
        Current energies, float64.
    accepted, proposed : Tensor, shape (R − 1,)
        Swaps accepted and proposed so far between replicas t and t+1, float64.
    n_steps : int
        Steps taken (sets the parity of the next swap phase).
    """

    values: dict
    betas: torch.Tensor
    energy: torch.Tensor
    accepted: torch.Tensor
    proposed: torch.Tensor
    n_steps: int


def ladder(n_temperatures: int, beta_min: float = 0.1) -> torch.Tensor:
    """A geometric ladder of ``n_temperatures`` inverse temperatures from 1 down to
    ``beta_min`` (β_t = beta_min^{t/(R−1)}), float64."""
    n = check_int(n_temperatures, "n_temperatures", 1, "ladder")
    if not isinstance(beta_min, (int, float)) or isinstance(beta_min, bool) or not 0 < beta_min <= 1:
        raise ValueError(f"ladder: beta_min must be in (0, 1], got {beta_min!r}")
    t = torch.arange(n, dtype=torch.float64) / max(n - 1, 1)
    return beta_min ** t


def _check_betas(betas, where):
    b = torch.as_tensor(betas, dtype=torch.float64)
    if b.dim() != 1 or b.shape[0] < 1:
        raise ValueError(f"{where}: betas must be a 1-D ladder of inverse temperatures, got shape {tuple(b.shape)}")
    if not torch.isfinite(b).all() or (b < 0).any() or (b > 1).any() or (b[1:] >= b[:-1]).any():
        shown = b.tolist() if b.numel() <= 8 else f"[{', '.join(f'{v:.4g}' for v in b[:8].tolist())}, ...] ({b.numel()} values)"
        raise ValueError(f"{where}: betas must lie in [0, 1] (finite inverse temperatures; a Gibbs sweep at β > 1 "
                         f"is not a tempered distribution of the model) and be strictly decreasing (target first), "
                         f"got {shown}; inference.tempering.ladder(R) makes one")
    return b


def _energy(model, values):
    return model.energy(values).to(torch.float64)


def init(model: EnergyModel, n_chains: int, betas, generator: torch.Generator, values=None) -> PTState:
    """Start ``n_chains`` chains of ``len(betas)`` replicas each, as :func:`gibbs.init` does.

    Parameters
    ----------
    model : EnergyModel
    n_chains : int
        Chains per replica, C.
    betas : Tensor or sequence, shape (R,)
        Strictly decreasing inverse temperatures, the target first (:func:`ladder`).
    generator : torch.Generator
    values : dict[str, Tensor], optional
        Starting values, (R·C, units) replica-major, for some groups.
    """
    _check_model(model, "tempering.init")
    n_chains = check_int(n_chains, "n_chains", 1, "tempering.init")
    b = _check_betas(betas, "tempering.init")
    R = b.shape[0]
    check_chains_memory(model, R * n_chains, "tempering.init", f"{R} temperatures × {n_chains} chains")
    g = gibbs.init(model, R * n_chains, generator, values=values)
    with torch.no_grad(), validation_disabled():
        energy = _energy(model, g.values)
    zeros = torch.zeros(max(R - 1, 0), dtype=torch.float64, device=model.device)
    return PTState(g.values, b.to(model.device), energy, zeros, zeros.clone(), 0)


def _check_state(model, state, where):
    if not isinstance(state, PTState):
        raise TypeError(f"{where}: state must be a PTState (from tempering.init), got {type(state).__name__}")
    rows = state.energy.shape[0]
    _check_given(model, state.values, "state.values", rows)
    if set(state.values) != set(model.graph.names) or rows % state.betas.shape[0]:
        raise ValueError(f"{where}: state.values must hold every group of the model with R·C rows "
                         f"(R = {state.betas.shape[0]})")


def _step(model, state, generator, scan):
    R = state.betas.shape[0]
    C = state.energy.shape[0] // R
    values = dict(state.values)
    beta_rows = state.betas.to(model.dtype).repeat_interleave(C)
    with torch.no_grad(), validation_disabled():
        gibbs.sweep(model, values, beta_rows, generator, scan=scan)
        energy = _energy(model, values)
    accepted, proposed = state.accepted, state.proposed
    start = state.n_steps % 2
    ts = torch.arange(start, max(R - 1, start), 2, device=energy.device)  # no pairs for a single β
    if ts.numel():
        b = state.betas.to(torch.float64)
        E = energy.view(R, C)
        log_a = (b[ts] - b[ts + 1])[:, None] * (E[ts] - E[ts + 1])
        u = torch.rand(log_a.shape, generator=generator, dtype=torch.float64, device=energy.device)
        acc = u.log() < log_a
        perm = torch.arange(R * C, device=energy.device).view(R, C)
        lo, hi = perm[ts].clone(), perm[ts + 1].clone()
        perm[ts] = torch.where(acc, hi, lo)
        perm[ts + 1] = torch.where(acc, lo, hi)
        perm = perm.reshape(-1)
        values = {g: x[perm] for g, x in values.items()}
        energy = energy[perm]
        accepted = accepted.index_add(0, ts, acc.sum(1).to(torch.float64))
        proposed = proposed.index_add(0, ts, torch.full((ts.numel(),), float(C), dtype=torch.float64,
                                                        device=energy.device))
    return PTState(values, state.betas, energy, accepted, proposed, state.n_steps + 1)


def step(model: EnergyModel, state: PTState, generator: torch.Generator, scan: str = "sequential") -> PTState:
    """One Gibbs sweep of every replica at its β, then one phase of neighbour swaps.
    Returns a new state; neither ``state`` nor ``model`` is modified."""
    _check_model(model, "tempering.step")
    _check_state(model, state, "tempering.step")
    _check_generator(generator, model, "tempering.step")
    check_scan(scan, "tempering.step")
    return _step(model, state, generator, scan)


def run(model: EnergyModel, state: PTState, n_steps: int, generator: torch.Generator, scan: str = "sequential",
        progress: bool = False) -> PTState:
    """Apply :func:`step` ``n_steps`` (≥ 0) times; the arguments are checked once."""
    _check_model(model, "tempering.run")
    n_steps = check_int(n_steps, "n_steps", 0, "tempering.run")
    _check_state(model, state, "tempering.run")
    _check_generator(generator, model, "tempering.run")
    check_scan(scan, "tempering.run")
    steps = range(n_steps)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="tempering", unit="step")
    for _ in steps:
        state = _step(model, state, generator, scan)
    return state


def swap_rates(state: PTState) -> torch.Tensor:
    """Fraction of proposed swaps accepted between replicas t and t+1, shape (R − 1,)
    (NaN for a pair not yet proposed)."""
    return state.accepted / state.proposed


def replica(state: PTState, t: int = 0) -> dict:
    """The values of replica ``t`` (at ``state.betas[t]``), group → (C, units)."""
    R = state.betas.shape[0]
    t = check_int(t, "t", 0, "tempering.replica")
    if t >= R:
        raise ValueError(f"tempering.replica: t must be below the number of replicas {R}, got {t}")
    C = state.energy.shape[0] // R
    return {g: x[t * C:(t + 1) * C] for g, x in state.values.items()}
