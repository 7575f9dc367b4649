r"""Optimisation pieces of :func:`inference.fit`: the optimizer, its momentum and LR schedules.

- :func:`make_optimizer`: ``torch.optim.SGD`` with momentum by default, or any
  ``torch.optim`` optimizer;
- :func:`param_groups`: weight decay on the weight matrices only, or on everything;
- :func:`momentum_ramp`, Hinton's momentum schedule;
- :func:`make_scheduler`, the per-update learning-rate schedules (:class:`FactorLR`).
"""

from __future__ import annotations

import math

import torch

__all__ = ["FactorLR", "momentum_ramp", "make_optimizer", "make_scheduler", "param_groups", "SCHEDULES"]

#: Names of the built-in learning-rate schedules of :func:`make_scheduler`.
SCHEDULES = ("constant", "linear", "cosine")


def momentum_ramp(initial: float = 0.5, final: float = 0.9, switch: int = 5):
    """Hinton's momentum schedule: ``initial`` for the first ``switch`` epochs, then ``final``.

    Returns
    -------
    callable(epoch: int) -> float
        Epochs counted from 0.
    """
    def momentum(epoch: int) -> float:
        return initial if epoch < switch else final
    momentum.__qualname__ = f"momentum_ramp({initial}, {final}, {switch})"
    return momentum


def param_groups(model, lr, weight_decay, decay):
    """Param groups for the optimizer: weight decay on every parameter (``decay="all"``)
    or on the weight matrices only (parameters with ≥ 2 dimensions)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if decay == "all" or weight_decay == 0:
        return [{"params": params, "lr": lr, "weight_decay": weight_decay}]
    weights = [p for p in params if p.dim() >= 2]
    others = [p for p in params if p.dim() < 2]
    groups = [{"params": weights, "lr": lr, "weight_decay": weight_decay},
              {"params": others, "lr": lr, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def make_optimizer(optimizer, groups, lr, momentum0):
    """The optimizer of a run: ``torch.optim.SGD`` with momentum for ``None``, else
    ``optimizer(groups)`` (a ``torch.optim.Optimizer`` class or factory), checked."""
    if optimizer is None:
        return torch.optim.SGD(groups, lr=lr, momentum=momentum0 or 0.0)
    if not callable(optimizer):
        raise TypeError(f"fit: optimizer must be None, a torch.optim.Optimizer class or a factory "
                        f"callable(param_groups) -> Optimizer, got {optimizer!r}")
    opt = optimizer(groups)
    if not isinstance(opt, torch.optim.Optimizer):
        raise TypeError(f"fit: optimizer(param_groups) must return a torch.optim.Optimizer, got {type(opt).__name__}")
    return opt


class FactorLR:
    r"""Per-update schedule :math:`\eta_t = \eta_0 \cdot \text{factor}(t)` for every param
    group: ``torch.optim.lr_scheduler.LambdaLR``'s arithmetic and state (``last_epoch``,
    ``base_lrs``; its state dicts load) without its per-call bookkeeping, which costs
    about 1 % of a 784 × 500 RBM update.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
    factor : callable(int) -> float
        Multiplier of the initial learning rates after ``t`` updates.
    """

    def __init__(self, optimizer, factor):
        self.optimizer, self.factor = optimizer, factor
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._apply()

    def _apply(self):
        f = self.factor(self.last_epoch)
        self._last_lr = []
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = base * f
            self._last_lr.append(group["lr"])

    def step(self):
        """Advance by one update and set the groups' learning rates."""
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self):
        """The learning rates set by the last :meth:`step`."""
        return list(self._last_lr)

    def state_dict(self):
        """``{"last_epoch", "base_lrs"}``."""
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state):
        """Restore :meth:`state_dict` (or a ``LambdaLR`` state dict) and set the rates."""
        self.last_epoch, self.base_lrs = int(state["last_epoch"]), list(state["base_lrs"])
        self._apply()


def make_scheduler(lr_schedule, opt, total_steps):
    """The per-update LR scheduler: ``None`` (constant), linear or cosine decay to 0 at
    ``total_steps``, or ``lr_schedule(opt, total_steps)`` for a callable."""
    if lr_schedule == "constant":
        return None
    if lr_schedule == "linear":
        return FactorLR(opt, lambda t: max(0.0, 1.0 - t / total_steps))
    if lr_schedule == "cosine":
        return FactorLR(opt, lambda t: 0.5 * (1.0 + math.cos(math.pi * min(t, total_steps) / total_steps)))
    if callable(lr_schedule):
        sched = lr_schedule(opt, total_steps)
        if not (hasattr(sched, "step") and hasattr(sched, "state_dict")):
            raise TypeError("fit: lr_schedule(optimizer, total_steps) must return an LR scheduler "
                            f"(with step() and state_dict()), got {type(sched).__name__}")
        return sched
    raise ValueError(f"fit: lr_schedule must be one of {list(SCHEDULES)} or a callable "
                     f"(optimizer, total_steps) -> scheduler, got {lr_schedule!r}")
