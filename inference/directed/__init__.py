"""Training directed models (sigmoid belief nets, Helmholtz machines, VAEs): the objectives
(ELBO, IWAE, reweighted wake-sleep, wake-sleep, NVIL's baselines) and :func:`fit_directed`."""

from .history import DirectedHistory
from .nvil import NVIL
from .objectives import elbo_loss, iwae_loss
from .rws import rws_loss
from .train import METHODS, fit_directed
from .wake_sleep import wake_sleep_loss

__all__ = ["DirectedHistory", "METHODS", "NVIL", "elbo_loss", "fit_directed", "iwae_loss", "rws_loss",
           "wake_sleep_loss"]
