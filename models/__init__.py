"""Models: undirected energy models (``models.energy``) and Pyro programs (``models.directed``)."""

from .energy import RBM, EnergyModel, GaussianRBM

__all__ = ["EnergyModel", "GaussianRBM", "RBM"]
