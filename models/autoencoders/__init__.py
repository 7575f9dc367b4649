"""Autoencoders as generative models: the autoencoder as a conditional Pyro program
(plain, denoising, sparse, contractive), its corruption processes, and stacks of them."""

from .autoencoder import ACTIVATIONS, LIKELIHOODS, Autoencoder
from .corruption import NOISES, Corruption
from .stacked import StackedAutoencoder

__all__ = ["Autoencoder", "StackedAutoencoder", "Corruption", "NOISES", "ACTIVATIONS", "LIKELIHOODS"]
