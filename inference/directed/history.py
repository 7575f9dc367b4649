"""Per-epoch metrics of training a directed model: the :class:`DirectedHistory` record."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..training.history import EpochTable

__all__ = ["DirectedHistory"]


@dataclass
class DirectedHistory(EpochTable):
    """Per-epoch metrics of :func:`inference.fit` on a directed model, one entry per epoch.

    Attributes
    ----------
    epoch : list[int]
        Epochs completed (1, 2, …).
    objective : list[float]
        Mean over the epoch's batches of the method's bound per example (nats): the ELBO
        for ``"elbo"`` and ``"wake_sleep"``, the K-sample bound for ``"iwae"`` and ``"rws"``.
    elbo : list[float | None]
        ELBO per example on the monitoring subset (a fixed seed, 1 sample per row).
    log_likelihood : list[float | None]
        With ``evaluate="importance"``: the importance estimate on ``eval_data``
        (:func:`inference.importance_log_likelihood`), ``None`` on other epochs.
    lr : list[float]
    seconds : list[float]
        Training time of the epoch (without monitoring, evaluation or checkpointing).
    """

    epoch: list = field(default_factory=list)
    objective: list = field(default_factory=list)
    elbo: list = field(default_factory=list)
    log_likelihood: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
