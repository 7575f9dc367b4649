r"""The two players' objectives, written with the discriminator's logits l = f(x) (D = σ(l))
through softplus, so that they stay finite and accurate when D saturates:

.. math::

    -\log D = \operatorname{softplus}(-l), \qquad -\log(1 - D) = \operatorname{softplus}(l).

* discriminator: minimise −[log D(x) + log(1 − D(G(z)))]
  = softplus(−l_real) + softplus(l_fake) (it maximises the value function V);
* generator, ``"minimax"``: minimise log(1 − D(G(z))) = −softplus(l_fake), the game as
  written; its gradient −σ(l) vanishes where D rejects the samples (early in training);
* generator, ``"non_saturating"``: minimise −log D(G(z)) = softplus(−l_fake), the same
  fixed point with gradient −(1 − σ(l)), strong where D rejects the samples
  (Goodfellow et al. 2014, section 3).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["METHODS", "discriminator_loss", "generator_loss"]

#: The generator's objectives.
METHODS = ("non_saturating", "minimax")


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """−(mean log D(x) + mean log(1 − D(G(z)))), a scalar: minus the value function's estimate."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor, method: str = "non_saturating") -> torch.Tensor:
    """The generator's objective on the logits of its samples, a scalar: mean −log D(G(z))
    (``"non_saturating"``) or mean log(1 − D(G(z))) (``"minimax"``)."""
    if method == "non_saturating":
        return F.softplus(-fake_logits).mean()
    if method == "minimax":
        return -F.softplus(fake_logits).mean()
    raise ValueError(f"generator_loss: method must be one of {METHODS}, got {method!r}")
