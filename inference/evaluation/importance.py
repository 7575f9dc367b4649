r"""Importance-sampled log-likelihood of a directed model, with its guide as the proposal.

.. math::

    \hat{\mathcal{L}}_K(x) = \log \frac{1}{K} \sum_{k=1}^{K} \frac{p(x, h_k)}{q(h_k \mid x)},
    \qquad h_k \sim q(\cdot \mid x),

beside the evidence lower bound estimated from the same draws,
(1/K) Σ_k log p(x, h_k)/q(h_k | x). Since (1/K) Σ_k w_k is an unbiased estimate of p(x),
Jensen's inequality gives E[ELBO] ≤ E[L̂_K] ≤ log p(x), with E[L̂_K] increasing to log p(x)
as K grows (Burda, Grosse & Salakhutdinov 2016). The estimate is a *stochastic lower
bound in expectation*: a single draw may exceed log p(x), and no upper bound of the
log-likelihood comes with it.
"""

from __future__ import annotations

import copy
import math
from typing import NamedTuple

import torch

from models.directed import DirectedModel
from pgm.checks import check_int, check_model, check_seed, validation_disabled

from ..backends import fast_path
from ..backends.requests import Objective
from ..distributed import joined, map_rows
from ..evaluation.weights import log_weights, seeded

__all__ = ["ImportanceEstimate", "importance_log_likelihood"]

_CELLS = 1 << 17  # particles × rows per pass when ``batch`` is not given


class ImportanceEstimate(NamedTuple):
    """The K-sample importance estimate of a data set's log-likelihood (nats per example).

    Attributes
    ----------
    mean : float
        (1/n) Σ_n L̂_K(x_n).
    sem : float
        Standard error of ``mean`` over examples, std_n(L̂_K(x_n)) / √n (ddof = 1); NaN for
        one example. It measures the spread of the data set.
    elbo, elbo_sem : float
        The same for the ELBO estimate (1/K) Σ_k log w_k.
    per_example : Tensor, shape (n,), float64
        L̂_K(x_n).
    per_example_se : Tensor, shape (n,), float64
        Monte Carlo standard error of each L̂_K(x_n) by the delta method,
        std_k(w_k) / (√K · mean_k(w_k)) (ddof = 1; NaN for K = 1): the error of the
        estimate itself, small once K is large enough for the proposal.
    per_example_elbo : Tensor, shape (n,), float64
    n : int
        Number of examples.
    n_samples : int
        K.
    """

    mean: float
    sem: float
    elbo: float
    elbo_sem: float
    per_example: torch.Tensor
    per_example_se: torch.Tensor
    per_example_elbo: torch.Tensor
    n: int
    n_samples: int


def _sem(values: torch.Tensor) -> float:
    return float(values.std() / math.sqrt(values.numel())) if values.numel() > 1 else math.nan


@torch.no_grad()
def importance_log_likelihood(model: DirectedModel, data: torch.Tensor, n_samples: int = 1000, *,
                              batch: int | None = None, seed: int | None = 0, progress: bool = False,
                              backend: str = "auto", distributed=None) -> ImportanceEstimate:
    r"""Estimate log p(x) of each row of ``data`` by importance sampling from the guide.

    L̂_K(x) = log (1/K) Σ_k p(x, h_k) / q(h_k | x), h_k ~ q(· | x): a stochastic lower
    bound of log p(x) in expectation (E[L̂_K] ≤ log p(x), tightening as K grows), not an
    upper bound. The ELBO (1/K) Σ_k log w_k is estimated from the same draws.

    Parameters
    ----------
    model : DirectedModel
        A model with ``model(x)`` and ``guide(x)`` (e.g. :class:`models.SigmoidBeliefNet`,
        :class:`models.VAE`).
    data : Tensor, shape (n, n_visible)
        Checked once (binary for Bernoulli visible units).
    n_samples : int, default 1000
        K, draws from the guide per example.
    batch : int, optional
        Rows of ``data`` per pass (each pass holds ``batch × K`` particles); default
        ``max(1, 2**17 // K)``.
    seed : int or None, default 0
        Seeds torch's global generator, from which Pyro samples, for this call only (its
        state is restored afterwards); ``None`` draws from the current state.
    progress : bool, default False
        A tqdm bar over the passes.
    backend : {"auto", "pyro", "torch"}, default "auto"
        ``"auto"`` computes a VAE's log-weights from its modules on the same draws
        (:mod:`inference.backends.vae`); ``"pyro"`` (or ``"torch"``) traces the programs.
    distributed : bool or None, default None
        Split the rows across the ranks of a ``torch.distributed`` group: rank r estimates
        the rows r, r + W, ... (:class:`~inference.distributed.Shard`) with torch's
        generator seeded ``seed + r``, and the per-example estimates are gathered back in
        the rows' order, so every rank returns the estimate of the whole data set. ``None``
        joins a group that is open or that a launcher (``torchrun``) describes; ``False``
        runs every row on each process.

    Returns
    -------
    ImportanceEstimate
        ``mean``/``sem`` and ``elbo``/``elbo_sem`` over the data set, and per example.

    Raises
    ------
    TypeError, ValueError
        A model without ``model``/``guide``, bad data, or bad ``n_samples``/``batch``.

    Examples
    --------
    >>> from models import SigmoidBeliefNet
    >>> sbn = SigmoidBeliefNet([6, 3], seed=0)
    >>> x = sbn.sample(4, torch.Generator().manual_seed(0))
    >>> est = importance_log_likelihood(sbn, x, n_samples=100)
    >>> est.elbo <= est.mean
    True
    """
    check_model(model, DirectedModel, "importance_log_likelihood",
                what="a directed model (models.directed.DirectedModel, with model(x) and guide(x))")
    k = check_int(n_samples, "n_samples", where="importance_log_likelihood")
    if batch is not None:
        batch = check_int(batch, "batch", where="importance_log_likelihood")
    seed = check_seed(seed, "importance_log_likelihood")
    if backend not in ("auto", "pyro", "torch"):
        raise ValueError(f"importance_log_likelihood: backend must be one of ['auto', 'pyro', 'torch'], "
                         f"got {backend!r}")
    data = model.check_data(data, "data")
    n = data.shape[0]
    if n == 0:
        raise ValueError("importance_log_likelihood: data has no rows")
    rows = batch or max(1, _CELLS // k)
    with joined(distributed, model.device, "importance_log_likelihood") as replicas:
        if replicas is not None:  # this rank's draws, its bar on rank 0 only
            seed, progress = replicas.seed(seed), progress and replicas.is_main
        est, se, elbo = map_rows(lambda x: _per_example(model, x, k, rows, seed, progress, backend), data, replicas)
    return ImportanceEstimate(float(est.mean()), _sem(est), float(elbo.mean()), _sem(elbo), est, se, elbo, n, k)


def _per_example(model, data, k, rows, seed, progress, backend):
    """``(L̂_K, its Monte Carlo standard error, the ELBO)`` of each row of ``data``, float64
    (n,) each, in passes of ``rows`` rows with torch's generator seeded ``seed``."""
    from tqdm.auto import tqdm

    fast = fast_path(model, Objective("iwae", k), backend="auto" if backend == "auto" else "torch")
    weights = fast.log_weights if fast is not None else lambda m, x: log_weights(m, x, k)
    est, se, elbo = [], [], []
    with seeded(seed, model.device), validation_disabled():
        for i in tqdm(range(0, data.shape[0], rows), desc="importance LL", unit="pass", disable=not progress):
            lw = weights(model, data[i:i + rows]).double()  # (K, rows)
            over = ~torch.isfinite(lw).all(0)
            if model.dtype != torch.float64 and bool(over.any()):  # beyond the model's dtype (a Gaussian VAE at
                model64 = copy.deepcopy(model).double()            # x = 1e30 has log p ≈ -5e59): in float64
                lw[:, over] = log_weights(model64, data[i:i + rows][over].double(), k)
            m = torch.logsumexp(lw, 0) - math.log(k)
            est.append(m)
            elbo.append(lw.mean(0))
            if k > 1:
                w = torch.exp(lw - lw.max(0).values)  # scaled weights, max 1
                se.append(w.std(0) / (math.sqrt(k) * w.mean(0)))
            else:
                se.append(torch.full_like(m, math.nan))
    return torch.cat(est), torch.cat(se), torch.cat(elbo)
