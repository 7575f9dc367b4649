"""Models: undirected energy models (``models.energy``) and Pyro programs (``models.directed``)."""

from .energy import RBM, EnergyModel, GaussianRBM
from .directed import VAE, DirectedModel, HelmholtzMachine, SigmoidBeliefNet

__all__ = ["EnergyModel", "GaussianRBM", "RBM"]
__all__ += ["DirectedModel", "SigmoidBeliefNet", "HelmholtzMachine", "VAE"]
