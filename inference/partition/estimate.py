r"""The estimate every log-partition estimator returns, and its construction from weights.

An estimator of log Z returns a :class:`LogZEstimate`: the value, a bracket around it,
the effective sample size and the method. Importance-sampling estimators (forward and
reverse AIS) build it with :func:`from_log_weights` from float64 log-weights:

.. math::

    \log \hat Z = \log Z_0 + \log \bar w, \qquad
    \text{bracket: } \log Z_0 + \log\big(\bar w \mp 3\,\mathrm{se}(\bar w)\big),
    \qquad \mathrm{se}(\bar w) = \mathrm{std}(w) / \sqrt{M},

and, for reverse AIS (E[w] = Z_0 / Z), log Ẑ = log Z_0 − log w̄ with the bracket mirrored.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from pgm.checks import check_bracket

__all__ = ["LogZEstimate", "from_log_weights"]


class LogZEstimate(NamedTuple):
    """An estimate of log Z with its uncertainty, all values Python floats (float64).

    Attributes
    ----------
    log_z : float
        The estimate of log Z, in nats.
    lower, upper : float
        A bracket around ``log_z``. Exact enumeration: ``lower == upper == log_z``.
        Sampling estimators document what their bracket means (for AIS, the log of
        mean weight ∓ 3 standard errors; ``lower`` may be ``-inf``).
    ess : float
        Effective sample size of the importance weights, (Σw)² / Σw², between 1 and
        ``n_chains``. Exact enumeration has ``ess = inf`` (no sampling error).
    n_chains : int
        Number of independent chains (importance samples); 0 for exact enumeration.
    method : str
        ``"exact"``, ``"ais"`` or ``"reverse_ais"``.
    """

    log_z: float
    lower: float
    upper: float
    ess: float
    n_chains: int
    method: str

    def checked(self, where: str, name: str = "log_z") -> "LogZEstimate":
        """This estimate, refused (ValueError naming ``name``) unless ``log_z`` is finite
        and lies in its bracket, ``lower <= log_z <= upper`` (an estimate edited with
        ``_replace`` into an inverted bracket would give an inverted likelihood bracket)."""
        check_bracket(self.log_z, self.lower, self.upper, name, where)
        return self


def from_log_weights(log_w: torch.Tensor, log_z_0: float, method: str, reverse: bool = False) -> LogZEstimate:
    """A :class:`LogZEstimate` from importance log-weights, computed stably.

    Parameters
    ----------
    log_w : Tensor, shape (M,), float64
        Log-weights of M independent chains.
    log_z_0 : float
        log Z of the distribution the weights are relative to (the base of the path).
    method : str
        Recorded in the estimate.
    reverse : bool
        The weights estimate Z_0 / Z (reverse AIS) rather than Z / Z_0.

    Returns
    -------
    LogZEstimate
        ``lower`` is ``-inf`` (``upper`` is ``+inf`` when ``reverse``) where w̄ − 3 se ≤ 0.
    """
    log_w = log_w.to(torch.float64)
    n = log_w.shape[0]
    top = log_w.max()
    w = (log_w - top).exp()  # in (0, 1]: no overflow
    mean = w.mean()
    se = w.std() / math.sqrt(n)
    log_mean = float(torch.logsumexp(log_w, 0) - math.log(n))
    hi = float(top + torch.log(mean + 3 * se))
    lo = float(top + torch.log(mean - 3 * se)) if mean - 3 * se > 0 else -math.inf
    ess = float(torch.exp(2 * torch.logsumexp(log_w, 0) - torch.logsumexp(2 * log_w, 0)))
    if reverse:
        return LogZEstimate(log_z_0 - log_mean, log_z_0 - hi, log_z_0 - lo, ess, n, method)
    return LogZEstimate(log_z_0 + log_mean, log_z_0 + lo, log_z_0 + hi, ess, n, method)
