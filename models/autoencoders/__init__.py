"""Autoencoders as generative models: the autoencoder as a conditional Pyro program
(plain, denoising, sparse, contractive), its corruption processes, stacks of them, and
generative stochastic networks."""

from .autoencoder import ACTIVATIONS, LIKELIHOODS, Autoencoder
from .corruption import NOISES, Corruption
from .gsn import GSN
from .stacked import StackedAutoencoder

__all__ = ["Autoencoder", "StackedAutoencoder", "GSN", "Corruption", "NOISES", "ACTIVATIONS", "LIKELIHOODS"]
