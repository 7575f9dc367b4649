r"""Gibbs and parallel-tempering chains of an energy model, recorded for ArviZ.

:func:`sample_chains` runs C chains of block Gibbs sampling (:mod:`inference.gibbs`) or
of parallel tempering (:mod:`inference.tempering`, when ``betas`` is given) and records,
after ``burn_in`` sweeps and every ``thin``-th sweep after that, for each chain:

- ``energy``: E(x) of the joint state (at β = 1), dims (chain, draw);
- ``free_energy``: F(v) = −log Σ_h exp(−E(v, h)) of the visible group, where the model
  has one (:func:`models.energy.has_free_energy`), dims (chain, draw);
- the values of a few named units of each group in ``units``, dims
  (chain, draw, ``{group}_unit``) with the unit indices as coordinates; their mean over
  draws estimates the unit marginals p(x_i = 1).

The :class:`ChainRecord` it returns converts with :func:`inference.to_inference_data`
(:func:`chains_to_inference_data`); each chain's β is a coordinate on the ``chain`` dim.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from models.energy import EnergyModel, has_free_energy
from pgm.checks import check_bool, check_int, check_memory, check_model, validation_disabled

from ..mcmc import gibbs, tempering
from .pyro_runs import import_arviz

__all__ = ["ChainRecord", "sample_chains", "chains_to_inference_data", "MAX_RECORDED_UNITS"]

#: Units of one group recorded when ``units`` is not given (the first ones of the visible group).
MAX_RECORDED_UNITS = 16


class ChainRecord(NamedTuple):
    """Draws of C chains of an energy model, as :func:`sample_chains` records them.

    Attributes
    ----------
    variables : dict[str, Tensor]
        Name → draws, float64, shape (C, D) for ``energy`` / ``free_energy`` and
        (C, D, k) for the k recorded units of a group.
    units : dict[str, Tensor]
        Group → the indices (k,) of its recorded units.
    beta : Tensor, shape (C,)
        Inverse temperature of each recorded chain.
    sampler : str
        ``"gibbs"`` or ``"tempering"``.
    swap_rates : Tensor or None
        Parallel tempering only: acceptance of swaps between replicas t and t+1, (R − 1,).
    """

    variables: dict
    units: dict
    beta: torch.Tensor
    sampler: str
    swap_rates: torch.Tensor | None = None


def _check_units(model, units, where):
    if units is None:
        v = model.visible_name
        return {v: torch.arange(min(model.graph[v].n_units, MAX_RECORDED_UNITS))}
    if not isinstance(units, dict):
        raise TypeError(f"{where}: units must be a dict mapping group name to a sequence of unit indices, "
                        f"got {type(units).__name__}")
    out = {}
    for group, idx in units.items():
        if group not in model.graph:
            raise ValueError(f"{where}: units names unknown group {group!r}; the model's groups are "
                             f"{model.graph.names}")
        if group in ("energy", "free_energy"):
            raise ValueError(f"{where}: units: a group named {group!r} clashes with a recorded variable")
        try:
            t = torch.as_tensor(idx)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{where}: units[{group!r}] must be a sequence of int unit indices, got {idx!r}") from None
        if t.dim() != 1 or t.numel() == 0 or t.dtype in (torch.bool,) or torch.is_floating_point(t):
            raise TypeError(f"{where}: units[{group!r}] must be a non-empty 1-D sequence of int unit indices, "
                            f"got {idx!r}")
        n = model.graph[group].n_units
        if (t < 0).any() or (t >= n).any():
            raise ValueError(f"{where}: units[{group!r}] must index units in [0, {n}), got {t.tolist()}")
        out[group] = t.long()
    return out


def _record(model, values, units, free):
    out = {"energy": model.energy(values).to(torch.float64)}
    if free:
        out["free_energy"] = model.free_energy(model.join_data(values)).to(torch.float64)  # (pixels and label)
    for group, idx in units.items():
        out[group] = values[group][:, idx.to(values[group].device)].to(torch.float64)
    return out


def sample_chains(model: EnergyModel, n_chains: int, n_draws: int, *, generator: torch.Generator,
                  burn_in: int = 0, thin: int = 1, units=None, betas=None, replicas: str = "target",
                  values=None, progress: bool = False) -> ChainRecord:
    r"""Run ``n_chains`` chains and record ``n_draws`` draws of each (see the module text).

    Parameters
    ----------
    model : EnergyModel
    n_chains : int
        C, the chains recorded (at β = 1, the target).
    n_draws : int
        D, draws recorded per chain.
    generator : torch.Generator
        Every random draw comes from it.
    burn_in : int, default 0
        Sweeps (or tempering steps) discarded first.
    thin : int, default 1
        Sweeps between two recorded draws.
    units : dict[str, sequence of int], optional
        Group → indices of the units to record; default the first
        :data:`MAX_RECORDED_UNITS` units of the visible group.
    betas : Tensor or sequence, shape (R,), optional
        A parallel-tempering ladder (strictly decreasing, target first, e.g.
        :func:`inference.tempering.ladder`); the C chains of the target replica β_0 are
        recorded. ``None``: plain Gibbs at β = 1.
    replicas : {"target", "all"}, default "target"
        Tempering only: record the C chains at β_0, or all R·C replicas as chains
        (replica-major: chain t·C + c is chain c at β_t; select one β through the
        ``beta`` coordinate, e.g. ``idata.posterior.where(idata.posterior.beta == 1, drop=True)``).
    values : dict[str, Tensor], optional
        Starting values, (C, units) for Gibbs, (R·C, units) replica-major for tempering
        (e.g. chains started in different modes).
    progress : bool, default False
        Show a progress bar over the sweeps.

    Returns
    -------
    ChainRecord
        Convert with :func:`inference.to_inference_data`.
    """
    where = "sample_chains"
    check_model(model, EnergyModel, where)
    n_chains = check_int(n_chains, "n_chains", 1, where)
    n_draws = check_int(n_draws, "n_draws", 1, where)
    burn_in = check_int(burn_in, "burn_in", 0, where)
    thin = check_int(thin, "thin", 1, where)
    check_bool(progress, "progress", where)
    units = _check_units(model, units, where)
    if replicas not in ("target", "all"):
        raise ValueError(f"{where}: replicas must be 'target' or 'all', got {replicas!r}")
    free = has_free_energy(model)
    chains = n_chains if betas is None or replicas == "target" else \
        n_chains * tempering._check_betas(betas, f"{where}: tempering.init").shape[0]
    recorded = 1 + free + sum(i.numel() for i in units.values())  # float64 values per chain and draw, held twice
    check_memory(where, 2 * chains * n_draws * recorded, torch.float64,
                 f"{n_draws} draws of {recorded} values from each of {chains} chains",
                 "record fewer draws (thin them) or fewer units")
    if betas is None:
        state = gibbs.init(model, n_chains, generator, values=values)
        advance = lambda s: gibbs._step(model, s, generator, {})  # noqa: E731
        current = lambda s: s.values  # noqa: E731
        beta = state.beta.to(torch.float64)
    else:
        state = tempering.init(model, n_chains, betas, generator, values=values)
        advance = lambda s: tempering._step(model, s, generator, "sequential")  # noqa: E731
        rows = n_chains if replicas == "target" else state.energy.shape[0]
        current = lambda s: {g: x[:rows] for g, x in s.values.items()}  # noqa: E731
        beta = state.betas.to(torch.float64).repeat_interleave(n_chains)[:rows]
    steps = range(burn_in + n_draws * thin)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc=where, unit="sweep")
    draws = []
    with torch.no_grad(), validation_disabled():
        for i in steps:
            state = advance(state)
            if i >= burn_in and (i - burn_in + 1) % thin == 0:
                draws.append(_record(model, current(state), units, free))
    variables = {name: torch.stack([d[name] for d in draws], 1).cpu() for name in draws[0]}
    rates = tempering.swap_rates(state).cpu() if betas is not None else None
    return ChainRecord(variables, {g: i.cpu() for g, i in units.items()}, beta.cpu(),
                       "gibbs" if betas is None else "tempering", rates)


def chains_to_inference_data(record: ChainRecord):
    """A :class:`ChainRecord` as an ``arviz.InferenceData``: group ``posterior`` with the
    recorded variables, dims (chain, draw) and (chain, draw, ``{group}_unit``), the unit
    indices and each chain's ``beta`` (on dim ``chain``) as coordinates; for tempering,
    ``sample_stats`` holds nothing per draw, the swap rates go to ``posterior.attrs``."""
    az = import_arviz()
    if not isinstance(record, ChainRecord):
        raise TypeError(f"chains_to_inference_data: record must be a ChainRecord (from sample_chains), "
                        f"got {type(record).__name__}")
    posterior = {name: x.numpy() for name, x in record.variables.items()}
    dims = {g: [f"{g}_unit"] for g in record.units}
    coords = {f"{g}_unit": idx.numpy() for g, idx in record.units.items()}
    attrs = {"sampler": record.sampler}
    if record.swap_rates is not None:
        attrs["swap_rates"] = record.swap_rates.tolist()
    idata = az.from_dict(posterior=posterior, dims=dims, coords=coords, attrs=attrs)
    idata.posterior = idata.posterior.assign_coords(beta=("chain", np.asarray(record.beta.numpy())))
    return idata
