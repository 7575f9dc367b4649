r"""Pyro runs for ArviZ: an ``MCMC`` run (NUTS, HMC) of any program, and posterior
samples of a guide drawn through ``pyro.infer.Predictive``."""

from __future__ import annotations

import numpy as np
import torch

from pgm.checks import check_device, check_int

__all__ = ["import_arviz", "mcmc_to_inference_data", "guide_samples", "samples_to_inference_data"]


def import_arviz():
    """``import arviz``, without the banner (a ``FutureWarning`` announcing ArviZ's
    refactor) that ArviZ 0.23 prints when first imported."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="arviz")
        warnings.filterwarnings("ignore", message=".*ArviZ is undergoing a major refactor.*")
        import arviz

    return arviz


def mcmc_to_inference_data(mcmc, log_likelihood: bool = False, **kwargs):
    """A finished ``pyro.infer.MCMC`` run as ``arviz.InferenceData`` (``az.from_pyro``):
    ``posterior`` holds every latent site, dims (chain, draw, …), ``sample_stats`` the
    sampler's diagnostics (divergences, step size, …). Works for any program, the
    library's or a user's own.

    Parameters
    ----------
    mcmc : pyro.infer.MCMC
        After ``mcmc.run(...)``.
    log_likelihood : bool, default False
        Also trace the model once per draw for the pointwise log-likelihood of the
        observed sites (needed by ``az.loo`` / ``az.waic``; costs one model run per draw).
    **kwargs
        Passed to ``az.from_pyro`` (``coords``, ``dims``, ``prior``, …).
    """
    from pyro.infer import MCMC

    az = import_arviz()

    if not isinstance(mcmc, MCMC):
        raise TypeError(f"mcmc_to_inference_data: mcmc must be a pyro.infer.MCMC run, got {type(mcmc).__name__}")
    if not isinstance(log_likelihood, bool):
        raise TypeError(f"mcmc_to_inference_data: log_likelihood must be a bool, got {log_likelihood!r}")
    try:
        mcmc.get_samples()
    except (AttributeError, KeyError, RuntimeError):
        raise ValueError("mcmc_to_inference_data: mcmc has no samples; call mcmc.run(...) first") from None
    return az.from_pyro(posterior=mcmc, log_likelihood=log_likelihood, **kwargs)


def guide_samples(guide, *args, num_samples: int = 1000, sites=None, **kwargs) -> dict:
    """``num_samples`` independent draws of a guide's latent sites, through
    ``pyro.infer.Predictive(guide, num_samples=...)(*args, **kwargs)``.

    Returns
    -------
    dict[str, Tensor]
        Site → draws ``(num_samples, *site_shape)`` (e.g. (S, batch, units) inside a data
        plate), detached. Convert with :func:`inference.to_inference_data` (``n_chains``
        splits the S draws into chains).
    """
    from pyro.infer import Predictive

    where = "guide_samples"
    if not callable(guide):
        raise TypeError(f"{where}: guide must be a callable Pyro program, got {type(guide).__name__}")
    num_samples = check_int(num_samples, "num_samples", 1, where)
    check_device(getattr(guide, "__self__", guide), "guide's model", where)
    for name, value in [*((f"args[{i}]", a) for i, a in enumerate(args)), *kwargs.items()]:
        if isinstance(value, torch.Tensor):  # the data: a batch of rows inside the guide's data plate
            check_device(value, name, where)
            if value.dim() and value.shape[0] == 0:
                raise ValueError(f"{where}: {name} has no rows; pass at least one example")
    predictive = Predictive(guide, num_samples=num_samples, return_sites=sites)
    with torch.no_grad():
        out = predictive(*args, **kwargs)
    return {name: x.detach() for name, x in out.items()}


def samples_to_inference_data(samples: dict, n_chains: int = 1, dims=None, coords=None, group: str = "posterior"):
    r"""Draws site → (S, …) (e.g. from :func:`guide_samples`) as ``arviz.InferenceData``.

    Independent draws are laid out as ``n_chains`` chains of S / n_chains draws each:
    draw s goes to chain ``s // (S / n_chains)``, draw ``s % (S / n_chains)``; S must be
    a multiple of ``n_chains``. Several chains let ``az.summary`` report R-hat (≈ 1 for
    independent draws). ``group`` names the ``InferenceData`` group (``"posterior"``;
    e.g. ``"guide"`` to keep a guide's draws beside an MCMC posterior).
    """
    az = import_arviz()
    where = "samples_to_inference_data"
    if not isinstance(samples, dict) or not samples:
        raise TypeError(f"{where}: samples must be a non-empty dict of site name → tensor (S, …), "
                        f"got {type(samples).__name__}")
    n_chains = check_int(n_chains, "n_chains", 1, where)
    if not isinstance(group, str) or not group.isidentifier():
        raise ValueError(f"{where}: group must be a name such as 'posterior' or 'guide', got {group!r}")
    out = {}
    for name, x in samples.items():
        if not isinstance(x, (torch.Tensor, np.ndarray)) or np.ndim(x) < 1:
            raise TypeError(f"{where}: samples[{name!r}] must be a tensor of draws (S, …), got {type(x).__name__}")
        a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
        if a.shape[0] % n_chains:
            raise ValueError(f"{where}: samples[{name!r}] has {a.shape[0]} draws, not a multiple of "
                             f"n_chains={n_chains}")
        out[name] = a.reshape(n_chains, a.shape[0] // n_chains, *a.shape[1:])
    idata = az.from_dict(posterior=out, dims=dims, coords=coords)
    return idata if group == "posterior" else az.InferenceData(**{group: idata.posterior})
