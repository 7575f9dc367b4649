"""Brute-force oracles and goodness-of-fit helpers shared by the tests.

Exact enumeration over every joint state of a tiny energy model is the reference that
energies, conditionals, free energies, log Z, samplers and estimators are checked
against. Everything here is computed in float64 on a private copy of the model, so the
oracle never shares a code path (or a rounding error) with the float32 method under test.

Conventions
-----------
* Binary states are enumerated in counting order with the *first* unit as the most
  significant bit: row ``k`` of :func:`all_binary_states` is the binary expansion of
  ``k``, and :func:`state_index` inverts it.
* A joint state is enumerated with :func:`itertools.product` over the model's groups in
  ``model.graph.groups`` order, so for an RBM (groups ``v`` then ``h``) the joint
  log-probabilities reshape to a ``(2**n_visible, 2**n_hidden)`` matrix.
* ``beta`` is the inverse temperature: p_β(x) ∝ exp(-β E(x)).

Import with ``from tests.oracles import ...``.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from scipy import stats

__all__ = [
    "MAX_ENUMERATED_UNITS",
    "all_binary_states",
    "state_index",
    "brute_force_joint",
    "brute_force_log_z",
    "brute_force_marginal",
    "brute_force_marginal_v",
    "brute_force_conditional",
    "chi_square_gof",
    "noncentral_power",
    "random_rbm",
    "random_bm",
    "random_gaussian_rbm",
    "quadrature_log_integrals",
]

#: Refuse to enumerate more than this many binary units in one joint state (2**20 rows).
MAX_ENUMERATED_UNITS = 20


def all_binary_states(n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Every binary vector of length ``n``, one per row.

    Parameters
    ----------
    n : int
        Number of binary units (0 ≤ n ≤ :data:`MAX_ENUMERATED_UNITS`).
    dtype : torch.dtype
        Dtype of the result.

    Returns
    -------
    Tensor, shape (2**n, n)
        Row ``k`` is the binary expansion of ``k``, first column most significant.
    """
    if not 0 <= n <= MAX_ENUMERATED_UNITS:
        raise ValueError(f"all_binary_states: n must be in [0, {MAX_ENUMERATED_UNITS}], got {n}")
    k = torch.arange(2**n).unsqueeze(1)
    shifts = torch.arange(n - 1, -1, -1)
    return ((k >> shifts) & 1).to(dtype)


def state_index(x: torch.Tensor) -> torch.Tensor:
    """Row index in :func:`all_binary_states` of each binary row of ``x``, shape (batch,)."""
    x = x.to(torch.int64)
    n = x.shape[-1]
    weights = 2 ** torch.arange(n - 1, -1, -1, device=x.device)
    return (x * weights).sum(-1)


def _binary_groups(model):
    groups = list(model.graph.groups)
    for g in groups:
        if g.kind != "bernoulli":
            raise ValueError(
                f"brute force enumerates binary groups only; group {g.name!r} has kind {g.kind!r}"
            )
    total = sum(g.n_units for g in groups)
    if total > MAX_ENUMERATED_UNITS:
        raise ValueError(
            f"brute force over {total} units is too large (limit {MAX_ENUMERATED_UNITS})"
        )
    return groups


def _float64_copy(model):
    return copy.deepcopy(model).to(torch.float64)


def _enumerate(model, beta):
    """All joint states (last group fastest) and their unnormalised log-weights -βE."""
    groups = _binary_groups(model)
    model64 = _float64_copy(model)
    sizes = [g.n_units for g in groups]
    grids = torch.meshgrid(*[torch.arange(2**n) for n in sizes], indexing="ij")
    states = {g.name: all_binary_states(n)[idx.reshape(-1)] for g, n, idx in zip(groups, sizes, grids)}
    with torch.no_grad():
        log_w = -beta * model64.energy(states).to(torch.float64)
    return states, log_w


def brute_force_joint(model, beta: float = 1.0):
    """Every joint state of a small all-binary energy model and its exact log-probability.

    Parameters
    ----------
    model : EnergyModel
        Every group must have kind ``"bernoulli"`` and at most
        :data:`MAX_ENUMERATED_UNITS` units in total.
    beta : float
        Inverse temperature.

    Returns
    -------
    states : dict[str, Tensor]
        Group name → (S, units) float64 values, S = 2**(total units), enumerated with the
        last group varying fastest (see the module docstring).
    log_p : Tensor, shape (S,)
        log p_β(x) = -β E(x) - log Z_β, float64.
    """
    states, log_w = _enumerate(model, beta)
    return states, log_w - torch.logsumexp(log_w, 0)


def brute_force_log_z(model, beta: float = 1.0) -> torch.Tensor:
    """Exact log Z_β = log Σ_x exp(-β E(x)) by enumeration, a float64 scalar tensor."""
    return torch.logsumexp(_enumerate(model, beta)[1], 0)


def brute_force_marginal(model, group: str, beta: float = 1.0) -> torch.Tensor:
    """Exact marginal probabilities of one group, shape (2**units,), in counting order.

    Obtained by summing the enumerated joint over every other group (no free energy is
    used, so it can serve as the oracle for ``free_energy``).
    """
    states, log_p = brute_force_joint(model, beta)
    idx = state_index(states[group])
    n = model.graph[group].n_units
    out = torch.zeros(2**n, dtype=torch.float64)
    return out.index_add_(0, idx, log_p.exp())


def brute_force_marginal_v(model, beta: float = 1.0) -> torch.Tensor:
    """Exact distribution of the observed group (``model.visible_name``), shape (2**n_visible,)."""
    return brute_force_marginal(model, model.visible_name, beta)


def brute_force_conditional(model, group: str, given: dict, beta: float = 1.0) -> torch.Tensor:
    """Exact p_β(group | given) for one configuration of every other group.

    Parameters
    ----------
    given : dict[str, Tensor]
        Every other group's values, each of shape (units,) or (1, units).

    Returns
    -------
    Tensor, shape (2**units,)
        Probabilities of every state of ``group`` in counting order, float64.
    """
    model64 = _float64_copy(model)
    n = model.graph[group].n_units
    xs = all_binary_states(n)
    state = {k: torch.as_tensor(v, dtype=torch.float64).reshape(1, -1).expand(len(xs), -1)
             for k, v in given.items()}
    state[group] = xs
    with torch.no_grad():
        log_w = -beta * model64.energy(state).to(torch.float64)
    return torch.softmax(log_w, 0)


def chi_square_gof(counts, probs, min_expected: float = 5.0):
    """Pearson chi-square goodness-of-fit test of multinomial counts against ``probs``.

    Cells whose expected count is below ``min_expected`` are pooled into one cell (merged
    into the smallest regular cell if the pool itself is still below ``min_expected``), so
    the chi-square approximation of the statistic's null distribution holds.

    Parameters
    ----------
    counts : array-like, shape (k,)
        Observed counts; their sum is the number of independent draws n.
    probs : array-like, shape (k,)
        Cell probabilities under the null hypothesis (summing to 1).

    Returns
    -------
    stat : float
        Σ (O - E)² / E over the pooled cells.
    dof : int
        Number of pooled cells minus one.
    p_value : float
        P(χ²_dof ≥ stat). Under the null the test rejects at level α with probability α.
    """
    counts = np.asarray(counts, dtype=np.float64).ravel()
    probs = np.asarray(probs, dtype=np.float64).ravel()
    if counts.shape != probs.shape:
        raise ValueError(f"counts has shape {counts.shape} but probs has {probs.shape}")
    if not np.isclose(probs.sum(), 1.0, atol=1e-9):
        raise ValueError(f"probs must sum to 1, got {probs.sum()}")
    n = counts.sum()
    expected = n * probs
    obs_c, exp_c = _pool(counts, expected, min_expected)
    stat = float(((obs_c - exp_c) ** 2 / exp_c).sum())
    dof = len(exp_c) - 1
    return stat, dof, float(stats.chi2.sf(stat, dof))


def _pool(counts, expected, min_expected):
    small = expected < min_expected
    obs = list(counts[~small])
    exp = list(expected[~small])
    if small.any():
        o, e = counts[small].sum(), expected[small].sum()
        if e >= min_expected or not exp:
            obs.append(o)
            exp.append(e)
        else:  # fold the still-small pooled cell into the smallest regular cell
            j = int(np.argmin(exp))
            obs[j] += o
            exp[j] += e
    return np.asarray(obs), np.asarray(exp)


def noncentral_power(n: int, probs_true, probs_null, alpha: float, min_expected: float = 5.0) -> float:
    """Asymptotic power of :func:`chi_square_gof` at level ``alpha``.

    Draws from ``probs_true`` are tested against ``probs_null``; the statistic is then
    approximately noncentral χ² with noncentrality λ = n Σ (p_true - p_null)² / p_null over
    the (pooled) cells. Used to show that a statistical test can fail.
    """
    p1 = np.asarray(probs_true, dtype=np.float64).ravel()
    p0 = np.asarray(probs_null, dtype=np.float64).ravel()
    obs, exp = _pool(n * p1, n * p0, min_expected)
    lam = float(((obs - exp) ** 2 / exp).sum())
    dof = len(exp) - 1
    crit = stats.chi2.isf(alpha, dof)
    return float(stats.ncx2.sf(crit, dof, lam))


def random_rbm(n_visible: int, n_hidden: int, seed: int = 0, scale: float = 1.0,
               dtype: torch.dtype = torch.float64, **kwargs):
    """A tiny :class:`models.energy.RBM` with N(0, scale²) weights *and* biases.

    The default initialisation has zero biases, which hides sign and transpose errors in
    the bias terms; oracle tests use this instead. Deterministic given ``seed``.
    ``kwargs`` go to the constructor (``hidden``, ``n_steps``).
    """
    from models.energy import RBM

    rbm = RBM(n_visible, n_hidden, weight_std=scale, seed=seed, **kwargs).to(dtype)
    gen = torch.Generator().manual_seed(seed + 7919)
    with torch.no_grad():
        rbm.b.copy_(scale * torch.randn(n_visible, generator=gen, dtype=torch.float64))
        rbm.c.copy_(scale * torch.randn(n_hidden, generator=gen, dtype=torch.float64))
    return rbm


def random_bm(n_visible: int, n_hidden: int = 0, seed: int = 0, scale: float = 1.0,
              dtype: torch.dtype = torch.float64):
    """A tiny :class:`models.energy.BoltzmannMachine` with N(0, scale²) couplings and biases."""
    from models.energy import BoltzmannMachine

    bm = BoltzmannMachine(n_visible, n_hidden, weight_std=scale, seed=seed).to(dtype)
    gen = torch.Generator().manual_seed(seed + 7919)
    with torch.no_grad():
        bm.a.copy_(scale * torch.randn(bm.a.shape[0], generator=gen, dtype=torch.float64))
    return bm


def random_gaussian_rbm(n_visible: int, n_hidden: int, seed: int = 0, scale: float = 1.0,
                        standardized: bool = True, learn_sigma: bool = True,
                        dtype: torch.dtype = torch.float64, **kwargs):
    """A tiny :class:`models.energy.GaussianRBM` with every tensor drawn at random.

    W, b, c ~ N(0, scale²), log σ ~ N(0, 0.3²) (σ within a factor of about 2 of 1); with
    ``standardized`` also the buffers ``shift`` ~ N(0, 1) and ``scale`` ~ U(0.5, 1.5), so
    that the effective energy in v differs from the learned tensors and sign or Jacobian
    errors in the standardisation show. No upper bound on σ (``max_sigma=None``).
    Deterministic given ``seed``. ``kwargs`` go to the constructor (``hidden``, ``n_steps``).
    """
    from models.energy import GaussianRBM

    model = GaussianRBM(n_visible, n_hidden, weight_std=scale, learn_sigma=learn_sigma, seed=seed,
                        **kwargs).to(dtype)
    gen = torch.Generator().manual_seed(seed + 7919)
    draw = lambda n: torch.randn(n, generator=gen, dtype=torch.float64)  # noqa: E731
    with torch.no_grad():
        model.b.copy_(scale * draw(n_visible))
        model.c.copy_(scale * draw(n_hidden))
        model.log_sigma.copy_(0.3 * draw(n_visible))
        if standardized:
            model.shift.copy_(draw(n_visible))
            model.scale.copy_(0.5 + torch.rand(n_visible, generator=gen, dtype=torch.float64))
    return model


def quadrature_log_integrals(model, beta: float = 1.0, points: int = 161, width: float = 10.0):
    """log ∫ exp(−β E(v, h)) dv for every binary h, by the trapezoid rule on a grid of v.

    For a Gaussian RBM with one or two visible units: the grid spans, per visible unit,
    every conditional mean ± ``width`` conditional standard deviations (σ̃/√β), and the
    integrand comes from ``model.energy`` alone (no free energy, no closed form). On
    Gaussian integrands the trapezoid rule converges faster than any power of the spacing.

    Returns
    -------
    Tensor, shape (2**n_hidden,)
        In the counting order of :func:`all_binary_states`, float64. Their logsumexp is
        log Z_β.
    """
    from models.energy import validation_disabled

    model64 = _float64_copy(model)
    n_v = model64.n_visible
    if n_v not in (1, 2):
        raise ValueError(f"quadrature_log_integrals: needs 1 or 2 visible units, got {n_v}")
    hs = all_binary_states(model64.n_hidden)
    with torch.no_grad(), validation_disabled():
        means, sd = model64.visible_mean(hs), model64.sigma / beta**0.5
        axes = [torch.linspace(float(means[:, i].min() - width * sd[i]), float(means[:, i].max() + width * sd[i]),
                               points, dtype=torch.float64) for i in range(n_v)]
        grid = torch.stack([g.reshape(-1) for g in torch.meshgrid(*axes, indexing="ij")], 1)
        out = []
        for h in hs:
            log_f = -beta * model64.energy({"v": grid, "h": h.expand(len(grid), -1)})
            top = log_f.max()
            dens = (log_f - top).exp().reshape([points] * n_v)
            for axis in reversed(axes):
                dens = torch.trapezoid(dens, axis, dim=-1)
            out.append(top + dens.log())
    return torch.stack(out)


def random_dbm(sizes, seed: int = 0, scale: float = 1.0, centered: bool = False,
               dtype: torch.dtype = torch.float64):
    """A tiny :class:`models.energy.DBM` with N(0, scale²) weights and biases (and, when
    ``centered``, offsets uniform in [0, 1]). Deterministic given ``seed``."""
    from models.energy import DBM

    dbm = DBM(sizes, centered=centered, weight_std=scale, seed=seed).to(dtype)
    gen = torch.Generator().manual_seed(seed + 7919)
    with torch.no_grad():
        for b in dbm.biases:
            b.copy_(scale * torch.randn(b.shape, generator=gen, dtype=torch.float64))
        for mu in (dbm.offsets() if centered else ()):
            mu.copy_(torch.rand(mu.shape, generator=gen, dtype=torch.float64))
    return dbm
