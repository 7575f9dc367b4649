"""The binary RBM's training runner: fused gradients with the optimizer's update folded in.

:func:`trainer` is what :func:`inference.backends.fast_path` returns for a CD or PCD
estimator on a recognised RBM. Its :meth:`RBMTrainer.run` does what the generic runner
(:class:`inference.learning.steps.GenericSteps`) does — for each batch the estimate,
the optimizer's step, the scheduler's step — with the estimate from
:class:`~inference.backends.rbm.fused_gradient.FusedGradient` and, for a plain
``torch.optim.SGD``, the update fused into it (:class:`~inference.backends.rbm.sgd.SGDFusion`).
With the whole-step native kernel, runs of full batches go to the kernel in one call,
bit for bit what the per-batch loop does.
"""

from __future__ import annotations

import torch

from .fused_gradient import FusedGradient
from .sgd import SGDFusion

__all__ = ["RBMTrainer", "trainer", "STEPS_PER_CALL"]

#: Full batches per whole-step kernel call (between Python's turns).
STEPS_PER_CALL = 32


def trainer(model, estimator, optimizer, *, persistent: bool | None = None, kernels: str = "auto",
            fast_uniforms: bool | None = None):
    """The :class:`RBMTrainer` of ``estimator`` and ``optimizer`` on ``model``."""
    return RBMTrainer(model, estimator, optimizer, persistent=persistent, kernels=kernels,
                      fast_uniforms=fast_uniforms)


class RBMTrainer:
    """Runs CD/PCD steps of a binary RBM with its optimizer, on the fused paths.

    Parameters
    ----------
    model : RBM
    estimator : CD or PCD
    optimizer : torch.optim.Optimizer
        A plain ``torch.optim.SGD`` has its update fused into the step; any other
        optimizer receives ``.grad`` and is stepped.
    persistent, kernels, fast_uniforms
        As for :class:`~inference.backends.rbm.fused_gradient.FusedGradient`.
    """

    def __init__(self, model, estimator, optimizer, *, persistent=None, kernels="auto", fast_uniforms=None):
        self.model, self.optimizer = model, optimizer
        self.grad = FusedGradient(estimator, persistent=persistent, kernels=kernels, fast_uniforms=fast_uniforms)
        self.fusion = SGDFusion(optimizer) if SGDFusion.recognise(optimizer, model.parameters()) else None
        self.native = self.grad.uses_native(model)
        self._per_call = None  # decided by the first step, which sets the buffers up

    @property
    def name(self) -> str:
        """Which path runs: ``"rbm-native-whole-step"``, ``"rbm-native"`` or ``"rbm-torch"``
        (with ``"+sgd"`` when the SGD update is fused)."""
        path = ("rbm-native-whole-step" if self.grad.uses_whole_step(self.model) else "rbm-native") if self.native \
            else "rbm-torch"
        return path + ("+sgd" if self.fusion is not None else "")

    @property
    def steps_per_call(self) -> int:
        """Batches that :meth:`run` can take in one kernel call (1 until the first step
        has set the buffers up)."""
        return self._per_call or 1

    def run(self, data: torch.Tensor, index: torch.Tensor, track, scheduler=None) -> list:
        """One update per row of ``index`` (steps, B) on the rows of ``data``: the estimate,
        the optimizer's step, then ``scheduler.step()``. ``track[i]`` asks for the
        reconstruction error of step i. Returns per step Σ‖v − v₁‖² (a 0-d tensor) or
        ``None``."""
        model, n_steps = self.model, index.shape[0]
        runs = (n_steps > 1 and self.steps_per_call > 1 and data.is_contiguous() and data.dtype == torch.float32)
        if not runs:
            return [self._step(data, index[i], track[i], scheduler) for i in range(n_steps)]
        groups = [next(g for g in self.optimizer.param_groups if any(q is p for q in g["params"]))
                  for p in (model.W, model.b, model.c)]
        accumulate = self.fusion.targets(update=True)
        lrs = []
        for _ in range(n_steps):
            lrs.append([g["lr"] for g in groups])
            if scheduler is not None:
                scheduler.step()
        out = self.grad.sgd_steps(model, data, index, accumulate, lrs, track)
        self.fusion.finish(True)
        return out

    def _step(self, data, idx, track, scheduler):
        model = self.model
        if self.native and data.is_contiguous() and data.dtype == torch.float32:
            v, index = data, idx  # the native kernels gather the rows themselves
        else:
            v = torch.index_select(data, 0, idx, out=self.grad.batch_buffer(model, idx.shape[0]))
            index = None
        if self.fusion is not None:
            info = self.grad.grad(model, v, track, accumulate=self.fusion.targets(update=True), index=index)
            self.fusion.finish(info.applied)
        else:
            info = self.grad.grad(model, v, track, index=index)
            self.optimizer.step()
        if self._per_call is None:
            whole = self.fusion is not None and self.grad.uses_whole_step(model)
            self._per_call = STEPS_PER_CALL if whole else 1
        if scheduler is not None:
            scheduler.step()
        return info.recon_sq if track else None
