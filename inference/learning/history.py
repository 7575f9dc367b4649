"""Per-epoch training metrics of :func:`inference.learning.fit`: the :class:`History` record."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..training.history import EpochTable

__all__ = ["History"]


@dataclass
class History(EpochTable):
    """Per-epoch metrics of a :func:`fit` run, one list entry per completed epoch.

    Attributes
    ----------
    epoch : list[int]
        Epochs completed (1, 2, …).
    recon_error : list[float | None]
        Mean over the monitoring subset of the squared error of the mean-field
        reconstruction (:func:`inference.evaluation.reconstruction_error`; for the RBM
        ‖v − σ(b + W σ(c + vW))‖²).
    pseudo_log_likelihood : list[float | None]
        Mean pseudo-log-likelihood per example of the monitoring subset (nats): exact up
        to 128 visible units, else estimated from 2 (``monitor="auto"``) or 32 random
        units per example (the same units every epoch). ``None`` for non-binary data.
    train_recon_error : list[float | None]
        CD only: mean of ‖v − v₁‖², v₁ the first reconstruction of the negative chain
        (visible probabilities), over every 8th batch of the epoch (batches 1, 9, 17, …;
        nearly free, and unbiased for the epoch mean since batches are shuffled);
        multi-prediction (``method="mp"``): the mean masked cross-entropy per example
        (nats) over the same batches; ``None`` for PCD.
    log_likelihood, log_z : list[float | None]
        With ``evaluate``: mean log p(v) per example of ``eval_data`` and the log Z
        used (exact or AIS); ``None`` on epochs without evaluation.
    log_likelihood_lower, log_likelihood_upper : list[float | None]
        The same mean with log Z at the upper and the lower end of its bracket (equal to
        ``log_likelihood`` for exact log Z): the band ``pgm.training_curves`` shades.
    lr, momentum : list[float | None]
        Learning rate and momentum in force at the end of the epoch.
    hmc_accept, hmc_step_size : list[float | None]
        Method "hmc": the mean acceptance probability of the epoch's HMC transitions and
        the chains' median step size at its end; ``None`` for the other rules.
    seconds : list[float]
        Training time of the epoch (without monitoring, evaluation or checkpointing).
    """

    epoch: list = field(default_factory=list)
    recon_error: list = field(default_factory=list)
    pseudo_log_likelihood: list = field(default_factory=list)
    train_recon_error: list = field(default_factory=list)
    log_likelihood: list = field(default_factory=list)
    log_z: list = field(default_factory=list)
    log_likelihood_lower: list = field(default_factory=list)
    log_likelihood_upper: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    momentum: list = field(default_factory=list)
    hmc_accept: list = field(default_factory=list)
    hmc_step_size: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
