"""Variational inference and training of directed models: importance weights and objectives."""

from .weights import log_weights

__all__ = ["log_weights"]
