r"""The variational lower bound on the log-likelihood, from a mean-field posterior.

.. math::

    \log p(v) \;\ge\; \mathcal{L}(v) = \mathbb{E}_q[-E(v, h)] + H(q) - \log Z ,

with q the factorial posterior of :func:`inference.mean_field`. For a model whose energy
is multilinear with no couplings inside a group (DBM, RBM) E_q[E(v, h)] = E(v, q), the
energy at the marginals, and H(q) = −Σ_j [q_j log q_j + (1 − q_j) log(1 − q_j)].
Computed in float64 on a copy of the model.

In a run of W processes (``torchrun``, ``distributed=None`` or ``True``) the rows are split
as :func:`inference.log_likelihood` splits them: each batch of rows one process would run
mean field on at once is shared out over the ranks (rank r its rows r, r + W, ...:
:class:`~inference.distributed.Shard` without shuffling), the ranks stop their passes
together when the largest change over the whole batch is within ``tol``, and the per-row
bounds are gathered back in the rows' order without the sampler's padding. Mean field is
deterministic, so every rank returns the one-process result (to the rounding of float64).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from models.energy import EnergyModel
from pgm.checks import validation_disabled

from ..distributed import joined, map_rows
from ..partition.exact import _float64_copy
from ..partition.visible import check_visible
from ..variational.mean_field import _mean_field, latent_groups
from .likelihood import _log_z_triple

__all__ = ["VariationalBound", "variational_bound", "entropy_bernoulli"]

_F64 = torch.float64
_ROWS = 4096


class VariationalBound(NamedTuple):
    """The mean variational bound of a data set, nats per example.

    Attributes
    ----------
    mean : float
        (1/n) Σ_n 𝓛(v_n) with the point estimate of log Z.
    lower, upper : float
        The same with log Z at the upper and lower end of its bracket.
    sem : float
        Standard error of ``mean`` over examples (ddof = 1); NaN for one example.
    n : int
        Number of examples.
    per_example : Tensor, shape (n,)
        𝓛(v_n) with the point estimate of log Z, float64.
    n_iter : int
        Most mean-field passes any chunk of the data needed.
    """

    mean: float
    lower: float
    upper: float
    sem: float
    n: int
    per_example: torch.Tensor
    n_iter: int


def entropy_bernoulli(q: torch.Tensor) -> torch.Tensor:
    """H(q) = −Σ_j [q_j log q_j + (1 − q_j) log(1 − q_j)] of factorial Bernoulli
    marginals (batch, units), shape (batch,); 0 log 0 = 0."""
    return -(torch.xlogy(q, q) + torch.xlogy(1 - q, 1 - q)).sum(-1)


def variational_bound(model: EnergyModel, data: torch.Tensor, log_z, *, n_iter: int = 50, tol: float = 1e-6,
                      damping: float = 0.0, distributed=None) -> VariationalBound:
    r"""The per-example mean-field lower bound 𝓛(v) = E_q[−E(v, h)] + H(q) − log Z.

    Parameters
    ----------
    model : EnergyModel
        Binary latent groups coupled across groups only (e.g. :class:`models.DBM`).
    data : Tensor, shape (n, n_visible)
        Binary examples.
    log_z : LogZEstimate or float
        log Z of ``model``; a :class:`~inference.partition.LogZEstimate`'s bracket is
        carried through as in :func:`inference.log_likelihood` (``lower`` uses
        ``log_z.upper``).
    n_iter, tol, damping
        Passed to :func:`inference.mean_field`.
    distributed : bool or None, default None
        ``None``: split the rows across the ranks when a launcher's environment
        (``torchrun``) or an open process group of several ranks is detected (module
        docstring; every rank must call it and receives the same result); ``True``:
        require it; ``False``: one process. As for :func:`inference.log_likelihood`.

    Returns
    -------
    VariationalBound

    Examples
    --------
    >>> from models import DBM
    >>> from inference import exact_log_partition
    >>> dbm = DBM([6, 4, 3], seed=0)
    >>> b = variational_bound(dbm, torch.ones(2, 6), exact_log_partition(dbm))
    >>> b.n, b.per_example.shape
    (2, torch.Size([2]))
    """
    func = "variational_bound"
    latents = latent_groups(model, func)
    data = check_visible(model, data, func)
    lz, lz_lower, lz_upper = _log_z_triple(log_z)
    model64 = _float64_copy(model)
    most = 0

    def bound(rows, moving):
        nonlocal most
        mf = _mean_field(model64, rows.to(device=model64.device, dtype=_F64), n_iter, tol, damping, None, None,
                         func, moving)
        most = max(most, mf.n_iter)  # the ranks pass together: the same count on each
        q = mf.marginals
        return -model64.energy(q).to(_F64) + sum(entropy_bernoulli(q[g]) for g in latents)

    with joined(distributed, model.device, func) as replicas, torch.no_grad(), validation_disabled():
        moving = None if replicas is None else replicas.any
        neg_e_h = torch.cat([map_rows(lambda rows: bound(rows, moving), chunk, replicas)
                             for chunk in data.split(_ROWS)])
    n = neg_e_h.shape[0]
    m = float(neg_e_h.mean())
    sem = float(neg_e_h.std() / math.sqrt(n)) if n > 1 else math.nan
    return VariationalBound(m - lz, m - lz_upper, m - lz_lower, sem, n, (neg_e_h - lz).cpu(), most)
