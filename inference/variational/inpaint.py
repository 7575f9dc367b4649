r"""Inpainting: the missing visible units of an energy model by mean-field inference.

Given the observed units v_O of a binary visible vector, the missing units v_M and the
latent groups h are inferred together: the factorial q(v_M) q(h) maximises

.. math::

    \mathcal{L}(q) = \mathbb{E}_q[-E(v_O, v_M, h)] + H(q)
      \le \log \sum_{v_M, h} e^{-E(v_O, v_M, h)} ,

and its fixed point satisfies, for a deep Boltzmann machine,

.. math::

    q(v_i = 1) = \sigma\big(b_{0,i} + W_{1,i\cdot}(q_1 - \mu_1)\big)\ (i \in M), \qquad
    q_l = \sigma\big(g_l(q)\big)\ (l \ge 1),

the block updates of :func:`~inference.variational.mean_field` with the visible group's
missing units joining the even block. q(v_i = 1) approximates p(v_i = 1 | v_O); it is
exact when the posterior of (v_M, h) given v_O factorises, e.g. when no missing unit
couples to a hidden unit and the hidden layers do not couple to each other.

This is what a multi-prediction DBM is trained for (Goodfellow et al., 2013); a DBM
trained by SML inpaints through the same equations.

References
----------
I. Goodfellow, M. Mirza, A. Courville and Y. Bengio, "Multi-prediction deep Boltzmann
machines", NIPS 2013.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from models.energy import EnergyModel

from .mean_field import _mean_field

__all__ = ["Inpainting", "inpaint"]


class Inpainting(NamedTuple):
    """The result of :func:`inpaint`.

    Attributes
    ----------
    probs : Tensor, shape (batch, n_visible)
        q(v_i = 1 | observed units) where the mask is ``True``; the given values where it
        is ``False``.
    marginals : dict[str, Tensor]
        Every latent group's q(h_j = 1), (batch, units), and the visible group (= ``probs``).
    n_iter : int
        Passes run.
    converged : bool
        Whether the largest change in the last pass was ≤ ``tol``.
    """

    probs: torch.Tensor
    marginals: dict
    n_iter: int
    converged: bool


def inpaint(model: EnergyModel, v: torch.Tensor, mask: torch.Tensor, n_iter: int = 50, tol: float = 1e-5,
            damping: float = 0.0) -> Inpainting:
    r"""Fill in the masked visible units of ``v`` by mean-field with the others clamped.

    Parameters
    ----------
    model : EnergyModel
        Binary visible units and binary latent groups coupled across groups only (a
        :class:`models.DBM`, SML- or multi-prediction-trained; an RBM).
    v : Tensor, shape (batch, n_visible)
        Values in [0, 1]; those under the mask are ignored.
    mask : bool Tensor, shape (batch, n_visible) or (n_visible,)
        ``True`` where a unit is missing (inferred), ``False`` where it is observed.
    n_iter : int, default 50
        Most passes over the blocks (a multi-prediction DBM is trained for a fixed count:
        use that count, see :class:`~inference.learning.MultiPrediction`).
    tol : float, default 1e-5
        Stop when no marginal moves more than ``tol`` in a pass (0: run ``n_iter``).
    damping : float in [0, 1), default 0
        Weight of the old value in each update.

    Returns
    -------
    Inpainting
        Computed without autograd (back-propagate through :func:`mean_field` with a
        ``mask`` instead).

    Examples
    --------
    >>> from models import DBM
    >>> dbm = DBM([6, 4, 3], seed=0)
    >>> mask = torch.tensor([True, True, True, False, False, False])
    >>> out = inpaint(dbm, torch.ones(2, 6), mask)
    >>> out.probs.shape, bool((out.probs[:, 3:] == 1).all())
    (torch.Size([2, 6]), True)
    """
    if mask is None:
        raise TypeError("inpaint: mask must be a bool tensor (True where a visible unit is missing), got None")
    with torch.no_grad():
        mf = _mean_field(model, v, n_iter, tol, damping, None, mask, "inpaint")
    return Inpainting(mf.marginals[model.visible_name], mf.marginals, mf.n_iter, mf.converged)
