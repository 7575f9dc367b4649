r"""The exact conditional of a group of binary units coupled among themselves."""

from __future__ import annotations

import torch
from torch.distributions import Distribution, constraints

__all__ = ["LateralBernoulli", "MAX_LATERAL_UNITS"]

#: Largest group whose conditional :class:`LateralBernoulli` normalises by enumeration.
MAX_LATERAL_UNITS = 16


def _bits(n: int, dtype, device) -> torch.Tensor:
    k = torch.arange(2**n, device=device).unsqueeze(1)
    shifts = torch.arange(n - 1, -1, -1, device=device)
    return ((k >> shifts) & 1).to(dtype)


class LateralBernoulli(Distribution):
    r"""Binary units x ∈ {0, 1}ⁿ (or spins x ∈ {−1, +1}ⁿ) with pairwise couplings, one
    distribution per batch row.

    .. math::

        p_\beta(x) = \frac{1}{Z_\beta} \exp\bigl(\beta\,(f^\top x + \tfrac12 x^\top J x)\bigr),

    where f (batch, n) is each row's field (biases plus the input from other groups) and
    J (n, n) is symmetric with a zero diagonal. This is the exact conditional of a
    self-coupled group of a Boltzmann machine given the other groups. The units are not
    independent, so :func:`inference.gibbs.sweep` updates such a group one unit at a time
    from the model's site conditionals; this class normalises by enumerating all 2ⁿ
    states and is meant for small groups (n ≤ :data:`MAX_LATERAL_UNITS`): the contract
    tests, exact oracles, initialisation.

    Parameters
    ----------
    field : Tensor, shape (batch, n)
    coupling : Tensor, shape (n, n)
    beta : float or Tensor of shape (batch,)
    spin : bool, default False
        Values in {−1, +1} instead of {0, 1}.
    """

    arg_constraints = {}
    support = constraints.independent(constraints.boolean, 1)
    has_enumerate_support = False

    def __init__(self, field: torch.Tensor, coupling: torch.Tensor, beta=1.0, spin: bool = False,
                 validate_args=False):
        n = field.shape[-1]
        if isinstance(beta, torch.Tensor):
            beta = beta.to(field).reshape(-1, 1)
        self.field, self.coupling, self.beta, self.spin = field, coupling, beta, spin
        if spin:
            self.support = constraints.independent(constraints.real, 1)
        self._log_weights = None
        super().__init__(batch_shape=field.shape[:-1], event_shape=(n,), validate_args=validate_args)

    def _score(self, x: torch.Tensor) -> torch.Tensor:
        """β (fᵀx + ½ xᵀJx) for x of shape (batch, n) or (S, 1, n) against every row."""
        s = (x * self.field).sum(-1) + 0.5 * ((x @ self.coupling) * x).sum(-1)
        beta = self.beta.reshape(-1) if isinstance(self.beta, torch.Tensor) else self.beta
        return s * beta

    def _table(self):
        """(states (2ⁿ, n), log-weights (batch, 2ⁿ)), computed once."""
        n = self.field.shape[-1]
        if n > MAX_LATERAL_UNITS:
            raise ValueError(
                f"LateralBernoulli: enumerating a group of {n} coupled units (2**{n} states) is too costly; "
                f"the limit is {MAX_LATERAL_UNITS}. Sample such a group unit by unit with inference.gibbs")
        if self._log_weights is None:
            states = _bits(n, self.field.dtype, self.field.device)
            if self.spin:
                states = 2 * states - 1
            self._states = states
            self._log_weights = self._score(states.unsqueeze(1)).t()  # (batch, 2^n)
        return self._states, self._log_weights

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """log p_β(x), shape (batch,)."""
        _, lw = self._table()
        return self._score(value.to(self.field)) - torch.logsumexp(lw, -1)

    @property
    def mean(self) -> torch.Tensor:
        """E[x], shape (batch, n), by enumeration."""
        states, lw = self._table()
        return torch.softmax(lw, -1) @ states

    def sample_with(self, generator: torch.Generator | None) -> torch.Tensor:
        """One exact draw per row, shape (batch, n), from ``generator``."""
        states, lw = self._table()
        idx = torch.multinomial(torch.softmax(lw.double(), -1), 1, generator=generator).squeeze(-1)
        return states[idx]

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        if tuple(sample_shape):
            raise ValueError(f"LateralBernoulli.sample draws one value per row; got sample_shape {tuple(sample_shape)}")
        with torch.no_grad():
            return self.sample_with(None)
