"""Pictures people would rather look at than read: image tiles and learning curves."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

__all__ = ["image_grid", "plot_curves"]


def _figure(ax, figsize):
    if ax is not None:
        return ax.figure, ax
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _save(fig, path):
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120, bbox_inches="tight")


def image_grid(images, image_shape, path=None, ax=None, ncols=None, title=None, normalize="each",
               cmap="gray"):
    """Tile a batch of flat images into one picture.

    Parameters
    ----------
    images : Tensor or array, shape (n, prod(image_shape))
        One image per row, e.g. samples (values in [0, 1]) or weight columns ``W.T``.
    image_shape : tuple of int
        (height, width) of one image, e.g. ``(8, 8)`` for digits.
    path : str or Path, optional
        Where to save (format from the extension).
    ax : matplotlib Axes, optional
        Draw into this axes instead of a new figure.
    ncols : int, optional
        Tiles per row (default: about square).
    normalize : {"each", "global", None}
        Rescale each tile to [0, 1] (filters), all tiles jointly, or not at all (samples).

    Returns
    -------
    matplotlib.figure.Figure
    """
    arr = images.detach().cpu().double().numpy() if isinstance(images, torch.Tensor) else np.asarray(images, float)
    h, w = image_shape
    if arr.ndim != 2 or arr.shape[1] != h * w:
        raise ValueError(f"images must have shape (n, {h * w}) for image_shape {tuple(image_shape)}, got {arr.shape}")
    if normalize not in ("each", "global", None):
        raise ValueError(f"normalize must be 'each', 'global' or None, got {normalize!r}")
    n = arr.shape[0]
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    if normalize == "global":
        arr = (arr - arr.min()) / max(arr.max() - arr.min(), 1e-12)
    elif normalize == "each":
        lo, hi = arr.min(1, keepdims=True), arr.max(1, keepdims=True)
        arr = (arr - lo) / np.maximum(hi - lo, 1e-12)
    canvas = np.full((nrows * (h + 1) + 1, ncols * (w + 1) + 1), np.nan)
    for i in range(n):
        r, c = divmod(i, ncols)
        canvas[1 + r * (h + 1): 1 + r * (h + 1) + h, 1 + c * (w + 1): 1 + c * (w + 1) + w] = arr[i].reshape(h, w)
    fig, ax = _figure(ax, (max(2.0, ncols * 0.45), max(2.0, nrows * 0.45)))
    ax.imshow(np.ma.masked_invalid(canvas), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    _save(fig, path)
    return fig


def _as_floats(values) -> np.ndarray:
    """A float array with ``None`` entries (epochs without a value) as NaN."""
    return np.array([np.nan if y is None else float(y) for y in values], dtype=float)


def plot_curves(curves: dict, path=None, ax=None, xlabel="epoch", ylabel="nats per example", title=None,
                bands: dict | None = None):
    """Plot named series against their index (epochs start at 1).

    Parameters
    ----------
    curves : dict[str, sequence of float]
        Label → values; ``None``/NaN entries are skipped.
    bands : dict[str, (lower, upper)], optional
        Shaded uncertainty bands for some labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _figure(ax, (6, 4))
    for label, ys in curves.items():
        ys = _as_floats(ys)
        xs = np.arange(1, len(ys) + 1)
        ax.plot(xs, ys, marker="o" if len(ys) < 30 else None, ms=3, label=label)
        if bands and label in bands:
            lo, hi = (_as_floats(b) for b in bands[label])
            ax.fill_between(xs, lo, hi, alpha=0.25)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if curves:
        ax.legend()
    if title:
        ax.set_title(title)
    _save(fig, path)
    return fig
