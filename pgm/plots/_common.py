"""What every picture function shares: a figure without pyplot, saving, argument checks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

__all__ = ["new_figure", "figure_for", "save", "as_array", "check_path", "check_ax", "check_title", "check_int_arg"]

FORMATS = (".png", ".pdf", ".svg")


def new_figure(figsize):
    """A :class:`~matplotlib.figure.Figure` on the Agg canvas (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_for(ax, figsize):
    """``(figure, axes)``: those of ``ax``, or a new one-panel figure of size ``figsize``."""
    if ax is not None:
        return ax.figure, ax
    fig = new_figure(figsize)
    return fig, fig.add_subplot(1, 1, 1)


def save(fig, path):
    """Save ``fig`` to ``path`` (creating missing folders) when ``path`` is not ``None``."""
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120, bbox_inches="tight")


def check_path(path, func):
    if path is None:
        return
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{func}: path must be a str or os.PathLike, got {type(path).__name__}")
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in FORMATS:
        raise ValueError(f"{func}: path must end in one of {', '.join(FORMATS)}, got {os.fspath(path)!r}")


def check_ax(ax, func):
    if ax is None:
        return
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"{func}: ax must be a matplotlib Axes or None, got {type(ax).__name__}")


def check_title(title, func):
    if title is not None and not isinstance(title, str):
        raise TypeError(f"{func}: title must be a str or None, got {type(title).__name__}")


def check_int_arg(value, name, func, minimum=1, optional=True):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{func}: {name} must be an int >= {minimum}{' or None' if optional else ''}, got {value!r}")
    return int(value)


def as_array(values, name, func, ndim=None, finite=True):
    """A float64 numpy copy of a tensor, array or nested sequence, checked for its rank."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().double().numpy()
    try:
        arr = np.array(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{func}: {name} must be a tensor, array or sequence of numbers, "
                        f"got {type(values).__name__}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{func}: {name} must be {ndim}-D, got shape {arr.shape}")
    if finite and not np.isfinite(arr).all():
        raise ValueError(f"{func}: {name} must be finite, got {int((~np.isfinite(arr)).sum())} NaN or infinite values")
    return arr
