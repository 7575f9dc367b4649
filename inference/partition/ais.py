r"""Annealed importance sampling (AIS) estimates of the log partition function.

AIS (Neal, 2001) moves a batch of independent chains through a sequence of distributions
p_0, ..., p_K from a tractable base p_A = p_0 to the model p_B = p_K and accumulates
importance weights

.. math::

    \log w = \sum_{k=1}^{K} \log p^*_k(x_k) - \log p^*_{k-1}(x_k),
    \qquad x_1 \sim p_0, \quad x_{k+1} \sim T_k(\cdot \mid x_k),

where T_k leaves p_k invariant. Then E[w] = Z_B / Z_0, so Ẑ_B = Z_0 · mean(w) is unbiased
and log Ẑ_B is, by Jensen's inequality, a stochastic *lower* bound of log Z_B.

The path is geometric, p*_β ∝ p_A^(1−β) p_B^β, from a factorised base
(:class:`~inference.partition.base.FactorisedBase`: Bernoulli units for binary groups,
Normal ones for real-valued groups) and works for every
:class:`~models.energy.EnergyModel` through its contract (:mod:`inference.partition.path`):

* models with a free energy (RBM, Gaussian RBM) are annealed on the visible marginal,
  log p*_β(v) = (1−β) log p̃_A(v) − F_β(v) — the path of Salakhutdinov & Murray (2008);
* models that sum some latent groups out given a set S holding v (a deep Boltzmann
  machine: the odd layers given the even ones, Salakhutdinov & Hinton 2009) on x_S,
  log p*_β(x_S) = (1−β) log p̃_A(x_S) − F_β(x_S);
* every other model on its joint state, log p*_β(x) = (1−β) log p̃_A(x) − β E(x).

The transitions are Gibbs sweeps of the tempered conditionals ``model.conditional(g,
state, β)`` times the base factor to the power 1 − β; the weights are float64
(:class:`~inference.partition.loop.TorchAnnealer`). A backend may run the same path faster
(the binary RBM: :mod:`inference.backends.rbm.ais`), chosen by
:func:`inference.backends.fast_path` from the :class:`AnnealingPath`.

Reverse AIS (Burda, Grosse & Salakhutdinov, 2015) runs the same chain from model samples
towards the base model; it estimates Z_0 / Z_B and so gives a stochastic *upper* bound of
log Z_B when started from exact model samples.

References
----------
R. M. Neal, "Annealed importance sampling", Statistics and Computing 11, 125-139, 2001.

R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep belief networks",
ICML 2008.

Y. Burda, R. Grosse and R. Salakhutdinov, "Accurate and conservative estimates of MRF
log-likelihood using reverse annealing", AISTATS 2015.
"""

from __future__ import annotations

import inspect

import torch

from models.energy import EnergyModel
from pgm.checks import check_bool, check_chains_memory, check_int, check_model

from ..backends import check_backend, fast_path, requests
from ..mcmc.sampling import make_generator
from ..threads import graph_work, threads_for
from .base import BernoulliFactor, FactorisedBase, NormalFactor, base_rate_bias
from .estimate import LogZEstimate, from_log_weights
from .loop import REFRESH, TorchAnnealer, progress_bar
from .path import (AnnealingPath, _float64_copy, check_state, log_z_start, make_path, n_rows,
                   start_state)

__all__ = [
    "ais_log_partition",
    "check_ais_arguments",
    "ais_log_weights",
    "default_schedule",
    "base_rate_bias",
    "AnnealingPath",
    "FactorisedBase",
    "BernoulliFactor",
    "NormalFactor",
]

_F64 = torch.float64


def default_schedule(dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
    r"""The schedule of Salakhutdinov & Murray (2008): 14,501 inverse temperatures.

    β runs from 0 to 0.5 in steps of 1e-3, to 0.9 in steps of 1e-4 and to 1 in steps of
    1e-5. Each value is computed as an integer divided by a power of ten (no accumulated
    rounding), so β_k is the float nearest to its decimal value and the ends are exactly
    0 and 1.

    Returns
    -------
    Tensor, shape (14501,)
    """
    segments = [
        torch.arange(0, 500, dtype=_F64) / 1e3,
        torch.arange(5000, 9000, dtype=_F64) / 1e4,
        torch.arange(90000, 100001, dtype=_F64) / 1e5,
    ]
    return torch.cat(segments).to(dtype=dtype, device=device)


# -- argument handling ---------------------------------------------------------------------

def _check_betas(betas, func, dtype):
    """The schedule as float64, rounded to ``dtype`` so that weights and draws agree."""
    if betas is None:
        betas = default_schedule()
    if not isinstance(betas, torch.Tensor):
        try:
            betas = torch.as_tensor(betas, dtype=_F64)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(
                f"{func}: betas must be a 1-D tensor or sequence of floats, got {type(betas).__name__}"
            ) from None
    if betas.dim() != 1 or betas.shape[0] < 2:
        raise ValueError(f"{func}: betas must be 1-D with at least 2 values, got shape {tuple(betas.shape)}")
    if not torch.is_floating_point(betas):
        betas = betas.to(_F64)
    betas = betas.detach().to(device="cpu", dtype=_F64)
    if not torch.isfinite(betas).all() or (betas < 0).any() or (betas > 1).any():
        raise ValueError(f"{func}: betas must lie in [0, 1], got values in [{betas.min():.4g}, {betas.max():.4g}]")
    if betas[0] != 0 or betas[-1] != 1:
        raise ValueError(
            f"{func}: betas must run from 0 (base model) to 1 (the model), got "
            f"{betas[0].item():.6g} ... {betas[-1].item():.6g}"
        )
    if (betas[1:] < betas[:-1]).any():
        k = int((betas[1:] < betas[:-1]).nonzero()[0])
        raise ValueError(
            f"{func}: betas must be non-decreasing, got betas[{k}] = {betas[k].item():.6g} > "
            f"betas[{k + 1}] = {betas[k + 1].item():.6g}"
        )
    return betas.to(dtype).to(_F64)


def annealing_request(path):
    """The backends' request for ``path``: annealing the visible marginal, with the base's
    logits when the base is one Bernoulli factor on the visible group (else ``None``)."""
    factors = path.base.factors
    vis = path.model.visible_name
    logits = None
    if path.form == "marginal" and set(factors) == {vis} and isinstance(factors[vis], BernoulliFactor):
        logits = factors[vis].logits
    return requests.MarginalAnnealing(path.model, logits, REFRESH)


def _runner(path, backend):
    """The backend's runner for ``path`` if one takes it, else the generic loop, and a
    float64 copy of the model when the generic loop made one."""
    runner = fast_path(path.model, annealing_request(path), backend=backend)
    if runner is not None:
        return runner, None
    model64 = _float64_copy(path.model)
    return TorchAnnealer(path, model64), model64


# -- raw weights and the estimator -------------------------------------------------------

def schedule_values(betas, model, func: str) -> list[float]:
    """The βs of a schedule as Python floats, rounded through the model's dtype (the values
    its sampler sees); a ValueError unless 1-D with at least 2 values in [0, 1]."""
    if not isinstance(betas, torch.Tensor):
        betas = torch.as_tensor(betas, dtype=_F64)
    if betas.dim() != 1 or betas.shape[0] < 2 or ((betas < 0) | (betas > 1) | betas.isnan()).any():
        raise ValueError(f"{func}: betas must be 1-D, at least 2 values in [0, 1], got {betas!r}")
    return betas.detach().cpu().to(model.dtype).to(_F64).tolist()


def ais_log_weights(model, init, betas, base_bias, generator, progress=False, backend="auto"):
    r"""Run AIS chains along an arbitrary path of inverse temperatures; the raw weights.

    Starting from ``init`` (which should be distributed as p_{β_0}), accumulates

    .. math::

        \log w = \sum_{k=1}^{K} \log p^*_{\beta_k}(x_k) - \log p^*_{\beta_{k-1}}(x_k)

    with one transition at β_k between consecutive terms (none after the last), for the
    path p*_β of the module docstring. An increasing path from 0 to 1 gives forward AIS
    (E[w] = Z_B/Z_0), a decreasing one from 1 to 0 reverse AIS (E[w] = Z_0/Z_B).

    Parameters
    ----------
    model : EnergyModel
    init : Tensor (n_chains, n_visible) or dict[str, Tensor]
        Starting states: the visible group for models annealed on their visible marginal
        (binary for a binary group), a dict of every group → (n_chains, units) for those
        annealed on the joint state (see :func:`inference.partition.path.annealing_form`).
    betas : Tensor or sequence of float, shape (K + 1,)
        Path of inverse temperatures in [0, 1], in the order visited. Values are rounded
        to the model's dtype, so that weights and draws use the same distributions.
    base_bias : Tensor (n_visible,), "uniform" or FactorisedBase
        The base: visible logits b_A of a Bernoulli base, uniform units, or a base object.
    generator : torch.Generator
        Source of all randomness, on the model's device.
    progress : bool
        Show a progress bar.
    backend : {"auto", "torch"}
        ``"torch"``: always the generic loop.

    Returns
    -------
    log_w : Tensor, shape (n_chains,), float64
    state : Tensor or dict
        Final states of the chains, of the form of ``init`` (``init`` is not modified).
    """
    func = "ais_log_weights"
    check_backend(backend, func)
    check_model(model, EnergyModel, func)
    if isinstance(base_bias, str) and base_bias == "data":
        raise ValueError(f"{func}: base_bias='data' is not accepted here; pass base_rate_bias(data)")
    path = make_path(model, base_bias, None, func)
    state = check_state(path, init, func)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"{func}: generator must be a torch.Generator, got {type(generator).__name__}")
    betas = schedule_values(betas, model, func)
    runner, _ = _runner(path, backend)
    with torch.no_grad(), threads_for(graph_work(path.model.graph, n_rows(state))):
        return runner.run(state, betas, generator, progress_bar(len(betas) - 1, "ais", progress))


def _checked(model, n_chains, betas, base, data, progress, backend, func):
    """The checked arguments of :func:`ais_log_partition`: (path, n_chains, betas)."""
    check_backend(backend, func)
    path = make_path(model, base, data, func)
    n_chains = check_int(n_chains, "n_chains", 2, func)
    check_chains_memory(model, n_chains, func, dtype=torch.float64)  # the generic loop anneals in float64
    betas = _check_betas(betas, func, model.dtype)
    check_bool(progress, "progress", func)
    return path, n_chains, betas


def check_ais_arguments(model, **options) -> None:
    """Check the arguments :func:`ais_log_partition` would get, without running it.

    Unknown keywords raise TypeError; bad values the errors of :func:`ais_log_partition`.
    :func:`inference.fit` calls it before training when it is to evaluate by AIS.
    """
    func = "ais_log_partition"
    try:
        bound = inspect.signature(ais_log_partition).bind(model, **options)
    except TypeError as err:
        raise TypeError(f"{func}: {err}; its keywords are "
                        f"{list(inspect.signature(ais_log_partition).parameters)[1:]}") from None
    bound.apply_defaults()
    a = bound.arguments
    _checked(model, a["n_chains"], a["betas"], a["base"], a["data"], a["progress"], a["backend"], func)
    make_generator(a["seed"])


def ais_log_partition(model, n_chains: int = 100, betas=None, base="data", data=None,
                      seed: int | None = 0, progress: bool = True, backend: str = "auto") -> LogZEstimate:
    r"""Estimate log Z of an energy model by annealed importance sampling.

    Runs ``n_chains`` independent chains from the base p_A to the model along the path of
    the module docstring and returns

    .. math::

        \log \hat Z = \log Z_0 + \log \frac{1}{M}\sum_{m=1}^{M} w_m ,
        \qquad \text{bracket: } \log Z_0 + \log\big(\bar w \mp 3\, \mathrm{se}(\bar w)\big),

    with se(w̄) = std(w) / √M. Ẑ is unbiased, so log Ẑ tends to *underestimate* log Z
    (Jensen); the bracket is a ±3 standard-error interval for Z mapped to the log scale,
    only as trustworthy as the sample variance of the weights (heavy-tailed weights make
    it too narrow: check ``ess``). ``lower`` is ``-inf`` when w̄ - 3 se ≤ 0.

    Parameters
    ----------
    model : EnergyModel
        E.g. an RBM, a Gaussian RBM or any model with ``energy`` and ``conditional``; it is
        not modified.
    n_chains : int, default 100
        Number of independent AIS runs (importance samples), at least 2.
    betas : Tensor or sequence of float, optional
        Non-decreasing inverse temperatures from 0 to 1; default :func:`default_schedule`
        (14,501 values).
    base : {"data", "uniform"}, Tensor or FactorisedBase, default "data"
        Base model: a factor on the visible group fitted to the data marginals (Bernoulli
        logits :func:`base_rate_bias`, or a Normal's mean and std; needs ``data``),
        Bernoulli(1/2) / N(0, 1) units ("uniform"), a tensor of visible logits
        (n_visible,), or a :class:`FactorisedBase`. Latent groups annealed on the joint
        state get uniform factors. A base close to the model's marginals needs fewer βs
        for the same accuracy.
    data : Tensor, shape (n, n_visible), optional
        Training data, for ``base="data"``.
    seed : int or None, default 0
        Seed of the ``torch.Generator`` that drives every draw.
    progress : bool, default True
        Show a progress bar (refreshed every 100 steps).
    backend : {"auto", "torch"}, default "auto"
        ``"auto"``: a fast path where one applies (the binary RBM), else the generic loop;
        ``"torch"``: always the generic loop.

    Returns
    -------
    LogZEstimate
        ``method="ais"``; ``ess`` = (Σw)²/Σw².

    Examples
    --------
    >>> from models.energy import RBM
    >>> est = ais_log_partition(RBM(6, 4, seed=0), n_chains=50, betas=torch.linspace(0, 1, 200),
    ...                         base="uniform", progress=False)
    >>> est.lower <= est.log_z <= est.upper
    True
    """
    func = "ais_log_partition"
    path, n_chains, betas = _checked(model, n_chains, betas, base, data, progress, backend, func)
    gen = make_generator(seed, model.device)
    runner, model64 = _runner(path, backend)
    with torch.no_grad(), threads_for(graph_work(path.model.graph, n_chains)):
        state = start_state(path, n_chains, gen)
        log_z_0 = log_z_start(path, state, func, model64)
        log_w, _ = runner.run(state, betas.tolist(), gen, progress_bar(len(betas) - 1, "ais", progress))
    return from_log_weights(log_w, log_z_0, "ais")
