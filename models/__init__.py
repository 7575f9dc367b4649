"""Models: undirected energy models (``models.energy``) and Pyro programs (``models.directed``)."""

from .energy import RBM, EnergyModel

__all__ = ["EnergyModel", "RBM"]
