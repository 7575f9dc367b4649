"""Pictures of autoencoders: the denoising strip, the chain's samples over steps, the
sparsity histogram and the 2-D score field. Each returns a matplotlib Figure and saves it
with ``path=``."""

from __future__ import annotations

import math

import numpy as np
import torch

from pgm.checks import check_int, check_path, check_title
from pgm.plots import image_grid
from pgm.plots._common import new_figure, save

from ..mcmc.sampling import make_generator
from . import chain as dae_chain
from .score import score_field

__all__ = ["plot_denoising", "plot_chain", "plot_sparsity", "plot_score_field"]


def _shape(model):
    side = math.isqrt(model.n_visible)
    if side * side != model.n_visible:
        raise ValueError(f"the {model.n_visible} visible units are not a square image")
    return side, side


@torch.no_grad()
def plot_denoising(model, x: torch.Tensor, seed: int = 0, path=None, title=None):
    """Three rows per example block: the clean ``x``, its corruption x̃ ~ C(· | x) and the
    reconstruction r(x̃) (a denoising autoencoder)."""
    check_path(path, "plot_denoising"), check_title(title, "plot_denoising")
    if model.corruption is None:
        raise ValueError("plot_denoising: the model has no corruption (a denoising autoencoder has noise=...)")
    x = model.check_data(x, "x")
    corrupted = model.corruption.sample(x, make_generator(seed, x.device))
    rows = torch.cat([x, corrupted.clamp(0, 1), model.decode(model.encode(corrupted))])
    title = title or f"clean, corrupted ({model.corruption.kind} {model.corruption.level:g}), reconstructed"
    return image_grid(rows.cpu(), _shape(model), path=path, ncols=x.shape[0], title=title, normalize=None)


def plot_chain(model, n: int = 8, steps: int = 100, frames: int = 10, seed: int = 0, x0=None, path=None,
               title=None):
    """The means of ``n`` denoising chains (columns) every ``steps // frames`` steps (rows),
    from noise or from ``x0``."""
    check_path(path, "plot_chain"), check_title(title, "plot_chain")
    n, steps, frames = (check_int(v, name, 1, "plot_chain") for v, name in ((n, "n"), (steps, "steps"),
                                                                              (frames, "frames")))
    gen = make_generator(seed, model.device)
    state = dae_chain.init(model, n, gen, x0=x0)
    _, recorded = dae_chain.run(model, state, steps, gen, record_every=max(1, steps // frames))
    title = title or f"denoising chain: {n} chains, a row every {max(1, steps // frames)} steps"
    return image_grid(recorded.reshape(-1, model.n_visible).cpu(), _shape(model), path=path, ncols=n, title=title,
                      normalize=None if model.likelihood == "bernoulli" else "global")


@torch.no_grad()
def plot_sparsity(model, x: torch.Tensor, path=None, title=None):
    """The histogram of the hidden units' mean activations ρ̂_j on ``x``, with the target ρ."""
    check_path(path, "plot_sparsity"), check_title(title, "plot_sparsity")
    rho_hat = model.encode(model.check_data(x, "x")).mean(0).double().cpu().numpy()
    fig = new_figure((5, 3.2))
    ax = fig.add_subplot(1, 1, 1)
    ax.hist(rho_hat, bins=min(30, max(5, len(rho_hat) // 2)), color="0.4")
    if model.sparsity is not None:
        ax.axvline(model.sparsity, color="C3", label=f"target ρ = {model.sparsity:g}")
        ax.legend()
    ax.set_xlabel("mean activation ρ̂_j")
    ax.set_ylabel("hidden units")
    ax.set_title(title or f"mean activations of {len(rho_hat)} hidden units (mean {rho_hat.mean():.3f})")
    save(fig, path)
    return fig


def plot_score_field(model, data: torch.Tensor, true_score=None, grid: int = 25, path=None, title=None):
    """The learned score field (r(x) − x)/σ² as arrows over a 2-D data set's histogram,
    with the true score (a callable x → score) in a second colour when given."""
    check_path(path, "plot_score_field"), check_title(title, "plot_score_field")
    if model.n_visible != 2:
        raise ValueError(f"plot_score_field: a 2-D model is drawn, got {model.n_visible} visible units")
    grid = check_int(grid, "grid", 2, "plot_score_field")
    d = data.detach().double().cpu().numpy()
    lo, hi = d.min(0) - 0.5, d.max(0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid))
    points = torch.tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=model.dtype, device=model.device)
    learned = score_field(model, points).double().cpu().numpy()
    fig = new_figure((5.5, 5.5))
    ax = fig.add_subplot(1, 1, 1)
    ax.hist2d(d[:, 0], d[:, 1], bins=80, range=[[lo[0], hi[0]], [lo[1], hi[1]]], cmap="Greys")
    scale = np.abs(learned).max() * grid / 1.5
    ax.quiver(gx, gy, learned[:, 0].reshape(gx.shape), learned[:, 1].reshape(gx.shape), color="C0",
              scale=scale, label="(r(x) − x) / σ²")
    if true_score is not None:
        truth = true_score(points).double().cpu().numpy()
        ax.quiver(gx, gy, truth[:, 0].reshape(gx.shape), truth[:, 1].reshape(gx.shape), color="C3", alpha=0.6,
                  scale=scale, label="∇ log p_σ(x)")
    ax.legend(loc="upper right")
    ax.set_aspect("equal")
    ax.set_title(title or f"score field of a denoising autoencoder (σ = {model.corruption.level:g})")
    save(fig, path)
    return fig
