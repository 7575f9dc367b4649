"""Models: undirected energy models (``models.energy``), Pyro programs (``models.directed``)
and autoencoders (``models.autoencoders``)."""

#: The subpackages of model families (their ``__all__`` lists their model classes).
PACKAGES = ("energy", "directed", "autoencoders", "autoregressive", "adversarial")

from .energy import (DBM, RBM, BoltzmannMachine, ClassRBM, EnergyModel, GaussianRBM, Hopfield, MeanCovarianceRBM, MPoT,
                     SpikeSlabRBM)
from .directed import DBN, VAE, DirectedModel, HelmholtzMachine, SigmoidBeliefNet

__all__ = ["BoltzmannMachine", "ClassRBM", "DBM", "EnergyModel", "GaussianRBM", "Hopfield", "MeanCovarianceRBM", "MPoT",
           "RBM", "SpikeSlabRBM"]
__all__ += ["DirectedModel", "SigmoidBeliefNet", "HelmholtzMachine", "VAE", "DBN"]
from .autoencoders import GSN, Autoencoder, StackedAutoencoder

__all__ += ["Autoencoder", "StackedAutoencoder", "GSN"]
from .features import FeatureNet

__all__ += ["FeatureNet"]
from .autoregressive import FVSBN, MADE, NADE, RNADE, AutoregressiveModel, OrderAgnosticNADE

__all__ += ["AutoregressiveModel", "FVSBN", "MADE", "NADE", "OrderAgnosticNADE", "RNADE"]
from .adversarial import DCGAN, GAN, GMMN, GMMNAutoencoder

__all__ += ["GAN", "DCGAN", "GMMN", "GMMNAutoencoder"]
from .energy import ConvRBM  # noqa: E402
from .directed import ConvDBN  # noqa: E402

__all__ += ["ConvRBM", "ConvDBN"]
