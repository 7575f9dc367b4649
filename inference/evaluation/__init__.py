"""Evaluating models on data: log-likelihood, pseudo-log-likelihood, reconstruction error."""

from .bound import VariationalBound, variational_bound
from .decoder_ais import DecoderAIS, decoder_ais, reverse_decoder_ais
from .quality import class_coverage, fit_features, frechet_distance, kernel_distance, memorisation, mode_counts
from .importance import ImportanceEstimate, importance_log_likelihood
from .likelihood import LogLikelihood, log_likelihood
from .pseudo_likelihood import PseudoLikelihood, pseudo_log_likelihood
from .reconstruction import reconstruction_error

__all__ = ["LogLikelihood", "log_likelihood", "PseudoLikelihood", "pseudo_log_likelihood", "reconstruction_error",
           "VariationalBound", "variational_bound", "DecoderAIS", "decoder_ais", "reverse_decoder_ais",
           "class_coverage", "fit_features", "frechet_distance", "kernel_distance", "memorisation", "mode_counts", "ImportanceEstimate", "importance_log_likelihood"]
