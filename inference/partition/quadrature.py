r"""log Z of a model with one or two real-valued visible units by quadrature of e^{−F(v)}.

For a model whose hidden units sum or integrate out (a free energy F) and whose visible
group has D ≤ 2 real-valued units,

.. math::

    \log Z = \log \int_{\mathbb R^D} e^{-F(v)}\, dv
           \approx \log \sum_{g} e^{-F(v_g)} + D \log h ,

on a regular grid of spacing h over [−L, L]^D. For the smooth, Gaussian-tailed
integrands of the mcRBM and the mPoT (their ½vᵀv term) the error of this rule falls
exponentially with 1/h, and truncation at L costs e^{−L²/2}: it is the exact oracle of the
mPoT, whose continuous covariance units cannot be enumerated.
"""

from __future__ import annotations

import math

import torch

from models.energy import EnergyModel, has_free_energy
from pgm import REAL_KINDS
from pgm.checks import check_float, check_int, check_model, validation_disabled

from .estimate import LogZEstimate
from .path import _float64_copy

__all__ = ["quadrature_log_partition", "MAX_QUADRATURE_UNITS"]

#: Most visible units integrated on a grid.
MAX_QUADRATURE_UNITS = 2


def quadrature_log_partition(model, n_points: int = 801, limit: float | None = None) -> LogZEstimate:
    """log Z = log ∫ exp(−F(v)) dv on a grid (module docstring), float64.

    Parameters
    ----------
    model : EnergyModel
        With a free energy and at most 2 real-valued visible units; not modified.
    n_points : int, default 801
        Grid points per axis.
    limit : float, optional
        Half-width L of the grid; default 10 + max|b| + Σ_j max|W_{·j}| where the model
        has a visible bias ``b`` and mean weights ``W`` (else 10).

    Returns
    -------
    LogZEstimate
        ``log_z = lower = upper``, ``method="quadrature"``.

    Examples
    --------
    >>> from models.energy import MPoT
    >>> est = quadrature_log_partition(MPoT(1, 1, n_mean=1, seed=0))
    >>> est.method
    'quadrature'
    """
    func = "quadrature_log_partition"
    check_model(model, EnergyModel, func)
    vis = model.graph[model.visible_name]
    if not has_free_energy(model) or vis.kind not in REAL_KINDS or vis.n_units > MAX_QUADRATURE_UNITS:
        raise ValueError(f"{func}: quadrature integrates exp(-F(v)) over at most {MAX_QUADRATURE_UNITS} real-valued "
                         f"visible units of a model with a free energy; a {type(model).__name__} with "
                         f"{vis.n_units} {vis.kind!r} visible units needs an estimate: use "
                         "inference.partition.hmc_ais_log_partition")
    n_points = check_int(n_points, "n_points", 3, func)
    if limit is None:
        b = getattr(model, "b", None)
        W = getattr(model, "W", None)
        limit = 10.0 + (float(b.detach().abs().max()) if isinstance(b, torch.Tensor) else 0.0) \
            + (float(W.detach().abs().max(0).values.sum()) if isinstance(W, torch.Tensor) else 0.0)
    limit = check_float(limit, "limit", 0.0, low_open=True, where=func)
    d = vis.n_units
    model64 = _float64_copy(model)
    axis = torch.linspace(-limit, limit, n_points, dtype=torch.float64, device=model64.device)
    grid = torch.cartesian_prod(*([axis] * d)).reshape(-1, d)
    h = 2 * limit / (n_points - 1)
    with torch.no_grad(), validation_disabled():
        f = torch.cat([model64.free_energy(chunk) for chunk in grid.split(2**16)])
        log_z = float(torch.logsumexp(-f, 0)) + d * math.log(h)
    return LogZEstimate(log_z, log_z, log_z, math.inf, 0, "quadrature")
