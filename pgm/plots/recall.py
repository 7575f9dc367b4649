"""A Hopfield recall as a strip of frames: pattern, probe, then the state after each sweep."""

from __future__ import annotations

import numpy as np

from ..checks import as_array, check_ax, check_path, check_title
from ._common import figure_for, save
from .images import check_image_shape, tile

__all__ = ["recall_strip"]


def _as_unit(arr, name, func):
    """Spins in {−1, +1} or bits in {0, 1} as values in {0, 1}."""
    values = set(np.unique(arr).tolist())
    if values <= {-1.0, 1.0}:
        return (arr + 1) / 2
    if values <= {0.0, 1.0}:
        return arr
    raise ValueError(f"{func}: {name} must hold spins in {{-1, +1}} or bits in {{0, 1}}, got values such as "
                     f"{sorted(values - {-1.0, 0.0, 1.0})[:3]}")


def recall_strip(patterns, frames, image_shape, path=None, ax=None, title="recall"):
    """One row per probe: the stored pattern, the probe, then the state after each sweep.

    Parameters
    ----------
    patterns : Tensor or array, shape (n_probes, n)
        The stored patterns the probes were made from (spins or bits).
    frames : Tensor or array, shape (sweeps + 1, n_probes, n)
        :meth:`models.energy.Hopfield.recall_frames`: the probes first, then the states
        after each sweep (spins or bits).
    image_shape : tuple of int
        (height, width) with height · width = n.
    path : str or Path, optional
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Columns labelled "pattern", "probe", "1", "2", … (sweeps); each row's label says
        whether its last frame equals the pattern ("recalled") or not.
    """
    func = "recall_strip"
    check_path(path, func), check_ax(ax, func), check_title(title, func)
    h, w = check_image_shape(image_shape, func)
    p = _as_unit(as_array(patterns, "patterns", func, ndim=2), "patterns", func)
    f = _as_unit(as_array(frames, "frames", func, ndim=3), "frames", func)
    if p.shape[1] != h * w:
        raise ValueError(f"{func}: patterns must have shape (n_probes, {h * w}) for image_shape {(h, w)}, "
                         f"got {p.shape}")
    if f.shape[1:] != p.shape:
        raise ValueError(f"{func}: frames must have shape (sweeps + 1, {p.shape[0]}, {p.shape[1]}) to match "
                         f"patterns, got {f.shape}")
    n_probes, n_frames = p.shape[0], f.shape[0]
    tiles = np.concatenate([p[:, None], f.transpose(1, 0, 2)], 1)  # (probes, frames + 1, n)
    ncols = n_frames + 1
    canvas = tile(tiles.reshape(-1, h * w), h, w, ncols)
    fig, ax = figure_for(ax, (max(3.0, ncols * 0.55 + 1.2), max(1.5, n_probes * 0.55 + 0.8)))
    ax.imshow(np.ma.masked_invalid(canvas), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([1 + (w + 1) * k + (w - 1) / 2 for k in range(ncols)],
                  ["pattern", "probe"] + [str(k) for k in range(1, n_frames)], fontsize=8)
    hits = (f[-1] == p).all(1)
    ax.set_yticks([1 + (h + 1) * k + (h - 1) / 2 for k in range(n_probes)],
                  ["recalled" if ok else "missed" for ok in hits], fontsize=8)
    ax.set_xlabel("sweeps after the probe")
    for side in ax.spines.values():
        side.set_visible(False)
    ax.tick_params(length=0)
    if title:
        ax.set_title(f"{title}: {int(hits.sum())} of {n_probes} patterns recalled")
    save(fig, path)
    return fig
