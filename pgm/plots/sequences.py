"""Sequences as frame strips: a real sequence above each generated one."""

from __future__ import annotations

import numpy as np

from ..checks import as_array, check_ax, check_path, check_title
from ._common import figure_for, save
from .images import check_image_shape, tile

__all__ = ["sequence_strips"]


def sequence_strips(real, generated, image_shape, given: int = 0, path=None, ax=None, title="sequences"):
    """Pairs of rows of frames, left to right in time: each real sequence above the
    sequence generated from its first ``given`` frames.

    Parameters
    ----------
    real : Tensor or array, shape (n, length, h * w)
        Real sequences, values in [0, 1].
    generated : Tensor or array, shape (n, length', h * w), or None
        Generated sequences (samples or their means), the seed prefix included; ``None``
        draws the real sequences alone, one row each.
    image_shape : tuple of int
        (height, width) of a frame.
    given : int, default 0
        Frames of the seed prefix, marked by a line after them.
    path : str or Path, optional
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    func = "sequence_strips"
    check_path(path, func), check_ax(ax, func), check_title(title, func)
    h, w = check_image_shape(image_shape, func)
    r = as_array(real, "real", func, ndim=3)
    g = r if generated is None else as_array(generated, "generated", func, ndim=3)
    for name, arr in (("real", r), ("generated", g)):
        if arr.shape[2] != h * w or arr.shape[0] == 0:
            raise ValueError(f"{func}: {name} must have shape (n >= 1, length, {h * w}) for image_shape {(h, w)}, "
                             f"got {arr.shape}")
        if arr.min() < 0 or arr.max() > 1:
            raise ValueError(f"{func}: {name} must hold values in [0, 1], got values in [{arr.min():.4g}, "
                             f"{arr.max():.4g}]")
    if r.shape[0] != g.shape[0]:
        raise ValueError(f"{func}: real and generated must hold the same number of sequences, got {r.shape[0]} and "
                         f"{g.shape[0]}")
    n, length = r.shape[0], max(r.shape[1], g.shape[1])
    per = 1 if generated is None else 2  # rows per sequence
    rows = np.full((n, per, length, h * w), np.nan)
    rows[:, 0, :r.shape[1]] = r
    if generated is not None:
        rows[:, 1, :g.shape[1]] = g
    canvas = tile(rows.reshape(-1, h * w), h, w, length)
    fig, ax = figure_for(ax, (max(3.0, length * w * 0.06 + 1.2), max(1.5, per * n * h * 0.06 + 0.8)))
    ax.imshow(np.ma.masked_invalid(canvas), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    if given:
        ax.axvline(given * (w + 1) + 0.5, color="tab:red", linewidth=1)
    ax.set_xticks([1 + (w + 1) * k + (w - 1) / 2 for k in range(0, length, max(1, length // 10))],
                  [str(k) for k in range(0, length, max(1, length // 10))], fontsize=8)
    ax.set_yticks([1 + (h + 1) * k + (h - 1) / 2 for k in range(per * n)], ["real", "generated"][:per] * n,
                  fontsize=7)
    ax.set_xlabel("frame" + (f" (the first {given} given)" if given else ""))
    for side in ax.spines.values():
        side.set_visible(False)
    ax.tick_params(length=0)
    if title:
        ax.set_title(title)
    save(fig, path)
    return fig
