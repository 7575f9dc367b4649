"""Models: undirected energy models (``models.energy``) and Pyro programs (``models.directed``)."""

from .energy import RBM, BoltzmannMachine, EnergyModel, GaussianRBM, Hopfield

__all__ = ["BoltzmannMachine", "EnergyModel", "GaussianRBM", "Hopfield", "RBM"]
