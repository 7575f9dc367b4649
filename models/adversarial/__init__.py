"""Implicit generative models: a generator network read as a Pyro program — the deep
convolutional GAN and the generative moment matching network."""

from .dcgan import DCGAN
from .gmmn import GMMN, GMMNAutoencoder

__all__ = ["DCGAN", "GMMN", "GMMNAutoencoder"]
