"""Per-epoch metrics of training a directed model: the :class:`DirectedHistory` record."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

__all__ = ["DirectedHistory"]


@dataclass
class DirectedHistory:
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

    def __len__(self):
        return len(self.epoch)

    def append(self, **row) -> None:
        """Add one epoch; every field must be given."""
        names = [f.name for f in fields(self)]
        if sorted(row) != sorted(names):
            raise ValueError(f"DirectedHistory.append needs exactly the fields {names}, got {sorted(row)}")
        for name in names:
            getattr(self, name).append(row[name])

    def last(self) -> dict:
        """The latest epoch's metrics (empty before the first epoch)."""
        return {f.name: getattr(self, f.name)[-1] for f in fields(self)} if len(self) else {}

    def as_dict(self) -> dict:
        """Field name → list of values (copies; JSON-serialisable)."""
        return {f.name: list(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "DirectedHistory":
        """Rebuild from :meth:`as_dict` output (unknown keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: list(v) for k, v in d.items() if k in names})
