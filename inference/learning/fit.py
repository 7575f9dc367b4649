"""Training energy models by contrastive rules: :func:`fit`, the energy families' trainer."""

from __future__ import annotations

import contextlib
from dataclasses import replace

import torch

from models.energy import EnergyModel
from pgm import SPIN_KINDS
from pgm.checks import check_bool, check_chains_memory, check_model, check_units, validation_disabled

from .. import backends
from ..distributed import Shard, average_gradients, joined, rank_seed
from ..mcmc.sampling import make_generator
from ..threads import graph_work, threads_for
from ..training import Trainer, check_callbacks, fingerprint, monitor_subset, run_epochs
from ..training.loop import epoch_rows
from ..training.checkpointer import generator_part, optimizer_part, scheduler_part
from .averaging import ParameterAverage
from .contrastive import CD, PCD
from .hamiltonian import PersistentHMC
from .tempered import PT
from .history import History
from .monitor import monitor as _monitor
from .multi_prediction import MultiPrediction
from .positive import MeanFieldPhase
from .options import SHORTHAND, Checkpoint, Evaluation, Optimization, check_choice, check_float, check_int
from .parts import average_part as _average_part, estimator_part as _estimator_part
from .schedules import make_optimizer, make_scheduler, param_groups
from .steps import GenericSteps

__all__ = ["fit"]

_PLL_UNITS = {"auto": 2, "rows": 32}  # random units per example of the PLL above monitor.EXACT_PLL_UNITS
_RECON_EVERY = 8        # CD's training reconstruction error is taken on every 8th batch
_POSTFIX = {"train_recon_error": "train_recon", "recon_error": "recon", "pseudo_log_likelihood": "pll",
            "log_likelihood": "ll"}


def _name(obj):
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return getattr(obj, "__qualname__", None) or type(obj).__qualname__


def _check_data(model, x, name, binary=False):
    if len(model.data_groups) > 1:  # several observed groups side by side (pixels and a label)
        from ..partition.visible import check_visible

        return check_visible(model, x, "fit", exact=binary, name=name, allow_empty=True).to(
            dtype=model.dtype, device=model.device)
    grp = model.graph[model.visible_name]
    bern, spin = grp.kind == "bernoulli", grp.kind in SPIN_KINDS  # spins: ±1 outcomes (a Hopfield net's energy)
    return check_units(x, name, grp.n_units, binary=(binary and bern) or spin, unit_interval=bern, spin=spin,
                       dtype=model.dtype, device=model.device)


def check_shorthand(options: dict) -> None:
    """Check the keywords of ``options`` that fill :func:`fit`'s option groups (``lr``,
    ``eval_every``, ``checkpoint_every``, ...; the others are left alone), as :func:`fit`
    would: trainers that pass them on to ``fit`` later (the DBN's layers) refuse a bad
    value before any work."""
    known = {k for keys in SHORTHAND.values() for k in keys}
    _groups(None, None, None, {k: v for k, v in options.items() if k in known and k != "resume"})


def _groups(optim, evaluate, checkpoint, shorthand):
    """The three option groups from the objects and the plain keywords that fill them."""
    unknown = sorted(set(shorthand) - {k for keys in SHORTHAND.values() for k in keys})
    if unknown:
        valid = sorted(k for keys in SHORTHAND.values() for k in keys)
        raise TypeError(f"fit: unexpected keyword argument(s) {unknown}; besides its named arguments fit takes {valid}")
    given = {group: {SHORTHAND[group][k]: v for k, v in shorthand.items() if k in SHORTHAND[group]}
             for group in SHORTHAND}
    if optim is None:
        optim = Optimization(**given["optim"])
    elif not isinstance(optim, Optimization):
        raise TypeError(f"fit: optim must be an inference.learning.Optimization, got {type(optim).__name__}")
    elif given["optim"]:
        optim = replace(optim, **given["optim"])
    if isinstance(evaluate, str):
        evaluate = Evaluation(evaluate, **given["evaluate"])
    elif evaluate is not None and not isinstance(evaluate, Evaluation):
        raise TypeError(f"fit: evaluate must be None, 'exact', 'ais' or an Evaluation, got {evaluate!r}")
    elif given["evaluate"] and evaluate is not None:
        evaluate = replace(evaluate, **given["evaluate"])
    elif given["evaluate"]:  # without evaluate they have nothing to do, but a bad value is still refused
        Evaluation(**given["evaluate"])
    if checkpoint is not None and not isinstance(checkpoint, Checkpoint):
        checkpoint = Checkpoint(checkpoint, **given["checkpoint"])
    elif given["checkpoint"]:
        if checkpoint is None:
            if given["checkpoint"].get("resume"):
                raise ValueError("fit: resume needs checkpoint=<path of the checkpoint file>")
        else:
            checkpoint = replace(checkpoint, **given["checkpoint"])
    return optim, evaluate, checkpoint


def fit(model: EnergyModel, data: torch.Tensor, *, method: str | None = None, k: int | None = None,
        epochs: int = 50, batch_size: int = 20, n_chains: int | None = None, n_temperatures: int = 5,
        sample_visible: bool = True, seed: int | None = 0,
        optim: Optimization | None = None, evaluate=None, checkpoint=None, callbacks=(), monitor="auto",
        backend: str = "auto", progress: bool = True, positive=None, multi_prediction=None, hmc=None, distributed=None,
        **options) -> History:
    r"""Train an energy model by CD-k, PCD-k, PT, SML, MP or HMC with a ``torch.optim`` optimizer.

    This is the energy families' trainer; :func:`inference.fit` trains a model of any
    family through its family and calls this for energy models. The run goes through the
    one epoch loop (:func:`inference.training.run_epochs`). A model that standardises
    its data (``GaussianRBM``, ``SpikeSlabRBM``) and has none yet (``standardised`` is
    ``False``: built by its constructor) learns the data's shift and scale before the
    first epoch, as ``from_data`` would.

    Each epoch shuffles ``data`` with the run's generator; for every batch the estimator
    (:class:`~inference.CD`, :class:`~inference.PCD` or :class:`~inference.PT`) writes ⟨∂F/∂θ⟩_data −
    ⟨∂F/∂θ⟩_model into ``.grad``, the optimizer steps, then the LR schedule and the
    parameter average. After each epoch the metrics go into the returned
    :class:`History`, the callbacks run and the checkpoint is written.

    The defaults are the recipe measured best on binarized digits (64×16 RBM, 50 epochs,
    batch 20; ``benchmarks/rbm_digits.py``): CD-1 with sampled reconstructions, SGD with
    momentum 0.5 for 5 epochs then 0.9, the model's default learning rate (0.1 for the
    RBM) decayed linearly to 0 over the run, no weight decay. For the binary RBM PCD-1
    needs a smaller step or averaging (e.g. ``momentum=0.5, lr=0.2, average="polyak"``);
    the Gaussian RBM's default is PCD-1 at lr 0.003 (``benchmarks/grbm_digits.py``).

    Parameters
    ----------
    model : EnergyModel
        Trained in place, on its own device and dtype (``model.to(device)`` first).
    data : Tensor, shape (n, n_visible)
        Training data; binary or in [0, 1] for Bernoulli visible units, real values for
        Gaussian ones. Checked once.
    method : {"cd", "pcd", "pt", "sml", "mp", "hmc"}, optional
        The learning rule; ``None`` takes the model's ``default_method`` ("cd" for the
        RBM, "pcd" for the Gaussian RBM: the recipes measured best for each; "sml" for
        the DBM). ``"pt"``: the negative phase from persistent parallel-tempering chains
        (:class:`~inference.PT`). "sml" is PCD with a mean-field positive phase
        (variational SML, Goodfellow, Bengio & Courville, Algorithm 20.1). "mp"
        (DBM only): multi-prediction training, back-propagation of the cross-entropy
        of randomly masked visible units through unrolled mean-field
        (:class:`~inference.learning.MultiPrediction`); ``k``, ``n_chains`` and
        ``sample_visible`` do not apply, and ``train_recon_error`` records its loss.
        "hmc" (real-valued visible units with a free energy: the mcRBM, the mPoT): the
        negative phase from ``n_chains`` persistent HMC chains on −F(v), ``k``
        transitions per update (:class:`~inference.learning.PersistentHMC`); the history
        records their acceptance rate and step size.
    k : int, optional
        Gibbs steps per update (default 1).
    epochs : int, default 50
        Total number of epochs (a resumed run continues up to it).
    batch_size : int, default 20
    n_chains : int, optional
        PCD chains (PT: chains per temperature); default ``batch_size`` (the number of rows of
        ``data`` when that is smaller: a batch larger than the data is one batch of all of it).
    n_temperatures : int, default 5
        PT only: replicas per chain, on a geometric ladder of β from 1 to 0.1.
    sample_visible : bool, default True
        CD: sample the reconstructions; ``False`` uses their conditional means.
    seed : int or None, default 0
        Seeds the run's generator (shuffling and sampling). Monitoring and evaluation
        use generators of their own, so they never change the trajectory.
    optim : Optimization, optional
        Optimizer, momentum, learning rate and its schedule, weight decay, averaging
        (:class:`~inference.learning.Optimization`). Its fields may also be given as
        keywords: ``lr``, ``momentum``, ``weight_decay``, ``decay``, ``lr_schedule``,
        ``average``, ``average_start``, ``optimizer``.
    evaluate : None, "exact", "ais" or Evaluation
        Log-likelihood of held-out data every few epochs
        (:class:`~inference.learning.Evaluation`; keywords ``eval_data``,
        ``eval_every``, ``ais_options``, which do nothing without ``evaluate``).
    checkpoint : path or Checkpoint, optional
        Atomic, resumable checkpoints (:class:`~inference.learning.Checkpoint`;
        keywords ``checkpoint_every``, ``resume``).
    callbacks : callable or sequence of callables
        ``callback(epoch, history, model)`` after each epoch (``epoch`` counts the
        epochs done, ``model`` holds the current, not averaged, parameters). Returning
        ``True`` stops training after this epoch (the checkpoint is written first); an
        exception propagates and leaves the last checkpoint as it was.
    monitor : "auto" or int, default "auto"
        Size of the fixed, evenly strided subset of ``data`` on which reconstruction
        error and pseudo-log-likelihood are recorded each epoch (0: none). ``"auto"``
        takes n / 20 rows (at least 100, at most 1000) and, above 128 visible units,
        estimates the PLL from 2 random units per example (the same units every epoch),
        so that monitoring costs a small fraction of an epoch (about 6 % at 784 × 500);
        an explicit size is the more precise option (32 units per example above 128
        visible units).
    backend : {"auto", "torch", "pyro"}, default "auto"
        ``"auto"`` lets a backend run the steps where it recognises the set-up (the
        binary RBM's fused and native steps, :mod:`inference.backends`); ``"torch"``
        always runs the generic path. The two draw different random numbers: equally
        valid, not identical, runs. A directed model also takes ``"pyro"`` (the generic
        path: its traced programs); the VAE's fast path draws the same numbers.
    progress : bool, default True
        A tqdm bar over epochs showing the latest metrics.
    positive : callable, optional
        PCD/SML's positive phase ``positive(model, v, generator) -> state``; "sml"
        defaults to :class:`~inference.learning.MeanFieldPhase` () (10 mean-field passes,
        offsets of a centred model moved at rate 0.01).
    multi_prediction : MultiPrediction, optional
        Method "mp" only: its passes, masking probability and damping (default
        ``MultiPrediction()``: 10 passes, units hidden with probability 1/2); the masks
        are drawn from the run's generator.
    hmc : PersistentHMC, optional
        Method "hmc" only: the leapfrog steps, initial step size, target acceptance and
        its adaptation (default ``PersistentHMC()``: 20 leapfrog steps, target 0.9); its
        ``k`` and ``n_chains`` give way to fit's, its generator to the run's.
    distributed : bool or None, default None
        Data-parallel training over the processes of a ``torch.distributed`` group
        (:mod:`inference.distributed`); ``None`` joins one when a launcher such as
        ``torchrun`` started several processes. Each process trains a replica on its shard
        of ``data`` (``batch_size`` and ``n_chains`` per process), the gradients are
        averaged before every step, generators are seeded ``seed + rank`` and the
        backends' fast paths step aside; the monitoring subset's rows are split across the
        ranks (the PLL's units of rank r drawn from ``seed + r``); rank 0 writes the checkpoint.

    Returns
    -------
    History

    Raises
    ------
    TypeError, ValueError
        Bad arguments or data (checked before any training), or a checkpoint that does
        not match the run.

    Examples
    --------
    >>> from models.energy import RBM
    >>> data = torch.bernoulli(torch.full((200, 9), 0.3), generator=torch.Generator().manual_seed(0))
    >>> rbm = RBM.from_data(data, 4, seed=0)
    >>> hist = fit(rbm, data, method="pcd", epochs=2, batch_size=20, monitor=0, progress=False)
    >>> len(hist)
    2
    """
    # -- checks, all before any work ----------------------------------------------------
    k = 1 if k is None else k
    check_model(model, EnergyModel, "fit", hint=" (inference.fit trains every family)")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(f"fit: none of the {type(model).__name__}'s parameters requires grad, so a contrastive rule "
                         "has nothing to train; call model.requires_grad_(True) first (inference.fit does so for a "
                         "Hopfield net, whose storage rules set its couplings without a gradient)")
    method = check_choice(model.default_method if method is None else method, "method",
                          ("cd", "pcd", "pt", "sml", "mp", "hmc"))
    if method == "mp":
        MultiPrediction.check_model(model, "fit: method 'mp'")
        multi_prediction = MultiPrediction() if multi_prediction is None else multi_prediction
    if multi_prediction is not None and (method != "mp" or not isinstance(multi_prediction, MultiPrediction)):
        raise TypeError(f"fit: multi_prediction must be an inference.learning.MultiPrediction used with method "
                        f"'mp', got {multi_prediction!r} with method {method!r}")
    if method == "hmc":
        PersistentHMC.check_model(model, "fit: method 'hmc'")
        hmc = PersistentHMC() if hmc is None else hmc
    if hmc is not None and (method != "hmc" or not isinstance(hmc, PersistentHMC)):
        raise TypeError(f"fit: hmc must be an inference.learning.PersistentHMC used with method 'hmc', got {hmc!r} "
                        f"with method {method!r}")
    if method == "sml" and positive is None:
        positive = MeanFieldPhase()
    if positive is not None and (method not in ("pcd", "sml") or not callable(positive)):
        raise TypeError(f"fit: positive must be a callable (model, v, generator) -> state used with method "
                        f"'pcd' or 'sml', got {positive!r} with method {method!r}")
    k, epochs, batch_size = check_int(k, "k"), check_int(epochs, "epochs"), check_int(batch_size, "batch_size")
    if monitor != "auto":
        monitor = check_int(monitor, "monitor", 0)
    if n_chains is not None:
        n_chains = check_int(n_chains, "n_chains")
    n_temperatures = check_int(n_temperatures, "n_temperatures")
    check_bool(sample_visible, "sample_visible", "fit"), check_bool(progress, "progress", "fit")
    backends.check_backend(backend, "fit")
    optim, evaluate, checkpoint = _groups(optim, evaluate, checkpoint, options)
    callbacks = check_callbacks(callbacks)
    data = _check_data(model, data, "data")
    if data.shape[0] == 0:
        raise ValueError("fit: data has no rows")
    if method in ("pcd", "sml", "pt", "hmc"):  # the persistent chains, allocated at the first batch: refuse them now
        chains = n_chains or min(batch_size, data.shape[0])
        rows, what = (chains * n_temperatures, f"{n_temperatures} temperatures × {chains} chains") if method == "pt" \
            else (chains, f"{chains} chains")
        check_chains_memory(model, rows, "fit", what, dtype=model.dtype)
    if evaluate is not None:
        eval_data = _check_data(model, data if evaluate.data is None else evaluate.data, "eval_data", binary=True)
        _check_evaluation(model, evaluate, data, seed or 0)
    lr = check_float(model.default_lr if optim.lr is None else optim.lr, "lr", 0.0, torch.finfo(model.dtype).max,
                     low_open=True)

    # -- set-up -------------------------------------------------------------------------
    with joined(distributed, model.device, "fit") as replicas:  # the process group, closed at the end
        gen = make_generator(rank_seed(seed, replicas), model.device)
        shard = None if replicas is None else Shard(data.shape[0], replicas, seed or 0)  # this rank's rows
        n = data.shape[0] if shard is None else shard.size
        chains = n_chains or min(batch_size, n)  # a batch larger than the data is all of it
        if replicas is not None and hasattr(positive, "distribute"):  # e.g. a centred DBM's offsets, moved alike
            positive = positive.distribute(replicas)
        est = CD(k, sample_visible=sample_visible, generator=gen) if method == "cd" \
            else PCD(k, n_chains=chains, generator=gen, positive=positive) if method in ("pcd", "sml") \
            else PT(k, n_chains=chains, n_temperatures=n_temperatures, generator=gen) if method == "pt" \
            else hmc.with_generator(gen, chains, k) if method == "hmc" \
            else MultiPrediction(multi_prediction.n_iter, multi_prediction.mask_prob, multi_prediction.damping, gen)
        momentum_fn = optim.momentum_fn()
        opt = make_optimizer(optim.optimizer, param_groups(model, lr, optim.weight_decay, optim.decay), lr,
                             momentum_fn(0) if momentum_fn else None)
        if momentum_fn is not None and not all("momentum" in g for g in opt.param_groups):
            raise ValueError(f"fit: momentum={optim.momentum!r} but {type(opt).__name__} has no 'momentum' "
                             "hyperparameter; pass momentum=None (e.g. for Adam, whose betas play that role)")
        if replicas is not None:  # the rules write .grad by hand: the step averages it over the ranks first
            average_gradients(opt, replicas)
        steps_per_epoch = -(-n // batch_size)
        sched = make_scheduler(optim.lr_schedule, opt, epochs * steps_per_epoch)
        avg = None
        if optim.average is not None:
            start = optim.average_start
            if start is None:
                start = epochs // 2 if optim.average == "polyak" else 0
            avg = ParameterAverage(model, optim.average, start * steps_per_epoch)
        request = getattr(est, "backend_request", lambda: None)()
        runner = (request is not None and replicas is None  # the fast paths step by themselves: not across ranks
                  and backends.fast_path(model, request, opt, backend=backend)) or GenericSteps(model, est, opt)
        subset = monitor_subset(data, monitor)
        pll_units = _PLL_UNITS["auto" if monitor == "auto" else "rows"]
        settings = {"method": method, "k": k, "batch_size": batch_size, "lr": lr, "momentum": _name(optim.momentum),
                    "weight_decay": optim.weight_decay, "decay": optim.decay,
                    "lr_schedule": _name(optim.lr_schedule), "average": optim.average,
                    "average_start": optim.average_start, "optimizer": _name(optim.optimizer),
                    "n_chains": n_chains, "sample_visible": sample_visible, "seed": seed}
        if method == "pt":
            settings["n_temperatures"] = n_temperatures
        if positive is not None:
            settings["positive"] = repr(positive)
        if method == "mp":
            settings["multi_prediction"] = repr(multi_prediction)
        if method == "hmc":
            settings["hmc"] = repr(est)
        trainer = _EnergyTrainer(model, data, settings, runner, opt, sched, est, gen, avg, momentum_fn,
                                 steps_per_epoch, subset, pll_units, evaluate,
                                 eval_data if evaluate is not None else None, epochs)
        trainer.replicas, trainer.shard = replicas, shard
        return run_epochs(trainer, epochs, checkpoint=checkpoint, callbacks=callbacks, progress=progress)


class _EnergyTrainer(Trainer):
    """An energy model's run in the epoch loop: batches through the runner (a backend's or
    the generic steps), then monitoring and evaluation with the averaged parameters."""

    postfix = _POSTFIX
    rank_parts = ("generator", "estimator")  # per rank in a data-parallel run
    shard = None

    def __init__(self, model, data, settings, runner, opt, sched, est, gen, avg, momentum_fn, steps_per_epoch,
                 subset, pll_units, evaluate, eval_data, epochs):
        self.model, self.data, self._settings, self.runner = model, data, settings, runner
        self.opt, self.sched, self.est, self.gen, self.avg = opt, sched, est, gen, avg
        self.momentum_fn, self.steps_per_epoch, self.epochs = momentum_fn, steps_per_epoch, epochs
        self.subset, self.pll_units, self.evaluate, self.eval_data = subset, pll_units, evaluate, eval_data
        self.method, self.seed = settings["method"], settings["seed"]
        self.batch_size = settings["batch_size"]
        self.history, self.backend = History(), runner.name
        self.desc = f"fit {self.method}" + ("" if self.method == "mp" else f"-{settings['k']}")

    def settings(self) -> dict:
        return {**self._settings, "data": fingerprint(self.data)}

    def parts(self) -> dict:
        return {"optimizer": optimizer_part(self.opt), "scheduler": scheduler_part(self.sched),
                "estimator": _estimator_part(self.est, self.model), "generator": generator_part(self.gen),
                "average": _average_part(self.avg, self.model)}

    def session(self):
        return threads_for(graph_work(self.model.graph, min(self.batch_size, self.data.shape[0])))

    def lr(self) -> float:
        return self.opt.param_groups[0]["lr"]

    def fresh_state(self, name: str) -> None:
        if name == "generator":
            self.gen.manual_seed(self.replicas.seed(self.seed or 0))
        elif hasattr(self.est, "load_state_dict"):
            self.est.load_state_dict({"chains": None})  # chains start again at this rank's next batch

    def start(self, resumed: bool) -> None:
        if getattr(self.model, "standardised", True) is False:  # learn the data's shift and scale, as from_data
            self.model.standardise(self.data, func="fit")

    def train_epoch(self, epoch: int) -> dict:
        mom = self.momentum_fn(epoch) if self.momentum_fn else None
        if mom is not None:
            mom = check_float(mom, "momentum(epoch)", 0.0, 1.0, high_open=True)
            for g in self.opt.param_groups:
                g["momentum"] = mom
        perm = epoch_rows(self.data, self.gen, self.shard, epoch)
        train_err, _ = _train_epoch(self.runner, self.data, perm, self.sched, self.avg, self.batch_size,
                                    epoch * self.steps_per_epoch, self.method in ("cd", "mp"))
        stats = self.est.epoch_stats() if hasattr(self.est, "epoch_stats") else {}
        return {"train_recon_error": train_err, "lr": float(self.opt.param_groups[0]["lr"]), "momentum": mom,
                "hmc_accept": stats.get("hmc_accept"), "hmc_step_size": stats.get("hmc_step_size")}

    def evaluate_epoch(self, epoch: int, last: bool) -> dict:
        row = {"recon_error": None, "pseudo_log_likelihood": None, "log_likelihood": None, "log_z": None,
               "log_likelihood_lower": None, "log_likelihood_upper": None}
        evaluate = self.evaluate
        with _averaged(self.avg):
            if self.subset is not None:
                row["pseudo_log_likelihood"], row["recon_error"] = _monitor(self.model, self.subset, self.pll_units,
                                                                            self.seed or 0, self.replicas)
            if evaluate is not None and ((epoch + 1) % evaluate.every == 0 or last):
                (row["log_likelihood"], row["log_likelihood_lower"], row["log_likelihood_upper"],
                 row["log_z"]) = _evaluate(self.model, evaluate, self.eval_data, self.data, self.seed or 0,
                                           self.replicas)
        return row

    def finish(self, history) -> None:
        if self.avg is not None:
            self.avg.swap()  # the model ends with the averaged parameters


def _train_epoch(runner, data, perm, sched, avg, batch_size, step, tracked):
    """One pass over the rows ``perm`` of ``data`` through ``runner``; returns (the mean training
    reconstruction error over every 8th batch, or ``None`` for PCD; updates done)."""
    n = perm.shape[0]
    n_batches, n_full = -(-n // batch_size), n // batch_size
    total, n_tracked, j = torch.zeros((), dtype=torch.float64, device=data.device), 0, 0
    with validation_disabled():
        while j < n_batches:
            run = max(1, min(runner.steps_per_call if avg is None else 1, n_full - j))
            index = perm[j * batch_size:(j + run) * batch_size].view(run, -1)
            track = [tracked and (j + r) % _RECON_EVERY == 0 for r in range(run)]
            for recon in runner.run(data, index, track, sched):
                if recon is not None:
                    total.add_(recon)
                    n_tracked += index.shape[1]
            j, step = j + run, step + run
            if avg is not None:
                avg.update(step)
    return (total.item() / n_tracked if tracked else None), step


@contextlib.contextmanager
def _averaged(avg):
    """The averaged parameters in the model inside the block (nothing without averaging)."""
    if avg is None:
        yield
        return
    avg.swap()
    try:
        yield
    finally:
        avg.swap()


def _ais_options(evaluate, train_data, seed):
    return {"n_chains": 100, "base": "data", "data": train_data, "seed": seed, "progress": False,
            **(evaluate.ais_options or {})}


def _check_evaluation(model, evaluate, train_data, seed):
    """Refuse, before training, an evaluation that cannot run (too many states to
    enumerate, bad AIS options)."""
    from ..partition import check_ais_arguments, check_enumerable

    if evaluate.method == "exact":
        check_enumerable(model, func="fit: evaluate='exact': exact_log_partition")
    else:
        check_ais_arguments(model, **_ais_options(evaluate, train_data, seed))


def _evaluate(model, evaluate, eval_data, train_data, seed, replicas=None):
    """``(mean, lower, upper, log Z)`` of the evaluation; in a data-parallel run (``replicas``)
    the states or AIS chains and the rows are split across the ranks (the AIS chains of rank
    r seeded ``seed + r``), every rank getting the same numbers."""
    from ..evaluation import log_likelihood
    from ..partition.named import split_log_partition

    options = {} if evaluate.method == "exact" else _ais_options(evaluate, train_data, seed)
    log_z = split_log_partition(model, evaluate.method, replicas, **options)
    ll = log_likelihood(model, eval_data, log_z, distributed=replicas is not None)
    return float(ll.mean), float(ll.lower), float(ll.upper), float(log_z.log_z)
