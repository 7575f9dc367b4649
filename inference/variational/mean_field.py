r"""Mean-field inference: the factorial posterior q(h | v) of an energy model's latent groups.

For binary latent groups that couple to each other only across groups (an RBM, a deep
Boltzmann machine), the best factorial approximation q(h) = Π_j q_j^{h_j}(1 − q_j)^{1−h_j}
of p(h | v) maximises the variational lower bound

.. math::

    \log p(v) \ge \mathcal{L}(v, q) = \mathbb{E}_q[-E(v, h)] + H(q) - \log Z ,

and its stationary points satisfy the fixed-point equations (Goodfellow, Bengio &
Courville, eqs. 20.33–20.34)

.. math::

    q_l = \sigma\big(g_l(v, q)\big), \qquad
    g_l = b_l + W_l^\top q_{l-1} + W_{l+1} q_{l+1} \quad (\text{DBM}, q_0 = v),

i.e. each group's mean is the mean of its conditional given the other groups' means:
``model.conditional(group, means).mean``. The updates run block by block in the order of
``model.graph.gibbs_blocks()`` (for a DBM: the odd layers, then the even ones), so each
update maximises 𝓛 over one block exactly and 𝓛 never decreases (without damping).

References
----------
R. Salakhutdinov and G. Hinton, "Deep Boltzmann machines", AISTATS 2009.
I. Goodfellow, Y. Bengio and A. Courville, "Deep Learning", MIT Press 2016, §20.4.2.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from models.energy import EnergyModel
from pgm.checks import check_int, check_model, check_units, validation_disabled

__all__ = ["MeanField", "mean_field", "latent_groups"]


class MeanField(NamedTuple):
    """The result of :func:`mean_field`.

    Attributes
    ----------
    marginals : dict[str, Tensor]
        Latent group → q(h_j = 1 | v), shape (batch, units); the visible group maps to
        the data (with a ``mask``: the inferred q(v_i = 1) under the mask).
    n_iter : int
        Number of full passes over the latent blocks that ran.
    converged : bool
        Whether the largest change of a marginal in the last pass was ≤ ``tol``.
    delta : float
        That largest change.
    """

    marginals: dict
    n_iter: int
    converged: bool
    delta: float


def latent_groups(model: EnergyModel, func: str = "mean_field") -> list[str]:
    """The latent groups of ``model``, checked to suit factorial mean-field: binary
    (``bernoulli``) and without couplings inside a group."""
    check_model(model, EnergyModel, func)
    graph, vis = model.graph, model.visible_name
    out = []
    for grp in graph.groups:
        if grp.name == vis:
            continue
        if grp.kind != "bernoulli":
            raise TypeError(f"{func}: mean-field needs binary ('bernoulli') latent groups, but {grp.name!r} "
                            f"of {type(model).__name__} has kind {grp.kind!r}")
        if grp.name in graph.neighbours(grp.name):
            raise TypeError(f"{func}: group {grp.name!r} of {type(model).__name__} couples to itself; the "
                            "fixed-point equations here need couplings between groups only")
        out.append(grp.name)
    return out


def _check_float(x, name, low, high, func, high_open=False):
    if not isinstance(x, (int, float)) or isinstance(x, bool) or math.isnan(x) or x < low or x > high \
            or (high_open and x == high):
        bracket = ")" if high_open else "]"
        raise ValueError(f"{func}: {name} must be a number in [{low}, {high}{bracket}, got {x!r}")
    return float(x)


def _check_mask(mask, v, grp, func):
    """``mask`` as a (batch, n_visible) bool tensor on ``v``'s device, or ``None``."""
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        got = f"a {mask.dtype} tensor" if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise TypeError(f"{func}: mask must be a bool tensor (True where a visible unit is missing), got {got}; "
                        "build it with a comparison such as torch.rand(shape) < 0.25")
    if grp.kind != "bernoulli":
        raise TypeError(f"{func}: mask needs binary ('bernoulli') visible units, but {grp.name!r} has kind "
                        f"{grp.kind!r}")
    if mask.shape not in ((v.shape[1],), tuple(v.shape)):
        raise ValueError(f"{func}: mask must have shape {tuple(v.shape)} or ({v.shape[1]},) like v, got "
                         f"{tuple(mask.shape)}")
    return mask.to(v.device).expand_as(v)


def mean_field(model: EnergyModel, v: torch.Tensor, n_iter: int = 50, tol: float = 1e-5,
               damping: float = 0.0, init: dict | None = None, mask: torch.Tensor | None = None) -> MeanField:
    r"""Fixed-point iteration of the factorial posterior q(h | v).

    Each pass updates the latent blocks in the order of ``model.graph.gibbs_blocks()``,

    .. math::

        q_l \leftarrow \lambda\, q_l + (1 - \lambda)\, \sigma\big(g_l(v, q)\big),

    λ = ``damping``, until the largest change is ≤ ``tol`` or ``n_iter`` passes ran.
    Autograd is left as the caller has it: inside ``torch.no_grad()`` for a positive
    phase, outside it to back-propagate through the unrolled iterations.

    Parameters
    ----------
    model : EnergyModel
        Binary latent groups coupled across groups only (DBM, RBM).
    v : Tensor, shape (batch, n_visible)
        Clamped visible values (in [0, 1] for binary visible units).
    n_iter : int, default 50
        Most passes.
    tol : float, default 1e-5
        Stop when ``max |Δq|`` over the batch is ≤ ``tol`` (0: always run ``n_iter``).
    damping : float in [0, 1), default 0
        Weight of the old value in each update.
    init : dict[str, Tensor], optional
        Starting marginals of some latent groups, (batch, units); the others start at
        1/2.
    mask : bool Tensor, shape (batch, n_visible) or (n_visible,), optional
        Binary visible units only: ``True`` marks a missing unit, inferred together
        with the latent groups (it starts at 1/2 and is updated with the visible
        group's block, q_i ← σ(g_i)); ``False`` units stay clamped to ``v``. The values
        of ``v`` under the mask are ignored (any values in [0, 1]). ``None``: every visible unit is clamped.

    Returns
    -------
    MeanField

    Examples
    --------
    >>> from models import DBM
    >>> mf = mean_field(DBM([6, 4, 3], seed=0), torch.ones(2, 6))
    >>> sorted(mf.marginals), mf.marginals["h2"].shape, mf.converged
    (['h1', 'h2', 'v'], torch.Size([2, 3]), True)
    """
    return _mean_field(model, v, n_iter, tol, damping, init, mask, "mean_field")


def _mean_field(model, v, n_iter, tol, damping, init, mask, func, moving=None) -> MeanField:
    """:func:`mean_field`, with ``func`` naming the caller in error messages.

    ``moving``, optional, is called after each pass (with ``tol`` > 0) with whether this
    batch's largest change is not within ``tol``, and returns whether the passes go on: the
    ranks of a split evaluation, each on its rows of one batch, stop together
    (``Replicas.any``), after the passes one process would run on the whole batch."""
    latents = latent_groups(model, func)
    vis = model.visible_name
    n_iter = check_int(n_iter, "n_iter", 1, func)
    tol = _check_float(tol, "tol", 0.0, math.inf, func)
    damping = _check_float(damping, "damping", 0.0, 1.0, func, high_open=True)
    grp = model.graph[vis]
    v = check_units(v, "v", grp.n_units, unit_interval=grp.kind == "bernoulli", dtype=model.dtype,
                    device=model.device)
    mask = _check_mask(mask, v, grp, func)
    if mask is not None:
        v = v.masked_fill(mask, 0.5)
    values = {vis: v}
    given = {} if init is None else init
    if not isinstance(given, dict):
        raise TypeError(f"{func}: init must be a dict mapping latent group to (batch, units), got {type(init).__name__}")
    for name in latents:
        width = model.graph[name].n_units
        if name in given:
            x = check_units(given[name], f"init[{name!r}]", width, unit_interval=True, dtype=model.dtype,
                            device=model.device)
            if x.shape[0] != v.shape[0]:
                raise ValueError(f"{func}: init[{name!r}] has {x.shape[0]} rows but v has {v.shape[0]}")
            values[name] = x
        else:
            values[name] = v.new_full((v.shape[0], width), 0.5)
    unknown = sorted(set(given) - set(latents))
    if unknown:
        raise ValueError(f"{func}: init names groups {unknown} that are not latent groups {latents}")
    blocks = [[g for g in block if g != vis or mask is not None] for block in model.graph.gibbs_blocks()]
    delta, it = math.inf, 0
    with validation_disabled():
        for it in range(1, n_iter + 1):
            delta = 0.0
            for block in blocks:
                for name in block:
                    new = model.conditional(name, values).probs
                    if name == vis:
                        new = torch.where(mask, new, v)
                    if damping:
                        new = damping * values[name] + (1 - damping) * new
                    if (tol > 0 or it == n_iter) and new.numel():  # no device sync on fixed-count passes
                        delta = max(delta, float((new - values[name]).abs().max().detach()))
                    values[name] = new
            if tol > 0:
                going = not delta <= tol  # a NaN change goes on, as on one process
                if not (going if moving is None else moving(going)):
                    break
    return MeanField(values, it, delta <= tol, delta)
