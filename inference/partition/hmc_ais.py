r"""AIS with HMC transitions on the annealed free energy, from a full-covariance Gaussian.

For energy models with real-valued visible units and a free energy F(v) (the mcRBM, the
mPoT) the chains move on v alone along the geometric path

.. math::

    \log p^*_\beta(v) = (1-\beta) \log \mathcal N(v; \mu, \Sigma) - \beta F(v),
    \qquad 0 = \beta_0 < \dots < \beta_T = 1,

from a normalised Gaussian base (Z_0 = 1): by default the maximum-likelihood
full-covariance Gaussian of the training data (``base="data"``), or N(0, I)
(``"standard"``). The weights accumulate log w = Σ_t (β_t − β_{t−1})(−F(v_{t−1}) −
log N(v_{t−1})), each v_t drawn by one HMC transition (:mod:`inference.mcmc.hmc`) that
leaves p_{β_t} invariant, so that Ẑ = mean(w) is unbiased and log Ẑ a stochastic lower
bound of log Z. The step-size schedule is learned first by a pilot run adapting toward
``target_accept`` (its own generator stream, mean log step size over the pilot chains at
each β), then held fixed for the run that gives the weights: every kernel is chosen
before the chains that use it start.

This path is used rather than the tempered joint p_β(v, h) ∝ e^{−βE} of
:func:`~inference.partition.ais_log_partition` because the mPoT's Gamma covariance units
have no finite measure at β = 0 (F_0(v) = −∞); annealing β F(v) works for both models,
and its HMC moves stay cheap (no D × D factorisation per chain and step, which a Gibbs
move of v given the hidden units needs).

In a run of W processes (``torchrun``, ``distributed=None`` or ``True``) the chains are
shared out as :func:`~inference.partition.split_ais.split_ais_log_partition` shares Gibbs
AIS chains: rank r runs ⌊M / W⌋ of the M chains (one more for r < M mod W) from a
generator seeded ``seed + r``, all ranks on the one step-size schedule that rank 0's pilot
learns (its generator seeded ``seed + W``: ``seed + 1`` on one process, never a chain
share's seed), and the log-weights of all ranks are gathered in rank order and combined
by logsumexp over all M chains, never by averaging the ranks' log Ẑ. The estimate equals
one process's from the same chains (:func:`hmc_ais_chain_weights` of each share,
concatenated).
"""

from __future__ import annotations

import math

import torch

from models.energy import EnergyModel, has_free_energy
from pgm import REAL_KINDS
from pgm.checks import check_bool, check_float, check_int, check_model, check_units, validation_disabled

from ..distributed import joined
from ..mcmc import hmc
from ..mcmc.sampling import make_generator
from .estimate import LogZEstimate, from_log_weights  # noqa: F401  (the type returned)
from .path import _float64_copy
from .split_ais import chain_share, gather_log_weights

__all__ = ["hmc_ais_log_partition", "hmc_ais_chain_weights", "gaussian_base", "sigmoid_betas"]

_F64 = torch.float64
_LOG_2PI = math.log(2 * math.pi)


def sigmoid_betas(n_steps: int, rad: float = 4.0) -> torch.Tensor:
    """βs from 0 to 1 spaced by a sigmoid (dense at both ends), float64, (n_steps + 1,)."""
    s = torch.sigmoid(torch.linspace(-rad, rad, n_steps + 1, dtype=_F64))
    return (s - s[0]) / (s[-1] - s[0])


def gaussian_base(model, base="data", data=None, func: str = "hmc_ais_log_partition"):
    """(mean, covariance) of the base, float64: ``"data"`` the ML Gaussian of ``data``
    (covariance + 1e-6 I), ``"standard"`` N(0, I), or a given ``(mean, covariance)`` pair."""
    d = model.graph[model.visible_name].n_units
    if isinstance(base, str) and base == "standard":
        return torch.zeros(d, dtype=_F64), torch.eye(d, dtype=_F64)
    if isinstance(base, str) and base == "data":
        if data is None:
            raise ValueError(f"{func}: base='data' fits the Gaussian base to data and needs data=<Tensor (n, {d})>; "
                             "pass the training data, or use base='standard'")
        x = check_units(data, "data", d).to(_F64)
        if x.shape[0] < 2:
            raise ValueError(f"{func}: data needs at least 2 rows to fit a Gaussian base, got {x.shape[0]}")
        mean = x.mean(0)
        cov = (x - mean).T @ (x - mean) / x.shape[0] + 1e-6 * torch.eye(d, dtype=_F64, device=x.device)
        return mean, cov
    if isinstance(base, tuple) and len(base) == 2:
        mean, cov = (torch.as_tensor(t, dtype=_F64) for t in base)
        if mean.shape != (d,) or cov.shape != (d, d) or not bool(torch.isfinite(cov).all()):
            raise ValueError(f"{func}: base must be (mean ({d},), covariance ({d}, {d})), got shapes "
                             f"{tuple(mean.shape)} and {tuple(cov.shape)}")
        try:
            torch.linalg.cholesky(cov)
        except RuntimeError:
            raise ValueError(f"{func}: the base covariance must be positive definite") from None
        return mean, cov
    raise ValueError(f"{func}: base must be 'data', 'standard' or a (mean, covariance) pair, got {base!r}")


def _check(model, n_chains, n_steps, n_leapfrog, step_size, target_accept, progress, func, min_chains=2):
    check_model(model, EnergyModel, func)
    vis = model.graph[model.visible_name]
    if not has_free_energy(model) or vis.kind not in REAL_KINDS:
        raise TypeError(f"{func}: HMC on the annealed free energy needs real-valued visible units and a free "
                        f"energy; a {type(model).__name__} has {vis.kind!r} visible units"
                        f"{'' if has_free_energy(model) else ' and no free energy'}: use "
                        "inference.ais_log_partition (Gibbs transitions)")
    n_chains = check_int(n_chains, "n_chains", min_chains, func)
    n_steps = check_int(n_steps, "n_steps", 1, func)
    n_leapfrog = check_int(n_leapfrog, "n_leapfrog", 1, func)
    step_size = check_float(step_size, "step_size", 0.0, low_open=True, where=func)
    target_accept = check_float(target_accept, "target_accept", 0.0, 1.0, True, True, where=func)
    check_bool(progress, "progress", func)
    return n_chains, n_steps, n_leapfrog, step_size, target_accept


def hmc_ais_log_partition(model, n_chains: int = 100, n_steps: int = 1000, base="data", data=None,
                          n_leapfrog: int = 10, step_size: float = 0.1, target_accept: float = 0.8,
                          n_pilot: int = 32, seed: int | None = 0, progress: bool = False,
                          distributed=None) -> LogZEstimate:
    r"""Estimate log Z of a model with real visible units and a free energy by AIS with
    HMC transitions on (1 − β) log N(v) − β F(v) (module docstring).

    Parameters
    ----------
    model : EnergyModel
        E.g. a :class:`~models.energy.MeanCovarianceRBM` or an :class:`~models.energy.MPoT`;
        not modified (the chains run on a float64 copy).
    n_chains : int, default 100
        Independent AIS runs (importance weights), at least 2 (and at least W on W ranks).
    n_steps : int, default 1000
        Intermediate distributions (a sigmoid schedule of β).
    base : {"data", "standard"} or (mean, covariance), default "data"
        The Gaussian base: fitted to ``data`` by maximum likelihood, N(0, I), or given.
    data : Tensor, shape (n, D), optional
        Training data, for ``base="data"``.
    n_leapfrog : int, default 10
    step_size : float, default 0.1
        Initial step size of the pilot run.
    target_accept : float, default 0.8
        Acceptance rate the pilot's step sizes move toward.
    n_pilot : int, default 32
        Chains of the pilot run.
    seed : int or None, default 0
        The chains' generator (rank r's share: ``seed + r``); the pilot's is seeded
        ``seed + W`` (``seed + 1`` on one process).
    progress : bool, default False
        Progress bars (on rank 0 only in a split run).
    distributed : bool or None, default None
        ``None``: share the chains out over the ranks when a launcher's environment
        (``torchrun``) or an open process group of several ranks is detected (module
        docstring; every rank must call it with the same arguments and receives the same
        estimate); ``True``: require it; ``False``: one process. As for
        :func:`~inference.partition.named.log_partition`.

    Returns
    -------
    LogZEstimate
        ``method="ais-hmc"``, over all ``n_chains`` chains, with the ±3 standard-error
        bracket and the weights' ESS.

    Examples
    --------
    >>> from models.energy import MPoT
    >>> est = hmc_ais_log_partition(MPoT(2, 2, n_mean=1, seed=0), n_chains=20, n_steps=50, base="standard")
    >>> est.lower <= est.log_z <= est.upper
    True
    """
    func = "hmc_ais_log_partition"
    n_chains, n_steps, n_leapfrog, step_size, target_accept = _check(
        model, n_chains, n_steps, n_leapfrog, step_size, target_accept, progress, func)
    n_pilot = check_int(n_pilot, "n_pilot", 1, func)
    path = _Path(model, base, data, func)
    with joined(distributed, model.device, func) as replicas:
        if replicas is None:
            return from_log_weights(path.log_weights(n_chains, n_steps, n_leapfrog, step_size, target_accept,
                                                     n_pilot, seed, _pilot_seed(seed, 1), progress), 0.0, "ais-hmc")
        n_chains = check_int(n_chains, "n_chains", replicas.world_size, func)
        pilot = _pilot_seed(seed, replicas.world_size)
        schedule = failed = None
        if replicas.is_main:  # the pilot on rank 0; an error there is raised on every rank, not waited on
            try:
                schedule = path.schedule(n_steps, n_leapfrog, step_size, target_accept, n_pilot, pilot, progress)
            except Exception as err:  # noqa: BLE001 - re-raised below, on every rank
                failed = err
        schedule, error = replicas.gather((schedule, None if failed is None else repr(failed)))[0]
        if failed is not None:
            raise failed
        if error is not None:
            raise RuntimeError(f"{func}: the step-size pilot failed on rank 0: {error}")
        log_w = path.log_weights(chain_share(n_chains, replicas.rank, replicas.world_size), n_steps, n_leapfrog,
                                 step_size, target_accept, n_pilot, replicas.seed(seed), pilot,
                                 progress and replicas.is_main, schedule)
        return from_log_weights(gather_log_weights(log_w, replicas), 0.0, "ais-hmc")


def hmc_ais_chain_weights(model, n_chains: int, n_steps: int = 1000, base="data", data=None, n_leapfrog: int = 10,
                          step_size: float = 0.1, target_accept: float = 0.8, n_pilot: int = 32,
                          seed: int | None = 0, pilot_seed: int | None = None,
                          progress: bool = False) -> torch.Tensor:
    """The float64 log-weights (n_chains,) of ``n_chains`` chains of
    :func:`hmc_ais_log_partition` (same arguments) seeded ``seed``, on the step sizes of a
    pilot seeded ``pilot_seed`` (default ``seed + 1``): the raw material of its estimate,
    ``from_log_weights(log_w, 0.0, "ais-hmc")``, and of a split run's chain shares (rank r:
    ``seed + r``, the pilot ``seed + W``). Here ``n_chains`` may be 1."""
    func = "hmc_ais_chain_weights"
    n_chains, n_steps, n_leapfrog, step_size, target_accept = _check(
        model, n_chains, n_steps, n_leapfrog, step_size, target_accept, progress, func, min_chains=1)
    n_pilot = check_int(n_pilot, "n_pilot", 1, func)
    pilot_seed = _pilot_seed(seed, 1) if pilot_seed is None else pilot_seed
    return _Path(model, base, data, func).log_weights(n_chains, n_steps, n_leapfrog, step_size, target_accept,
                                                      n_pilot, seed, pilot_seed, progress)


def _pilot_seed(seed, world_size: int):
    """The pilot's seed: past every chain share's (``seed + r``, r < W)."""
    return None if seed is None else seed + world_size


class _Path:
    """The annealing path of a model: the Gaussian base, the targets (1 − β) log N − β F,
    draws from the base, and the runs along it (on a float64 copy of the model)."""

    def __init__(self, model, base, data, func):
        mean, cov = gaussian_base(model, base, data, func)
        self.device = model.device
        self.model64 = _float64_copy(model).requires_grad_(False)
        self.mean, cov = mean.to(self.model64.device), cov.to(self.model64.device)
        self.chol = torch.linalg.cholesky(cov)
        self.log_norm = torch.diagonal(self.chol).log().sum() + 0.5 * mean.shape[0] * _LOG_2PI

    def log_base(self, v):
        z = torch.linalg.solve_triangular(self.chol, (v - self.mean).T, upper=False)
        return -0.5 * z.square().sum(0) - self.log_norm

    def target(self, b):
        return lambda v: (1 - b) * self.log_base(v) - b * self.model64.free_energy(v)

    def draw(self, n, g):
        eps = torch.randn(n, self.mean.shape[0], generator=g, dtype=_F64, device=self.mean.device)
        return self.mean + eps @ self.chol.T

    def schedule(self, n_steps, n_leapfrog, step_size, target_accept, n_pilot, pilot_seed, progress) -> list:
        """The mean log step size at each β of a pilot run of ``n_pilot`` adapting chains."""
        gen = make_generator(pilot_seed, self.device)
        with validation_disabled():
            return _anneal(self.target, self.draw(n_pilot, gen), sigmoid_betas(n_steps).tolist(), gen, n_leapfrog,
                           step_size, target_accept, None, None, progress)[1]

    def log_weights(self, n_chains, n_steps, n_leapfrog, step_size, target_accept, n_pilot, seed, pilot_seed,
                    progress, schedule=None) -> torch.Tensor:
        """The log-weights (n_chains,) of chains seeded ``seed`` on ``schedule`` (default: the
        pilot's, seeded ``pilot_seed``)."""
        if schedule is None:
            schedule = self.schedule(n_steps, n_leapfrog, step_size, target_accept, n_pilot, pilot_seed, progress)
        gen = make_generator(seed, self.device)
        with validation_disabled():
            return _anneal(self.target, self.draw(n_chains, gen), sigmoid_betas(n_steps).tolist(), gen, n_leapfrog,
                           step_size, target_accept, schedule,
                           lambda v: -self.model64.free_energy(v) - self.log_base(v), progress)[0]


def _anneal(target, z, betas, gen, n_leapfrog, step_size, target_accept, schedule, log_ratio, progress):
    """Run chains z through ``betas``. Without ``schedule``: adapt, and return the mean log
    step size per step; with it: fixed steps, and the log-weights (``log_ratio(v)`` is
    log p*_1(v) − log p*_0(v))."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(betas) - 1, desc="ais-hmc" if schedule is not None else "ais-hmc pilot", unit="β")
    state = hmc.init(target(betas[0]), z, step_size)
    log_w = torch.zeros(z.shape[0], dtype=_F64, device=z.device)
    steps = []
    for t in range(1, len(betas)):
        b0, b1 = betas[t - 1], betas[t]
        if log_ratio is not None:
            log_w += (b1 - b0) * log_ratio(state.z).detach()
        lp, g = hmc._value_and_grad(target(b1), state.z)
        state = state._replace(log_prob=lp, grad=g)
        if schedule is not None:
            state = state._replace(step_size=torch.full_like(state.step_size, math.exp(schedule[t - 1])))
        state = hmc.step(target(b1), state, gen, n_leapfrog=n_leapfrog, adapt=schedule is None,
                         target_accept=target_accept)
        if schedule is None:
            steps.append(float(state.step_size.log().mean()))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return log_w, steps
