"""Learning curves: named series per epoch, and the curves of a training history."""

from __future__ import annotations

import numpy as np

from ..checks import check_ax, check_path, check_title
from ._common import figure_for, new_figure, save

__all__ = ["plot_curves", "training_curves", "LIKELIHOOD_COLUMNS", "ERROR_COLUMNS"]

#: Columns of a history drawn in the likelihood panel (nats per example), in this order,
#: with their legend labels.
LIKELIHOOD_COLUMNS = {
    "log_likelihood": "log-likelihood",
    "estimate": "log-likelihood (importance estimate)",
    "bound": "variational bound",
    "elbo": "ELBO",
    "objective": "training objective",
    "pseudo_log_likelihood": "pseudo-log-likelihood",
}
#: Columns drawn in the reconstruction panel (squared error per example).
ERROR_COLUMNS = {"recon_error": "reconstruction error", "train_recon_error": "training reconstruction error"}


def _as_floats(values) -> np.ndarray:
    """A float array with ``None`` entries (epochs without a value) as NaN."""
    return np.array([np.nan if y is None else float(y) for y in values], dtype=float)


def plot_curves(curves: dict, path=None, ax=None, xlabel="epoch", ylabel="nats per example", title=None,
                bands: dict | None = None, xs=None):
    """Plot named series against their index (epochs start at 1).

    Parameters
    ----------
    curves : dict[str, sequence of float]
        Label → values; ``None``/NaN entries are skipped.
    path : str or Path, optional
    ax : matplotlib Axes, optional
    xlabel, ylabel, title : str
    bands : dict[str, (lower, upper)], optional
        Shaded uncertainty bands for some labels, each a pair of sequences as long as the
        series.
    xs : sequence of float, optional
        The x values shared by every series (default 1, 2, …).

    Returns
    -------
    matplotlib.figure.Figure
    """
    func = "plot_curves"
    check_path(path, func), check_ax(ax, func), check_title(title, func)
    if not isinstance(curves, dict):
        raise TypeError(f"{func}: curves must be a dict of label -> sequence of values, got {type(curves).__name__}")
    bands = bands or {}
    unknown = sorted(set(bands) - set(curves))
    if unknown:
        raise ValueError(f"{func}: bands must name curves that are plotted ({sorted(curves)}), got {unknown}")
    fig, ax = figure_for(ax, (6, 4))
    for label, ys in curves.items():
        ys = _as_floats(ys)
        x = np.arange(1, len(ys) + 1) if xs is None else np.asarray(xs, float)
        if len(x) != len(ys):
            raise ValueError(f"{func}: curve {label!r} has {len(ys)} values but xs has {len(x)}")
        keep = ~np.isnan(ys)  # epochs without a value: join the ones that have one
        line, = ax.plot(x[keep], ys[keep], marker="o" if keep.sum() < 30 else None, ms=3, label=label)
        if label in bands:
            lo, hi = (_as_floats(b) for b in bands[label])
            if len(lo) != len(ys) or len(hi) != len(ys):
                raise ValueError(f"{func}: the band of {label!r} must hold two sequences of {len(ys)} values, "
                                 f"got {len(lo)} and {len(hi)}")
            both = keep & np.isfinite(lo) & np.isfinite(hi)
            ax.fill_between(x[both], lo[both], hi[both], alpha=0.25, color=line.get_color(),
                            label=f"{label}: bracket")
    from matplotlib.ticker import MaxNLocator

    if xs is None:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    save(fig, path)
    return fig


def _columns(history, func) -> dict:
    if hasattr(history, "as_dict"):
        history = history.as_dict()
    if not isinstance(history, dict):
        raise TypeError(f"{func}: history must be a training history (History, DirectedHistory, UpDownHistory, "
                        f"GreedyHistory) or its as_dict(), got {type(history).__name__}")
    return history


def _present(table, names):
    return {names[k]: table[k] for k in names if k in table and any(v is not None for v in table[k])}


def _bands(table, names):
    """Label → (lower, upper) for the columns with ``<name>_lower`` and ``<name>_upper``."""
    return {names[k]: (table[f"{k}_lower"], table[f"{k}_upper"]) for k in names
            if k in table and f"{k}_lower" in table and f"{k}_upper" in table}


def _greedy_table(bounds):
    """The rows of a greedy DBN's ``bounds`` (one dict per layer) as columns."""
    keys = sorted({k for row in bounds for k in row})
    return {k: [row.get(k) for row in bounds] for k in keys}


def training_curves(history, path=None, title="training curves"):
    r"""The curves of a training history: likelihoods on the left, reconstruction errors
    on the right, with a shaded band where the history carries a bracket.

    Columns read (those present and not all ``None``; see :data:`LIKELIHOOD_COLUMNS` and
    :data:`ERROR_COLUMNS`): ``log_likelihood``, ``estimate``, ``bound``, ``elbo``,
    ``objective``, ``pseudo_log_likelihood`` (nats per example) against ``epoch``, and
    ``recon_error``, ``train_recon_error`` (squared error per example). A column ``c``
    with ``c_lower`` and ``c_upper`` (the AIS bracket of log Z carried to the
    likelihood) is drawn with its band. That covers :class:`inference.History` (energy
    models), ``DirectedHistory`` (ELBO, importance estimate), ``UpDownHistory`` (DBN
    fine-tuning) and ``GreedyHistory`` (greedy DBN training: the reconstruction error of
    each layer's RBM per epoch on the right, and the test bounds after each added layer,
    with their brackets, on the left).

    Parameters
    ----------
    history : EpochTable, GreedyHistory or dict
        A history, or its ``as_dict()``.
    path : str or Path, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One axes per panel that has data (at most two).

    Raises
    ------
    ValueError
        If the history has no column that can be drawn (e.g. no epoch yet).
    """
    func = "training_curves"
    check_path(path, func), check_title(title, func)
    table = _columns(history, func)
    panels = []
    if "layers" in table and "bounds" in table:  # greedy layer-wise training
        bounds = _greedy_table(table["bounds"])
        if bounds:
            layers = bounds.get("layer", list(range(1, len(table["bounds"]) + 1)))
            names = {"estimate": "log-likelihood estimate", "bound": "variational bound"}
            panels.append((_present(bounds, names), _bands(bounds, names), "layers trained", "nats per example",
                           [float(x) for x in layers]))
        errors = {f"layer {l + 1}": layer.get("recon_error", []) for l, layer in enumerate(table["layers"])}
        errors = {k: v for k, v in errors.items() if any(x is not None for x in v)}
        if errors:
            panels.append((errors, {}, "epoch of the layer's RBM", "squared error per example", None))
    else:
        if "epoch" not in table:
            raise ValueError(f"{func}: history must have an 'epoch' column, got columns {sorted(table)}")
        xs = [float(e) for e in table["epoch"]]
        lik, err = _present(table, LIKELIHOOD_COLUMNS), _present(table, ERROR_COLUMNS)
        if lik:
            panels.append((lik, _bands(table, LIKELIHOOD_COLUMNS), "epoch", "nats per example", xs))
        if err:
            panels.append((err, {}, "epoch", "squared error per example", xs))
    panels = [p for p in panels if p[0]]
    if not panels:
        raise ValueError(f"{func}: history has no column to draw (epochs recorded: "
                         f"{len(table.get('epoch', table.get('layers', [])))}; columns {sorted(table)})")
    fig = new_figure((5.2 * len(panels), 3.8))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (curves, bands, xlabel, ylabel, xs) in zip(axes, panels):
        plot_curves(curves, ax=ax, xlabel=xlabel, ylabel=ylabel, bands=bands, xs=xs)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)
    save(fig, path)
    return fig
