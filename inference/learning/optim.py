r"""Optimisation pieces of :func:`inference.learning.fit`: the default SGD, schedules, averaging.

- :class:`LeanSGD`, the default optimizer: ``torch.optim.SGD`` with momentum, stepped
  through the fused kernel without ``Optimizer.step``'s per-call bookkeeping, and able
  to take the gradient straight into its momentum buffers
  (:meth:`LeanSGD.accumulators` / :meth:`LeanSGD.apply`), so that an estimator can
  write :math:`u \leftarrow \mu u + \nabla` in its gradient GEMM;
- :func:`momentum_ramp`, Hinton's momentum schedule;
- :func:`make_scheduler`, the per-update learning-rate schedules;
- :class:`ParameterAverage`, Polyak or exponential averaging of the iterates.

The SGD update (``dampening = 0``, no Nesterov) is

.. math::

    u_t = \mu\, u_{t-1} + \nabla_t + \lambda\,\theta_{t-1}, \qquad
    \theta_t = \theta_{t-1} - \eta\, u_t,

with :math:`u_1 = \nabla_1 + \lambda\theta_0` (``torch.optim.SGD``'s first step).
"""

from __future__ import annotations

import math

import torch
from torch.optim import optimizer as _opt

__all__ = ["LeanSGD", "FactorLR", "momentum_ramp", "make_optimizer", "make_scheduler", "param_groups", "ParameterAverage",
           "SCHEDULES"]

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


def _raw_sgd_step():
    step = torch.optim.SGD.step
    return getattr(step, "__wrapped__", step)  # without Optimizer's profiling/hook wrapper


class LeanSGD(torch.optim.SGD):
    r"""``torch.optim.SGD`` whose ``step`` calls the fused kernel directly.

    Same update, hyperparameters and ``state_dict`` as ``SGD(..., fused=True)``, without
    the per-call bookkeeping of ``Optimizer.step`` (profiler record, regrouping by device
    and dtype, flag checks), which costs about as much as the update of a 784 × 500 RBM.
    Anything else (step hooks registered, a closure, no fused kernel, mixed devices or
    dtypes, sparse gradients) goes through the regular ``SGD.step``.

    Besides ``step`` (gradients in ``.grad``), it offers a gradient-into-momentum update
    for estimators that can fold the momentum into their gradient computation:
    :meth:`accumulators` hands out the momentum buffers u and their factor μ, the
    estimator writes u ← μ u + ∇ (e.g. ``u.addmm_(A, B, beta=μ)``, one pass instead of
    a gradient write plus a momentum pass), and :meth:`apply` finishes the step
    (u ← u + λθ, θ ← θ − η u). Together they give ``step``'s parameters up to rounding.

    Parameters
    ----------
    groups : list of dict
        Param groups (``params``, ``lr``, ``weight_decay``).
    lr, momentum : float
        Defaults for the groups.
    """

    def __init__(self, groups, lr, momentum):
        fused = hasattr(torch, "_fused_sgd_")
        super().__init__(groups, lr=lr, momentum=momentum, fused=fused)
        self._lean = fused
        self._hooked_step = torch.optim.Optimizer.profile_hook_step(_raw_sgd_step())
        self._scratch = {}  # param → buffer for momentum-free groups (not part of the state)
        self._acc = None
        self._acc_cache = None
        self._acc_update = None  # (base dict, (λ, η) per group, dict of (u, μ, λ, η))

    def _plain(self):
        return not (self._optimizer_step_pre_hooks or self._optimizer_step_post_hooks
                    or getattr(_opt, "_global_optimizer_pre_hooks", None)
                    or getattr(_opt, "_global_optimizer_post_hooks", None))

    def can_accumulate(self) -> bool:
        """Whether :meth:`accumulators` / :meth:`apply` reproduce ``step``: no step hooks,
        dense parameters of one device and dtype, no dampening, Nesterov or maximize."""
        params = [p for g in self.param_groups for p in g["params"]]
        return (self._plain() and len({(p.device, p.dtype) for p in params}) == 1
                and not any(p.is_sparse for p in params)
                and all(g["dampening"] == 0 and not g["nesterov"] and not g["maximize"]
                        for g in self.param_groups))

    def accumulators(self, update: bool = False) -> dict:
        """``{param: (u, μ)}``: the buffer into which the gradient is to be accumulated as
        u ← μ u + ∇, and μ (0 on the first step and in momentum-free groups, when u
        holds nothing to keep). Buffers are contiguous and persist across steps; the
        dict is reused while the groups' momenta and the state stay the same.

        With ``update``, entries are (u, μ, λ, η) with the group's weight decay λ and
        learning rate η, so that the estimator may finish the step itself
        (u ← u + λθ, θ ← θ − η u) and say so to :meth:`apply`."""
        key = (tuple(g["momentum"] for g in self.param_groups), len(self.state))
        cached = self._acc_cache
        if cached is not None and cached[0] == key:
            acc = cached[1]
        else:
            acc = self._build_accumulators(key)
        if update:
            terms = tuple((g["weight_decay"], g["lr"]) for g in self.param_groups)
            cached = self._acc_update
            if cached is not None and cached[0] is acc and cached[1] == terms:
                acc = cached[2]
            else:
                full = {p: acc[p] + term for g, term in zip(self.param_groups, terms) for p in g["params"]}
                self._acc_update = (acc, terms, full)
                acc = full
        self._acc = acc
        return acc

    def _build_accumulators(self, key):
        acc, created = {}, False
        state = self.state
        for group in self.param_groups:
            momentum = group["momentum"]
            for p in group["params"]:
                if momentum == 0:
                    buf = self._scratch.get(p)
                    if buf is None:
                        buf = self._scratch[p] = torch.empty_like(p, memory_format=torch.contiguous_format)
                    acc[p] = (buf, 0.0)
                    continue
                st = state[p]
                buf = st.get("momentum_buffer")
                if buf is None:
                    buf = st["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.contiguous_format)
                    acc[p] = (buf, 0.0)
                    created = True
                elif not buf.is_contiguous():  # pragma: no cover - not produced here
                    buf = st["momentum_buffer"] = buf.contiguous()
                    acc[p] = (buf, momentum)
                else:
                    acc[p] = (buf, momentum)
        # a dict that holds new buffers has μ = 0 for them: valid for this step only
        self._acc_cache = None if created else (key, acc)
        return acc

    def load_state_dict(self, state_dict):
        self._acc_cache = None
        super().load_state_dict(state_dict)

    def add_param_group(self, param_group):
        self._acc_cache = None
        super().add_param_group(param_group)

    def apply(self, applied: bool = False) -> None:
        """Finish the step begun by :meth:`accumulators`: u ← u + λθ, θ ← θ − η u, unless
        the estimator ``applied`` it already (entries (u, μ, λ, η))."""
        acc, self._acc = self._acc, None
        if acc is None:
            raise RuntimeError("LeanSGD.apply: call accumulators() and fill the buffers first")
        if not applied:
            with torch.no_grad():
                self._apply(acc)
        self._opt_called = True  # what a step() under an LR scheduler records

    def _apply(self, acc):
        for group in self.param_groups:
            params = group["params"]
            bufs = [acc[p][0] for p in params]
            wd = group["weight_decay"]
            if wd != 0:
                torch._foreach_add_(bufs, params, alpha=wd)
            torch._foreach_add_(params, bufs, alpha=-group["lr"])

    def step(self, closure=None):
        if not self._lean or closure is not None or not self._plain():
            return self._hooked_step(self, closure)
        with torch.no_grad():
            state = self.state
            for group in self.param_groups:
                params = [p for p in group["params"] if p.grad is not None]
                if not params:
                    continue
                grads = [p.grad for p in params]
                if grads[0].is_sparse or len({(g.device, g.dtype) for g in grads}) != 1:
                    return self._hooked_step(self, closure)  # pragma: no cover - not produced by fit
                momentum = group["momentum"]
                bufs, first = [], False
                if momentum != 0:
                    bufs = [state[p].get("momentum_buffer") for p in params]
                    if any(b is None for b in bufs):
                        if not all(b is None for b in bufs):  # pragma: no cover - mixed history
                            return self._hooked_step(self, closure)
                        first = True
                        bufs = [torch.empty_like(g) for g in grads]
                        for p, b in zip(params, bufs):
                            state[p]["momentum_buffer"] = b
                torch._fused_sgd_(params, grads, bufs, weight_decay=group["weight_decay"], momentum=momentum,
                                  lr=group["lr"], dampening=group["dampening"], nesterov=group["nesterov"],
                                  maximize=group["maximize"], is_first_step=first)
        return None

    step.hooked = True  # keep Optimizer.__init__ from wrapping it (hooks are honoured above)


def make_optimizer(optimizer, groups, lr, momentum0):
    """The optimizer of a run: :class:`LeanSGD` for ``None``, else ``optimizer(groups)``
    (a ``torch.optim.Optimizer`` class or factory), checked."""
    if optimizer is None:
        return LeanSGD(groups, lr, momentum0 or 0.0)
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


class ParameterAverage:
    r"""Running average of the parameters after the updates numbered above ``start``.

    Uniform (Polyak): :math:`\bar\theta_n = \bar\theta_{n-1} + (\theta - \bar\theta_{n-1})/n`;
    exponential (EMA with decay ``mode``): :math:`\bar\theta_n = \text{mode}\,\bar\theta_{n-1}
    + (1 - \text{mode})\,\theta`, the first iterate taken as is.

    Parameters
    ----------
    model : torch.nn.Module
    mode : "polyak" or float in (0, 1)
    start : int
        Updates before averaging begins.
    """

    def __init__(self, model, mode, start):
        self.params = [p for p in model.parameters()]
        self.mode, self.start = mode, start
        self.n = 0
        self.avg = [p.detach().clone() for p in self.params]

    @torch.no_grad()
    def update(self, step):
        """Fold in the iterate after update number ``step`` (1, 2, …) if ``step > start``."""
        if step <= self.start:
            return
        self.n += 1
        weight = 1.0 / self.n if self.mode == "polyak" else (1.0 if self.n == 1 else 1.0 - self.mode)
        for a, p in zip(self.avg, self.params):
            a.lerp_(p, weight)

    @torch.no_grad()
    def swap(self):
        """Exchange the model's parameters with the averages (no-op before the start)."""
        if self.n == 0:
            return
        for a, p in zip(self.avg, self.params):
            tmp = p.detach().clone()
            p.copy_(a)
            a.copy_(tmp)

    def state_dict(self):
        """``{"n", "start", "avg"}`` (copies), for checkpoints."""
        return {"n": self.n, "start": self.start, "avg": [a.clone() for a in self.avg]}

    def load_state_dict(self, state):
        """Restore what :meth:`state_dict` returned."""
        self.n, self.start = int(state["n"]), int(state["start"])
        for a, s in zip(self.avg, state["avg"]):
            a.copy_(s)
