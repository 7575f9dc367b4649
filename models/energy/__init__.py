"""Undirected energy models: p(x) = exp(-E(x)) / Z."""

from .base import EnergyModel, has_free_energy
from .dbm import DBM
from .gaussian_rbm import GaussianRBM
from .rbm import RBM
from .validation import is_validation_enabled, set_validation, validation_disabled

__all__ = ["DBM", "EnergyModel", "GaussianRBM", "RBM", "has_free_energy", "is_validation_enabled", "set_validation", "validation_disabled"]
