"""The generic training runner: one estimate, one optimizer step, one scheduler step per batch.

:func:`inference.fit` drives training through a runner with ``steps_per_call`` and
``run(data, index, track, scheduler)``: this one, which works for every energy model,
or a backend's (:func:`inference.backends.fast_path`), which is tested equal to it.
"""

from __future__ import annotations

import torch

__all__ = ["GenericSteps"]


class GenericSteps:
    """Training steps through the estimator's generic :meth:`grad` and ``optimizer.step()``.

    Parameters
    ----------
    model : EnergyModel
    estimator : CD or PCD
    optimizer : torch.optim.Optimizer
    """

    #: Batches per :meth:`run` call that fit may hand over at once.
    steps_per_call = 1
    name = "torch"

    def __init__(self, model, estimator, optimizer):
        self.model, self.estimator, self.optimizer = model, estimator, optimizer

    def run(self, data: torch.Tensor, index: torch.Tensor, track, scheduler=None) -> list:
        """One update per row of ``index`` (steps, B): the estimate for the rows
        ``data[index[i]]`` into ``.grad``, ``optimizer.step()``, the model's
        :meth:`~models.energy.EnergyModel.project_parameters`, ``scheduler.step()``.
        Returns per step Σ‖v − v₁‖² (CD, where ``track[i]``; a 0-d tensor) or ``None``."""
        out = []
        for i in range(index.shape[0]):
            info = self.estimator.grad(self.model, data.index_select(0, index[i]), track[i])
            self.optimizer.step()
            self.model.project_parameters()
            if scheduler is not None:
                scheduler.step()
            out.append(info.recon_sq if track[i] else None)
        return out
