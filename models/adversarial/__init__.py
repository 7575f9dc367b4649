"""Implicit generative models: a generator network x = G(z), z ~ N(0, I), read as a Pyro
program (z → v, with a Delta observation for training and a Gaussian or Bernoulli one for
likelihood evaluation) — the :class:`GAN` (and conditional GAN) of MLPs, the deep
convolutional :class:`DCGAN`, and the generative moment matching network :class:`GMMN`
(also on an autoencoder's codes, :class:`GMMNAutoencoder`)."""

from .dcgan import DCGAN
from .gan import GAN
from .gmmn import GMMN, GMMNAutoencoder

__all__ = ["GAN", "DCGAN", "GMMN", "GMMNAutoencoder"]
