"""Inference for energy models and Pyro programs: sampling, learning, partition functions;
:func:`fit` trains a model of any family (:mod:`inference.families`)."""

from .mcmc import GibbsState, anneal, geometric_schedule, gibbs, make_generator, tempering
from .partition import LogZEstimate, ais_log_partition, default_schedule, exact_log_partition, reverse_ais_log_partition
from .evaluation import ImportanceEstimate, importance_log_likelihood
from .evaluation import LogLikelihood, PseudoLikelihood, log_likelihood, pseudo_log_likelihood, reconstruction_error
from .evaluation import VariationalBound, variational_bound
from .variational import MeanField, mean_field
from .learning import MeanFieldPhase, pretrain_dbm
from .learning import MultiPrediction, PersistentHMC
from .variational import Inpainting, inpaint
from .learning import CD, PCD, PT, Checkpoint, Evaluation, GradInfo, History, Optimization, momentum_ramp, surrogate_loss
from .checkpoint import load_model, save_model
from .directed import DirectedHistory, fit_directed

__all__ = ["GibbsState", "anneal", "geometric_schedule", "gibbs", "make_generator", "tempering"]
__all__ += ["LogZEstimate", "exact_log_partition", "ais_log_partition", "reverse_ais_log_partition",
            "default_schedule", "LogLikelihood", "PseudoLikelihood", "log_likelihood", "pseudo_log_likelihood",
            "reconstruction_error"]
__all__ += ["CD", "PCD", "PT", "GradInfo", "surrogate_loss", "History", "fit", "momentum_ramp", "Optimization", "Evaluation", "Checkpoint",
            "load_model", "save_model"]
__all__ += ["MeanField", "mean_field", "MeanFieldPhase", "pretrain_dbm", "VariationalBound", "variational_bound"]
__all__ += ["ImportanceEstimate", "importance_log_likelihood"]
__all__ += ["DirectedHistory", "fit_directed"]
__all__ += ["Inpainting", "inpaint", "MultiPrediction", "PersistentHMC"]
from .programs import EnergyDistribution
from .dbn import DBNEstimate, GreedyHistory, dbn_log_likelihood, fit_greedy, set_dbn_prior
from .dbn import UpDownHistory, fit_up_down
from .dbn import DBNClassifier, DiscriminativeHistory, FineTuned, discriminative_finetune

__all__ += ["EnergyDistribution", "DBNEstimate", "dbn_log_likelihood", "set_dbn_prior", "GreedyHistory", "fit_greedy",
            "UpDownHistory", "fit_up_down", "DBNClassifier", "DiscriminativeHistory", "FineTuned",
            "discriminative_finetune"]
from .partition import AISTrace, ais_trace
from .pictures import plot_ais, plot_filters, plot_reconstructions, plot_swap_rates, reconstruct

__all__ += ["AISTrace", "ais_trace", "plot_ais", "plot_filters", "plot_reconstructions", "plot_swap_rates",
            "reconstruct"]
from .export import ChainRecord, guide_samples, sample_chains, to_inference_data
from .posterior import ExactPosterior, MCMCPosterior, exact_posterior, mcmc_posterior

__all__ += ["ChainRecord", "guide_samples", "sample_chains", "to_inference_data", "MCMCPosterior", "mcmc_posterior",
            "ExactPosterior", "exact_posterior"]
from . import families
from .families import Family, family_of
from .families import fit

__all__ += ["Family", "families", "family_of"]
from .convdbn import ConvDBNEstimate, conv_dbn_log_likelihood, fit_conv_dbn, sample_conv_dbn

__all__ += ["ConvDBNEstimate", "conv_dbn_log_likelihood", "fit_conv_dbn", "sample_conv_dbn"]
