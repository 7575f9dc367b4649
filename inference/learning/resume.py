"""Training checkpoints of :func:`inference.fit`: what is saved, and the checks on resuming."""

from __future__ import annotations

import copy
import json
import math
import os
import warnings

import torch

from ..checkpoint import invalid_file, load_checkpoint, model_config, write_payload
from .history import History

__all__ = ["fingerprint", "save_run", "restore_run"]

_ENTRIES = ("fit", "backend", "epoch", "history", "optimizer", "scheduler", "estimator", "generator", "average")


def fingerprint(data: torch.Tensor) -> list:
    """Shape, sum and a position-weighted sum of the rows: resuming needs the same data."""
    rows = data.sum(1, dtype=torch.float64).cpu()  # per-row sums, then a deterministic CPU reduction
    weights = torch.arange(1, rows.shape[0] + 1, dtype=torch.float64)
    return [int(data.shape[0]), int(data.shape[1]), round(rows.sum().item(), 6),
            round((rows * weights).sum().item(), 3)]


def save_run(path, run, epoch: int, history: History) -> None:
    """Write the run's state after ``epoch`` epochs, atomically, with the file's checksum.

    ``run`` carries ``model``, ``settings`` (JSON-able), ``optimizer``, ``scheduler``,
    ``estimator``, ``generator``, ``average`` and ``backend`` (the runner's name).
    """
    est = run.estimator
    write_payload(path, {
        "config": json.dumps(model_config(run.model)),
        "model": run.model.state_dict(),
        "fit": json.dumps(run.settings),
        "backend": run.backend,
        "epoch": epoch,
        "history": history.as_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict() if run.scheduler is not None else None,
        "estimator": est.state_dict() if hasattr(est, "state_dict") else None,
        "generator": run.generator.get_state(),
        "average": run.average.state_dict() if run.average is not None else None,
    })


def restore_run(path, run) -> tuple[int, History]:
    """Load the checkpoint at ``path`` into ``run`` after checking it matches; returns
    (epochs done, history).

    Every entry is checked before the first ``load_state_dict``, and a failure while
    loading puts back what was already loaded: when this raises, the model, optimizer,
    scheduler, estimator, generator and average are as they were.
    """
    where = os.fspath(path)
    ckpt = load_checkpoint(path)  # format, checksum, and "config" against "model"
    if "fit" not in ckpt:
        raise ValueError(f"fit: {where!r} holds a model, not a training checkpoint; "
                         "load it with inference.checkpoint.load_model")
    saved_class = json.loads(ckpt["config"])["class"]
    if saved_class != type(run.model).__name__:
        raise ValueError(f"fit: checkpoint {where!r} is for a {saved_class}, not a {type(run.model).__name__}")
    own = run.model.state_dict()
    mismatch = [f"{key}: checkpoint {tuple(t.shape)} vs model {tuple(own[key].shape)}"
                for key, t in ckpt["model"].items() if key in own and tuple(t.shape) != tuple(own[key].shape)]
    missing = sorted(set(own) ^ set(ckpt["model"]))
    if mismatch or missing:
        raise ValueError(f"fit: checkpoint {where!r} does not fit this {saved_class}: size mismatch "
                         f"({'; '.join(mismatch) or 'entries ' + str(missing)}); build the model with the "
                         "checkpoint's sizes")
    missing = [key for key in _ENTRIES if key not in ckpt]
    if missing:
        raise invalid_file(where, f"its training checkpoint lacks the entries {missing}")
    saved = _settings(where, ckpt["fit"])
    settings = run.settings
    diff = sorted(key for key in set(saved) | set(settings) if saved.get(key) != settings.get(key))
    if diff:
        detail = ", ".join(f"{key}: checkpoint {saved.get(key)!r} vs now {settings.get(key)!r}" for key in diff)
        raise ValueError(f"fit: cannot resume from {where!r}: the run differs ({detail}); "
                         "use the same data and settings, or start afresh with resume=False")
    epoch, history = _check_entries(where, ckpt, run)
    backend = ckpt["backend"]
    if backend != run.backend:
        warnings.warn(f"fit: {where!r} was written on backend {backend!r} and resumes on {run.backend!r}: the run "
                      "continues validly but is no longer bit-identical to an uninterrupted one", stacklevel=3)
    _load_all(where, ckpt, run)
    return epoch, history


def _settings(where, text) -> dict:
    try:
        saved = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        saved = None
    if not isinstance(saved, dict):
        raise invalid_file(where, "its 'fit' entry must be the JSON text of the run's settings")
    return saved


def _shapes_match(saved, own) -> bool:
    return (isinstance(saved, list) and len(saved) == len(own)
            and all(isinstance(s, torch.Tensor) and s.layout == torch.strided and s.is_floating_point()
                    and s.shape == o.shape for s, o in zip(saved, own)))


def _check_entries(where, ckpt, run) -> tuple[int, History]:
    """Check every entry ``_load_all`` uses against ``run``; returns (epoch, history)."""
    def bad(entry, what):
        return invalid_file(where, f"its {entry!r} entry {what}")

    epoch = ckpt["epoch"]
    if type(epoch) is not int or epoch < 0:
        raise bad("epoch", f"must be an int >= 0, got {epoch!r}")
    hist = ckpt["history"]
    if not isinstance(hist, dict) or not all(isinstance(k, str) and isinstance(v, list) for k, v in hist.items()):
        raise bad("history", "must map metric names to lists")
    try:
        history = History.from_dict(hist)
    except (TypeError, ValueError) as err:
        raise bad("history", f"does not rebuild a History ({err})") from None
    if ckpt["backend"] is not None and not isinstance(ckpt["backend"], str):
        raise bad("backend", f"must be a name, got {type(ckpt['backend']).__name__}")
    _check_optimizer(bad, ckpt["optimizer"], run.optimizer)
    sched = ckpt["scheduler"]
    if run.scheduler is not None and sched is not None and (
            not isinstance(sched, dict) or not all(isinstance(k, str) for k in sched)):
        raise bad("scheduler", "must be a scheduler's state_dict")
    if ckpt["estimator"] is not None and hasattr(run.estimator, "load_state_dict"):
        _check_estimator(bad, ckpt["estimator"], run)
    gen, own_gen = ckpt["generator"], run.generator.get_state()
    if not isinstance(gen, torch.Tensor) or gen.dtype != own_gen.dtype or gen.shape != own_gen.shape:
        raise bad("generator", f"must be a generator state, a {own_gen.dtype} tensor of shape {tuple(own_gen.shape)}")
    avg = ckpt["average"]
    if run.average is not None and avg is not None:
        if (not isinstance(avg, dict) or set(avg) != {"n", "start", "avg"}
                or any(type(avg[k]) is not int or avg[k] < 0 for k in ("n", "start"))
                or not _shapes_match(avg["avg"], run.average.avg)):
            raise bad("average", "must hold n, start (ints >= 0) and one floating tensor per parameter, "
                                 "shaped like it")
        nonfinite = sum(int((~torch.isfinite(a)).sum()) for a in avg["avg"])
        if nonfinite:
            raise bad("average", f"holds {nonfinite} non-finite (NaN or inf) averaged parameters")
    return epoch, history


def _check_optimizer(bad, saved, optimizer) -> None:
    """The saved state_dict has the optimizer's groups, sizes and per-parameter state shapes."""
    own = optimizer.param_groups
    groups = saved.get("param_groups") if isinstance(saved, dict) else None
    state = saved.get("state") if isinstance(saved, dict) else None
    if not isinstance(groups, list) or not isinstance(state, dict) or len(groups) != len(own):
        raise bad("optimizer", f"must be the state_dict of an optimizer with {len(own)} parameter group(s)")
    pairs = []
    for i, (group, mine) in enumerate(zip(groups, own)):
        ids = group.get("params") if isinstance(group, dict) else None
        if not isinstance(ids, list) or len(ids) != len(mine["params"]) or not all(type(j) is int for j in ids):
            raise bad("optimizer", f"parameter group {i} must list {len(mine['params'])} parameter ids")
        pairs += zip(ids, mine["params"])
    params = dict(pairs)
    if len(params) != len(pairs) or not set(state) <= set(params):
        raise bad("optimizer", "has state for parameter ids its groups do not list (or lists one twice)")
    for j, entry in state.items():
        if not isinstance(entry, dict) or not all(isinstance(k, str) for k in entry):
            raise bad("optimizer", f"state of parameter {j} must be a dict")
        for name, value in entry.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != params[j].shape:
                raise bad("optimizer", f"state {name!r} of parameter {j} has shape {tuple(value.shape)}, "
                                       f"the parameter {tuple(params[j].shape)}")


def _check_estimator(bad, saved, run) -> None:
    """PCD chains: one tensor per group of the model's graph, shape (n_chains, units), and β."""
    if not isinstance(saved, dict):
        raise bad("estimator", f"must be a dict, got {type(saved).__name__}")
    chains = saved.get("chains")
    if chains is None:
        return
    groups = {grp.name: grp.n_units for grp in run.model.graph.groups}
    values, beta = (chains.get("values"), chains.get("beta")) if isinstance(chains, dict) else (None, None)
    if (not isinstance(beta, torch.Tensor) or beta.dim() != 1 or not beta.is_floating_point()
            or not isinstance(values, dict) or set(values) != set(groups)):
        raise bad("estimator", f"chains must hold 'beta', shape (n_chains,), and a tensor for each of the groups "
                               f"{sorted(groups)}")
    n = beta.shape[0]
    wanted = getattr(run.estimator, "n_chains", None)
    if wanted is not None and n != wanted:
        raise bad("estimator", f"holds {n} chains, the run has {wanted}")
    for name, x in values.items():
        if (not isinstance(x, torch.Tensor) or x.dim() < 1 or x.shape[0] != n
                or math.prod(x.shape[1:]) != groups[name]):
            raise bad("estimator", f"chain values of group {name!r} must have shape ({n}, {groups[name]})")


def _snapshot(run) -> dict:
    est = run.estimator
    return {"model": {k: v.detach().clone() for k, v in run.model.state_dict().items()},
            "optimizer": copy.deepcopy(run.optimizer.state_dict()),
            "scheduler": copy.deepcopy(run.scheduler.state_dict()) if run.scheduler is not None else None,
            "estimator": est.state_dict() if hasattr(est, "state_dict") and hasattr(est, "load_state_dict") else None,
            "generator": run.generator.get_state(),
            "average": run.average.state_dict() if run.average is not None else None}


def _put(run, state, device) -> None:
    """Load ``state`` (a checkpoint or a snapshot) into ``run``."""
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    if run.scheduler is not None and state["scheduler"] is not None:
        run.scheduler.load_state_dict(state["scheduler"])
    if state["estimator"] is not None and hasattr(run.estimator, "load_state_dict"):
        run.estimator.load_state_dict(state["estimator"], device=device)
    run.generator.set_state(state["generator"])
    if run.average is not None and state["average"] is not None:
        average = dict(state["average"])
        average["avg"] = [a.to(device) for a in average["avg"]]
        run.average.load_state_dict(average)


def _load_all(where, ckpt, run) -> None:
    device = run.model.device
    before = _snapshot(run)
    try:
        _put(run, ckpt, device)
    except Exception as err:
        _put(run, before, device)
        raise invalid_file(where, f"its training state does not load into this run ({type(err).__name__}: "
                                  f"{err})") from err
