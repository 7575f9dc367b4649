"""Directed models written as Pyro programs (sigmoid belief nets, Helmholtz machines, VAEs, deep belief nets)."""

from .base import DirectedModel
from .vae import LIKELIHOODS, VAE
from .sbn import MAX_EXACT_LATENT, HelmholtzMachine, SigmoidBeliefNet
from .dbn import DBN

__all__ = ["DirectedModel", "SigmoidBeliefNet", "HelmholtzMachine", "MAX_EXACT_LATENT", "VAE", "LIKELIHOODS", "DBN"]
from .conv_dbn import ConvDBN  # noqa: E402

__all__ += ["ConvDBN"]
