"""Training checkpoints of :func:`inference.fit`: what is saved, and the checks on resuming."""

from __future__ import annotations

import json
import os
import warnings

import torch

from ..checkpoint import FORMAT, atomic_save, load_checkpoint, model_config
from .history import History

__all__ = ["fingerprint", "save_run", "restore_run"]


def fingerprint(data: torch.Tensor) -> list:
    """Shape, sum and a position-weighted sum of the rows: resuming needs the same data."""
    rows = data.sum(1, dtype=torch.float64).cpu()  # per-row sums, then a deterministic CPU reduction
    weights = torch.arange(1, rows.shape[0] + 1, dtype=torch.float64)
    return [int(data.shape[0]), int(data.shape[1]), round(rows.sum().item(), 6),
            round((rows * weights).sum().item(), 3)]


def save_run(path, run, epoch: int, history: History) -> None:
    """Write the run's state after ``epoch`` epochs, atomically.

    ``run`` carries ``model``, ``settings`` (JSON-able), ``optimizer``, ``scheduler``,
    ``estimator``, ``generator``, ``average`` and ``backend`` (the runner's name).
    """
    est = run.estimator
    atomic_save({
        "format": FORMAT,
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
    }, path)


def restore_run(path, run) -> tuple[int, History]:
    """Load the checkpoint at ``path`` into ``run`` after checking it matches; returns
    (epochs done, history). Nothing is modified when the checks fail."""
    where = os.fspath(path)
    ckpt = load_checkpoint(path)
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
    saved = json.loads(ckpt["fit"])
    settings = run.settings
    diff = sorted(key for key in set(saved) | set(settings) if saved.get(key) != settings.get(key))
    if diff:
        detail = ", ".join(f"{key}: checkpoint {saved.get(key)!r} vs now {settings.get(key)!r}" for key in diff)
        raise ValueError(f"fit: cannot resume from {where!r}: the run differs ({detail}); "
                         "use the same data and settings, or start afresh with resume=False")
    backend = ckpt.get("backend")
    if backend != run.backend:
        warnings.warn(f"fit: {where!r} was written on backend {backend!r} and resumes on {run.backend!r}: the run "
                      "continues validly but is no longer bit-identical to an uninterrupted one", stacklevel=3)
    run.model.load_state_dict(ckpt["model"])
    run.optimizer.load_state_dict(ckpt["optimizer"])
    if run.scheduler is not None and ckpt["scheduler"] is not None:
        run.scheduler.load_state_dict(ckpt["scheduler"])
    if ckpt["estimator"] is not None and hasattr(run.estimator, "load_state_dict"):
        run.estimator.load_state_dict(ckpt["estimator"], device=run.model.device)
    run.generator.set_state(ckpt["generator"])
    if run.average is not None and ckpt["average"] is not None:
        state = ckpt["average"]
        state["avg"] = [a.to(run.model.device) for a in state["avg"]]
        run.average.load_state_dict(state)
    return int(ckpt["epoch"]), History.from_dict(ckpt["history"])
