"""Inference for energy models and Pyro programs: sampling, learning, partition functions."""

from . import gibbs
from .gibbs import GibbsState
from .sampling import make_generator
from .partition import LogZEstimate, exact_log_partition
from .ais import ais_log_partition, default_schedule
from .reverse_ais import reverse_ais_log_partition
from .evaluation import LogLikelihood, log_likelihood, pseudo_log_likelihood, reconstruction_error

__all__ = ["GibbsState", "gibbs", "make_generator"]
__all__ += ["LogZEstimate", "exact_log_partition", "ais_log_partition", "reverse_ais_log_partition",
            "default_schedule", "LogLikelihood", "log_likelihood", "pseudo_log_likelihood",
            "reconstruction_error"]
from .contrastive import CD, PCD, GradInfo, surrogate_loss
from .fit import History, fit, momentum_ramp
from .checkpoint import load_model, save_model

__all__ += ["CD", "PCD", "GradInfo", "surrogate_loss", "History", "fit", "momentum_ramp",
            "load_model", "save_model"]
