r"""The reconstruction error: a cheap training monitor from the model's conditional means.

One mean-field pass from the data: the latent groups' conditional means given v, block by
block over ``model.graph.gibbs_blocks()``, then v's conditional mean r(v) given them. For
a two-layer model (RBM, Gaussian RBM) this is

.. math::

    r(v) = \mathbb{E}\big[v \mid h = \mathbb{E}[h \mid v]\big]
    \quad\text{(RBM: } r(v) = \sigma\big(b + W \sigma(c + v W)\big)\text{)}.

It is not a likelihood: a poor generative model can reconstruct well.
"""

from __future__ import annotations

import torch

from pgm.checks import validation_disabled

from ..distributed import joined, map_rows
from ..mcmc import gibbs
from ..partition.visible import check_visible, visible_group

__all__ = ["reconstruction_error", "mean_field_reconstruction"]

_F64 = torch.float64
#: Rows of data per pass.
_ROWS = 8192


def _pass_order(graph, vis):
    """The Gibbs blocks, cyclically rotated so that the visible group's block comes last."""
    blocks = graph.gibbs_blocks()
    at = next((i for i, b in enumerate(blocks) if vis in b), None)
    if at is None:
        return blocks
    return blocks[at + 1:] + blocks[:at + 1]


def mean_field_reconstruction(model, v: torch.Tensor) -> torch.Tensor:
    r"""r(v): one mean-field pass from ``v``, shape (batch, n_visible); no checks.

    Latent groups start at zero. The blocks of ``model.graph.gibbs_blocks()`` are visited
    once, starting after the visible group's block and ending with it; each latent group
    is replaced by the mean of ``model.conditional(group, state)`` given the current
    values, and at the end v by the mean of its own conditional.
    """
    graph = model.graph
    vis = model.visible_name
    data = model.split_data(v)
    state = {g.name: torch.zeros(v.shape[0], g.n_units, dtype=v.dtype, device=v.device)
             for g in graph.groups if g.name not in data}
    state.update(data)
    latents = set(state) - set(data)
    gibbs.sweep(model, state, 1.0, None, blocks=_pass_order(graph, vis), mean=latents, skip=set(data))
    return model.join_data({g: model.conditional(g, state).mean for g in data})


def reconstruction_error(model, data: torch.Tensor, *, distributed=None) -> float:
    r"""Mean squared error of the mean-field one-step reconstruction.

    .. math::

        \mathrm{err} = \frac{1}{n} \sum_n \sum_i (v_{ni} - r_i(v_n))^2 ,

    with r(v) from :func:`mean_field_reconstruction` (RBM: σ(b + W σ(c + vW)); Gaussian
    RBM: b̃ + σ̃ ⊙ W σ(c̃ + (v/σ̃)ᵀW)), summed over units and averaged over examples (so it
    grows with the number of visible units; on the data's scale for real-valued units).
    A training monitor only: it is not a likelihood, and can be small for a poor
    generative model.

    Parameters
    ----------
    model : EnergyModel
        Any energy model: only ``conditional`` and the graph's blocks are used.
    data : Tensor, shape (n, n_visible)
        Values in [0, 1] for ``bernoulli`` units (grey levels are accepted), in [−1, 1]
        for spins, any finite values for real-valued units.
    distributed : bool or None, default None
        Split the rows across the ranks of a ``torch.distributed`` group: rank r
        reconstructs the rows r, r + W, ... (:func:`~inference.distributed.map_rows`) and
        the per-row errors are gathered in the rows' order before the mean, so every rank
        returns the mean over all n rows (equal to one process's up to float rounding).
        ``None`` joins a group that is open or that a launcher (``torchrun``) describes;
        ``False`` reconstructs every row on each process.

    Returns
    -------
    float

    Examples
    --------
    >>> from models.energy import RBM
    >>> # an untrained RBM (zero biases, tiny weights) reconstructs every unit at about 1/2
    >>> round(reconstruction_error(RBM(4, 2, seed=0), torch.ones(3, 4)), 2)
    1.0
    """
    func = "reconstruction_error"
    visible_group(model, func)
    p = next(model.parameters())
    data = check_visible(model, data, func, exact=False).to(dtype=p.dtype, device=p.device)
    with joined(distributed, p.device, func) as replicas:
        if replicas is not None:
            return float(map_rows(lambda rows: _row_errors(model, rows), data, replicas).sum()) / data.shape[0]
    total = 0.0
    with torch.no_grad(), validation_disabled():
        for v in data.split(_ROWS):
            r = mean_field_reconstruction(model, v)
            total += float((v.to(_F64) - r.to(_F64)).square().sum())
    return total / data.shape[0]


def _row_errors(model, data: torch.Tensor) -> torch.Tensor:
    """Σ_i (v_i − r_i(v))² per row of checked ``data``, float64, shape (n,)."""
    with torch.no_grad(), validation_disabled():
        return torch.cat([(v.to(_F64) - mean_field_reconstruction(model, v).to(_F64)).square().sum(1)
                          for v in data.split(_ROWS)])
