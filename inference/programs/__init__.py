"""Energy models inside Pyro programs: an energy model as a Pyro distribution, and the deep
belief net's prior, evaluation, greedy training, up-down and discriminative fine-tuning, which need it."""

from .energy_distribution import EnergyDistribution
from .dbn import DBNEstimate, dbn_log_likelihood, set_dbn_prior, top_log_partition
from .greedy import GreedyHistory, fit_greedy
from .up_down import UpDownHistory, fit_up_down, up_down_loss
from .classifier import DBNClassifier
from .discriminative import DiscriminativeHistory, FineTuned, discriminative_finetune

__all__ = ["EnergyDistribution", "DBNEstimate", "dbn_log_likelihood", "set_dbn_prior", "top_log_partition",
           "GreedyHistory", "fit_greedy", "UpDownHistory", "fit_up_down", "up_down_loss",
           "DBNClassifier", "DiscriminativeHistory", "FineTuned", "discriminative_finetune"]
