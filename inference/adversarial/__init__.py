"""Training implicit generative models (:mod:`models.adversarial`): :func:`fit_gan` (the
minimax game, non-saturating or minimax generator loss, k discriminator steps, in the one
epoch loop), the players' objectives (:mod:`.losses`), the theory of the game as checkable
functions (:mod:`.theory`: the optimal discriminator, the generator's criterion, the
Jensen-Shannon divergence); moment matching (:mod:`.mmd`: the MMD² with a kernel bank,
:func:`fit_gmmn`, :func:`fit_gmmn_codes`); latent walks and vector arithmetic
(:mod:`.walks`); pictures of training (:mod:`.pictures`: the game per epoch, the
discriminator's output histograms, sample snapshots from fixed z as a callback)."""

from .losses import METHODS, discriminator_loss, generator_loss
from .mmd import ESTIMATORS, GMMNHistory, fit_gmmn, fit_gmmn_codes, mmd2
from .theory import generator_criterion, jensen_shannon, optimal_discriminator, train_discriminator, value_function
from .train import GANHistory, ModeCollapseWarning, fit_gan

__all__ = ["ESTIMATORS", "GANHistory", "GMMNHistory", "METHODS", "ModeCollapseWarning", "discriminator_loss",
           "fit_gan", "fit_gmmn", "fit_gmmn_codes", "generator_criterion", "generator_loss", "jensen_shannon", "mmd2",
           "optimal_discriminator", "train_discriminator", "value_function"]
