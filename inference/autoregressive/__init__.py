"""Training and pictures of autoregressive models (:mod:`models.autoregressive`):
:func:`fit_autoregressive` (maximum likelihood in the one epoch loop, the exact NLL per
epoch) and the pictures of samples, in-painting and the per-pixel conditional
log-likelihood (:mod:`inference.autoregressive.pictures`)."""

from .train import METHODS, AutoregressiveHistory, exact_nll, fit_autoregressive

__all__ = ["AutoregressiveHistory", "METHODS", "exact_nll", "fit_autoregressive"]
