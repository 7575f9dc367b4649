"""Markov chain Monte Carlo: block and single-site Gibbs sampling of energy models,
simulated annealing, parallel tempering, batched HMC for continuous targets, and their
helpers."""

from . import annealing, gibbs, hmc, tempering
from .annealing import anneal, geometric_schedule
from .gibbs import GibbsState
from .sampling import bernoulli, make_generator, sample

__all__ = ["GibbsState", "anneal", "annealing", "geometric_schedule", "gibbs", "hmc", "tempering", "bernoulli", "make_generator", "sample"]
