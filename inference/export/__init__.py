"""Export to ArviZ: chains of energy models, Pyro MCMC runs and guide samples as
``arviz.InferenceData``."""

from .chains import MAX_RECORDED_UNITS, ChainRecord, chains_to_inference_data, sample_chains
from .convert import to_inference_data
from .plots import plot_chain_trace
from .pyro_runs import guide_samples, import_arviz, mcmc_to_inference_data, samples_to_inference_data

__all__ = ["ChainRecord", "sample_chains", "chains_to_inference_data", "MAX_RECORDED_UNITS", "to_inference_data",
           "guide_samples", "import_arviz", "mcmc_to_inference_data", "samples_to_inference_data", "plot_chain_trace"]
