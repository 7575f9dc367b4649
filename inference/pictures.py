r"""Pictures of models and runs: what they compute from a model or a sampler, drawn by
:mod:`pgm.plots`.

* :func:`reconstruct` and :func:`plot_reconstructions` — data over their reconstructions,
  as the model's family defines them (:meth:`inference.families.Family.reconstruct`):
  v → E[h | v] → E[v | h] for energy models (one mean-field pass,
  :func:`~inference.evaluation.reconstruction.mean_field_reconstruction`), the
  recognition net's means and then the generative net's for directed ones;
* :func:`plot_filters` — each hidden unit's weights from the visible image;
* :func:`plot_ais` — AIS log-weight histogram and ESS over β (:func:`~inference.partition.ais_trace`);
* :func:`plot_swap_rates` — the swap acceptance of a parallel-tempering run;
* :func:`image_shape` — (height, width) of a visible group that is a picture.
"""

from __future__ import annotations

import math

import torch

from pgm.checks import check_device


__all__ = ["reconstruct", "plot_reconstructions", "visible_weights", "plot_filters", "plot_ais", "plot_swap_rates",
           "image_shape"]


def image_shape(group):
    """(height, width) of a visible :class:`pgm.VariableGroup` that is a picture — its 2-D
    size, or a square side for a flat group of a square number of units — else ``None``."""
    if len(group.size) == 2:
        return tuple(group.size)
    side = math.isqrt(group.n_units)
    return (side, side) if side * side == group.n_units else None


def _visible(model):
    from .families import family_of

    family = family_of(model)
    return model.graph[model.visible_name] if family is None else family.visible(model)


def _shape_for(model, shape, func):
    if shape is not None:
        return shape
    vis = _visible(model)
    shape = image_shape(vis)
    if shape is None:
        raise ValueError(f"{func}: the {vis.n_units} visible units are not a square "
                         "image; pass image_shape=(height, width)")
    return shape


@torch.no_grad()
def reconstruct(model, x: torch.Tensor) -> torch.Tensor:
    r"""The mean reconstruction of each row of ``x``.

    * Energy models: one mean-field pass, r(v) = E[v | h = E[h | v]] (RBM:
      σ(b + W σ(c + vW))), through the model's conditionals block by block;
    * VAE: the decoder's mean at the encoder's mean, r(x) = E[x | z = μ(x)];
    * sigmoid belief net / Helmholtz machine and DBN: the recognition net's means bottom-up
      (q(h_l = 1 | h_{l−1}) propagated as probabilities), then the generative net's means
      top-down from the top layer the recognition net reaches.

    Parameters
    ----------
    model : EnergyModel or DirectedModel
    x : Tensor, shape (n, n_visible)
        Data in the model's format (binary for Bernoulli units; for a model with a label
        group, the pixels and the one-hot label joined).

    Returns
    -------
    Tensor, shape (n, n_visible)
        Reconstructions on the data's scale (probabilities for Bernoulli units).
    """
    return _family(model, "reconstruct").reconstruct(model, x)


def _family(model, func):
    from .families import family_of

    family = family_of(model)
    if family is None:
        raise TypeError(f"{func}: model must be a model of a registered family (an EnergyModel or a DirectedModel), "
                        f"got {type(model).__name__}")
    return family


def plot_reconstructions(model, x: torch.Tensor, image_shape=None, path=None, ax=None, title=None):
    """Rows of ``x`` over their :func:`reconstruct`-ions, drawn by :func:`pgm.reconstruction_grid`.

    Parameters
    ----------
    model : EnergyModel or DirectedModel
    x : Tensor, shape (n, n_visible)
        A few data rows (e.g. 10).
    image_shape : tuple of int, optional
        (height, width); default from the visible group (a square image).
    path, ax, title
        As for :func:`pgm.reconstruction_grid`; the title defaults to the model's class and
        its mean squared error per example.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from pgm.plots import reconstruction_grid

    func = "plot_reconstructions"
    _family(model, func)
    shape = _shape_for(model, image_shape, func)
    pixels = _visible(model).n_units
    try:
        ok = len(shape) == 2 and int(shape[0]) * int(shape[1]) == pixels
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{func}: image_shape must hold the {pixels} visible units (height * width = {pixels}), "
                         f"got {image_shape!r}")
    r = reconstruct(model, x)
    x = torch.as_tensor(x).to(r)[:, :pixels]  # a label joined after the pixels is not drawn
    r = r[:, :pixels]
    real = _visible(model).kind not in ("bernoulli",)
    if title is None:
        err = float((x.double() - r.double()).square().sum(1).mean())
        title = f"{type(model).__name__}: data over reconstructions (squared error {err:.3g} per example)"
    return reconstruction_grid(x, r, shape, path=path, ax=ax, title=title, normalize="global" if real else None)


def visible_weights(model):
    """The weights from the visible group to the first hidden group, (n_visible, n_hidden)
    (an RBM's ``W``, a DBM's bottom layer), as the model's family gives them, or ``None``
    for a model without such a matrix (a Hopfield net's couplings are lateral, a directed
    model's maps go the other way)."""
    from .families import family_of

    family = family_of(model)
    return None if family is None or "filters" not in family.pictures else family.visible_weights(model)


def plot_filters(model, n=None, image_shape=None, path=None, title=None):
    """Each hidden unit's weights from the visible image (:func:`pgm.filter_grid`).

    Parameters
    ----------
    model : EnergyModel
        An RBM, Gaussian RBM, ssRBM, classification RBM or DBM (its first layer): a model
        with :func:`visible_weights`. For a model with a label group only the pixels'
        weights are drawn.
    n : int, optional
        The first ``n`` hidden units (default all).
    image_shape : tuple of int, optional
        Default from the visible group.
    path, title
        As for :func:`pgm.filter_grid` (default title: the class and layer).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from pgm.plots import filter_grid

    func = "plot_filters"
    check_device(model, "model", func)
    weights = visible_weights(model)
    if weights is None:
        raise TypeError(f"{func}: model must have weights from its visible units to a hidden layer (RBM, "
                        f"GaussianRBM, SpikeSlabRBM, ClassRBM, DBM), got {type(model).__name__}")
    shape = _shape_for(model, image_shape, func)
    title = title or f"{type(model).__name__}: weights of each hidden unit"
    return filter_grid(weights.cpu(), shape, path=path, n=n, title=title)


def plot_ais(model, n_chains: int = 100, betas=None, base="data", data=None, seed: int | None = 0,
             checkpoints: int = 50, path=None, progress: bool = False):
    """Run :func:`~inference.partition.ais_trace` and draw :func:`pgm.ais_diagnostics`.

    Parameters
    ----------
    model, n_chains, betas, base, data, seed, checkpoints, progress
        As for :func:`~inference.partition.ais_trace`.
    path : str or Path, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
    trace : AISTrace
        The run, with its estimate (shown in the title).
    """
    from pgm.plots import ais_diagnostics

    from .partition import ais_trace

    tr = ais_trace(model, n_chains=n_chains, betas=betas, base=base, data=data, seed=seed, checkpoints=checkpoints,
                   progress=progress)
    est = tr.estimate
    title = (f"AIS on {type(model).__name__}: log Z = {est.log_z:.3f} [{est.lower:.3f}, {est.upper:.3f}], "
             f"{tr.betas.shape[0]} checkpoints")
    return ais_diagnostics(tr.betas, tr.log_w, path=path, title=title), tr


def plot_swap_rates(state, path=None, ax=None, title=None):
    """The swap acceptance of a parallel-tempering run (:func:`pgm.swap_acceptance`).

    Parameters
    ----------
    state : PTState
        From :func:`inference.mcmc.tempering.run` or ``step``: its ladder and the swaps
        accepted and proposed so far.
    path, ax, title
        As for :func:`pgm.swap_acceptance`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from pgm.plots import swap_acceptance

    from .mcmc.tempering import PTState, swap_rates

    if not isinstance(state, PTState):
        raise TypeError(f"plot_swap_rates: state must be a tempering.PTState, got {type(state).__name__}")
    kw = {} if title is None else {"title": title}
    return swap_acceptance(state.betas, swap_rates(state), path=path, ax=ax, **kw)
