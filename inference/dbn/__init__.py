"""The deep belief net: its likelihood (importance estimate and bound with the top RBM's
log Z), greedy layer-wise training, up-down fine-tuning, and discriminative fine-tuning of
its up-pass as a classifier."""

from .likelihood import DBNEstimate, dbn_log_likelihood, set_dbn_prior, top_log_partition
from .greedy import GreedyHistory, fit_greedy
from .up_down import UpDownHistory, fit_up_down, up_down_loss
from .classifier import DBNClassifier
from .discriminative import DiscriminativeHistory, FineTuned, discriminative_finetune

__all__ = ["DBNEstimate", "dbn_log_likelihood", "set_dbn_prior", "top_log_partition",
           "GreedyHistory", "fit_greedy", "UpDownHistory", "fit_up_down", "up_down_loss",
           "DBNClassifier", "DiscriminativeHistory", "FineTuned", "discriminative_finetune"]
