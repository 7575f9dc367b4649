"""Markov chain Monte Carlo for energy models: block and single-site Gibbs sampling,
simulated annealing and their helpers."""

from . import annealing, gibbs, tempering
from .annealing import anneal, geometric_schedule
from .gibbs import GibbsState
from .sampling import bernoulli, make_generator, sample

__all__ = ["GibbsState", "anneal", "annealing", "geometric_schedule", "gibbs", "tempering", "bernoulli", "make_generator", "sample"]
