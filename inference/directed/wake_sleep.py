r"""Classic wake-sleep (Hinton, Dayan, Frey & Neal 1995).

Wake phase: h ~ q(· | x) for each data row x, and the generative parameters θ ascend
log p_θ(x, h) (the recognition net supplies the targets). Sleep phase: a dream
(h, x) ~ p_θ, and the recognition parameters φ ascend log q_φ(h | x). One update does
both:

.. math::

    \text{surrogate} = -\frac{1}{B} \sum_b \log p_\theta(x_b, \operatorname{sg}(h_b))
                       -\frac{1}{B} \sum_b \log q_\phi(\operatorname{sg}(h'_b) \mid \operatorname{sg}(x'_b)),
    \qquad h_b \sim q_\phi(\cdot \mid x_b), \ (h'_b, x'_b) \sim p_\theta.

The wake term is the ELBO's θ-gradient; the sleep term minimises
E_x'[KL(p_θ(h | x') ‖ q_φ(h | x'))] over dreams, not the KL of the ELBO.
"""

from __future__ import annotations

import torch
from pyro import poutine
from pyro.poutine.util import site_is_subsample

from ..evaluation.weights import site_log_prob

__all__ = ["wake_sleep_loss", "dream"]


def dream(model, x: torch.Tensor):
    """A trace of the generative program with every site sampled (``x`` only sets the
    batch size and is not used as data): one (h, x) ~ p per row."""
    with torch.no_grad():
        return poutine.trace(poutine.uncondition(model.model)).get_trace(x)


def wake_sleep_loss(model, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(surrogate, wake ELBO): ``surrogate.backward()`` writes the wake gradient into the
    generative parameters and the sleep gradient into the recognition ones; the second
    value is the one-sample ELBO (1/B) Σ_b log p(x_b, h_b) − log q(h_b | x_b), detached."""
    with torch.no_grad():
        guide_trace = poutine.trace(model.guide).get_trace(x)
    model_trace = poutine.trace(poutine.replay(model.model, trace=guide_trace)).get_trace(x)
    log_p = site_log_prob(model_trace)
    sleep = dream(model, x)
    values = {name: site["value"] for name, site in sleep.nodes.items()
              if site["type"] == "sample" and not site_is_subsample(site)}
    x_dream = values[model.visible_name]
    guide_dream = poutine.trace(poutine.condition(model.guide, data=values)).get_trace(x_dream)
    log_q_dream = site_log_prob(guide_dream)
    with torch.no_grad():
        elbo = (log_p - site_log_prob(guide_trace)).mean()
    return -log_p.mean() - log_q_dream.mean(), elbo
