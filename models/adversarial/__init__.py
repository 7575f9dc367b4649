"""Adversarially trained generators: the :class:`GAN` (and conditional GAN)."""

from .gan import GAN

__all__ = ["GAN"]
