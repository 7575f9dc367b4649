"""Evaluating models on data: log-likelihood, pseudo-log-likelihood, reconstruction error."""

from .likelihood import LogLikelihood, log_likelihood, pseudo_log_likelihood, reconstruction_error

__all__ = ["LogLikelihood", "log_likelihood", "pseudo_log_likelihood", "reconstruction_error"]
