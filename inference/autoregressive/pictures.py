r"""Pictures of autoregressive models.

* :func:`observed_half` — the mask of an image's top, bottom, left or right half;
* :func:`inpaint` and :func:`plot_inpainting` — the missing pixels drawn from the exact
  conditional p(x_missing | x_observed) along an ordering that puts the observed first
  (:meth:`models.autoregressive.AutoregressiveModel.sample`), drawn as rows of truth,
  observed part and completions;
* :func:`plot_conditional_log_likelihood` — the mean per-pixel conditional
  log-likelihood (1/n) Σ_b log p(x_{b,d} | x_{b,o_<i}) as an image: where along the
  ordering the model is certain and where it pays its nats.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from pgm.checks import check_int, validation_disabled
from pgm.plots._common import new_figure, save
from pgm.plots.images import check_image_shape, tile

__all__ = ["HALVES", "observed_half", "inpaint", "plot_inpainting", "plot_conditional_log_likelihood"]

#: The halves of an image :func:`observed_half` can observe.
HALVES = ("top", "bottom", "left", "right")


def observed_half(image_shape, half: str) -> torch.Tensor:
    """The bool mask (height · width,) of the ``half`` of an image that is observed."""
    h, w = check_image_shape(image_shape, "observed_half")
    if half not in HALVES:
        raise ValueError(f"observed_half: half must be one of {list(HALVES)}, got {half!r}")
    rows, cols = torch.arange(h)[:, None].expand(h, w), torch.arange(w)[None, :].expand(h, w)
    mask = {"top": rows < h // 2, "bottom": rows >= h - h // 2, "left": cols < w // 2,
            "right": cols >= w - w // 2}[half]
    return mask.reshape(-1)


@torch.no_grad()
def inpaint(model, x: torch.Tensor, observed: torch.Tensor, n_draws: int = 1, generator=None) -> torch.Tensor:
    """``n_draws`` completions of each row of ``x`` with the ``observed`` (bool, (D,))
    pixels kept, shape (n_draws, n, D): exact draws from p(x_missing | x_observed) under
    the ordering :meth:`~models.autoregressive.AutoregressiveModel.inpainting_member`
    chooses."""
    x = model.check_data(x, "x")
    n_draws = check_int(n_draws, "n_draws", 1, "inpaint")
    rows = x.repeat(n_draws, 1)
    out = model.sample(rows.shape[0], generator, observed=observed, values=rows)
    return out.reshape(n_draws, x.shape[0], -1)


def plot_inpainting(model, x: torch.Tensor, observed: torch.Tensor, image_shape, n_draws: int = 4, generator=None,
                    path=None, title: str | None = None):
    """Each row of ``x`` (a column of the picture): the truth, the observed part (the
    missing pixels shown mid-grey) and ``n_draws`` completions beneath.

    Returns
    -------
    matplotlib.figure.Figure
    """
    h, w = check_image_shape(image_shape, "plot_inpainting")
    if h * w != model.n_visible:
        raise ValueError(f"plot_inpainting: image_shape {image_shape} does not hold the {model.n_visible} dimensions")
    draws = inpaint(model, x, observed, n_draws, generator).cpu()
    truth = model.check_data(x, "x").cpu()
    lo, hi = float(truth.min()), float(truth.max())
    scale = (lambda a: (a - lo) / (hi - lo)) if hi > lo else (lambda a: a)
    shown = truth.clone()
    shown[:, ~observed.cpu()] = (lo + hi) / 2
    tiles = torch.cat([truth[None], shown[None], draws]).clamp(lo, hi)  # (2 + n_draws, n, D)
    n = truth.shape[0]
    canvas = tile(scale(tiles.reshape(-1, h * w)).numpy(), h, w, n)
    fig = new_figure((max(2.0, 0.6 * n), max(2.0, 0.6 * (2 + n_draws))))
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(np.ma.masked_invalid(canvas), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title or f"{type(model).__name__}: truth, observed ({int(observed.sum())} of {h * w} pixels), "
                          f"{n_draws} exact completions", fontsize=9)
    save(fig, path)
    return fig


@torch.no_grad()
def plot_conditional_log_likelihood(model, x: torch.Tensor, image_shape, member=None, path=None,
                                    title: str | None = None):
    """The mean conditional log-likelihood of each pixel over the rows of ``x``, as an
    image with a colour bar (nats); the title gives the total, the mean log p(x).

    Returns
    -------
    matplotlib.figure.Figure
    """
    h, w = check_image_shape(image_shape, "plot_conditional_log_likelihood")
    x = model.check_data(x, "x")
    if x.shape[1] != h * w:
        raise ValueError(f"plot_conditional_log_likelihood: image_shape {image_shape} does not hold the "
                         f"{x.shape[1]} dimensions")
    member = model.check_member(member, "plot_conditional_log_likelihood")
    with validation_disabled():
        per = model.log_prob_dims(x, member).double().mean(0).cpu().numpy().reshape(h, w)
    fig = new_figure((4.2, 3.4))
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(per, cmap="viridis", interpolation="nearest")
    fig.colorbar(image, ax=ax, label="nats")
    ax.set_axis_off()
    total = float(per.sum())
    ax.set_title(title or f"{type(model).__name__}: log p(x_d | x_<d) per pixel\nmean log p(x) = {total:.2f} nats",
                 fontsize=9)
    if not math.isfinite(total):
        raise ValueError("plot_conditional_log_likelihood: a conditional log-likelihood is not finite")
    save(fig, path)
    return fig
