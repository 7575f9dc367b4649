r"""Training autoregressive models by maximum likelihood: :func:`fit_autoregressive`, in the
one epoch loop.

Per minibatch x (rows shuffled by the run's generator) the model's own objective is
minimised (:meth:`models.autoregressive.AutoregressiveModel.training_loss`): the exact
negative log-likelihood −(1/B) Σ_b log p(x_b) for a model with one ordering; an unbiased
estimate of its expectation over orderings for order-agnostic NADE; the likelihood under
a mask set drawn per minibatch for MADE. Every epoch the history records the training
objective, the exact negative log-likelihood of a fixed monitoring subset and, with
``evaluate="exact"``, of the evaluation data — exact numbers, not estimates, since the
likelihood of these models is tractable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import torch

from pgm import checks
from pgm.checks import check_capable, validation_disabled

from ..mcmc.sampling import make_generator
from ..distributed import joined, map_rows
from ..training import EpochTable, OptimizerTrainer, check_callbacks, monitor_subset, run_epochs, training_data
from ..training.options import as_checkpoint, check_run_options, make_optimizer

__all__ = ["AutoregressiveHistory", "fit_autoregressive", "METHODS", "exact_nll"]

#: Training methods of autoregressive models (maximum likelihood, by the model's objective).
METHODS = ("likelihood",)
#: What an autoregressive model gives the trainer.
AUTOREGRESSIVE = ("check_data", "log_prob", "training_loss", "members", "n_visible")
check_choice = partial(checks.check_choice, where="fit")


@dataclass
class AutoregressiveHistory(EpochTable):
    """Per-epoch metrics of :func:`fit_autoregressive`, one entry per epoch.

    Attributes
    ----------
    epoch : list[int]
    loss : list[float]
        Mean training objective per example over the epoch's minibatches (nats).
    nll : list[float | None]
        Exact mean negative log-likelihood of the monitoring subset (nats per example),
        under the model's own ordering.
    eval_nll : list[float | None]
        With ``evaluate="exact"``: the same on ``eval_data`` every ``eval_every`` epochs.
    lr : list[float]
    seconds : list[float]
    """

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    nll: list = field(default_factory=list)
    eval_nll: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)


@torch.no_grad()
def exact_nll(model, x: torch.Tensor, members=None, replicas=None) -> float:
    """The exact mean negative log-likelihood of the rows of ``x`` (nats per example), under
    the model's own ordering, or of the ensemble of ``members`` (a list or a count); in a
    data-parallel run (``replicas``) each rank scores its rows
    (:func:`~inference.distributed.map_rows`) and every rank returns the mean over all."""
    def log_prob(rows):
        return model.log_prob(rows) if members is None else model.ensemble_log_prob(rows, members)

    with validation_disabled():
        lp = map_rows(log_prob, x, replicas)
    return float(-lp.double().mean())


def fit_autoregressive(model, data: torch.Tensor, *, method: str | None = None, epochs: int = 50,
                       batch_size: int = 20, lr: float = 1e-3, optimizer=None, weight_decay: float = 0.0,
                       seed: int | None = 0, evaluate: str | None = None, eval_data: torch.Tensor | None = None,
                       eval_every: int = 1, checkpoint=None, checkpoint_every: int = 1, resume=False, callbacks=(),
                       monitor="auto", progress: bool = True, distributed=None) -> AutoregressiveHistory:
    r"""Train an autoregressive model (:mod:`models.autoregressive`) by maximum likelihood.

    Parameters
    ----------
    model : AutoregressiveModel
        Trained in place.
    data : Tensor, shape (n, n_visible)
        Binary for Bernoulli models, finite reals for RNADE.
    method : {"likelihood"}, optional
        The model's own objective (module docstring).
    epochs : int, default 50
    batch_size : int, default 20
    lr : float, default 1e-3
    optimizer : torch.optim.Optimizer class, optional
        Called as ``optimizer(params, lr=lr, weight_decay=weight_decay)``; default Adam.
    weight_decay : float, default 0
    seed : int or None, default 0
        Seeds the shuffling and the objective's draws (orderings, masks).
    evaluate : None or "exact"
        The exact negative log-likelihood of ``eval_data`` every ``eval_every`` epochs and
        after the last.
    eval_data : Tensor, optional
        Default: ``data``.
    eval_every : int, default 1
    checkpoint, checkpoint_every, resume
        Atomic, resumable checkpoints (:class:`~inference.learning.Checkpoint`); a resumed
        run is bit-identical to an uninterrupted one.
    callbacks : callable or sequence
        ``callback(epoch, history, model)`` after each epoch; ``True`` stops.
    monitor : "auto" or int
        Rows of the fixed monitoring subset whose exact NLL is recorded every epoch (0:
        none; ``"auto"``: n / 20, 100 to 1000).
    progress : bool, default True
    distributed : bool or None, default None
        Data-parallel training over the processes of a ``torch.distributed`` group
        (:mod:`inference.distributed`): each rank its shard of the rows and its own
        draws, gradients averaged at every step; ``None`` joins one when a launcher such
        as ``torchrun`` set the environment.

    Returns
    -------
    AutoregressiveHistory

    Examples
    --------
    >>> import pgm
    >>> from models.autoregressive import NADE
    >>> x = pgm.load_digits()[:100]
    >>> history = fit_autoregressive(NADE(64, 16, seed=0), x, epochs=2, progress=False)
    >>> history.nll[-1] < history.nll[0]
    True
    """
    check_capable(model, AUTOREGRESSIVE, "fit", "an autoregressive model such as a models.autoregressive.NADE")
    method = check_choice("likelihood" if method is None else method, "method", METHODS)
    lr, weight_decay = check_run_options(epochs=epochs, batch_size=batch_size, eval_every=eval_every, lr=lr,
                                         weight_decay=weight_decay, seed=seed, monitor=monitor, progress=progress)
    check_choice(evaluate, "evaluate", (None, "exact"))
    checkpoint = as_checkpoint(checkpoint, checkpoint_every, resume)
    callbacks = check_callbacks(callbacks)
    data, eval_data = training_data(model, data, eval_data, evaluate)
    opt, opt_name = make_optimizer(model.parameters(), optimizer, lr, weight_decay)
    settings = {"method": method, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay, "seed": seed,
                "optimizer": opt_name}
    with joined(distributed, model.device, "fit") as replicas:  # the process group, closed at the end
        trainer = _AutoregressiveTrainer(model, data, settings, opt, make_generator(seed, model.device),
                                         monitor_subset(data, monitor),
                                         (eval_data, eval_every) if evaluate is not None else None)
        return run_epochs(trainer.distribute(replicas), epochs, checkpoint=checkpoint, callbacks=callbacks,
                          progress=progress)


class _AutoregressiveTrainer(OptimizerTrainer):
    """An autoregressive model's run in the epoch loop."""

    postfix = {"loss": "loss", "nll": "nll", "eval_nll": "eval"}

    def __init__(self, model, data, settings, opt, gen, subset, evaluation):
        super().__init__(model, data, opt, gen, settings)
        self.subset, self.evaluation = subset, evaluation
        self.history, self.desc = AutoregressiveHistory(), f"fit {type(model).__name__}"

    def train_epoch(self, epoch: int) -> dict:
        data, model, opt, gen = self.data, self.model, self.opt, self.gen
        perm = self.order(epoch)
        total = torch.zeros((), dtype=torch.float64, device=data.device)
        with validation_disabled():
            for batch in perm.split(self._settings["batch_size"]):
                x = data[batch]
                opt.zero_grad(set_to_none=True)
                loss = model.training_loss(x, gen)
                loss.backward()
                opt.step()
                total += loss.detach().double() * x.shape[0]
        return {"loss": float(total) / perm.shape[0], "lr": float(opt.param_groups[0]["lr"])}

    def evaluate_epoch(self, epoch: int, last: bool) -> dict:
        row = {"nll": None, "eval_nll": None}
        if self.subset is not None:
            row["nll"] = exact_nll(self.model, self.subset, replicas=self.replicas)  # rows split
        if self.evaluation is not None:
            eval_data, every = self.evaluation
            if (epoch + 1) % every == 0 or last:
                row["eval_nll"] = exact_nll(self.model, eval_data, replicas=self.replicas)
        return row
