"""Training adversarial models (:mod:`models.adversarial`): :func:`fit_gan` (the minimax
game, non-saturating or minimax generator loss, in the one epoch loop), the players'
objectives (:mod:`.losses`) and the theory of the game as checkable functions
(:mod:`.theory`: the optimal discriminator, the generator's criterion, the
Jensen-Shannon divergence)."""

from models.adversarial import GAN

from ..classes import register_class
from .losses import METHODS, discriminator_loss, generator_loss
from .theory import generator_criterion, jensen_shannon, optimal_discriminator, train_discriminator, value_function
from .train import GANHistory, ModeCollapseWarning, fit_gan

register_class(GAN)  # checkpoints of a GAN load by its class name

__all__ = ["GANHistory", "METHODS", "ModeCollapseWarning", "discriminator_loss", "fit_gan", "generator_criterion",
           "generator_loss", "jensen_shannon", "optimal_discriminator", "train_discriminator", "value_function"]
