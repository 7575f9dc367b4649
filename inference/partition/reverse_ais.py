"""Reverse annealed importance sampling: a stochastic upper bound on log Z.

The counterpart of :func:`inference.partition.ais.ais_log_partition`: the same path of
distributions, traversed from the model back to the base-rate model.
"""

from __future__ import annotations

import torch

from models.energy.validation import check_int, check_units

from .ais import _anneal, _base_bias, _check_betas, _log_z_base, _progress, _rbm_tensors, _summarise
from .exact import LogZEstimate
from ..mcmc.sampling import bernoulli, make_generator

__all__ = ["reverse_ais_log_partition"]


def reverse_ais_log_partition(model, init=None, n_chains: int | None = None, betas=None,
                              base="data", data=None, seed: int | None = 0,
                              burn_in: int = 1000, progress: bool = True) -> LogZEstimate:
    r"""Estimate log Z of a binary RBM by reverse annealing, from the model to the base.

    The chains start from samples of the RBM and follow the path of
    :func:`ais_log_partition` backwards (β from 1 to 0), so that E[w] = Z_A / Z_B
    (Burda, Grosse & Salakhutdinov, 2015). Then

    .. math::

        \log \hat Z = \log Z_A - \log \bar w, \qquad
        \text{bracket: } \log Z_A - \log\big(\bar w \pm 3\, \mathrm{se}(\bar w)\big),

    and, by Jensen's inequality, E[log Ẑ] ≥ log Z: a stochastic *upper* bound, the
    counterpart of forward AIS's lower bound. ``upper`` is ``+inf`` when w̄ - 3 se ≤ 0.

    The guarantee holds when the starting states are exact samples of the RBM. With
    approximate samples (the default: Gibbs chains started from data rows or from the base
    model and run ``burn_in`` sweeps) it holds only as far as the chains have mixed; a
    start biased towards high-probability states also biases log Ẑ upwards.

    Parameters
    ----------
    model : RBM
    init : Tensor, shape (n_chains, n_visible), binary, optional
        Samples of the model to start from, used as given (no burn-in).
    n_chains : int, optional
        Number of chains when ``init`` is None (default 100); must match ``init``'s rows
        otherwise.
    betas : Tensor or sequence of float, optional
        Non-decreasing schedule from 0 to 1 (the same form as for forward AIS); it is
        traversed backwards. Default :func:`default_schedule`.
    base : {"data", "uniform"} or Tensor, default "data"
        Base model, as in :func:`ais_log_partition`.
    data : Tensor, shape (n, n_visible), optional
        Training data: the base rates for ``base="data"``, and the starting rows of the
        burn-in chains when ``init`` is None.
    seed : int or None, default 0
    burn_in : int, default 1000
        Gibbs sweeps at β = 1 before annealing, when ``init`` is None.
    progress : bool, default True

    Returns
    -------
    LogZEstimate
        ``method="reverse_ais"``.
    """
    func = "reverse_ais_log_partition"
    W, b, c = _rbm_tensors(model, func)
    nv = W.shape[0]
    betas = _check_betas(betas, func, W.dtype)
    bias_a = _base_bias(base, data, nv, func, W.dtype, W.device)
    gen = make_generator(seed, W.device)
    if init is not None:
        v = check_units(init, "init", nv, binary=True, dtype=W.dtype, device=W.device)
        if n_chains is not None and n_chains != v.shape[0]:
            raise ValueError(
                f"{func}: n_chains={n_chains!r} but init has {v.shape[0]} rows; pass one or the other"
            )
        check_int(v.shape[0], "the number of init rows", 2, func)
        burn_in = 0
    else:
        n_chains = check_int(100 if n_chains is None else n_chains, "n_chains", 2, func)
        burn_in = check_int(burn_in, "burn_in", 0, func)
        with torch.no_grad():
            if data is not None:
                rows = check_units(data, "data", nv, unit_interval=True, dtype=W.dtype, device=W.device)
                pick = torch.randint(rows.shape[0], (n_chains,), generator=gen, device=W.device)
                v = bernoulli(rows[pick], gen)  # binary even if data holds probabilities
            else:
                v = bernoulli(torch.sigmoid(bias_a.to(W.dtype)).expand(n_chains, -1), gen)
    with torch.no_grad():
        if burn_in:
            # Gibbs sweeps at β = 1: a constant path has zero weights, only transitions
            _, v = _anneal(W, b, c, bias_a, v, [1.0] * (burn_in + 2), gen,
                           _progress(burn_in + 1, "burn-in", progress))
        log_w, _ = _anneal(W, b, c, bias_a, v, betas.flip(0).tolist(), gen,
                           _progress(len(betas) - 1, "reverse ais", progress))
    return _summarise(log_w, _log_z_base(bias_a, W.shape[1]), "reverse_ais", reverse=True)
