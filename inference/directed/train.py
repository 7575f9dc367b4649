r"""Training directed models: :func:`fit_directed`, which :func:`inference.fit` calls for them.

Every method is a per-example surrogate whose ``backward()`` writes the method's
gradient estimate into the model's parameters; a ``torch.optim`` optimizer steps on it:

========================  =======================================================  =========
method                    gradient                                                  bound shown
========================  =======================================================  =========
``"elbo"``                Pyro's ``Trace_ELBO`` (pathwise or score function)        ELBO
``"nvil"``                score function with NVIL's baselines (:class:`NVIL`)      ELBO
``"iwae"``                ∇ of the K-sample bound, pathwise (reparameterised z)      K-sample
``"rws"``                 reweighted wake-sleep, K particles, per-example weights    K-sample
``"wake_sleep"``          wake phase on guide samples, sleep phase on dreams         ELBO
========================  =======================================================  =========
"""

from __future__ import annotations

import contextlib
from functools import partial

import pyro
import torch

from models.directed import DirectedModel
from pgm import checks
from pgm.checks import check_seed, validation_disabled

from ..backends import fast_path
from ..distributed import joined, map_rows, rank_seed
from ..training import OptimizerTrainer, check_callbacks, monitor_subset, run_epochs, training_data
from ..training.options import as_checkpoint, make_optimizer
from ..training.checkpointer import global_rng_parts, module_part
from ..mcmc.sampling import make_generator
from ..threads import threads_for
from .history import DirectedHistory
from .nvil import NVIL
from .objectives import Objective, elbo_loss, iwae_loss
from .rws import rws_loss
from .wake_sleep import wake_sleep_loss
from ..evaluation.weights import log_weights, seeded

__all__ = ["fit_directed", "METHODS", "PARTICLE_METHODS"]

check_int, check_float, check_choice = (partial(f, where="fit") for f in (checks.check_int, checks.check_float,
                                                                           checks.check_choice))

#: Training methods of directed models.
METHODS = ("elbo", "nvil", "iwae", "rws", "wake_sleep")
#: The methods that draw ``n_particles`` importance particles per example (the others ignore it).
PARTICLE_METHODS = ("iwae", "rws")
#: Values of ``backend``: "pyro" and "torch" both name the generic path (the traced programs).
BACKENDS = ("auto", "pyro", "torch")
_MONITOR_SEED = 12345


def _objective(model, method, n_particles, nvil, backend):
    fast = fast_path(model, Objective(method, n_particles), backend="torch" if backend == "pyro" else backend)
    if fast is not None:
        return fast
    if method == "nvil":
        return nvil.loss
    if method == "elbo":
        def step(model, x):
            loss = elbo_loss(model, x)
            return loss, -loss.detach()
    elif method == "iwae":
        def step(model, x):
            loss = iwae_loss(model, x, n_particles)
            return loss, -loss.detach()
    elif method == "rws":
        def step(model, x):
            return rws_loss(model, x, n_particles)
    else:
        step = wake_sleep_loss
    return step


def fit_directed(model: DirectedModel, data: torch.Tensor, *, method: str | None = None, n_particles: int = 5,
                 epochs: int = 50, batch_size: int = 100, lr: float = 1e-3, optimizer=None,
                 weight_decay: float = 0.0, seed: int | None = 0, evaluate=None, eval_data=None,
                 eval_every: int = 1, eval_samples: int = 100, checkpoint=None, checkpoint_every: int = 1,
                 resume=False, callbacks=(), monitor="auto", backend: str = "auto",
                 progress: bool = True, distributed=None) -> DirectedHistory:
    r"""Train a directed model (SBN, Helmholtz machine, VAE) by SVI, IWAE, RWS or wake-sleep.

    Each epoch shuffles ``data`` with the run's generator and, for every batch, computes
    the method's surrogate (averaged over the rows), calls ``backward()`` and steps the
    optimizer. Pyro draws from torch's global generator, which is seeded with ``seed``
    for the run and restored afterwards, so a seed reproduces a run and a resumed run
    ends with the same parameters as an uninterrupted one.

    Parameters
    ----------
    model : DirectedModel
        Trained in place, on its own device and dtype.
    data : Tensor, shape (n, n_visible)
        Binary for Bernoulli visible units; checked once.
    method : {"elbo", "nvil", "iwae", "rws", "wake_sleep"}, optional
        Default: the model's ``default_method`` ("rws" for the SBN, "elbo" for the VAE).
    n_particles : int, default 5
        K of ``"iwae"`` and ``"rws"``.
    epochs : int, default 50
    batch_size : int, default 100
    lr : float, default 1e-3
    optimizer : torch.optim.Optimizer class, optional
        Called as ``optimizer(params, lr=lr, weight_decay=weight_decay)``; default Adam.
    weight_decay : float, default 0
    seed : int or None, default 0
    evaluate : None or "importance"
        Importance log-likelihood (``eval_samples`` draws per row) of ``eval_data``
        (default ``data``) every ``eval_every`` epochs and after the last.
    checkpoint : path or :class:`~inference.learning.Checkpoint`, optional
        Atomic checkpoints with the model's ``state_dict``, optimizer, generators and
        history (``checkpoint_every``, ``resume`` as for energy models).
    callbacks : callable or sequence of callables
        ``callback(epoch, history, model)`` after each epoch; ``True`` stops training.
    backend : {"auto", "pyro", "torch"}, default "auto"
        ``"auto"``: a backend computes the step where it recognises the set-up (the VAE's
        ``"elbo"`` and ``"iwae"``, :mod:`inference.backends.vae`: the same estimator on
        the same draws, without tracing the programs); ``"pyro"`` (or ``"torch"``, the
        generic path's name for energy models) always traces the Pyro programs.
    monitor : "auto" or int
        Rows of the fixed subset on which the ELBO is recorded each epoch (0: none);
        ``"auto"`` takes n / 20 (at least 100, at most 1000).
    progress : bool, default True
        A tqdm bar over epochs.
    distributed : bool or None, default None
        Data-parallel training over the processes of a ``torch.distributed`` group, as for
        energy models (:func:`inference.learning.fit`): each process trains a replica on its
        shard of ``data`` (``batch_size`` rows per process and step), the per-example
        surrogate's gradients are averaged before every step (the mean over the
        concatenated batch), Pyro's generator is seeded ``seed + rank``, the monitored
        ELBO's rows are split across the ranks; ``None`` joins a group when a launcher
        such as ``torchrun`` started several processes.

    Returns
    -------
    DirectedHistory

    Examples
    --------
    >>> from models import SigmoidBeliefNet
    >>> data = torch.bernoulli(torch.full((40, 6), 0.3), generator=torch.Generator().manual_seed(0))
    >>> hist = fit_directed(SigmoidBeliefNet([6, 3], seed=0), data, method="rws", epochs=2, batch_size=10,
    ...                     progress=False)
    >>> len(hist)
    2
    """
    checks.check_model(model, DirectedModel, "fit")
    method = check_choice(getattr(model, "default_method", "elbo") if method is None else method, "method",
                          METHODS)
    k = check_int(n_particles, "n_particles")
    epochs, batch_size = check_int(epochs, "epochs"), check_int(batch_size, "batch_size")
    eval_every, eval_samples = check_int(eval_every, "eval_every"), check_int(eval_samples, "eval_samples")
    lr = check_float(lr, "lr", 0.0, low_open=True)
    weight_decay = check_float(weight_decay, "weight_decay")
    seed = check_seed(seed, "fit")
    if monitor != "auto":
        monitor = check_int(monitor, "monitor", 0)
    if evaluate is not None:
        check_choice(evaluate, "evaluate", ("importance",))
    check_choice(backend, "backend", BACKENDS)
    checkpoint = as_checkpoint(checkpoint, checkpoint_every, resume)
    callbacks = check_callbacks(callbacks)
    data, eval_data = training_data(model, data, eval_data, evaluate)
    if method == "iwae":
        with torch.no_grad(), validation_disabled():
            iwae_loss(model, data[:1], 1)  # refuses discrete latents before training
    if optimizer is not None and not callable(optimizer):
        raise TypeError(f"fit: optimizer must be a torch.optim.Optimizer class, got {optimizer!r}")
    with joined(distributed, model.device, "fit") as replicas:  # the process group, closed at the end
        return _run(model, data, eval_data, method, k, epochs, batch_size, lr, optimizer, weight_decay, seed,
                    evaluate, eval_every, eval_samples, checkpoint, callbacks, monitor, backend, progress, replicas)


def _run(model, data, eval_data, method, k, epochs, batch_size, lr, optimizer, weight_decay, seed, evaluate,
         eval_every, eval_samples, checkpoint, callbacks, monitor, backend, progress, replicas):
    """The checked run of :func:`fit_directed` on ``replicas`` (``None``: one process)."""
    nvil = None
    if method == "nvil":
        with seeded(seed, torch.device("cpu")):  # the baseline net's initialisation follows the seed
            nvil = NVIL(model.n_visible).to(device=model.device, dtype=model.dtype)
    params = list(model.parameters()) + (list(nvil.parameters()) if nvil is not None else [])
    opt, opt_name = make_optimizer(params, optimizer, lr, weight_decay)

    subset = monitor_subset(data, monitor)
    settings = {"method": method, "n_particles": k, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
                "optimizer": opt_name, "seed": seed}
    trainer = _DirectedTrainer(model, data, settings, _objective(model, method, k, nvil, backend), opt,
                               make_generator(seed, model.device), nvil, subset,
                               (eval_data, eval_every, eval_samples) if evaluate is not None else None)
    return run_epochs(trainer.distribute(replicas), epochs, checkpoint=checkpoint, callbacks=callbacks,
                      progress=progress)


class _DirectedTrainer(OptimizerTrainer):
    """A directed model's run in the epoch loop: the method's surrogate per batch, with
    torch's global generator (Pyro's) seeded for the run."""

    postfix = {"objective": "bound", "elbo": "elbo", "log_likelihood": "ll"}
    rank_parts = ("generator", "rng", "cuda_rng")  # per rank in a data-parallel run

    def __init__(self, model, data, settings, step_fn, opt, gen, nvil, subset, evaluation):
        super().__init__(model, data, opt, gen, settings)
        self.step_fn, self.nvil, self.subset, self.evaluation = step_fn, nvil, subset, evaluation
        self.history, self.desc = DirectedHistory(), f"fit {settings['method']}"
        self.run_seed = settings["seed"]

    def parts(self) -> dict:
        return {**super().parts(), **global_rng_parts(self.model.device), "estimator": module_part(self.nvil)}

    def session(self):
        s = self._settings
        # the largest product per update: a batch (× particles) through the largest weight matrix
        batch = min(s["batch_size"], self.data.shape[0])  # a batch larger than the data is all of it
        work = batch * (s["n_particles"] if s["method"] in PARTICLE_METHODS else 1) * max(
            p.numel() for p in self.model.parameters())
        stack = contextlib.ExitStack()
        stack.enter_context(seeded(self.run_seed, self.model.device))
        stack.enter_context(threads_for(work))
        return stack

    def distribute(self, replicas, *optimizers) -> "_DirectedTrainer":
        """As :meth:`OptimizerTrainer.distribute`, and Pyro's draws (torch's global
        generator, seeded for the run) seeded ``seed + rank``."""
        super().distribute(replicas, *optimizers)
        if replicas is not None:
            self.run_seed = replicas.seed(self._settings["seed"])
        return self

    def fresh_state(self, name: str) -> None:
        if name == "rng":  # torch.manual_seed seeds the CUDA generators too: "cuda_rng" needs nothing more
            torch.manual_seed(self.replicas.seed(self._settings["seed"] or 0))
        elif name != "cuda_rng":
            super().fresh_state(name)

    def train_epoch(self, epoch: int) -> dict:
        perm = self.order(epoch)
        objective = _train_epoch(self.model, self.data, perm, self.step_fn, self.opt, self._settings["batch_size"])
        return {"objective": objective, "lr": float(self.opt.param_groups[0]["lr"])}

    def evaluate_epoch(self, epoch: int, last: bool) -> dict:
        elbo = ll = None
        if self.subset is not None:
            elbo = _monitor_elbo(self.model, self.subset, self.replicas)
        if self.evaluation is not None:
            eval_data, every, samples = self.evaluation
            if (epoch + 1) % every == 0 or last:
                from ..evaluation.importance import importance_log_likelihood

                ll = importance_log_likelihood(self.model, eval_data, samples, seed=_MONITOR_SEED,
                                               distributed=self.replicas is not None).mean  # rows split
        return {"elbo": elbo, "log_likelihood": ll}


def _train_epoch(model, data, perm, step_fn, opt, batch_size) -> float:
    """One pass over the rows ``perm`` of ``data``; the mean over rows of the bound the method reports."""
    n = perm.shape[0]
    total = torch.zeros((), dtype=torch.float64, device=data.device)
    # the data were checked once: no argument checks of the models or of Pyro's distributions per step
    with validation_disabled(), pyro.validation_enabled(False):
        for i in range(0, n, batch_size):
            x = data[perm[i:i + batch_size]]
            opt.zero_grad(set_to_none=True)
            surrogate, bound = step_fn(model, x)
            surrogate.backward()
            opt.step()
            total += bound.detach().double() * x.shape[0]
    return float(total) / n


@torch.no_grad()
def _monitor_elbo(model, subset, replicas=None) -> float:
    """The mean single-sample ELBO log w of the rows of ``subset``, Pyro's draws seeded
    ``_MONITOR_SEED``; in a data-parallel run (``replicas``) each rank scores its rows
    r, r + W, ... (:func:`~inference.distributed.map_rows`) seeded ``_MONITOR_SEED + rank``
    and every rank returns the mean over all rows."""
    seed = rank_seed(_MONITOR_SEED, replicas)
    with seeded(seed, model.device), validation_disabled():
        return float(map_rows(lambda rows: log_weights(model, rows, 1)[0].double(), subset, replicas).mean())
