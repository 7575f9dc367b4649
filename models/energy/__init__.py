"""Undirected energy models: p(x) = exp(-E(x)) / Z."""

from .base import EnergyModel, has_free_energy
from .gaussian_rbm import GaussianRBM
from .rbm import RBM
from .spike_slab_rbm import SpikeSlabRBM
from .validation import is_validation_enabled, set_validation, validation_disabled

__all__ = ["EnergyModel", "GaussianRBM", "RBM", "SpikeSlabRBM", "has_free_energy", "is_validation_enabled", "set_validation", "validation_disabled"]
