r"""The deep belief net's prior and its test log-likelihood, with the top RBM's log Z.

A :class:`models.DBN` samples its penultimate layer from ``dbn.prior``, the top RBM's
visible marginal as an :class:`~inference.programs.EnergyDistribution`. Its log-likelihood
is estimated with the up-pass recognition net as proposal (:func:`importance_log_likelihood`):

.. math::

    \hat{\mathcal L}_K(v) = \log \frac1K \sum_k \frac{p(v, h_k)}{q(h_k \mid v)}, \qquad
    \mathrm{ELBO}(v) = \frac1K \sum_k \log \frac{p(v, h_k)}{q(h_k \mid v)},

with log p(v, h) = −F(h_{L−1}) − log Z + Σ_{l<L} log p(h_{l−1} | h_l). Both are shifted by
−log Z, so an AIS bracket [log Z_lo, log Z_hi] gives each the bracket
[value − (log Z_hi − log Ẑ), value + (log Ẑ − log Z_lo)].
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from models.directed import DBN
from pgm.checks import check_int, check_model, check_seed, check_units

from ..evaluation import ImportanceEstimate, importance_log_likelihood
from ..distributed import joined
from ..partition import LogZEstimate, check_enumerable
from ..partition.named import split_log_partition
from ..programs.energy_distribution import EnergyDistribution

__all__ = ["set_dbn_prior", "DBNEstimate", "dbn_log_likelihood", "top_log_partition"]


def _check_dbn(dbn, where):
    check_model(dbn, DBN, where, "dbn", what="a models.DBN")


def top_log_partition(dbn: DBN, log_z="exact", *, data: torch.Tensor | None = None, ais_options=None,
                      where: str = "top_log_partition", replicas=None) -> LogZEstimate:
    """log Z of ``dbn.top``: ``"exact"`` (enumeration), ``"ais"`` (its base fitted to the
    up-pass means of ``data``, binary visible rows, when given) or a given
    :class:`~inference.partition.LogZEstimate` (returned as it is); with ``replicas`` (a
    data-parallel run's group) the states or chains split across the ranks
    (:func:`~inference.partition.named.split_log_partition`)."""
    _check_dbn(dbn, where)
    if isinstance(log_z, LogZEstimate):
        return log_z.checked(where)
    if log_z == "exact":
        check_enumerable(dbn.top, func=f"{where}: log_z='exact': exact_log_partition")
        return split_log_partition(dbn.top, "exact", replicas)
    if log_z == "ais":
        if ais_options is not None and not isinstance(ais_options, dict):
            raise TypeError(f"{where}: ais_options must be a dict of ais_log_partition keywords, got {ais_options!r}")
        opts = {"n_chains": 100, "progress": False, **(ais_options or {})}
        if data is not None and "data" not in opts and opts.get("base", "data") == "data":
            data = check_units(data, "data", dbn.n_visible, unit_interval=True, dtype=dbn.dtype, device=dbn.device)
            opts["data"] = dbn.up_pass(data)[-1]
        elif "data" not in opts and opts.get("base", "data") == "data":
            opts["base"] = "uniform"
        return split_log_partition(dbn.top, "ais", replicas, **opts)
    raise ValueError(f"{where}: log_z must be 'exact', 'ais' or a LogZEstimate, got {log_z!r}")


def set_dbn_prior(dbn: DBN, log_z="exact", *, n_gibbs: int = 1000, generator: torch.Generator | None = None,
                  data: torch.Tensor | None = None, ais_options=None) -> EnergyDistribution:
    """Set ``dbn.prior`` to the top RBM's visible marginal with log Z from ``log_z``.

    Parameters
    ----------
    dbn : models.DBN
    log_z : "exact", "ais", LogZEstimate or None, default "exact"
        See :func:`top_log_partition`; ``None`` makes a prior that samples but has no
        ``log_prob``.
    n_gibbs : int, default 1000
        Burn-in sweeps of the prior's Gibbs chains.
    generator : torch.Generator, optional
        The prior's generator (:class:`EnergyDistribution`).
    data, ais_options
        For ``log_z="ais"``: training data whose up-pass fits the AIS base, and keywords of
        :func:`inference.ais_log_partition`.

    Returns
    -------
    EnergyDistribution
        The new ``dbn.prior``.
    """
    _check_dbn(dbn, "set_dbn_prior")
    est = None if log_z is None else top_log_partition(dbn, log_z, data=data, ais_options=ais_options,
                                                       where="set_dbn_prior")
    dbn.prior = EnergyDistribution(dbn.top, est, n_gibbs=n_gibbs, generator=generator)
    return dbn.prior


class DBNEstimate(NamedTuple):
    """A DBN's test log-likelihood, nats per example, with the top RBM's log Z bracket.

    Attributes
    ----------
    mean, lower, upper : float
        The K-sample importance estimate (a stochastic lower bound of log p(v) in
        expectation) and its ends when log Z is at the upper and lower end of its bracket.
    elbo, elbo_lower, elbo_upper : float
        The variational bound E_q[log p(v, h) − log q(h | v)], likewise.
    sem, elbo_sem : float
        Standard errors over examples.
    log_z : LogZEstimate
        Of the top RBM.
    importance : ImportanceEstimate
        The per-example values (with the point estimate of log Z).
    """

    mean: float
    lower: float
    upper: float
    elbo: float
    elbo_lower: float
    elbo_upper: float
    sem: float
    elbo_sem: float
    log_z: LogZEstimate
    importance: ImportanceEstimate


def dbn_log_likelihood(dbn: DBN, data: torch.Tensor, log_z="exact", *, n_samples: int = 1000,
                       seed: int | None = 0, train_data: torch.Tensor | None = None, ais_options=None,
                       progress: bool = False, distributed=None) -> DBNEstimate:
    r"""Importance estimate and variational bound of log p(v) under a DBN, log Z bracket carried.

    Sets ``dbn.prior`` (:func:`set_dbn_prior`) with the log Z it uses and runs
    :func:`inference.importance_log_likelihood` with the up-pass recognition net as the
    proposal; the estimate and the ELBO are then shifted to the ends of the log Z bracket.

    Parameters
    ----------
    dbn : models.DBN
    data : Tensor, shape (n, n_visible)
        Binary test examples.
    log_z : "exact", "ais" or LogZEstimate, default "exact"
        log Z of the top RBM (:func:`top_log_partition`).
    n_samples : int, default 1000
        K, draws from the recognition net per example.
    seed : int or None, default 0
        Seeds the importance draws (and AIS).
    train_data : Tensor, optional
        For ``log_z="ais"``: data whose up-pass fits the AIS base (default ``data``).
    ais_options : dict, optional
        Keywords of :func:`inference.ais_log_partition`.
    progress : bool, default False
    distributed : bool or None, default None
        Split the work across the ranks of a ``torch.distributed`` group: the top RBM's
        log Z (states or AIS chains, :func:`~inference.partition.named.log_partition`) and
        the rows of the importance estimate (rank r's draws seeded ``seed + r``,
        :func:`inference.importance_log_likelihood`); every rank returns the same estimate.
        ``None`` joins a group that is open or that a launcher (``torchrun``) describes.

    Returns
    -------
    DBNEstimate

    Examples
    --------
    >>> from models import DBN
    >>> dbn = DBN([6, 4, 3], seed=0)
    >>> x = torch.ones(3, 6)
    >>> est = dbn_log_likelihood(dbn, x, n_samples=50)
    >>> est.elbo <= est.mean, est.lower == est.mean
    (True, True)
    """
    _check_dbn(dbn, "dbn_log_likelihood")
    data = dbn.check_data(data, "data")
    n_samples = check_int(n_samples, "n_samples", where="dbn_log_likelihood")
    seed = check_seed(seed, "dbn_log_likelihood")
    if isinstance(log_z, str) and log_z == "ais":
        ais_options = {"seed": seed, **(ais_options or {})}
    with joined(distributed, dbn.device, "dbn_log_likelihood") as replicas:
        lz = top_log_partition(dbn, log_z, data=data if train_data is None else train_data, ais_options=ais_options,
                               where="dbn_log_likelihood", replicas=replicas)
        set_dbn_prior(dbn, lz)
        est = importance_log_likelihood(dbn, data, n_samples, seed=seed, progress=progress,
                                        distributed=replicas is not None)
    below, above = lz.upper - lz.log_z, lz.log_z - lz.lower  # ≥ 0, either may be inf
    return DBNEstimate(est.mean, est.mean - below, est.mean + above, est.elbo, est.elbo - below, est.elbo + above,
                       est.sem, est.elbo_sem, lz, est)

