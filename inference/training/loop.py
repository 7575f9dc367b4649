"""The one epoch loop every trainer runs in: :class:`Trainer` and :func:`run_epochs`.

A trainer says how to train one epoch and how to score it; the loop does the rest, the
same for every family:

* resuming from a checkpoint (:func:`inference.training.checkpointer.restore`);
* a tqdm bar over the epochs showing the latest metrics;
* the **non-finite guard**: after each epoch's training, a parameter that became NaN or
  infinite puts back the parameters of the epoch's start and raises FloatingPointError
  naming the epoch, the parameters and the learning rate (the checkpoint keeps the last
  good epoch);
* one history row per epoch (``epoch`` and ``seconds`` added by the loop);
* callbacks ``callback(epoch, history, model)``, any of which may return ``True`` to stop;
* the checkpoint every ``checkpoint.every`` epochs, after the last and when stopped.

In a data-parallel run (a trainer whose ``replicas`` is set, :mod:`inference.distributed`)
the loop also copies rank 0's parameters to every rank once at the start, averages each
row's float columns over the ranks, copies rank 0's floating-point buffers (batch
normalisation's running statistics) to every rank after each epoch, as
``DistributedDataParallel`` does, stops every rank when a callback on any rank asks to,
shows the bar on rank 0 only, and lets rank 0 alone write the checkpoint (each rank's
generators and chains gathered into it). :meth:`OptimizerTrainer.distribute` makes a
trainer of this kind one replica of such a run.
"""

from __future__ import annotations

import abc
import contextlib
import math
import os
import time

import torch

from ..distributed import Shard, average_gradients
from . import checkpointer

__all__ = ["Trainer", "OptimizerTrainer", "run_epochs", "check_callbacks", "monitor_subset", "training_data"]


class Trainer(abc.ABC):
    """One training run as the epoch loop drives it. Subclasses set the attributes and
    define :meth:`train_epoch`; the other methods have defaults.

    Attributes
    ----------
    model : torch.nn.Module
        Trained in place.
    history : EpochTable
        The run's (empty) record; the loop appends one row per epoch.
    where : str
        Prefix of the loop's messages (``"fit"``).
    desc : str
        The progress bar's label.
    postfix : dict
        History columns shown on the bar → their short names.
    backend : str or None
        Name of the path that runs the steps (a resumed run on another one warns).
    replicas : inference.distributed.Replicas or None
        The process group of a data-parallel run (``None``: one process).
    rank_parts : tuple of str
        The :meth:`parts` that differ from rank to rank (generators, persistent chains):
        gathered in checkpoints, one per rank.
    """

    model: torch.nn.Module
    history = None
    where = "fit"
    desc = "fit"
    postfix: dict = {}
    backend: str | None = None
    replicas = None
    rank_parts: tuple = ()

    @abc.abstractmethod
    def train_epoch(self, epoch: int) -> dict:
        """Train epoch ``epoch`` (0-based); return the row's training columns."""

    def evaluate_epoch(self, epoch: int, last: bool) -> dict:
        """The row's monitoring and evaluation columns after epoch ``epoch`` (``last``:
        the run's final epoch); nothing by default."""
        return {}

    def settings(self) -> dict:
        """The run's settings as JSON-able data, compared on resume (asked for only when
        a checkpoint is written or read)."""
        return {}

    def parts(self) -> dict:
        """The :class:`~inference.training.checkpointer.Part` s of the run's state besides
        the model's parameters."""
        return {}

    def session(self):
        """A context manager around the whole run (threads, seeded global generators)."""
        return contextlib.nullcontext()

    def start(self, resumed: bool) -> None:
        """Called once before the first epoch of this call, after a resume (if any)
        succeeded: set-up that must not happen when the run is refused."""

    def lr(self) -> float | None:
        """The learning rate in force, for the divergence message."""
        return None

    def finish(self, history) -> None:
        """Called once the loop has ended without an error."""

    def fresh_state(self, name: str) -> None:
        """Give this rank fresh state for the part ``name`` of :attr:`rank_parts` when it
        resumes a checkpoint written by fewer processes; ValueError by default."""
        raise ValueError(f"{self.where}: this run cannot resume its {name!r} state on more processes than "
                         "wrote the checkpoint; resume on the same number of processes")


class OptimizerTrainer(Trainer):
    """A trainer of one optimizer and the run's own generator: its settings (compared on
    resume) with the data's fingerprint, both checkpointed, and the optimizer's rate.

    Parameters
    ----------
    model : torch.nn.Module
    data : Tensor
        The training data (fingerprinted for the settings).
    optimizer : torch.optim.Optimizer
    generator : torch.Generator
    settings : dict
        The run's JSON-able settings.
    """

    rank_parts = ("generator",)  # each rank draws its own batches' randomness
    shard = None

    def __init__(self, model, data, optimizer, generator, settings: dict):
        self.model, self.data, self.opt, self.gen, self._settings = model, data, optimizer, generator, settings

    def distribute(self, replicas, *optimizers) -> "OptimizerTrainer":
        """Make this run one replica of a data-parallel run over ``replicas`` (``None``:
        leave it a single-process run); returns ``self``.

        The rank trains on its :class:`~inference.distributed.Shard` of the rows (the
        same permutation on every rank each epoch, seeded by the settings' ``seed``),
        draws its own randomness (the generator reseeded with ``seed + rank``), and each
        optimizer's step first averages the gradients over the ranks
        (:func:`~inference.distributed.average_gradients`; default: the run's optimizer).
        """
        if replicas is None:
            return self
        seed = self._settings.get("seed")
        self.replicas, self.shard = replicas, Shard(self.data.shape[0], replicas, seed or 0)
        if seed is not None:
            self.gen.manual_seed(replicas.seed(seed))
        for opt in optimizers or (self.opt,):
            average_gradients(opt, replicas)
        return self

    def order(self, epoch: int) -> torch.Tensor:
        """The rows trained in epoch ``epoch`` (:func:`epoch_rows`)."""
        return epoch_rows(self.data, self.gen, self.shard, epoch)

    def fresh_state(self, name: str) -> None:
        if name == "generator":  # a rank the checkpoint did not have: its own seed
            seed = self._settings.get("seed")
            self.gen.manual_seed(self.replicas.seed(seed or 0))
        else:
            super().fresh_state(name)

    def settings(self) -> dict:
        return {**self._settings, "data": checkpointer.fingerprint(self.data)}

    def parts(self) -> dict:
        return {"optimizer": checkpointer.optimizer_part(self.opt), "generator": checkpointer.generator_part(self.gen)}

    def lr(self) -> float:
        return self.opt.param_groups[0]["lr"]


def epoch_rows(data, generator, shard, epoch: int) -> torch.Tensor:
    """The rows of ``data`` trained in epoch ``epoch``, in order: a permutation of all rows
    drawn from ``generator``, or in a data-parallel run (``shard`` not None) this rank's
    rows of the epoch's shared permutation."""
    if shard is None:
        return torch.randperm(data.shape[0], generator=generator, device=data.device)
    return shard.indices(epoch, data.device)


def training_data(model, data, eval_data=None, evaluate=None, where: str = "fit"):
    """``(data, eval_data)`` checked by ``model.check_data``: ``data`` with at least one
    row; with ``evaluate``, ``eval_data`` (default ``data``) too, else ``None``."""
    data = model.check_data(data, "data")
    if data.shape[0] == 0:
        raise ValueError(f"{where}: data has no rows")
    if evaluate is None:
        return data, None
    return data, model.check_data(data if eval_data is None else eval_data, "eval_data")


def monitor_subset(data, monitor):
    """The fixed, evenly strided rows of ``data`` monitored each epoch: ``monitor`` rows, or
    for ``"auto"`` n / 20 (at least 100, at most 1000, at most n); ``None`` for 0."""
    n = data.shape[0]
    rows = min(n, max(100, min(1000, n // 20))) if monitor == "auto" else monitor
    return data[:: max(1, n // rows)][:rows] if rows else None


def check_callbacks(callbacks, where: str = "fit") -> tuple:
    """``callbacks`` (one callable or a sequence) as a tuple of callables; TypeError otherwise."""
    if callable(callbacks):
        callbacks = (callbacks,)
    elif isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
        raise TypeError(f"{where}: callbacks must be a callable (epoch, history, model) or a sequence of them, "
                        f"got {type(callbacks).__name__} {callbacks!r}")
    callbacks = tuple(callbacks)
    for cb in callbacks:
        if not callable(cb):
            raise TypeError(f"{where}: callbacks must be callables (epoch, history, model), got {cb!r}")
    return callbacks


def run_epochs(trainer: Trainer, epochs: int, *, checkpoint=None, callbacks=(), progress: bool = True):
    """Run ``trainer`` up to ``epochs`` epochs (from the checkpoint's epoch when it resumes);
    returns its history.

    Parameters
    ----------
    trainer : Trainer
    epochs : int
        Total epochs (a resumed run continues up to it).
    checkpoint : inference.learning.Checkpoint, optional
        Path, cadence and whether to resume.
    callbacks : tuple of callables
        Checked already (:func:`check_callbacks`).
    progress : bool
    """
    from tqdm.auto import tqdm

    history, epoch0, replicas = trainer.history, 0, trainer.replicas
    with trainer.session():
        if checkpoint is not None and checkpoint.resume and (checkpoint.resume is True
                                                             or os.path.exists(checkpoint.path)):
            epoch0, history = checkpointer.restore(checkpoint.path, trainer)
            trainer.history = history
        trainer.start(resumed=epoch0 > 0)
        if replicas is not None:
            replicas.broadcast_module(trainer.model)
        bar = tqdm(total=epochs, initial=epoch0, desc=trainer.desc, unit="epoch",
                   disable=not progress or (replicas is not None and not replicas.is_main))
        try:
            for epoch in range(epoch0, epochs):
                t0 = time.perf_counter()
                start = [p.detach().clone() for p in trainer.model.parameters()]
                row = trainer.train_epoch(epoch)
                seconds = time.perf_counter() - t0
                if replicas is not None:
                    row = replicas.mean(row)
                    replicas.broadcast_buffers(trainer.model)
                _check_finite(trainer, start, epoch, checkpoint, row.get("loss"))
                row.update(trainer.evaluate_epoch(epoch, epoch + 1 == epochs))
                history.append(epoch=epoch + 1, seconds=seconds, **row)
                bar.update(1)
                bar.set_postfix({short: f"{row[key]:.4g}" for key, short in trainer.postfix.items()
                                 if row.get(key) is not None}, refresh=False)
                stop = any(cb(epoch + 1, history, trainer.model) is True for cb in callbacks)
                if replicas is not None:
                    stop = replicas.any(stop)
                if checkpoint is not None and (stop or epoch + 1 == epochs or (epoch + 1) % checkpoint.every == 0):
                    checkpointer.save(checkpoint.path, trainer, epoch + 1, history)
                if stop:
                    break
        finally:
            bar.close()
    trainer.finish(history)
    return history


def _check_finite(trainer, start, epoch, checkpoint, loss=None) -> None:
    """After an epoch: if any parameter, or the epoch's training objective ``loss``, is NaN or
    infinite, put back the parameters of the epoch's start and raise FloatingPointError
    (the checkpoint keeps the last good epoch)."""
    model = trainer.model
    finite_loss = not isinstance(loss, float) or math.isfinite(loss)
    if finite_loss and all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        return
    bad = [name for name, p in model.named_parameters() if not bool(torch.isfinite(p).all())]
    what = f"parameters {bad} became NaN or infinite" if bad else f"the training objective became {loss}"
    with torch.no_grad():
        for p, p0 in zip(model.parameters(), start):
            p.copy_(p0)
    kept = f"; the checkpoint {os.fspath(checkpoint.path)!r} is left as it was" if checkpoint is not None else ""
    lr = trainer.lr()
    rate = "" if lr is None else f" (learning rate {lr:.3g} at the end of it)"
    raise FloatingPointError(
        f"{trainer.where}: {what} during epoch {epoch + 1}{rate}: training "
        f"diverged. The model holds the parameters from the start of that epoch{kept}. Lower lr (or momentum) "
        "and run again")
