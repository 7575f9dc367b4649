r"""Corruption processes C(x̃ | x) of denoising autoencoders (Vincent et al. 2008).

* ``"masking"``: each unit is set to 0 with probability p, x̃ = m ⊙ x, m_i ~ Bernoulli(1 − p);
* ``"salt_pepper"``: each unit is replaced with probability p by a fair coin flip,
  x̃_i = s_i with s_i ~ Bernoulli(½) where c_i ~ Bernoulli(p), else x_i;
* ``"gaussian"``: additive isotropic noise, x̃ = x + σ ε, ε ~ N(0, I).

:class:`Corruption` draws x̃ from an explicit generator (the hot path of training and of
the denoising chain) and gives the same process as Pyro sample sites
(:meth:`Corruption.pyro_sample`), so a denoising autoencoder is one Pyro program.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from pgm.checks import check_choice

__all__ = ["Corruption", "NOISES"]

#: Kinds of corruption.
NOISES = ("masking", "salt_pepper", "gaussian")


class Corruption(NamedTuple):
    """C(x̃ | x): ``kind`` (one of :data:`NOISES`) at ``level`` (p for masking and
    salt-and-pepper, in [0, 1); σ ≥ 0 for Gaussian noise)."""

    kind: str
    level: float

    @classmethod
    def make(cls, kind: str, level, where: str = "Corruption") -> "Corruption":
        """A checked corruption: ValueError naming ``noise``/``noise_level`` otherwise."""
        check_choice(kind, "noise", NOISES, where)
        if not isinstance(level, (int, float)) or isinstance(level, bool) or not math.isfinite(level):
            raise ValueError(f"{where}: noise_level must be a finite number, got {level!r}")
        if kind == "gaussian" and level < 0:
            raise ValueError(f"{where}: noise_level (σ of the Gaussian noise) must be >= 0, got {level!r}")
        if kind != "gaussian" and not 0 <= level < 1:
            raise ValueError(f"{where}: noise_level (the probability p of {kind} noise) must lie in [0, 1), "
                             f"got {level!r}")
        return cls(kind, float(level))

    def sample(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """x̃ ~ C(· | x), the same shape as ``x``."""
        if self.level == 0:
            return x
        if self.kind == "gaussian":
            return x + self.level * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        if self.kind == "masking":
            return torch.where(u < self.level, torch.zeros_like(x), x)
        # salt and pepper: u < p/2 → 0, p/2 ≤ u < p → 1 (a fair coin for each corrupted unit)
        return torch.where(u < self.level / 2, torch.zeros_like(x), torch.where(u < self.level, torch.ones_like(x), x))

    def pyro_sample(self, x: torch.Tensor) -> torch.Tensor:
        """The same draw as Pyro sample sites inside the caller's plate: ``"noise"`` (the
        mask, the coin flips or ε, latent) and ``"x_tilde"`` (deterministic)."""
        import pyro
        import pyro.distributions as dist

        if self.kind == "gaussian":
            eps = pyro.sample("noise", dist.Normal(torch.zeros_like(x), 1.0).to_event(1))
            x_tilde = x + self.level * eps
        elif self.kind == "masking":
            keep = pyro.sample("noise", dist.Bernoulli(torch.full_like(x, 1 - self.level)).to_event(1))
            x_tilde = x * keep
        else:
            flip = pyro.sample("noise", dist.Bernoulli(torch.full_like(x, self.level)).to_event(1))
            coin = pyro.sample("coin", dist.Bernoulli(torch.full_like(x, 0.5)).to_event(1))
            x_tilde = torch.where(flip > 0, coin, x)
        return pyro.deterministic("x_tilde", x_tilde, event_dim=1)
