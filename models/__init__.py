"""Models: undirected energy models (``models.energy``) and Pyro programs (``models.directed``)."""

from .energy import DBM, RBM, EnergyModel, GaussianRBM

__all__ = ["DBM", "EnergyModel", "GaussianRBM", "RBM"]
