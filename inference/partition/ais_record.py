r"""AIS with its log-weights recorded along the schedule, for diagnostics.

The chains of :func:`~inference.partition.ais.ais_log_weights` are run in segments
between checkpoints β_{k_0} = β_0 < β_{k_1} < … < β_{k_C} = β_K. At each checkpoint the
accumulated

.. math::

    \log w^{(k)} = \sum_{j=1}^{k} \log p^*_{\beta_j}(x_j) - \log p^*_{\beta_{j-1}}(x_j)

of every chain is kept. A segment after the first starts with the same β twice: a zero
increment then the sweep at β_{k} that the uninterrupted loop makes before its next
increment, so the chains see the same transitions and draw the same random numbers as
one uninterrupted run; the final log-weights equal those of ``ais_log_weights`` up to
the order of the float64 additions.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from models.energy import EnergyModel
from pgm.checks import check_model

from ..backends import check_backend
from ..threads import graph_work, threads_for
from .ais import _checked, _runner, schedule_values
from .estimate import LogZEstimate, from_log_weights
from .loop import progress_bar
from .path import check_state, log_z_start, make_path, n_rows, start_state

__all__ = ["AISTrace", "ais_log_weight_path", "ais_trace", "checkpoint_indices"]

_F64 = torch.float64


class AISTrace(NamedTuple):
    """An AIS run with its log-weights at checkpoints along the schedule.

    Attributes
    ----------
    betas : Tensor, shape (C,), float64
        β at the checkpoints, β_0 = 0 first and 1 last.
    log_w : Tensor, shape (C, n_chains), float64
        Each chain's log-weight accumulated up to each checkpoint (zeros at β = 0).
    log_z_0 : float
        log Z of the start of the path (the base), so that
        log Ẑ = log_z_0 + logmeanexp(log_w[-1]).
    estimate : LogZEstimate
        The estimate of :func:`~inference.partition.ais.ais_log_partition` from the final
        weights.
    """

    betas: torch.Tensor
    log_w: torch.Tensor
    log_z_0: float
    estimate: LogZEstimate


def checkpoint_indices(n_betas: int, checkpoints: int) -> list[int]:
    """About ``checkpoints`` indices into a schedule of ``n_betas`` values, evenly spaced
    by index, always holding the first and the last (fewer when the schedule is short)."""
    idx = torch.linspace(0, n_betas - 1, max(2, min(checkpoints, n_betas)), dtype=_F64).round().long()
    return sorted(set(idx.tolist()))


def _check_checkpoints(checkpoints, func):
    if isinstance(checkpoints, bool) or not isinstance(checkpoints, int) or checkpoints < 2:
        raise ValueError(f"{func}: checkpoints must be an int >= 2 (the first and last β at least), "
                         f"got {checkpoints!r}")
    return checkpoints


def _run_segments(runner, state, betas: list, generator, checkpoints: int, pbar):
    """(checkpoint betas, stacked log-weights, final state) of ``runner`` along ``betas``."""
    idx = checkpoint_indices(len(betas), checkpoints)
    n = n_rows(state)
    total = torch.zeros(n, dtype=_F64, device=generator.device)
    rows = [total.clone()]
    for a, b in zip(idx[:-1], idx[1:]):
        seg = betas[a:b + 1] if a == 0 else [betas[a]] + betas[a:b + 1]
        log_w, state = runner.run(state, seg, generator, None)
        total = total + log_w.to(total.device)
        rows.append(total.clone())
        if pbar is not None:
            pbar.update(b - a)
    if pbar is not None:
        pbar.close()
    at = torch.tensor([betas[i] for i in idx], dtype=_F64)
    return at, torch.stack(rows), state


def ais_log_weight_path(model, init, betas, base_bias, generator, checkpoints: int = 50, progress: bool = False,
                        backend: str = "auto"):
    r""":func:`~inference.partition.ais.ais_log_weights` with the log-weights recorded at
    checkpoints along the path.

    Parameters
    ----------
    model, init, betas, base_bias, generator, progress, backend
        As for :func:`~inference.partition.ais.ais_log_weights`.
    checkpoints : int, default 50
        About this many checkpoints, evenly spaced by index over ``betas``, the first and
        the last included.

    Returns
    -------
    betas : Tensor, shape (C,), float64
        β at the checkpoints.
    log_w : Tensor, shape (C, n_chains), float64
        log-weights accumulated up to each checkpoint; ``log_w[-1]`` equals the
        log-weights of ``ais_log_weights`` run with the same generator state (to float64
        rounding) and ``log_w[0]`` is zero.
    state : Tensor or dict
        The final states, as from ``ais_log_weights``.
    """
    func = "ais_log_weight_path"
    check_backend(backend, func)
    checkpoints = _check_checkpoints(checkpoints, func)
    check_model(model, EnergyModel, func)
    if isinstance(base_bias, str) and base_bias == "data":
        raise ValueError(f"{func}: base_bias='data' is not accepted here; pass base_rate_bias(data)")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"{func}: generator must be a torch.Generator, got {type(generator).__name__}")
    path = make_path(model, base_bias, None, func)
    state = check_state(path, init, func)
    betas = schedule_values(betas, model, func)
    runner, _ = _runner(path, backend)
    with torch.no_grad(), threads_for(graph_work(path.model.graph, n_rows(state))):
        return _run_segments(runner, state, betas, generator, checkpoints,
                             progress_bar(len(betas) - 1, "ais", progress))


def ais_trace(model, n_chains: int = 100, betas=None, base="data", data=None, seed: int | None = 0,
              checkpoints: int = 50, progress: bool = True, backend: str = "auto") -> AISTrace:
    r""":func:`~inference.partition.ais.ais_log_partition` that also returns the
    log-weights at checkpoints along the schedule.

    The chains, their random numbers and the estimate are those of ``ais_log_partition``
    with the same arguments (equal up to the order of float64 additions); recording costs
    C copies of n_chains floats.

    Parameters
    ----------
    model, n_chains, betas, base, data, seed, progress, backend
        As for :func:`~inference.partition.ais.ais_log_partition`.
    checkpoints : int, default 50
        About this many checkpoints, evenly spaced by index over the schedule (the
        default schedule's 14,501 values are dense near β = 1).

    Returns
    -------
    AISTrace

    Examples
    --------
    >>> from models.energy import RBM
    >>> tr = ais_trace(RBM(6, 4, seed=0), n_chains=20, betas=torch.linspace(0, 1, 101), base="uniform",
    ...                checkpoints=11, progress=False)
    >>> tuple(tr.log_w.shape), float(tr.betas[0]), float(tr.betas[-1])
    ((11, 20), 0.0, 1.0)
    """
    func = "ais_trace"
    checkpoints = _check_checkpoints(checkpoints, func)
    path, n_chains, betas = _checked(model, n_chains, betas, base, data, progress, backend, "ais_log_partition")
    from ..mcmc.sampling import make_generator

    gen = make_generator(seed, model.device)
    runner, model64 = _runner(path, backend)
    with torch.no_grad(), threads_for(graph_work(path.model.graph, n_chains)):
        state = start_state(path, n_chains, gen)
        log_z_0 = log_z_start(path, state, func, model64)
        at, log_w, _ = _run_segments(runner, state, betas.tolist(), gen, checkpoints,
                                     progress_bar(len(betas) - 1, "ais", progress))
    return AISTrace(at, log_w, float(log_z_0), from_log_weights(log_w[-1], log_z_0, "ais"))
