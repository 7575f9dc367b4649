"""Undirected energy models: p(x) = exp(-E(x)) / Z."""

from .base import EnergyModel, has_free_energy
from .boltzmann import BoltzmannMachine
from .class_rbm import ClassRBM
from .dbm import DBM
from .gaussian_rbm import GaussianRBM
from .hopfield import Hopfield, Recall
from .mcrbm import MeanCovarianceRBM
from .mpot import MPoT
from .rbm import RBM
from .rectified import HIDDEN_UNITS, NoisyReLU, SteppedSigmoid
from .spike_slab_rbm import SpikeSlabRBM
from pgm.checks import is_validation_enabled, set_validation, validation_disabled

__all__ = ["BoltzmannMachine", "ClassRBM", "DBM", "EnergyModel", "GaussianRBM", "Hopfield", "MeanCovarianceRBM", "MPoT", "RBM", "Recall",
           "SpikeSlabRBM", "HIDDEN_UNITS", "NoisyReLU", "SteppedSigmoid",
           "has_free_energy", "is_validation_enabled", "set_validation", "validation_disabled"]
from .conditional_rbm import ConditionalRBM  # noqa: E402
from .frame_rbm import FrameRBM  # noqa: E402
from .rnn_rbm import RNNRBM  # noqa: E402
from .temporal_rbm import TemporalRBM  # noqa: E402

__all__ += ["ConditionalRBM", "FrameRBM", "RNNRBM", "TemporalRBM"]

from .conv_rbm import ConvRBM  # noqa: E402
from .pooling import BlockSoftmax  # noqa: E402

__all__ += ["ConvRBM", "BlockSoftmax"]
