"""Autoencoders: training (reconstruction, walk-back), stacks (greedy, fine-tuning, a
classifier from the encoders), and the denoising autoencoder's Markov chain."""

from . import chain as dae_chain
from .stacked import StackedHistory, fit_stacked, stacked_classifier
from .train import METHODS, AutoencoderHistory, batch_loss, errors, fit_autoencoder

__all__ = ["AutoencoderHistory", "METHODS", "StackedHistory", "batch_loss", "dae_chain", "errors",
           "fit_autoencoder", "fit_stacked", "stacked_classifier"]
