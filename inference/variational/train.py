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

import copy
import json
import os
import time

import pyro
import torch

from models.directed import DirectedModel
from models.energy.validation import validation_disabled

from ..backends import fast_path
from ..checkpoint import invalid_file, load_checkpoint, model_config, write_payload
from ..learning.options import Checkpoint, check_choice, check_float, check_int
from ..learning.resume import fingerprint
from ..mcmc.sampling import make_generator
from ..threads import threads_for
from .history import DirectedHistory
from .nvil import NVIL
from .objectives import Objective, elbo_loss, iwae_loss
from .rws import rws_loss
from .wake_sleep import wake_sleep_loss
from .weights import log_weights, seeded

__all__ = ["fit_directed", "METHODS"]

#: Training methods of directed models.
METHODS = ("elbo", "nvil", "iwae", "rws", "wake_sleep")
_ENERGY_DEFAULTS = {"k": 1, "n_chains": None, "n_temperatures": 5, "optim": None, "sample_visible": True,
                    "positive": None}
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
                 resume=False, callbacks=(), monitor="auto", backend: str = "auto", progress: bool = True,
                 energy_options: dict | None = None) -> DirectedHistory:
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
    energy_options : dict, optional
        The energy-model arguments :func:`inference.fit` received; any that differs
        from its default is refused.

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
    if not isinstance(model, DirectedModel):
        raise TypeError(f"fit: model must be a DirectedModel, got {type(model).__name__}")
    for key, value in (energy_options or {}).items():
        if value != _ENERGY_DEFAULTS.get(key, value):
            raise TypeError(f"fit: {key}={value!r} is an option of energy models; a {type(model).__name__} "
                            "takes method, n_particles, lr, optimizer and the common options")
    method = check_choice(getattr(model, "default_method", "elbo") if method is None else method, "method",
                          METHODS)
    k = check_int(n_particles, "n_particles")
    check_int(epochs, "epochs"), check_int(batch_size, "batch_size"), check_int(eval_every, "eval_every")
    check_int(eval_samples, "eval_samples")
    lr = check_float(lr, "lr", 0.0, low_open=True)
    weight_decay = check_float(weight_decay, "weight_decay")
    if seed is not None:
        check_int(seed, "seed", 0)
    if monitor != "auto":
        check_int(monitor, "monitor", 0)
    if evaluate is not None:
        check_choice(evaluate, "evaluate", ("importance",))
    check_choice(backend, "backend", BACKENDS)
    if checkpoint is not None and not isinstance(checkpoint, Checkpoint):
        checkpoint = Checkpoint(checkpoint, checkpoint_every, resume)
    elif checkpoint is None and resume:
        raise ValueError("fit: resume needs checkpoint=<path of the checkpoint file>")
    callbacks = (callbacks,) if callable(callbacks) else tuple(callbacks)
    for cb in callbacks:
        if not callable(cb):
            raise TypeError(f"fit: callbacks must be callables (epoch, history, model), got {cb!r}")
    data = model.check_data(data, "data")
    if data.shape[0] == 0:
        raise ValueError("fit: data has no rows")
    if evaluate is not None:
        eval_data = model.check_data(data if eval_data is None else eval_data, "eval_data")
    if method == "iwae":
        with torch.no_grad(), validation_disabled():
            iwae_loss(model, data[:1], 1)  # refuses discrete latents before training
    opt_cls = torch.optim.Adam if optimizer is None else optimizer
    if not callable(opt_cls):
        raise TypeError(f"fit: optimizer must be a torch.optim.Optimizer class, got {optimizer!r}")
    nvil = None
    if method == "nvil":
        with seeded(seed, torch.device("cpu")):  # the baseline net's initialisation follows the seed
            nvil = NVIL(model.n_visible).to(device=model.device, dtype=model.dtype)
    params = list(model.parameters()) + (list(nvil.parameters()) if nvil is not None else [])
    opt = opt_cls(params, lr=lr, weight_decay=weight_decay)
    if not isinstance(opt, torch.optim.Optimizer):
        raise TypeError(f"fit: optimizer(params, lr=..., weight_decay=...) must return a torch.optim.Optimizer, "
                        f"got {type(opt).__name__}")

    n = data.shape[0]
    rows = min(n, max(100, min(1000, n // 20))) if monitor == "auto" else monitor
    subset = data[:: max(1, n // rows)][:rows] if rows else None
    step_fn = _objective(model, method, k, nvil, backend)
    gen = make_generator(seed, model.device)
    settings = json.loads(json.dumps({
        "method": method, "n_particles": k, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
        "optimizer": getattr(opt_cls, "__qualname__", type(opt).__qualname__), "seed": seed,
        "data": fingerprint(data)}))
    history, epoch0 = DirectedHistory(), 0
    from tqdm.auto import tqdm

    # the largest product per update: a batch (× particles) through the largest weight matrix
    work = batch_size * (k if method in ("iwae", "rws") else 1) * max(p.numel() for p in model.parameters())
    with seeded(seed, model.device), threads_for(work):
        if checkpoint is not None and checkpoint.resume and (checkpoint.resume is True
                                                             or os.path.exists(checkpoint.path)):
            epoch0, history = _restore(checkpoint.path, model, settings, opt, gen, nvil)
        bar = tqdm(total=epochs, initial=epoch0, desc=f"fit {method}", unit="epoch", disable=not progress)
        try:
            for epoch in range(epoch0, epochs):
                t0 = time.perf_counter()
                start = {key: v.detach().clone() for key, v in model.state_dict().items()}
                objective = _train_epoch(model, data, step_fn, opt, gen, batch_size)
                if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
                    model.load_state_dict(start)
                    kept = f"; the checkpoint {os.fspath(checkpoint.path)!r} is left as it was" if checkpoint else ""
                    raise FloatingPointError(f"fit: parameters became NaN or infinite during epoch {epoch + 1}: "
                                             f"training diverged. The model holds the parameters from the start "
                                             f"of that epoch{kept}. Lower lr and run again")
                seconds = time.perf_counter() - t0
                elbo = ll = None
                if subset is not None:
                    elbo = _monitor_elbo(model, subset)
                if evaluate is not None and ((epoch + 1) % eval_every == 0 or epoch + 1 == epochs):
                    from ..evaluation.importance import importance_log_likelihood

                    ll = importance_log_likelihood(model, eval_data, eval_samples, seed=_MONITOR_SEED).mean
                history.append(epoch=epoch + 1, objective=objective, elbo=elbo, log_likelihood=ll,
                               lr=float(opt.param_groups[0]["lr"]), seconds=seconds)
                bar.update(1)
                bar.set_postfix({key: f"{value:.4g}" for key, value in
                                 (("bound", objective), ("elbo", elbo), ("ll", ll)) if value is not None},
                                refresh=False)
                stop = any(cb(epoch + 1, history, model) is True for cb in callbacks)
                if checkpoint is not None and (stop or epoch + 1 == epochs or (epoch + 1) % checkpoint.every == 0):
                    _save(checkpoint.path, model, settings, opt, gen, epoch + 1, history, nvil)
                if stop:
                    break
        finally:
            bar.close()
    return history


def _train_epoch(model, data, step_fn, opt, gen, batch_size) -> float:
    """One pass over shuffled ``data``; the mean over rows of the bound the method reports."""
    n = data.shape[0]
    perm = torch.randperm(n, generator=gen, device=data.device)
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
def _monitor_elbo(model, subset) -> float:
    with seeded(_MONITOR_SEED, model.device), validation_disabled():
        return float(log_weights(model, subset, 1).double().mean())


def _rng_states(device):
    cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), cuda


def _save(path, model, settings, opt, gen, epoch, history, estimator) -> None:
    rng, cuda = _rng_states(model.device)
    write_payload(path, {
        "config": json.dumps(model_config(model)), "model": model.state_dict(), "fit": json.dumps(settings),
        "epoch": epoch, "history": history.as_dict(), "optimizer": opt.state_dict(),
        "generator": gen.get_state(), "rng": rng, "cuda_rng": cuda,
        "estimator": estimator.state_dict() if estimator is not None else None})


def _restore(path, model, settings, opt, gen, estimator):
    """Load a checkpoint of :func:`_save` into the run after checking that it matches;
    on a failure while loading, the model and optimizer are put back."""
    where = os.fspath(path)
    ckpt = load_checkpoint(path)  # format, checksum, config against model
    if "fit" not in ckpt:
        raise ValueError(f"fit: {where!r} holds a model, not a training checkpoint")
    saved_class = json.loads(ckpt["config"])["class"]
    if saved_class != type(model).__name__ or json.loads(ckpt["config"])["config"] != model.config():
        raise ValueError(f"fit: checkpoint {where!r} is for a {saved_class} {json.loads(ckpt['config'])['config']}, "
                         f"not this {type(model).__name__} {model.config()}")
    entries = ("epoch", "history", "optimizer", "generator", "rng", "cuda_rng", "estimator")
    missing = [key for key in entries if key not in ckpt]
    if missing:
        raise invalid_file(where, f"its training checkpoint lacks the entries {missing}")
    try:
        saved = json.loads(ckpt["fit"])
    except (TypeError, ValueError):
        raise invalid_file(where, "its 'fit' entry must be the JSON text of the run's settings") from None
    diff = sorted(key for key in set(saved) | set(settings) if saved.get(key) != settings.get(key))
    if diff:
        detail = ", ".join(f"{key}: checkpoint {saved.get(key)!r} vs now {settings.get(key)!r}" for key in diff)
        raise ValueError(f"fit: cannot resume from {where!r}: the run differs ({detail}); "
                         "use the same data and settings, or start afresh with resume=False")
    epoch = ckpt["epoch"]
    if type(epoch) is not int or epoch < 0:
        raise invalid_file(where, f"its 'epoch' entry must be an int >= 0, got {epoch!r}")
    history = DirectedHistory.from_dict(ckpt["history"])
    before = ({key: v.detach().clone() for key, v in model.state_dict().items()}, copy.deepcopy(opt.state_dict()),
              copy.deepcopy(estimator.state_dict()) if estimator is not None else None)
    try:
        if estimator is not None:
            estimator.load_state_dict(ckpt["estimator"])
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        gen.set_state(ckpt["generator"])
        torch.set_rng_state(ckpt["rng"])
        if ckpt["cuda_rng"] is not None and model.device.type == "cuda":
            torch.cuda.set_rng_state(ckpt["cuda_rng"], model.device)
    except Exception as err:
        model.load_state_dict(before[0])
        opt.load_state_dict(before[1])
        if estimator is not None:
            estimator.load_state_dict(before[2])
        raise invalid_file(where, f"its training state does not load into this run ({type(err).__name__}: "
                                  f"{err})") from err
    return epoch, history
