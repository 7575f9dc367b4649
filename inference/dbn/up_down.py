r"""Generative fine-tuning of a deep belief net by the up-down algorithm.

Hinton, Osindero & Teh (2006, appendix B): for a batch of data v,

1. **up (wake) pass** — h_l ~ q(h_l | h_{l−1}) = σ(R_l h_{l−1} + c_l) for l < L, from
   h_0 = v; the generative weights learn to predict each wake layer from the one above
   (the delta rule, ΔW_l ∝ (h_{l−1} − σ(W_l h_l + b_{l−1})) h_lᵀ);
2. **top** — CD-k on the top RBM with the wake h_{L−1} as its data: k Gibbs sweeps from
   h_L ~ p(h_L | h_{L−1}) end at a state (h⁻_{L−1}, h⁻_L);
3. **down (sleep) pass** — from h⁻_{L−1}, h_{l−1} ~ p(h_{l−1} | h_l) down to v; the
   recognition weights learn to predict each sleep layer from the one below
   (ΔR_l ∝ (h_l − σ(R_l h_{l−1} + c_l)) h_{l−1}ᵀ).

All three are gradients of one surrogate loss per batch (samples held fixed):

.. math::

    \ell = \tfrac1B \sum_b \Big[ F(h^{\rm wake}_{L-1}) - F(h^{-}_{L-1})
        - \sum_{l<L} \log p(h^{\rm wake}_{l-1} \mid h^{\rm wake}_l)
        - \sum_{l<L} \log q(h^{\rm sleep}_l \mid h^{\rm sleep}_{l-1}) \Big],

stepped by SGD. The recognition weights are untied from the generative ones from the
first update on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from models.directed import DBN
from pgm.checks import check_bool, check_choice, check_float, check_int, check_model, check_seed

from ..distributed import joined
from ..training import OptimizerTrainer, check_callbacks, run_epochs
from ..training.history import EpochTable
from ..training.options import as_checkpoint
from ..mcmc.sampling import bernoulli, make_generator
from .likelihood import dbn_log_likelihood, set_dbn_prior

__all__ = ["UpDownHistory", "up_down_loss", "fit_up_down"]


@dataclass
class UpDownHistory(EpochTable):
    """Per-epoch metrics of :func:`fit_up_down`, one list entry per epoch.

    Attributes
    ----------
    epoch : list[int]
    loss : list[float]
        Mean surrogate loss of the epoch's updates (module docstring).
    log_likelihood, bound, log_z : list[float | None]
        With ``evaluate``: the importance estimate and the ELBO of ``eval_data`` (nats per
        example) and the top RBM's log Z; ``None`` otherwise.
    lr : list[float]
    seconds : list[float]
        Training time of the epoch (without evaluation).
    """

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    log_likelihood: list = field(default_factory=list)
    bound: list = field(default_factory=list)
    log_z: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)



def _log_bernoulli(logits, value):
    return (value * logits - F.softplus(logits)).sum(-1)


def up_down_loss(dbn: DBN, v: torch.Tensor, k: int, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
    """The surrogate loss of one up-down update on the batch ``v`` (B, n_visible).

    Returns ``(loss, states)``: ``loss`` a scalar whose gradient is the up-down update
    (module docstring), ``states`` the wake and sleep layers (``"wake"``, ``"sleep"``:
    lists bottom-up, v first) and the top RBM's negative state (``"negative"``).
    """
    L = dbn.n_layers
    with torch.no_grad():
        wake = [v]
        for up in dbn.recognition:
            wake.append(bernoulli(torch.sigmoid(up(wake[-1])), generator))
        top = dbn.top
        h = bernoulli(torch.sigmoid(top.hidden_logits(wake[-1])), generator)
        for _ in range(k):
            neg = bernoulli(torch.sigmoid(top.visible_logits(h)), generator)
            h = bernoulli(torch.sigmoid(top.hidden_logits(neg)), generator)
        sleep = [neg]
        for down in reversed(dbn.generative):
            sleep.append(bernoulli(torch.sigmoid(down(sleep[-1])), generator))
        sleep = sleep[::-1]  # v first
    loss = top.free_energy(wake[-1]) - top.free_energy(neg)
    for l in range(1, L):
        loss = loss - _log_bernoulli(dbn.generative[l - 1](wake[l]), wake[l - 1])
        loss = loss - _log_bernoulli(dbn.recognition[l - 1](sleep[l - 1]), sleep[l])
    return loss.mean(), {"wake": wake, "sleep": sleep, "negative": (neg, h)}


def fit_up_down(dbn: DBN, data: torch.Tensor, *, method: str = "up_down", epochs: int = 10, batch_size: int = 20,
                lr: float = 0.01, k: int = 10, seed: int | None = 0, evaluate: str | None = None,
                eval_data: torch.Tensor | None = None, n_samples: int = 1000, ais_options: dict | None = None,
                checkpoint=None, checkpoint_every: int = 1, resume=False, callbacks=(),
                progress: bool = True, distributed=None) -> UpDownHistory:
    r"""Fine-tune a (greedily trained) :class:`models.DBN` by the up-down algorithm.

    Parameters
    ----------
    dbn : models.DBN
        Trained in place (``inference.fit(dbn, data, method="up_down")``); ``dbn.prior``
        is set again at the end (with the last evaluated log Z, else none).
    data : Tensor, shape (n, n_visible)
        Binary training data.
    method : "up_down"
    epochs : int, default 10
    batch_size : int, default 20
    lr : float, default 0.01
        SGD step of every parameter (no momentum).
    k : int, default 10
        Gibbs sweeps in the top RBM per update (Hinton et al. use 3 to 10).
    seed : int or None, default 0
        Seeds the shuffling and every draw.
    evaluate : None, "exact" or "ais"
        After each epoch, :func:`inference.dbn.dbn_log_likelihood` on ``eval_data``
        (default ``data``) with K = ``n_samples``: ``log_likelihood`` (the importance
        estimate), ``bound`` (the ELBO) and ``log_z`` in the history.
    checkpoint : path or :class:`~inference.learning.Checkpoint`, optional
        Atomic, resumable checkpoints of the run (``checkpoint_every`` epochs apart;
        ``resume`` True or "auto" continues one, bit for bit).
    callbacks : callable or sequence
        ``callback(epoch, history, dbn)`` after each epoch; returning ``True`` stops.
    progress : bool, default True
    distributed : bool or None, default None
        Data-parallel training over the processes of a ``torch.distributed`` group
        (:mod:`inference.distributed`): each rank its shard of the rows and its own
        draws, the surrogate's gradient averaged at every step; ``None`` joins one when a
        launcher such as ``torchrun`` set the environment.

    Returns
    -------
    UpDownHistory
        Per epoch: ``epoch``, ``loss`` (mean surrogate), ``lr``, ``seconds`` and, with
        ``evaluate``, ``log_likelihood``, ``bound``, ``log_z``.
    """
    where = "fit(method='up_down')"
    check_model(dbn, DBN, where, what="a models.DBN")
    check_choice(method, "method", ("up_down",), "fit")
    epochs, batch_size = check_int(epochs, "epochs", 1, where), check_int(batch_size, "batch_size", 1, where)
    k, n_samples = check_int(k, "k", 1, where), check_int(n_samples, "n_samples", 1, where)
    lr = check_float(lr, "lr", 0.0, low_open=True, where=where)
    seed = check_seed(seed, where)
    check_choice(evaluate, "evaluate", (None, "exact", "ais"), "fit")
    check_bool(progress, "progress", where)
    callbacks = check_callbacks(callbacks, where)
    checkpoint = as_checkpoint(checkpoint, checkpoint_every, resume, where)
    data = dbn.check_data(data, "data")
    if data.shape[0] == 0:
        raise ValueError(f"{where}: data has no rows")
    if evaluate is not None:
        eval_data = dbn.check_data(data if eval_data is None else eval_data, "eval_data")
    with joined(distributed, dbn.device, where) as replicas:  # the process group, closed at the end
        trainer = _UpDownTrainer(dbn, data, k, batch_size, lr, seed, evaluate, eval_data, n_samples, ais_options)
        return run_epochs(trainer.distribute(replicas), epochs, checkpoint=checkpoint, callbacks=callbacks,
                          progress=progress)


class _UpDownTrainer(OptimizerTrainer):
    """Up-down fine-tuning in the epoch loop: SGD on :func:`up_down_loss` per batch."""

    where, desc = "fit(method='up_down')", "fit up-down"
    postfix = {"loss": "loss", "log_likelihood": "ll"}

    def __init__(self, dbn, data, k, batch_size, lr, seed, evaluate, eval_data, n_samples, ais_options):
        super().__init__(dbn, data, torch.optim.SGD(dbn.parameters(), lr=lr), make_generator(seed, dbn.device),
                         {"method": "up_down", "k": k, "batch_size": batch_size, "lr": lr, "seed": seed})
        self.k, self.batch_size, self._lr, self.seed = k, batch_size, lr, seed
        self.evaluate, self.eval_data, self.n_samples, self.ais_options = evaluate, eval_data, n_samples, ais_options
        self.history, self.estimate = UpDownHistory(), None

    def train_epoch(self, epoch: int) -> dict:
        data, total = self.data, 0.0
        perm = self.order(epoch)
        for batch in perm.split(self.batch_size):
            self.opt.zero_grad(set_to_none=True)
            loss, _ = up_down_loss(self.model, data[batch], self.k, self.gen)
            loss.backward()
            self.opt.step()
            total += float(loss.detach()) * batch.numel()
        return {"loss": total / perm.shape[0], "lr": self._lr}

    def evaluate_epoch(self, epoch: int, last: bool) -> dict:
        if self.evaluate is None:
            return {"log_likelihood": None, "bound": None, "log_z": None}
        est = self.estimate = dbn_log_likelihood(self.model, self.eval_data, self.evaluate, n_samples=self.n_samples,
                                                 seed=self.seed, train_data=self.data, ais_options=self.ais_options,
                                                 distributed=self.replicas is not None)  # split in a group
        return {"log_likelihood": est.mean, "bound": est.elbo, "log_z": est.log_z.log_z}

    def finish(self, history) -> None:
        set_dbn_prior(self.model, None if self.estimate is None else self.estimate.log_z)
