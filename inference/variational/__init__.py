"""Variational inference: factorial mean-field posteriors of energy models; for directed
models importance weights, objectives (ELBO, IWAE, reweighted wake-sleep, wake-sleep) and
the training loop."""

from .history import DirectedHistory
from .inpaint import Inpainting, inpaint
from .mean_field import MeanField, mean_field
from .nvil import NVIL
from .objectives import elbo_loss, iwae_loss
from .rws import rws_loss
from .train import METHODS, fit_directed
from .wake_sleep import wake_sleep_loss
from .weights import log_weights

__all__ = ["DirectedHistory", "Inpainting", "METHODS", "MeanField", "NVIL", "elbo_loss", "fit_directed", "inpaint", "iwae_loss", "log_weights",
           "mean_field", "rws_loss", "wake_sleep_loss"]
