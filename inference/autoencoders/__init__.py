"""Autoencoders: training (reconstruction, walk-back), stacks (greedy, fine-tuning, a
classifier from the encoders), the denoising autoencoder's Markov chain, and generative
stochastic networks."""

from . import chain as dae_chain
from .gsn import GSNHistory, fit_gsn, gsn_loss, sample_gsn
from .stacked import StackedHistory, fit_stacked, stacked_classifier
from .train import METHODS, AutoencoderHistory, batch_loss, errors, fit_autoencoder

__all__ = ["AutoencoderHistory", "GSNHistory", "METHODS", "StackedHistory", "fit_gsn", "gsn_loss", "sample_gsn", "batch_loss", "dae_chain", "errors",
           "fit_autoencoder", "fit_stacked", "stacked_classifier"]
