"""Sequence RBMs: training by CD-k with back-propagation through the context
(:func:`fit_sequences`), per-frame log-likelihoods (exact or AIS log Z per frame),
next-frame prediction, generation from a seed prefix and frame-strip pictures."""

from . import sampling
from .likelihood import (FrameLikelihood, ais_frame_log_partition, exact_frame_log_partition, frame_log_likelihood,
                         sequence_log_likelihood)
from .prediction import FramePrediction, next_frame_prediction, predict_frames
from .train import SequenceHistory, cd_loss, fit_sequences

__all__ = ["FrameLikelihood", "FramePrediction", "SequenceHistory", "ais_frame_log_partition", "cd_loss",
           "exact_frame_log_partition", "fit_sequences", "frame_log_likelihood", "next_frame_prediction",
           "predict_frames", "sampling", "sequence_log_likelihood"]
