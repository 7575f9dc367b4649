r"""Training sequence RBMs by contrastive divergence: :func:`fit_sequences`, in the one epoch
loop.

Every modelled frame t of a minibatch of sequences has its RBM, biases b_t, c_t computed
from the data's past (for the RNN-RBM: the RNN run over the data). CD-k draws a negative
frame v*_t by k block Gibbs sweeps in that RBM started at the data frame v_t, and the
gradient of −log p(v_t | past) is estimated by

.. math::

    \frac{\partial(-\log p)}{\partial b_t} \approx -(v_t - v^*_t), \qquad
    \frac{\partial(-\log p)}{\partial c_t} \approx -(\sigma(c_t + v_t W) - \sigma(c_t + v^*_t W)),

and likewise for W. These are the gradients of the surrogate loss (:func:`cd_loss`)

.. math::

    L = \frac{1}{R} \sum_{n,t} F_t(v_{n,t}) - F_t(\operatorname{sg}[v^*_{n,t}]), \qquad
    F_t(v) = -b_t^\top v - \sum_j \operatorname{softplus}(c_t + vW)_j,

(R frames, sg: no gradient through the sample), so autograd carries the bias gradients on
through b_t = b + A s_t, c_t = c + B s_t into A and B (the conditional RBM, Taylor et al.
2007) or back through time into the RNN (the RNN-RBM, Boulanger-Lewandowski et al. 2012,
whose training algorithm is exactly this). Any torch optimizer applies (Adam by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import torch
import torch.nn.functional as F

from models.energy import FrameRBM, TemporalRBM
from pgm import checks
from pgm.checks import check_int, check_model, validation_disabled

from ..mcmc import gibbs
from ..mcmc.sampling import make_generator
from ..distributed import joined
from ..training import EpochTable, checkpointer, OptimizerTrainer, check_callbacks, monitor_subset, run_epochs, training_data
from ..training.options import as_checkpoint, check_run_options, make_optimizer
from .likelihood import MAX_EXACT_UNITS, sequence_log_likelihood

__all__ = ["SequenceHistory", "fit_sequences", "cd_negatives", "free_energy_gap", "cd_loss", "METHODS"]

#: Training methods of sequence RBMs.
METHODS = ("cd",)
check_choice = partial(checks.check_choice, where="fit")


@dataclass
class SequenceHistory(EpochTable):
    """Per-epoch metrics of :func:`fit_sequences`.

    Attributes
    ----------
    epoch : list[int]
    loss : list[float]
        Mean surrogate loss per frame (the free-energy gap between data and CD samples).
    recon : list[float]
        Mean squared error per pixel between the data frames and the CD samples' means.
    nll : list[float | None]
        Per-frame negative log-likelihood of a fixed monitoring subset of sequences, exact
        (``None`` when both layers exceed :data:`~inference.sequences.likelihood.MAX_EXACT_UNITS`).
    eval_nll : list[float | None]
        With ``evaluate``: the same on ``eval_data`` (exact or AIS) every ``eval_every`` epochs.
    lr : list[float]
    seconds : list[float]
    """

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    recon: list = field(default_factory=list)
    nll: list = field(default_factory=list)
    eval_nll: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)


@torch.no_grad()
def cd_negatives(W, frames, b_t, c_t, k: int, generator: torch.Generator):
    """CD-k negatives: k block Gibbs sweeps in each frame's RBM from the data frame.

    ``frames``, ``b_t``: (R, V); ``c_t``: (R, H); returns ``(v_star, mean)``, the sampled
    frames (R, V) and their conditional means σ(b_t + W h) at the last sweep."""
    rbm = FrameRBM(W, b_t, c_t)
    with validation_disabled():
        chain = gibbs.init(rbm, frames.shape[0], generator, values={"v": frames.detach().to(rbm.W)})
        chain = gibbs.run(rbm, chain, k, generator)
        return chain.values["v"].to(W.dtype), rbm.conditional("v", chain.values).mean


def free_energy_gap(W, frames, negatives, b_t, c_t) -> torch.Tensor:
    """The surrogate (1/R) Σ_r F_r(v_r) − F_r(v*_r) of rows (R, ·) (module docstring); its
    gradient is the CD estimate of the mean ∂(−log p)/∂θ, the negatives held fixed."""
    def free(v):
        return -(v * b_t).sum(-1) - F.softplus(c_t + v @ W).sum(-1)
    return (free(frames) - free(negatives.detach())).mean()


def cd_loss(model: TemporalRBM, x: torch.Tensor, k: int, generator: torch.Generator):
    """``(loss, recon)`` for sequences x (N, T, V): the CD-k surrogate (differentiable in
    every parameter, through the context) and the reconstruction error per pixel."""
    frames, b_t, c_t = model.frame_biases(x)
    V, H = model.n_visible, model.n_hidden
    frames, b_t, c_t = frames.reshape(-1, V), b_t.reshape(-1, V), c_t.reshape(-1, H)
    v_star, mean = cd_negatives(model.W, frames, b_t.detach(), c_t.detach(), k, generator)
    loss = free_energy_gap(model.W, frames, v_star, b_t, c_t)
    return loss, float(((mean - frames) ** 2).mean())


def fit_sequences(model: TemporalRBM, data: torch.Tensor, *, method: str | None = None, k: int = 1,
                  epochs: int = 50, batch_size: int = 10, lr: float = 1e-3, optimizer=None, weight_decay: float = 0.0,
                  seed: int | None = 0, evaluate: str | None = None, eval_data: torch.Tensor | None = None,
                  eval_every: int = 1, checkpoint=None, checkpoint_every: int = 1, resume=False, callbacks=(),
                  monitor="auto", progress: bool = True, distributed=None) -> SequenceHistory:
    r"""Train a sequence RBM (conditional RBM, RNN-RBM) by CD-k with back-propagation of the
    bias gradients into the context (module docstring).

    Parameters
    ----------
    model : TemporalRBM
        Trained in place.
    data : Tensor, shape (n_sequences, length, n_visible)
        Frames in [0, 1]; every sequence longer than ``model.n_given``.
    method : {"cd"}, optional
    k : int, default 1
        Gibbs sweeps per negative frame.
    epochs : int, default 50
    batch_size : int, default 10
        Sequences per minibatch (all their frames at once).
    lr : float, default 1e-3
    optimizer : torch.optim.Optimizer class, optional
        Default Adam.
    weight_decay : float, default 0
    seed : int or None, default 0
        Seeds the shuffling and the Gibbs chains.
    evaluate : None, "exact" or "ais"
        The per-frame NLL of ``eval_data`` every ``eval_every`` epochs and after the last.
    eval_data : Tensor, optional
        Default: ``data``.
    eval_every : int, default 1
    checkpoint, checkpoint_every, resume
        Atomic, resumable checkpoints; a resumed run is bit-identical to an uninterrupted one.
    callbacks : callable or sequence
        ``callback(epoch, history, model)`` after each epoch; ``True`` stops.
    monitor : "auto" or int
        Sequences of the fixed monitoring subset whose exact per-frame NLL is recorded every
        epoch (0: none; ``"auto"``: n / 20, 5 to 20; skipped where the exact log Z would be
        costly: both layers over 16 units, or more than :data:`MONITOR_WORK` terms).
    progress : bool, default True
    distributed : bool or None, default None
        Data-parallel training over the processes of a ``torch.distributed`` group
        (:mod:`inference.distributed`): each rank its shard of the sequences and its own
        chains, gradients averaged at every step; the monitoring and ``evaluate`` NLLs
        split the sequences across the ranks (:func:`sequence_log_likelihood`); ``None``
        joins one when a launcher such as ``torchrun`` set the environment.

    Returns
    -------
    SequenceHistory

    Examples
    --------
    >>> from models.energy import ConditionalRBM
    >>> from pgm.sequences import bouncing_balls
    >>> x = bouncing_balls(10, 6, side=8, n_balls=1, radius=1.5)
    >>> model = ConditionalRBM.from_data(x, 4, order=1, seed=0)
    >>> history = fit_sequences(model, x, epochs=2, lr=0.02, progress=False)
    >>> history.nll[-1] < history.nll[0]
    True
    """
    check_model(model, TemporalRBM, "fit", what="a sequence RBM (ConditionalRBM, RNNRBM)")
    method = check_choice("cd" if method is None else method, "method", METHODS)
    k = check_int(k, "k", 1, "fit")
    lr, weight_decay = check_run_options(epochs=epochs, batch_size=batch_size, eval_every=eval_every, lr=lr,
                                         weight_decay=weight_decay, seed=seed, monitor=monitor, progress=progress)
    check_choice(evaluate, "evaluate", (None, "exact", "ais"))
    if evaluate == "exact" and min(model.n_visible, model.n_hidden) > MAX_EXACT_UNITS:
        raise ValueError(f"fit: evaluate='exact' needs a layer of at most {MAX_EXACT_UNITS} units, the model has "
                         f"{model.n_visible} visible and {model.n_hidden} hidden; use evaluate='ais'")
    checkpoint = as_checkpoint(checkpoint, checkpoint_every, resume)
    callbacks = check_callbacks(callbacks)
    data, eval_data = training_data(model, data, eval_data, evaluate)
    opt, opt_name = make_optimizer(model.parameters(), optimizer, lr, weight_decay)
    settings = {"method": method, "k": k, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
                "seed": seed, "optimizer": opt_name}
    with joined(distributed, model.device, "fit") as replicas:  # the process group, closed at the end
        trainer = _SequenceTrainer(model, data, settings, opt, make_generator(seed, model.device),
                                   _monitor_subset(model, data, monitor),
                                   (eval_data, eval_every, evaluate) if evaluate is not None else None)
        return run_epochs(trainer.distribute(replicas), epochs, checkpoint=checkpoint, callbacks=callbacks,
                          progress=progress)


#: The most softplus terms (frames × 2^units × other layer) of the monitor's exact log Z per epoch.
MONITOR_WORK = 2 ** 27


def _monitor_subset(model, data, monitor):
    """The fixed monitoring sequences: ``monitor`` of them ("auto": n / 20, 5 to 20), or
    ``None`` where none are asked for or their exact log Z would cost more than
    :data:`MONITOR_WORK` terms per epoch (a large layer)."""
    rows = min(data.shape[0], max(5, min(20, data.shape[0] // 20))) if monitor == "auto" else monitor
    small, large = sorted((model.n_visible, model.n_hidden))
    frames = rows * (data.shape[1] - model.n_given)
    if not rows or small > MAX_EXACT_UNITS or frames * 2 ** small * large > MONITOR_WORK:
        return None
    return monitor_subset(data, rows)


class _SequenceTrainer(OptimizerTrainer):
    """A sequence RBM's run in the epoch loop."""

    postfix = {"loss": "loss", "nll": "nll", "eval_nll": "eval"}

    def __init__(self, model, data, settings, opt, gen, subset, evaluation):
        super().__init__(model, data, opt, gen, settings)
        self.subset, self.evaluation = subset, evaluation
        self.history, self.desc = SequenceHistory(), f"fit {type(model).__name__}"

    def settings(self) -> dict:
        """The run's settings with the fingerprint of the sequences (each flattened to a row)
        and their shape, compared on resume."""
        data = self.data
        return {**self._settings, "data": [*checkpointer.fingerprint(data.reshape(data.shape[0], -1)),
                                           list(data.shape)]}

    def train_epoch(self, epoch: int) -> dict:
        data, model, opt, gen = self.data, self.model, self.opt, self.gen
        perm = self.order(epoch)
        total = torch.zeros((), dtype=torch.float64, device=data.device)
        recon = 0.0
        with validation_disabled():
            for batch in perm.split(self._settings["batch_size"]):
                opt.zero_grad(set_to_none=True)
                loss, err = cd_loss(model, data[batch], self._settings["k"], gen)
                loss.backward()
                opt.step()
                total += loss.detach().double() * len(batch)
                recon += err * len(batch)
        n = perm.shape[0]
        return {"loss": float(total) / n, "recon": recon / n, "lr": float(opt.param_groups[0]["lr"])}

    def evaluate_epoch(self, epoch: int, last: bool) -> dict:
        row = {"nll": None, "eval_nll": None}
        split = self.replicas is not None  # a data-parallel run: the sequences split across its ranks
        if self.subset is not None:
            row["nll"] = sequence_log_likelihood(self.model, (self.subset > 0.5).to(self.subset), "exact",
                                                 distributed=split).nll
        if self.evaluation is not None:
            eval_data, every, method = self.evaluation
            if (epoch + 1) % every == 0 or last:
                row["eval_nll"] = sequence_log_likelihood(self.model, (eval_data > 0.5).to(eval_data), method,
                                                          distributed=split).nll
        return row
