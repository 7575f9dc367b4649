"""Markov chain Monte Carlo for energy models: block Gibbs sampling and its helpers."""

from . import gibbs
from .gibbs import GibbsState
from .sampling import bernoulli, make_generator, sample

__all__ = ["GibbsState", "gibbs", "bernoulli", "make_generator", "sample"]
