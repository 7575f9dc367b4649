"""The energy families' per-epoch monitor: pseudo-log-likelihood and reconstruction error
on the fixed monitoring subset (:func:`monitor`), split across the ranks of a data-parallel
run."""

from __future__ import annotations

from ..distributed import rank_seed
from ..mcmc.sampling import make_generator
from .contrastive import has_free_energy

__all__ = ["EXACT_PLL_UNITS", "monitor"]

#: The exact PLL is monitored up to this many visible units, above it an unbiased estimate.
EXACT_PLL_UNITS = 128


def monitor(model, subset, pll_units, seed, replicas=None):
    """(pseudo-log-likelihood, reconstruction error) on the monitoring ``subset``; ``None``
    where the model has no free energy or (PLL) the data are not binary.

    Parameters
    ----------
    model : EnergyModel
    subset : Tensor, shape (m, n_visible)
    pll_units : int
        Units per row of the PLL's estimate above :data:`EXACT_PLL_UNITS` visible units.
    seed : int
        Seeds the estimate's choice of units.
    replicas : Replicas, optional
        A data-parallel run's group: each rank scores its rows r, r + W, ...
        (:func:`~inference.distributed.map_rows`), its units drawn from ``seed + rank``,
        and both means are over all m rows, the same on every rank.
    """
    if not has_free_energy(model):
        return None, None
    from ..evaluation import pseudo_log_likelihood, reconstruction_error

    pll, split = None, replicas is not None
    binary = (model.data_groups == (model.visible_name,) and model.graph[model.visible_name].kind == "bernoulli"
              and bool(((subset == 0) | (subset == 1)).all()))
    if binary:
        n_units = None if subset.shape[1] <= EXACT_PLL_UNITS else pll_units
        generator = make_generator(rank_seed(seed, replicas), subset.device)
        pll = pseudo_log_likelihood(model, subset, generator=generator, n_units=n_units, distributed=split)
    return pll, reconstruction_error(model, subset, distributed=split)
