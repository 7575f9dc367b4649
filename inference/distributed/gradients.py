"""Gradients averaged across the replicas before every optimizer step: :func:`average_gradients`.

``DistributedDataParallel`` averages only the gradients autograd produces inside its
``forward``; a contrastive rule (CD, PCD, PT) writes its estimate into ``.grad`` by hand,
outside any such forward, so DDP would leave it as each rank computed it. The one place
every trainer passes through is ``optimizer.step()``: a step pre-hook
(:meth:`torch.optim.Optimizer.register_step_pre_hook`) averages every parameter's
``.grad`` over the group first (:meth:`Replicas.average_grads`), whichever rule or
objective wrote it — a contrastive estimate, a Pyro ELBO's ``backward()``, an IWAE bound.
The optimizer object itself is unchanged (its ``state_dict``, schedulers and checkpoints
work as before).
"""

from __future__ import annotations

import torch

__all__ = ["average_gradients"]


def average_gradients(optimizer: torch.optim.Optimizer, replicas):
    """Make ``optimizer.step()`` average the gradients of all its parameters over
    ``replicas`` before it updates them.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
    replicas : Replicas

    Returns
    -------
    torch.utils.hooks.RemovableHandle
        ``handle.remove()`` undoes it.
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"average_gradients: optimizer must be a torch.optim.Optimizer, "
                        f"got {type(optimizer).__name__}")

    def hook(opt, args, kwargs):
        replicas.average_grads([p for group in opt.param_groups for p in group["params"]])

    return optimizer.register_step_pre_hook(hook)
