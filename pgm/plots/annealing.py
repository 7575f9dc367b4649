r"""Diagnostics of annealing and tempering runs: AIS log-weights and ESS, PT swap rates."""

from __future__ import annotations

import numpy as np

from ..checks import as_array, check_ax, check_int_arg, check_path, check_title
from ._common import figure_for, new_figure, save

__all__ = ["ais_diagnostics", "swap_acceptance", "effective_sample_size"]


def effective_sample_size(log_w) -> np.ndarray:
    r"""Kish's effective sample size of importance weights, along the last axis.

    .. math:: \mathrm{ESS} = \frac{(\sum_m w_m)^2}{\sum_m w_m^2}
              = \exp\big(2\,\mathrm{LSE}(\log w) - \mathrm{LSE}(2 \log w)\big)

    Parameters
    ----------
    log_w : array, shape (..., n_chains)

    Returns
    -------
    array, shape (...)
        Between 1 and n_chains; n_chains for equal weights.
    """
    log_w = np.asarray(log_w, dtype=float)
    rel = log_w - log_w.max(axis=-1, keepdims=True)  # weights relative to the largest: no overflow
    return np.exp(2 * np.log(np.exp(rel).sum(-1)) - np.log(np.exp(2 * rel).sum(-1)))


def ais_diagnostics(betas, log_w, path=None, bins=30, title="AIS diagnostics"):
    r"""Two panels: a histogram of the final AIS log-weights, and the ESS over β.

    The effective sample size at β_k is Kish's (Σ w)² / Σ w² of the weights accumulated up
    to β_k (:func:`effective_sample_size`); it starts at n_chains (β = 0, equal weights)
    and falls where the path moves faster than the chains mix. A final histogram with a
    long right tail means that a few chains carry the estimate and that its bracket is too
    narrow.

    Parameters
    ----------
    betas : Tensor or array, shape (C,)
        Inverse temperatures of the checkpoints, non-decreasing, the last one the end of
        the path (β = 1).
    log_w : Tensor or array, shape (C, n_chains)
        log w of each chain accumulated up to each checkpoint
        (:func:`inference.ais_trace`).
    path : str or Path, optional
    bins : int, default 30
        Histogram bins.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: "log-weight (nats)" / "chains", and "β" / "effective sample size".
    """
    func = "ais_diagnostics"
    check_path(path, func), check_title(title, func)
    bins = check_int_arg(bins, "bins", func, optional=False)
    b = as_array(betas, "betas", func, ndim=1)
    lw = as_array(log_w, "log_w", func, ndim=2)
    if lw.shape[0] != b.shape[0]:
        raise ValueError(f"{func}: log_w must have shape (len(betas), n_chains) = ({b.shape[0]}, n_chains), "
                         f"got {lw.shape}")
    if lw.shape[1] < 2:
        raise ValueError(f"{func}: log_w needs at least 2 chains, got shape {lw.shape}")
    if (np.diff(b) < 0).any():
        raise ValueError(f"{func}: betas must be non-decreasing (a forward AIS path), got {b[:5]}...")
    n = lw.shape[1]
    ess = effective_sample_size(lw)
    fig = new_figure((9, 3.6))
    left, right = fig.subplots(1, 2)
    left.hist(lw[-1], bins=bins, color="C0", edgecolor="white")
    left.axvline(np.median(lw[-1]), color="k", lw=1, ls="--", label="median")
    left.set_xlabel(f"final log-weight log w at β = {b[-1]:.3g} (nats)")
    left.set_ylabel("chains")
    left.set_title(f"{n} chains")
    left.legend(fontsize=8)
    right.plot(b, ess, marker="o" if len(b) <= 30 else None, ms=3)
    right.axhline(n, color="0.5", lw=1, ls=":", label=f"n_chains = {n}")
    right.set_ylim(0, n * 1.05)
    right.set_xlabel("inverse temperature β")
    right.set_ylabel("effective sample size (chains)")
    right.set_title(f"ESS at β = {b[-1]:.3g}: {ess[-1]:.1f} of {n}")
    right.grid(alpha=0.3)
    right.legend(fontsize=8, loc="lower left")
    if title:
        fig.suptitle(title)
    save(fig, path)
    return fig


def swap_acceptance(betas, rates, path=None, ax=None, title="parallel tempering: swap acceptance"):
    r"""Bars of the swap acceptance rate between neighbouring replicas of a PT ladder.

    A swap of replicas t and t+1 is accepted with probability
    min(1, exp((β_t − β_{t+1})(E_t − E_{t+1}))); rates near 0 mean a gap in the ladder
    that states cannot cross (add temperatures there), rates near 1 wasted replicas.

    Parameters
    ----------
    betas : Tensor or array, shape (R,)
        The ladder, β_0 = 1 (the target) first.
    rates : Tensor or array, shape (R - 1,)
        Fraction of proposed swaps accepted between replicas t and t+1
        (:func:`inference.mcmc.tempering.swap_rates`); NaN for a pair never proposed.
    path : str or Path, optional
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One bar per pair, labelled with its two β values.
    """
    func = "swap_acceptance"
    check_path(path, func), check_ax(ax, func), check_title(title, func)
    b = as_array(betas, "betas", func, ndim=1)
    r = as_array(rates, "rates", func, ndim=1, finite=False)
    if b.shape[0] < 2:
        raise ValueError(f"{func}: betas must hold at least 2 replicas, got shape {b.shape}")
    if r.shape[0] != b.shape[0] - 1:
        raise ValueError(f"{func}: rates must have shape (len(betas) - 1,) = ({b.shape[0] - 1},), got {r.shape}")
    if np.isinf(r).any() or (r[~np.isnan(r)] < 0).any() or (r[~np.isnan(r)] > 1).any():
        raise ValueError(f"{func}: rates must lie in [0, 1] (NaN for pairs never proposed), got {r}")
    fig, ax = figure_for(ax, (max(4.0, 0.75 * len(r) + 1.5), 3.6))
    xs = np.arange(len(r))
    ax.bar(xs, np.nan_to_num(r), color="C0")
    for x, v in zip(xs, r):
        ax.text(x, (0 if np.isnan(v) else v) + 0.02, "n/a" if np.isnan(v) else f"{v:.2f}", ha="center",
                va="bottom", fontsize=8)
    ax.set_xticks(xs, [f"{b[t]:.2f}↔{b[t + 1]:.2f}" for t in range(len(r))], rotation=45 if len(r) > 6 else 0,
                  fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("replica pair (β_t ↔ β_t+1)")
    ax.set_ylabel("swap acceptance rate")
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title)
    save(fig, path)
    return fig
