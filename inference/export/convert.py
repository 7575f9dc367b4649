"""One entry point from the library's and Pyro's runs to ``arviz.InferenceData``."""

from __future__ import annotations

from .chains import ChainRecord, chains_to_inference_data
from .pyro_runs import import_arviz, mcmc_to_inference_data, samples_to_inference_data

__all__ = ["to_inference_data"]


def to_inference_data(source, **kwargs):
    """``source`` as an ``arviz.InferenceData``, for ``az.summary`` (R-hat, ESS),
    ``az.plot_trace``, ``az.plot_posterior``.

    ============================================  ==============================================
    ``source``                                     converter (its keyword arguments)
    ============================================  ==============================================
    :class:`ChainRecord` (:func:`sample_chains`)    :func:`chains_to_inference_data`
    ``pyro.infer.MCMC`` after ``run``              :func:`mcmc_to_inference_data`
                                                   (``log_likelihood``, ``coords``, ``dims``, …)
    dict site → draws (S, …), e.g. from            :func:`samples_to_inference_data`
    ``Predictive`` / :func:`guide_samples`         (``n_chains``, ``dims``, ``coords``, ``group``)
    ``arviz.InferenceData``                        returned as it is
    ============================================  ==============================================
    """
    from pyro.infer import MCMC

    az = import_arviz()

    if isinstance(source, ChainRecord):
        if kwargs:
            raise TypeError(f"to_inference_data: a ChainRecord takes no options, got {sorted(kwargs)}")
        return chains_to_inference_data(source)
    if isinstance(source, MCMC):
        return mcmc_to_inference_data(source, **kwargs)
    if isinstance(source, dict):
        return samples_to_inference_data(source, **kwargs)
    if isinstance(source, az.InferenceData):
        return source
    raise TypeError("to_inference_data: source must be a ChainRecord (from inference.sample_chains), a "
                    "pyro.infer.MCMC run, a dict of site → draws (from pyro.infer.Predictive) or an "
                    f"InferenceData, got {type(source).__name__}")
