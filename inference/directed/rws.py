r"""Reweighted wake-sleep (Bornschein & Bengio 2015) with K particles, per example.

For each example x, with h_k ~ q(· | x) and normalised weights
w̃_k = w_k / Σ_j w_j, w_k = p(x, h_k) / q(h_k | x):

.. math::

    \Delta\theta \propto \sum_k \tilde w_k \nabla_\theta \log p_\theta(x, h_k), \qquad
    \Delta\phi \propto \sum_k \tilde w_k \nabla_\phi \log q_\phi(h_k \mid x)
    \quad \text{(wake-phase q update)}.

The first is the self-normalised importance estimate of ∇_θ log p(x) (consistent as
K → ∞), the second of −∇_φ KL(p(h | x) ‖ q_φ(h | x)). The weights are normalised *within
each example*, so a minibatch gradient is the average of per-example estimates and its
expectation does not depend on how the data are split into batches. (Pyro's
``ReweightedWakeSleep`` normalises over the whole batch and refuses minibatches.)
"""

from __future__ import annotations

import math

import torch

from pgm.checks import check_int

from ..evaluation.weights import log_weights

__all__ = ["rws_loss"]


def rws_loss(model, x: torch.Tensor, n_particles: int) -> tuple[torch.Tensor, torch.Tensor]:
    r"""(surrogate, bound): ``surrogate.backward()`` writes minus the RWS updates above,
    averaged over the rows of ``x``, into the generative and recognition parameters;
    ``bound`` is the K-sample importance-weighted bound (1/B) Σ_b log (1/K) Σ_k w_bk
    (detached), the objective to monitor.

    .. math::

        \text{surrogate} = -\frac{1}{B} \sum_b \sum_k \operatorname{sg}(\tilde w_{bk})
        \big(\log p(x_b, h_{bk}) + \log q(h_{bk} \mid x_b)\big)

    with the samples h_bk detached (sg: stop-gradient), so that log p carries gradients
    to the generative parameters only and log q to the recognition ones.
    """
    k = check_int(n_particles, "n_particles", where="rws_loss")
    lw, log_p, log_q, _ = log_weights(model, x, k, return_parts=True, detach_samples=True)
    lw = lw.detach()
    w = torch.softmax(lw, 0)  # normalised over the K particles of each example
    surrogate = -(w * (log_p + log_q)).sum(0).mean()
    bound = (torch.logsumexp(lw, 0) - math.log(k)).mean()
    return surrogate, bound
