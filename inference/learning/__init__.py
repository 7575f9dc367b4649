"""Learning energy models: contrastive rules (CD, PCD, PT), the training loop and its schedules."""

from .averaging import ParameterAverage
from .contrastive import CD, PCD, GradInfo, surrogate_loss
from .fit import fit
from .hamiltonian import PersistentHMC
from .history import History
from .multi_prediction import MultiPrediction
from .positive import MeanFieldPhase
from .pretrain import PretrainedLayer, pretrain_dbm
from .options import Checkpoint, Evaluation, Optimization
from .schedules import momentum_ramp
from .tempered import PT

__all__ = ["CD", "PCD", "PT", "GradInfo", "surrogate_loss", "fit", "History", "momentum_ramp", "Optimization",
           "Evaluation", "Checkpoint", "ParameterAverage",
           "MeanFieldPhase", "pretrain_dbm", "PretrainedLayer", "MultiPrediction", "PersistentHMC"]
