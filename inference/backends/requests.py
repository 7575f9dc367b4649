"""What a caller asks a backend for: the request objects of :func:`inference.backends.fast_path`.

The door recognises a request by its type, defined here, so that it imports none of the
algorithms that call it. A request names the work and carries what a runner needs; the
caller keeps its own classes (the learning rules, the annealing path, the objectives).
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["ContrastiveUpdate", "MarginalAnnealing", "PseudoLikelihood", "Objective"]


class ContrastiveUpdate(NamedTuple):
    """A CD-k or PCD-k update of an energy model's parameters.

    Attributes
    ----------
    estimator : object
        The learning rule (:class:`inference.CD` or :class:`inference.PCD`): its ``k``,
        ``generator``, ``sample_visible`` (CD) or persistent chains (PCD:
        ``n_chains``, ``chains``, ``init_chains``), and ``positive``, a positive phase of
        the caller's own (``None`` for the data's exact conditional).
    persistent : bool
        Whether the negative chains persist across updates (PCD).
    """

    estimator: Any
    persistent: bool


class MarginalAnnealing(NamedTuple):
    """AIS chains over the visible units of ``model``, latents summed out, from a base
    that is a single Bernoulli factor on the visible group with logits ``base_logits``
    (shape (n_visible,)); ``refresh`` is how many steps pass between progress updates."""

    model: Any
    base_logits: Any
    refresh: int = 100


class PseudoLikelihood(NamedTuple):
    """What a pseudo-likelihood runner computes.

    A runner (``fast_path(model, PseudoLikelihood(...))`` or
    :class:`inference.evaluation.pseudo_likelihood.FlipPseudoLikelihood`) has
    ``run(v, units) -> Tensor (n,)``: for float64 rows ``v`` (n, n_visible) of outcomes
    and ``units`` (n, k) int64 indices (``None``: all units), the float64 sums
    Σ_{i ∈ units[n]} log p(v_i | v_−i), unscaled.

    Attributes
    ----------
    group : str
        The visible group whose units flip.
    kind : str
        Its kind: ``"bernoulli"`` (flip 1 − v) or ``"binary_pm1"``/``"spin"`` (flip −v).
    n_units : int or None
        Units per example (``None``: every unit, the exact PLL).
    """

    group: str
    kind: str
    n_units: int | None = None


class Objective(NamedTuple):
    """What a training step of a directed model computes: ``method`` (``"elbo"``,
    ``"iwae"``...) with ``n_particles`` draws per example. A backend may compute the same
    loss its own way."""

    method: str
    n_particles: int = 1
