"""Inference for energy models and Pyro programs: sampling, learning, partition functions."""

from . import gibbs
from .gibbs import GibbsState
from .sampling import make_generator

__all__ = ["GibbsState", "gibbs", "make_generator"]
