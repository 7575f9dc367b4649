"""Undirected energy models: p(x) = exp(-E(x)) / Z."""

from .base import EnergyModel
from .gaussian_rbm import GaussianRBM
from .rbm import RBM
from .validation import is_validation_enabled, set_validation, validation_disabled

__all__ = ["EnergyModel", "GaussianRBM", "RBM", "is_validation_enabled", "set_validation", "validation_disabled"]
