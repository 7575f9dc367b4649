"""What every picture function shares: a figure without pyplot, saving (argument checks: :mod:`pgm.checks`)."""

from __future__ import annotations

from pathlib import Path


__all__ = ["new_figure", "figure_for", "save"]


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

