"""Pictures made of image tiles: samples, weight filters, reconstructions."""

from __future__ import annotations

import math

import numpy as np

from ..checks import as_array, check_ax, check_int_arg, check_path, check_title
from ._common import figure_for, new_figure, save

__all__ = ["image_grid", "filter_grid", "reconstruction_grid", "tile", "check_image_shape"]

_TILE_INCHES = 0.45


def check_image_shape(image_shape, func) -> tuple[int, int]:
    """``(height, width)`` as two positive ints, else a ValueError naming ``image_shape``."""
    try:
        h, w = (int(s) for s in image_shape)
        ok = h >= 1 and w >= 1 and all(float(s) == int(s) for s in image_shape)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{func}: image_shape must be (height, width), two positive ints, got {image_shape!r}")
    return h, w


def _rows(images, image_shape, func, name="images"):
    """The (n, h*w) array of flat images, checked against ``image_shape``."""
    h, w = check_image_shape(image_shape, func)
    arr = as_array(images, name, func)
    if arr.ndim == 3 and arr.shape[1:] == (h, w):
        arr = arr.reshape(arr.shape[0], h * w)
    if arr.ndim != 2 or arr.shape[1] != h * w:
        hint = ""
        if arr.ndim == 2 and arr.shape[1] > h * w:
            hint = (f"; rows that join the pixels with other groups (e.g. a one-hot label) must be cut to the "
                    f"pixels first, e.g. {name}[:, :{h * w}]")
        raise ValueError(f"{func}: {name} must have shape (n, {h * w}) for image_shape {(h, w)}, got "
                         f"{arr.shape}{hint}")
    if arr.shape[0] == 0:
        raise ValueError(f"{func}: {name} must hold at least one image, got shape {arr.shape}")
    return arr, h, w


def _scaled(arr, normalize, func):
    """Values in [0, 1]: each row rescaled, all jointly, or checked to lie in [0, 1] already."""
    if normalize not in ("each", "global", None):
        raise ValueError(f"{func}: normalize must be 'each', 'global' or None, got {normalize!r}")
    if normalize == "global":
        return (arr - arr.min()) / max(arr.max() - arr.min(), 1e-12)
    if normalize == "each":
        lo, hi = arr.min(1, keepdims=True), arr.max(1, keepdims=True)
        return (arr - lo) / np.maximum(hi - lo, 1e-12)
    if arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"{func}: with normalize=None the values must lie in [0, 1] (probabilities or grey "
                         f"levels), got values in [{arr.min():.4g}, {arr.max():.4g}]; pass normalize='global' for "
                         "real-valued (Gaussian) images or map spins s to (s + 1) / 2")
    return arr


def tile(arr, h, w, ncols):
    """A canvas of the rows of ``arr`` (n, h*w) as h×w tiles, ``ncols`` per row, separated
    by one-pixel NaN gaps (drawn as background); shape (rows·(h+1)+1, ncols·(w+1)+1)."""
    n = arr.shape[0]
    nrows = math.ceil(n / ncols)
    canvas = np.full((nrows * (h + 1) + 1, ncols * (w + 1) + 1), np.nan)
    for i in range(n):
        r, c = divmod(i, ncols)
        canvas[1 + r * (h + 1): 1 + r * (h + 1) + h, 1 + c * (w + 1): 1 + c * (w + 1) + w] = arr[i].reshape(h, w)
    return canvas


def image_grid(images, image_shape, path=None, ax=None, ncols=None, title=None, normalize="each", cmap="gray"):
    """Tile a batch of flat images into one picture.

    Parameters
    ----------
    images : Tensor or array, shape (n, height * width) or (n, height, width)
        One image per row: samples or data (probabilities or grey levels in [0, 1] with
        ``normalize=None``; real-valued images, e.g. a Gaussian RBM's, with
        ``"global"``), or weight columns ``W.T`` (``"each"``; see also
        :func:`filter_grid`). Rows that join the pixels with a one-hot label must be cut
        to the pixels first.
    image_shape : tuple of int
        (height, width) of one image, e.g. ``(8, 8)`` for digits.
    path : str or Path, optional
        Save a picture there (``.png``, ``.pdf`` or ``.svg``).
    ax : matplotlib Axes, optional
        Draw into this axes instead of a new figure.
    ncols : int, optional
        Tiles per row (default: about square).
    title : str, optional
    normalize : {"each", "global", None}, default "each"
        Rescale each tile to [0, 1] (filters), all tiles jointly (real-valued images), or
        not at all (values must then lie in [0, 1]).
    cmap : str, default "gray"

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For rows that do not match ``image_shape``, non-finite values, or values outside
        [0, 1] with ``normalize=None``.
    """
    func = "image_grid"
    check_path(path, func), check_ax(ax, func), check_title(title, func)
    arr, h, w = _rows(images, image_shape, func)
    ncols = check_int_arg(ncols, "ncols", func) or math.ceil(math.sqrt(arr.shape[0]))
    arr = _scaled(arr, normalize, func)
    canvas = tile(arr, h, w, ncols)
    nrows = math.ceil(arr.shape[0] / ncols)
    fig, ax = figure_for(ax, (max(2.0, ncols * _TILE_INCHES), max(2.0, nrows * _TILE_INCHES)))
    ax.imshow(np.ma.masked_invalid(canvas), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    save(fig, path)
    return fig


def filter_grid(weights, image_shape, path=None, n=None, ncols=None, title="filters: weights of each hidden unit",
                cmap="RdBu_r"):
    r"""The weights from the visible units to each hidden unit, one tile per unit.

    Tile j shows column j of ``weights`` (the filter of hidden unit j: the input
    c_j + Σ_i v_i W_ij it receives is the tile's inner product with the image) on a
    colour scale symmetric about 0, ``±max |W|``, shared by every tile, with a colour bar:
    red excites the unit, blue inhibits it.

    Parameters
    ----------
    weights : Tensor or array, shape (n_visible, n_hidden)
        E.g. ``rbm.W``; n_visible = height · width.
    image_shape : tuple of int
        (height, width) of the visible image.
    path : str or Path, optional
        Save a picture there.
    n : int, optional
        Show the first ``n`` hidden units only (default: all).
    ncols : int, optional
        Tiles per row (default: about square).
    title : str, optional
    cmap : str, default "RdBu_r"
        A diverging colour map.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the tiles and the colour bar (labelled "weight").
    """
    func = "filter_grid"
    check_path(path, func), check_title(title, func)
    h, w = check_image_shape(image_shape, func)
    arr = as_array(weights, "weights", func, ndim=2)
    if arr.shape[0] != h * w:
        raise ValueError(f"{func}: weights must have shape (n_visible, n_hidden) with n_visible = {h * w} for "
                         f"image_shape {(h, w)}, got {arr.shape}" +
                         ("; pass W, not W.T" if arr.shape[1] == h * w else ""))
    n = min(check_int_arg(n, "n", func) or arr.shape[1], arr.shape[1])
    tiles = arr[:, :n].T
    ncols = check_int_arg(ncols, "ncols", func) or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    scale = max(float(np.abs(tiles).max()), 1e-12)
    fig = new_figure((max(3.5, ncols * 0.7 + 1.2), max(2.8, nrows * 0.7 + 0.5)))
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(np.ma.masked_invalid(tile(tiles, h, w, ncols)), cmap=cmap, vmin=-scale, vmax=scale,
                   interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(f"{title} ({n} units)")
    fig.colorbar(im, ax=ax, shrink=0.8, label="weight")
    save(fig, path)
    return fig


def reconstruction_grid(data, reconstructions, image_shape, path=None, ax=None, ncols=None, title="reconstructions",
                        normalize=None):
    """Data over their reconstructions: each row of tiles is followed by the row of their
    reconstructions, labelled on the left.

    Parameters
    ----------
    data, reconstructions : Tensor or array, shape (n, height * width)
        Rows of data and their reconstructions (e.g. from
        :func:`inference.reconstruct`), in the same order.
    image_shape : tuple of int
        (height, width) of one image.
    path : str or Path, optional
    ax : matplotlib Axes, optional
    ncols : int, optional
        Images per row (default: up to 10).
    title : str, optional
    normalize : {None, "global"}, default None
        ``None``: values in [0, 1] (binary data, probabilities); ``"global"``: one
        common scale for both (real-valued data).

    Returns
    -------
    matplotlib.figure.Figure
    """
    func = "reconstruction_grid"
    check_path(path, func), check_ax(ax, func), check_title(title, func)
    if normalize not in (None, "global"):
        raise ValueError(f"{func}: normalize must be None or 'global' (one scale for data and reconstructions), "
                         f"got {normalize!r}")
    x, h, w = _rows(data, image_shape, func, "data")
    r, _, _ = _rows(reconstructions, image_shape, func, "reconstructions")
    if r.shape != x.shape:
        raise ValueError(f"{func}: reconstructions must have the shape of data {x.shape}, got {r.shape}")
    both = _scaled(np.concatenate([x, r]), normalize, func)
    x, r = both[: len(x)], both[len(x):]
    n = x.shape[0]
    ncols = check_int_arg(ncols, "ncols", func) or min(n, 10)
    nrows = math.ceil(n / ncols)
    pad = np.full((nrows * ncols - n, h * w), np.nan)
    x, r = np.concatenate([x, pad]), np.concatenate([r, pad])
    rows = np.concatenate([np.stack([x[i * ncols:(i + 1) * ncols], r[i * ncols:(i + 1) * ncols]])
                           for i in range(nrows)]).reshape(-1, h * w)
    canvas = tile(rows, h, w, ncols)
    fig, ax = figure_for(ax, (max(3.0, ncols * 0.6 + 1.2), max(1.6, 2 * nrows * 0.6)))
    ax.imshow(np.ma.masked_invalid(canvas), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([1 + (h + 1) * k + (h - 1) / 2 for k in range(2 * nrows)],
                  ["data", "reconstruction"] * nrows)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.tick_params(length=0)
    if title:
        ax.set_title(title)
    save(fig, path)
    return fig
