"""The option groups of :func:`inference.fit`: optimisation, evaluation, checkpointing.

Each is a frozen dataclass whose fields are checked when it is made, so a bad value is
refused before any training. :func:`inference.fit` also takes their fields as plain
keywords (``fit(model, data, lr=0.05, evaluate="exact", checkpoint="run.pt")``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from functools import partial

import torch

from pgm import checks

from .schedules import SCHEDULES, momentum_ramp

from ..training.options import Checkpoint

__all__ = ["Optimization", "Evaluation", "Checkpoint"]

# the checkers of :mod:`pgm.checks`, their messages prefixed with "fit: "
check_int, check_float, check_choice = (partial(f, where="fit") for f in (checks.check_int, checks.check_float,
                                                                           checks.check_choice))


@dataclass(frozen=True)
class Optimization:
    """The optimizer, its schedules and parameter averaging.

    Parameters
    ----------
    lr : float, optional
        Initial learning rate; ``None`` takes the model's ``default_lr`` (0.1 for the RBM).
    momentum : float, "hinton", callable(epoch) -> float, or None; default "hinton"
        Set in every param group at the start of each epoch (epochs counted from 0).
        "hinton" is :func:`~inference.learning.schedules.momentum_ramp` (0.5 for 5
        epochs, then 0.9). Needs an optimizer with a ``momentum`` hyperparameter; pass
        ``None`` for others (Adam).
    weight_decay : float, default 0
        L2 penalty coefficient, applied by the optimizer.
    decay : {"weights", "all"}, default "weights"
        Decay only parameters with ≥ 2 dimensions (weight matrices; Hinton §10) or all.
    lr_schedule : {"constant", "linear", "cosine"} or callable, default "linear"
        Per-update multiplier of ``lr``: linear or cosine decay to 0 at the end of the
        run; a callable ``(optimizer, total_steps) -> scheduler`` builds any torch LR
        scheduler, stepped after every update.
    average : None, "polyak" or float in (0, 1), default None
        Average the parameters over the updates from ``average_start``: uniformly
        ("polyak") or exponentially with this decay (e.g. 0.999). Monitoring and
        evaluation use the averages, and the model ends with them.
    average_start : int, optional
        Epoch from which to average; default ``epochs // 2`` for "polyak", 0 for EMA.
    optimizer : torch.optim.Optimizer class or callable(param_groups) -> Optimizer, optional
        Default ``torch.optim.SGD`` with the momentum above. It receives param groups
        that carry ``lr`` and ``weight_decay``.
    """

    lr: float | None = None
    momentum: object = "hinton"
    weight_decay: float = 0.0
    decay: str = "weights"
    lr_schedule: object = "linear"
    average: object = None
    average_start: int | None = None
    optimizer: object = None

    def __post_init__(self):
        if self.lr is not None:
            object.__setattr__(self, "lr", check_float(self.lr, "lr", 0.0, low_open=True))
        object.__setattr__(self, "weight_decay", check_float(self.weight_decay, "weight_decay"))
        check_choice(self.decay, "decay", ("weights", "all"))
        m = self.momentum
        if isinstance(m, str) and m != "hinton":
            raise ValueError(f"fit: momentum must be a float in [0, 1), 'hinton', a callable or None, got {m!r}")
        if not (m is None or callable(m) or isinstance(m, str)):
            object.__setattr__(self, "momentum", check_float(m, "momentum", 0.0, 1.0, high_open=True))
        if isinstance(self.lr_schedule, str):
            check_choice(self.lr_schedule, "lr_schedule", SCHEDULES)
        elif not callable(self.lr_schedule):
            raise TypeError(f"fit: lr_schedule must be a str or a callable, got {self.lr_schedule!r}")
        a = self.average
        if a is not None and a != "polyak":
            if isinstance(a, str):
                raise ValueError(f"fit: average must be None, 'polyak' or an EMA decay in (0, 1), got {a!r}")
            object.__setattr__(self, "average", check_float(a, "average", 0.0, 1.0, low_open=True, high_open=True))
        if self.average_start is not None:
            object.__setattr__(self, "average_start", check_int(self.average_start, "average_start", 0))
        if self.optimizer is not None and not callable(self.optimizer):
            raise TypeError(f"fit: optimizer must be None, a torch.optim.Optimizer class or a factory "
                            f"callable(param_groups) -> Optimizer, got {self.optimizer!r}")

    def momentum_fn(self):
        """The momentum schedule as ``callable(epoch) -> float``, or ``None``."""
        m = self.momentum
        if m is None or callable(m):
            return m
        if m == "hinton":
            return momentum_ramp()
        return lambda epoch: m


@dataclass(frozen=True)
class Evaluation:
    """Log-likelihood of held-out data during training.

    Parameters
    ----------
    method : {"exact", "ais"}
        log Z from :func:`inference.exact_log_partition` or
        :func:`inference.ais_log_partition` (options: ``ais_options``; its base is fitted
        to the training data).
    data : Tensor, optional
        Data to evaluate (binary for binary visible units); default the training data.
    every : int, default 1
        Evaluate every ``every`` epochs and after the last.
    ais_options : dict, optional
        Keywords of :func:`inference.ais_log_partition`.
    """

    method: str = "exact"
    data: torch.Tensor | None = None
    every: int = 1
    ais_options: dict | None = None

    def __post_init__(self):
        check_choice(self.method, "evaluate", ("exact", "ais"))
        object.__setattr__(self, "every", check_int(self.every, "eval_every"))
        if self.ais_options is not None and not isinstance(self.ais_options, dict):
            raise TypeError(f"fit: ais_options must be a dict of ais_log_partition keywords, got {self.ais_options!r}")


#: Keywords of :func:`inference.fit` that fill the option groups.
SHORTHAND = {
    "optim": {f.name: f.name for f in fields(Optimization)},
    "evaluate": {"eval_data": "data", "eval_every": "every", "ais_options": "ais_options"},
    "checkpoint": {"checkpoint_every": "every", "resume": "resume"},
}
