r"""The log-likelihood of data under an energy model, given its log partition function.

.. math::

    \frac{1}{n} \sum_{n} \log p(v_n) = \frac{1}{n} \sum_n -F(v_n) - \log Z ,

with F the free energy of the visible group (:mod:`inference.partition.visible`). For
binary visible units p is a probability (nats per example); for real-valued ones
(``gaussian``, ``real``) a density with respect to Lebesgue measure on the data's own
scale (nats per example; rescaling the data by a factor a shifts it by −n_v log a).
Computed in float64 on a copy of the model.

In a run of W processes (``torchrun``, ``distributed=None`` or ``True``) every rank takes
its rows of the data (rank r the rows r, r + W, ...: :class:`~inference.distributed.Shard`
without shuffling), the per-row −F(v_n) are gathered back in the rows' order without the
sampler's padding, and log Z named by ``"exact"`` or ``"ais"`` is estimated with the
states or the chains split across the ranks
(:func:`~inference.partition.named.log_partition`); every rank returns the same result.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from models.energy import EnergyModel

from ..distributed import joined, map_rows
from ..partition.estimate import LogZEstimate
from ..partition.exact import _float64_copy
from ..partition.named import METHODS, split_log_partition
from ..partition.visible import check_visible, free_energy_plan, visible_free_energy

__all__ = ["LogLikelihood", "log_likelihood"]

_F64 = torch.float64
#: Rows of data per free-energy evaluation.
_ROWS = 8192


class LogLikelihood(NamedTuple):
    """Average log-likelihood of a data set, in nats per example (Python floats).

    Attributes
    ----------
    mean : float
        (1/n) Σ_n log p(v_n) with the point estimate of log Z.
    lower, upper : float
        The same with log Z at the upper and at the lower end of its bracket (a lower
        bound of log Z gives an upper bound of the log-likelihood). Equal to ``mean``
        when log Z was given as a plain number.
    sem : float
        Standard error of ``mean`` over examples, std(log p(v_n)) / √n (ddof = 1); NaN
        for a single example. It measures the spread of the data, not the error of log Z.
    n : int
        Number of examples.
    """

    mean: float
    lower: float
    upper: float
    sem: float
    n: int


def _log_z_triple(log_z):
    if isinstance(log_z, LogZEstimate):
        values = tuple(log_z.checked("log_likelihood")[:3])
    elif isinstance(log_z, (int, float)) and not isinstance(log_z, bool):
        values = (float(log_z),) * 3
    elif isinstance(log_z, torch.Tensor) and log_z.numel() == 1 and torch.is_floating_point(log_z):
        values = (float(log_z),) * 3
    else:
        raise TypeError(
            "log_likelihood: log_z must be a LogZEstimate (from exact_log_partition or "
            f"ais_log_partition) or a float, got {type(log_z).__name__}"
        )
    if not math.isfinite(values[0]) or math.isnan(values[1]) or math.isnan(values[2]):
        raise ValueError(f"log_likelihood: log_z must be finite, got {log_z!r}")
    return values


def log_likelihood(model: EnergyModel, data: torch.Tensor, log_z, *, ais_options: dict | None = None,
                   distributed=None) -> LogLikelihood:
    r"""Mean log-likelihood of data, in nats per example.

    .. math::

        \frac{1}{n} \sum_{n} \log p(v_n) = \frac{1}{n} \sum_n -F(v_n) - \log Z ,

    with F the free energy of the visible group (``model.free_energy``, or the model's
    enumeration hook with the latent binary groups summed out, see
    :mod:`inference.partition.visible`). If ``log_z`` is a
    :class:`~inference.partition.LogZEstimate` its bracket is carried through: ``lower``
    uses ``log_z.upper`` and ``upper`` uses ``log_z.lower``.

    Binary visible units (``bernoulli``: {0, 1}; ``binary_pm1``/``spin``: {−1, +1}) give a
    probability, log p(v) ≤ 0. Real-valued visible units (``gaussian``, ``real``) give a
    log-*density* with respect to Lebesgue measure on the scale of ``data``: it can be
    positive, and measuring the data in other units (v ↦ a v) shifts it by ``−n_v log |a|``.

    Parameters
    ----------
    model : EnergyModel
        E.g. an RBM or a Gaussian RBM. It is not modified.
    data : Tensor, shape (n, n_visible)
        Examples, floating dtype: outcomes of binary units (probabilities such as grey
        levels are refused: they are not outcomes of the model), or any finite values
        for real-valued units.
    log_z : LogZEstimate, float, "exact" or "ais"
        log Z of ``model``, e.g. from :func:`~inference.partition.exact_log_partition` or
        :func:`~inference.partition.ais_log_partition`; or the estimator to run here
        (:func:`~inference.partition.named.log_partition`: split across the ranks of a
        data-parallel run).
    ais_options : dict, optional
        For ``log_z="ais"``: keywords of :func:`~inference.partition.ais_log_partition`
        (``n_chains``, ``betas``, ``base``, ``data``, ``seed``, ``progress``, ``backend``);
        on W ranks rank r runs its share of the ``n_chains`` chains seeded ``seed + r``.
    distributed : bool or None, default None
        ``None``: split the rows (and a named log Z) across the ranks when a launcher's
        environment (``torchrun``) or an open process group of several ranks is
        detected; ``True``: require it; ``False``: one process. As for
        :func:`inference.fit`.

    Returns
    -------
    LogLikelihood

    Raises
    ------
    TypeError
        ``model`` is not an energy model or has no tractable free energy, ``data`` is not
        a floating tensor, or ``log_z`` has the wrong type or names no estimator.
    ValueError
        ``data`` has the wrong shape, NaN/inf, values outside the visible kind's set, or
        no rows; ``ais_options`` without ``log_z="ais"``.

    Examples
    --------
    >>> from models.energy import RBM
    >>> from inference.partition import exact_log_partition
    >>> rbm = RBM(6, 4, seed=0)
    >>> v = torch.tensor([[1., 0., 1., 1., 0., 0.]])
    >>> ll = log_likelihood(rbm, v, exact_log_partition(rbm))
    >>> round(ll.mean, 4)
    -4.1606
    """
    func = "log_likelihood"
    data = check_visible(model, data, func)
    plan = free_energy_plan(model, func)
    named = isinstance(log_z, str)
    if named and log_z not in METHODS:
        raise TypeError(f"{func}: log_z must be a LogZEstimate, a float or the name of an estimator "
                         f"{list(METHODS)}, got {log_z!r}")
    if ais_options is not None and not (named and log_z == "ais" and isinstance(ais_options, dict)):
        raise ValueError(f"{func}: ais_options must be a dict of ais_log_partition keywords given with "
                         f"log_z='ais', got {type(ais_options).__name__} with log_z={log_z!r}")
    if not named:
        _log_z_triple(log_z)  # a bad log_z is refused before any process group is joined
    with joined(distributed, model.device, func) as replicas:
        if named:
            log_z = split_log_partition(model, log_z, replicas, **(ais_options or {}))
        lz, lz_lower, lz_upper = _log_z_triple(log_z)
        neg_f = _per_row(model, data, plan, replicas)
    n = neg_f.shape[0]
    mean_neg_f = float(neg_f.mean())
    sem = float(neg_f.std() / math.sqrt(n)) if n > 1 else math.nan
    return LogLikelihood(mean_neg_f - lz, mean_neg_f - lz_upper, mean_neg_f - lz_lower, sem, n)


def _per_row(model, data, plan, replicas) -> torch.Tensor:
    """−F(v_n) of every row (n,), float64: on one process, or each rank on its rows and
    gathered in the rows' order."""
    model64 = _float64_copy(model)

    @torch.no_grad()
    def neg_f(rows):
        return torch.cat([-visible_free_energy(model64, chunk.to(device=model64.device, dtype=_F64), plan).to(_F64)
                          for chunk in rows.split(_ROWS)])

    return map_rows(neg_f, data, replicas)
