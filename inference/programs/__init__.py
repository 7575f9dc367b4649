"""Energy models inside Pyro programs: an energy model as a Pyro distribution, and the deep
belief net's prior, evaluation and greedy training, which need it."""

from .energy_distribution import EnergyDistribution
from .dbn import DBNEstimate, dbn_log_likelihood, set_dbn_prior, top_log_partition
from .greedy import GreedyHistory, fit_greedy

__all__ = ["EnergyDistribution", "DBNEstimate", "dbn_log_likelihood", "set_dbn_prior", "top_log_partition",
           "GreedyHistory", "fit_greedy"]
