"""Models: undirected energy models (``models.energy``) and Pyro programs (``models.directed``)."""

#: The subpackages of model families (their ``__all__`` lists their model classes).
PACKAGES = ("energy", "directed")

from .energy import DBM, RBM, BoltzmannMachine, ClassRBM, EnergyModel, GaussianRBM, Hopfield, SpikeSlabRBM
from .directed import DBN, VAE, DirectedModel, HelmholtzMachine, SigmoidBeliefNet

__all__ = ["BoltzmannMachine", "ClassRBM", "DBM", "EnergyModel", "GaussianRBM", "Hopfield", "RBM", "SpikeSlabRBM"]
__all__ += ["DirectedModel", "SigmoidBeliefNet", "HelmholtzMachine", "VAE", "DBN"]
