r"""Positive phases: the data-driven statistics of a contrastive learning rule.

A positive phase is a callable ``phase(model, v, generator) -> dict`` returning the
data-driven state whose energy statistics enter the gradient,

.. math::

    \nabla_\theta (-\log p(v)) \approx
      \langle \partial E / \partial\theta \rangle_{\text{positive}}
      - \langle \partial E / \partial\theta \rangle_{\text{model}} ,

where ``positive`` may hold probabilities (E is then evaluated at the means). PCD and CD
take one as ``positive=``; by default they sum the latents out (models with a free
energy) or fill them in by clamped Gibbs sweeps.

:class:`MeanFieldPhase` is the positive phase of variational stochastic maximum
likelihood for deep Boltzmann machines (Salakhutdinov & Hinton 2009; Goodfellow, Bengio
& Courville, Algorithm 20.1): the latent groups are replaced by their mean-field
marginals q(h | v), so that the update ascends the variational bound
E_q[−E(v, h)] + H(q) − log Z, whose gradient in θ is −⟨∂E/∂θ⟩_q + ⟨∂E/∂θ⟩_model.
"""

from __future__ import annotations

import math

from pgm.checks import check_int

from ..variational.mean_field import latent_groups, mean_field

__all__ = ["MeanFieldPhase"]


class MeanFieldPhase:
    r"""Mean-field positive phase, optionally moving a centred model's offsets.

    Parameters
    ----------
    n_iter : int, default 10
        Mean-field passes per batch (the negative phase's Gibbs sweeps are the rule's
        ``k``, set apart).
    tol : float, default 0
        Stop earlier when no marginal moves more than ``tol`` (0: always ``n_iter``).
    damping : float in [0, 1), default 0
    centering : float in [0, 1], default 0.01
        For a model built with ``centered=True`` (it has ``set_offsets``): after the
        mean-field pass, move each layer's offset this fraction of the way to the batch
        mean of its data-driven values (v and q), re-parameterising the biases so that
        the distribution is unchanged (Montavon & Müller, 2012). 0 keeps the offsets.
        Ignored for other models.

    Examples
    --------
    >>> import torch
    >>> from models import DBM
    >>> phase = MeanFieldPhase(n_iter=5)
    >>> sorted(phase(DBM([6, 4, 3], seed=0), torch.ones(2, 6), None))
    ['h1', 'h2', 'v']
    """

    def __init__(self, n_iter: int = 10, tol: float = 0.0, damping: float = 0.0, centering: float = 0.01):
        self.n_iter = check_int(n_iter, "n_iter", 1, "MeanFieldPhase")
        for name, x, high_open in (("tol", tol, False), ("damping", damping, True), ("centering", centering, False)):
            high = math.inf if name == "tol" else 1.0
            if (not isinstance(x, (int, float)) or isinstance(x, bool) or math.isnan(x) or x < 0 or x > high
                    or (high_open and x == high)):
                raise ValueError(f"MeanFieldPhase: {name} must be a number in [0, {high}{')' if high_open else ']'}, "
                                 f"got {x!r}")
        self.tol, self.damping, self.centering = float(tol), float(damping), float(centering)
        self.replicas = None

    def distribute(self, replicas) -> "MeanFieldPhase":
        """This phase for one rank of a data-parallel run over ``replicas``: a centred model's
        offsets move to the mean over all ranks' batches (their batch means averaged, the
        ranks' batches being of equal size), so that every rank moves them alike."""
        phase = MeanFieldPhase(self.n_iter, self.tol, self.damping, self.centering)
        phase.replicas = replicas
        return phase

    def __repr__(self):
        return (f"MeanFieldPhase(n_iter={self.n_iter}, tol={self.tol}, damping={self.damping}, "
                f"centering={self.centering})")

    def __call__(self, model, v, generator=None) -> dict:
        """The data-driven state {v, q(h1 | v), …}; no randomness (``generator`` unused)."""
        latent_groups(model, "MeanFieldPhase")
        q = mean_field(model, v, n_iter=self.n_iter, tol=self.tol, damping=self.damping).marginals
        if self.centering > 0 and getattr(model, "centered", False) and hasattr(model, "set_offsets"):
            means = [q[name].mean(0) for name in model.graph.names]
            if self.replicas is not None:
                means = self.replicas.average(means)
            model.set_offsets(means, rate=self.centering)
        return q
