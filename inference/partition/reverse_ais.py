"""Reverse annealed importance sampling: a stochastic upper bound on log Z.

The counterpart of :func:`inference.partition.ais.ais_log_partition`: the same path of
distributions (and the same machinery, generic or a backend's), traversed from the model
back to the base.
"""

from __future__ import annotations

import torch

from pgm.checks import check_chains_memory, check_int, check_units
from pgm import BERNOULLI_KINDS

from ..backends import check_backend
from ..mcmc import gibbs
from ..mcmc.sampling import bernoulli, make_generator
from ..threads import graph_work, threads_for
from .ais import _check_betas, _runner
from .estimate import LogZEstimate, from_log_weights
from .loop import progress_bar
from .path import check_state, kept_groups, log_z_start, make_path, n_rows, start_state

__all__ = ["reverse_ais_log_partition"]


def _start_from_data(path, data, n_chains, gen):
    """Visible rows drawn from ``data`` (binarised for a binary group); in the joint form
    the latent groups start from :func:`inference.mcmc.gibbs.init` given them."""
    model = path.model
    vis = model.visible_name
    if len(model.data_groups) > 1:  # rows of several observed groups (pixels and a one-hot label): outcomes
        from .visible import check_visible

        rows = check_visible(model, data, "reverse_ais_log_partition").to(dtype=model.dtype, device=model.device)
        pick = torch.randint(rows.shape[0], (n_chains,), generator=gen, device=model.device)
        values = gibbs.init(model, n_chains, gen, values=model.split_data(rows[pick])).values
        return {g: values[g] for g in kept_groups(path)} if path.form == "summed" else values
    binary = model.graph[vis].kind in BERNOULLI_KINDS
    rows = check_units(data, "data", model.graph[vis].n_units, unit_interval=binary,
                       dtype=model.dtype, device=model.device)
    if rows.shape[0] == 0:
        raise ValueError("reverse_ais_log_partition: data has no rows; pass at least one example")
    pick = torch.randint(rows.shape[0], (n_chains,), generator=gen, device=model.device)
    v = bernoulli(rows[pick], gen) if binary else rows[pick]  # binary even if data holds probabilities
    if path.form == "marginal":
        return v
    values = gibbs.init(model, n_chains, gen, values={vis: v}).values
    if path.form == "summed":
        return {g: values[g] for g in kept_groups(path)}
    return values


def reverse_ais_log_partition(model, init=None, n_chains: int | None = None, betas=None,
                              base="data", data=None, seed: int | None = 0,
                              burn_in: int = 1000, progress: bool = True,
                              backend: str = "auto") -> LogZEstimate:
    r"""Estimate log Z of an energy model by reverse annealing, from the model to the base.

    The chains start from samples of the model and follow the path of
    :func:`ais_log_partition` backwards (β from 1 to 0), so that E[w] = Z_0 / Z_B
    (Burda, Grosse & Salakhutdinov, 2015). Then

    .. math::

        \log \hat Z = \log Z_0 - \log \bar w, \qquad
        \text{bracket: } \log Z_0 - \log\big(\bar w \pm 3\, \mathrm{se}(\bar w)\big),

    and, by Jensen's inequality, E[log Ẑ] ≥ log Z: a stochastic *upper* bound, the
    counterpart of forward AIS's lower bound. ``upper`` is ``+inf`` when w̄ - 3 se ≤ 0.

    The guarantee holds when the starting states are exact samples of the model. With
    approximate samples (the default: Gibbs chains started from data rows or from the base
    and run ``burn_in`` sweeps at β = 1) it holds only as far as the chains have mixed; a
    start biased towards high-probability states also biases log Ẑ upwards.

    Parameters
    ----------
    model : EnergyModel
    init : Tensor (n_chains, n_visible) or dict[str, Tensor], optional
        Samples of the model to start from, used as given (no burn-in): the visible group
        for models annealed on their visible marginal, every group for the others (see
        :func:`ais_log_weights`).
    n_chains : int, optional
        Number of chains when ``init`` is None (default 100); must match ``init``'s rows
        otherwise.
    betas : Tensor or sequence of float, optional
        Non-decreasing schedule from 0 to 1 (the same form as for forward AIS); it is
        traversed backwards. Default :func:`default_schedule`.
    base : {"data", "uniform"}, Tensor or FactorisedBase, default "data"
        Base model, as in :func:`ais_log_partition`.
    data : Tensor, shape (n, n_visible), optional
        Training data: the base for ``base="data"``, and the starting rows of the burn-in
        chains when ``init`` is None (the latent groups of a model annealed on its joint
        state then start from :func:`inference.mcmc.gibbs.init`).
    seed : int or None, default 0
    burn_in : int, default 1000
        Gibbs sweeps at β = 1 before annealing, when ``init`` is None.
    progress : bool, default True
    backend : {"auto", "torch"}, default "auto"
        As in :func:`ais_log_partition`.

    Returns
    -------
    LogZEstimate
        ``method="reverse_ais"``.
    """
    func = "reverse_ais_log_partition"
    check_backend(backend, func)
    path = make_path(model, base, data, func)
    betas = _check_betas(betas, func, model.dtype)
    gen = make_generator(seed, model.device)
    if init is not None:
        state = check_state(path, init, func)
        rows = n_rows(state)
        if n_chains is not None and n_chains != rows:
            raise ValueError(f"{func}: n_chains={n_chains!r} but init has {rows} rows; pass one or the other")
        n_chains = check_int(rows, "the number of init rows", 2, func)
        burn_in = 0
    else:
        n_chains = check_int(100 if n_chains is None else n_chains, "n_chains", 2, func)
        check_chains_memory(model, n_chains, func, dtype=torch.float64)  # the generic loop anneals in float64
        burn_in = check_int(burn_in, "burn_in", 0, func)
        with torch.no_grad():
            if data is not None:
                state = _start_from_data(path, data, n_chains, gen)
            else:
                state = start_state(path, n_chains, gen)
    runner, model64 = _runner(path, backend)
    with torch.no_grad(), threads_for(graph_work(path.model.graph, n_chains)):
        log_z_0 = log_z_start(path, state, func, model64)
        if burn_in:
            # Gibbs sweeps at β = 1: a constant path has zero weights, only transitions
            _, state = runner.run(state, [1.0] * (burn_in + 2), gen, progress_bar(burn_in + 1, "burn-in", progress))
        log_w, _ = runner.run(state, betas.flip(0).tolist(), gen,
                              progress_bar(len(betas) - 1, "reverse ais", progress))
    return from_log_weights(log_w, log_z_0, "reverse_ais", reverse=True)
