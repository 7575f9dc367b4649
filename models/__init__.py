"""Models: undirected energy models (``models.energy``) and Pyro programs (``models.directed``)."""

from .energy import RBM, EnergyModel, GaussianRBM, SpikeSlabRBM

__all__ = ["EnergyModel", "GaussianRBM", "RBM", "SpikeSlabRBM"]
