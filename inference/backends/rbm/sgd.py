r"""Fusing ``torch.optim.SGD``'s update into the RBM step.

``torch.optim.SGD`` (``dampening = 0``, no Nesterov, not maximising) updates

.. math::

    u_t = \mu\, u_{t-1} + \nabla_t + \lambda\,\theta_{t-1}, \qquad
    \theta_t = \theta_{t-1} - \eta\, u_t,

with :math:`u_1 = \nabla_1 + \lambda\theta_0`, the momentum buffer u kept in
``optimizer.state[p]["momentum_buffer"]``. :class:`SGDFusion` recognises a plain SGD
and hands its buffers to the fused step, which writes u ← μ u + ∇ in its gradient GEMM
(μ = 0 on the first step) and may also apply u ← u + λθ, θ ← θ − η u; otherwise
:meth:`SGDFusion.finish` applies it. The buffers are SGD's own, so the optimizer's
``state_dict`` is SGD's and a run may continue on the generic path with ``step()``.
"""

from __future__ import annotations

import torch
from torch.optim import optimizer as _torch_optimizer

__all__ = ["SGDFusion"]


class SGDFusion:
    """The update of a plain ``torch.optim.SGD`` over ``params``, applied by the fused step.

    Use :meth:`recognise` first: it says whether the fusion reproduces ``step()``.
    """

    def __init__(self, optimizer: torch.optim.SGD):
        self.opt = optimizer
        self._scratch = {}  # param → buffer for momentum-free groups (not part of the state)
        self._cache = None  # (key, {param: (u, μ)})
        self._full = None   # (base dict, (λ, η) per group, {param: (u, μ, λ, η)})
        self._pending = None

    @staticmethod
    def recognise(optimizer, params) -> bool:
        """Whether ``optimizer`` is a ``torch.optim.SGD`` over exactly ``params`` whose
        update the fusion reproduces: no step hooks, dense parameters of one device and
        dtype, no dampening, Nesterov or maximize."""
        if type(optimizer) is not torch.optim.SGD:
            return False
        if (optimizer._optimizer_step_pre_hooks or optimizer._optimizer_step_post_hooks
                or getattr(_torch_optimizer, "_global_optimizer_pre_hooks", None)
                or getattr(_torch_optimizer, "_global_optimizer_post_hooks", None)):
            return False
        held = [p for g in optimizer.param_groups for p in g["params"]]
        params = list(params)
        if len(held) != len(params) or {id(p) for p in held} != {id(p) for p in params}:
            return False
        return (len({(p.device, p.dtype) for p in held}) == 1 and not any(p.is_sparse for p in held)
                and all(g["dampening"] == 0 and not g["nesterov"] and not g["maximize"]
                        for g in optimizer.param_groups))

    def targets(self, update: bool = True) -> dict:
        """``{param: (u, μ)}`` (or, with ``update``, ``(u, μ, λ, η)``): the buffer into
        which the gradient is accumulated as u ← μ u + ∇, μ (0 on the first step and in
        momentum-free groups), and the group's weight decay λ and learning rate η. The
        dict is reused while the groups' momenta and the momentum buffers stay the same."""
        opt = self.opt
        key = (tuple(g["momentum"] for g in opt.param_groups),
               tuple(id(st.get("momentum_buffer")) for st in opt.state.values()))
        cached = self._cache
        acc = cached[1] if cached is not None and cached[0] == key else self._build(key)
        if update:
            terms = tuple((g["weight_decay"], g["lr"]) for g in opt.param_groups)
            full = self._full
            if full is not None and full[0] is acc and full[1] == terms:
                acc = full[2]
            else:
                out = {p: acc[p] + term for g, term in zip(opt.param_groups, terms) for p in g["params"]}
                self._full = (acc, terms, out)
                acc = out
        self._pending = acc
        return acc

    def _build(self, key):
        acc, created = {}, False
        state = self.opt.state
        for group in self.opt.param_groups:
            mu = group["momentum"]
            for p in group["params"]:
                if mu == 0:
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
                else:
                    if not buf.is_contiguous():
                        buf = st["momentum_buffer"] = buf.contiguous()
                    acc[p] = (buf, mu)
        # a dict that holds new buffers has μ = 0 for them: valid for this step only
        self._cache = None if created else (key, acc)
        return acc

    def finish(self, applied: bool) -> None:
        """End the step begun by :meth:`targets`: u ← u + λθ, θ ← θ − η u, unless the
        fused step ``applied`` it already."""
        acc, self._pending = self._pending, None
        if acc is None:
            raise RuntimeError("SGDFusion.finish: call targets() and fill the buffers first")
        if not applied:
            with torch.no_grad():
                for group in self.opt.param_groups:
                    params = group["params"]
                    bufs = [acc[p][0] for p in params]
                    if group["weight_decay"] != 0:
                        torch._foreach_add_(bufs, params, alpha=group["weight_decay"])
                    torch._foreach_add_(params, bufs, alpha=-group["lr"])
        self.opt._opt_called = True  # what step() records for LR schedulers
