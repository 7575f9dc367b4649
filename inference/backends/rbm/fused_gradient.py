r"""CD-k and PCD-k gradients of a binary RBM on the fused paths.

:class:`FusedGradient` computes, for a :class:`~inference.learning.contrastive.CD` or
:class:`~inference.learning.contrastive.PCD` estimator (whose k, reconstruction mode,
chains and generator it uses), the same estimate as the estimator's generic
:meth:`grad`: the gradient of ``F(v_data).mean() - F(v_model).mean()`` for the chain
samples drawn. It runs on preallocated buffers without autograd
(:mod:`~inference.backends.rbm.fused`), with the elementwise work in the native kernels
(float32 CPU models, when they load) or in torch ops (any device and dtype).

The gradients go into ``.grad`` or, with ``accumulate = {param: (u, μ)}``, straight
into an optimizer's momentum buffers as u ← μ u + ∇ (one pass instead of a gradient
write plus a momentum pass). Entries (u, μ, λ, η) for every parameter ask for the SGD
step u ← u + λθ, θ ← θ − η u as well, which the whole-step native kernel applies; the
result says whether it did. This protocol is private to the backend
(:mod:`~inference.backends.rbm.training` drives it).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from . import native as _native
from .fused import Workspace, cd_step, cd_step_native, pcd_step, pcd_step_native

__all__ = ["FusedGradient", "FusedInfo", "KERNELS", "checked_index"]

#: Values of :class:`FusedGradient`'s ``kernels`` argument.
KERNELS = ("auto", "native", "torch")


class FusedInfo(NamedTuple):
    """What one :meth:`FusedGradient.grad` call used and did.

    ``v_model`` is a view of a buffer that the next call overwrites; ``recon_sq`` as in
    :class:`~inference.learning.contrastive.GradInfo`; ``applied`` whether the SGD
    update asked for by (u, μ, λ, η) entries was applied too.
    """

    v_model: torch.Tensor
    recon_sq: torch.Tensor | None
    applied: bool = False


def checked_index(index, v):
    """``index`` as a contiguous 1-d int64 tensor on ``v``'s device (its range is checked
    where rows are gathered)."""
    if not isinstance(index, torch.Tensor) or index.dtype != torch.int64:
        got = index.dtype if isinstance(index, torch.Tensor) else type(index).__name__
        raise TypeError(f"index must be an int64 tensor, got {got}")
    if index.dim() != 1:
        raise ValueError(f"index must be 1-d, got shape {tuple(index.shape)}")
    if index.device != v.device:
        raise ValueError(f"index must be on the data's device {v.device}, got {index.device}")
    return index if index.is_contiguous() else index.contiguous()


class FusedGradient:
    """The fused-path gradient of ``estimator`` (a CD or PCD) for binary RBMs.

    Parameters
    ----------
    estimator : CD or PCD
        Supplies k, ``sample_visible`` (CD), the chains (PCD, updated in place) and the
        generator.
    persistent : bool, optional
        Whether the chains persist (PCD); default: whether the rule has ``init_chains``.
    kernels : {"auto", "native", "torch"}
        ``"auto"`` uses the native kernels for float32 CPU models when they load,
        ``"native"`` requires them, ``"torch"`` keeps torch ops.
    fast_uniforms : bool or None
        Torch ops only: draw 16-bit uniforms, four per 64-bit random number (about 3×
        cheaper on CPU; Bernoulli probabilities rounded to multiples of 2⁻¹⁶). ``None``:
        on CPU only. ``False`` reproduces :func:`inference.mcmc.sampling.bernoulli`
        draw for draw, so this path and the generic one draw the same samples.
    """

    def __init__(self, estimator, *, persistent: bool | None = None, kernels: str = "auto",
                 fast_uniforms: bool | None = None):
        if not all(hasattr(estimator, a) for a in ("k", "generator")):
            raise TypeError(f"estimator must be a CD or PCD learning rule (with k and generator), "
                            f"got {type(estimator).__name__}")
        if kernels not in KERNELS:
            raise ValueError(f"kernels must be one of {list(KERNELS)}, got {kernels!r}")
        if fast_uniforms not in (None, True, False):
            raise ValueError(f"fast_uniforms must be None (auto: CPU only), True or False, got {fast_uniforms!r}")
        self.est, self.kernels, self.fast_uniforms = estimator, kernels, fast_uniforms
        self.persistent = hasattr(estimator, "init_chains") if persistent is None else bool(persistent)
        self._ws = None

    def __repr__(self):
        return f"FusedGradient({self.est!r}, kernels={self.kernels!r})"

    # -- set-up ---------------------------------------------------------------------------
    def _kernels(self, W):
        """The native kernels for a step on ``W``'s device and dtype, or ``None``."""
        if self.kernels == "torch":
            return None
        fits = W.device.type == "cpu" and W.dtype == torch.float32
        kernels = _native.load() if fits else None
        if self.kernels == "native" and kernels is None:
            why = (f"they run on float32 CPU tensors, the model is {W.dtype} on {W.device}" if not fits
                   else _native.status())
            raise RuntimeError(f"kernels='native' but the native kernels cannot be used: {why}")
        return kernels

    def _n_neg(self, n):
        return (self.est.n_chains or n) if self.persistent else n

    def _workspace(self, model, n_neg, n_pos):
        """Buffers for ``n_neg`` negative and ``n_pos`` positive rows, reused while they fit
        (PCD: the chain count must match, as the chains live in them)."""
        ws, W = self._ws, model.W
        exact_neg = self.persistent
        if (ws is not None and ws.n_pos >= n_pos and (ws.n_neg == n_neg or (not exact_neg and ws.n_neg >= n_neg))
                and ws.shape == W.shape and ws.dtype == W.dtype and ws.device == W.device):
            return ws
        fast = self.fast_uniforms
        if fast is None:
            fast = W.device.type == "cpu"
        kernels = self._kernels(W)
        key = (model.n_visible, model.n_hidden, W.dtype, W.device, fast, kernels is not None)
        if ws is not None and ws.key[2:] == key and (not exact_neg or n_neg == ws.n_neg):
            n_neg, n_pos = max(n_neg, ws.n_neg), max(n_pos, ws.n_pos)
        ws = self._ws = Workspace(n_neg, n_pos, *key[:-1], native=kernels)
        return ws

    def uses_native(self, model) -> bool:
        """Whether :meth:`grad` runs the native kernels for ``model``."""
        return self._kernels(model.W) is not None

    def uses_whole_step(self, model) -> bool:
        """Whether :meth:`grad` runs the whole-step kernel for ``model``, and so whether
        :meth:`sgd_steps` can be used."""
        kernels = self._kernels(model.W)
        ws = self._ws  # sizes beyond its 32-bit GEMM dimensions keep the per-pass kernels
        return kernels is not None and kernels.has_step and (ws is None or ws.whole is not None)

    def batch_buffer(self, model, n: int) -> torch.Tensor:
        """A (n, n_visible) tensor to write the next batch into before :meth:`grad`
        (saves copying it into the buffers); overwritten by the next call."""
        n_neg = self._n_neg(n)
        return self._workspace(model, n_neg, n).views(n_neg, n).vpos

    # -- steps ----------------------------------------------------------------------------
    def grad(self, model, v: torch.Tensor, track_error: bool = True, *, accumulate: dict | None = None,
             index: torch.Tensor | None = None) -> FusedInfo:
        """The estimate for the batch ``v`` (or, with ``index``, the rows ``v[index]``: the
        native kernels gather them themselves), into ``.grad`` or ``accumulate``'s
        buffers (module docstring). ``v`` must be valid data of the model's dtype and
        device (not checked)."""
        gen = self.est._generator(model)
        if index is not None:
            index = checked_index(index, v)
        if self.persistent:
            return self._pcd(model, v, gen, accumulate, index)
        B = v.shape[0] if index is None else index.shape[0]
        ws = self._workspace(model, B, B)
        if ws.native is not None:
            return FusedInfo(*cd_step_native(ws, model, v, gen, self.est.k, self.est.sample_visible, track_error,
                                             accumulate, index))
        if index is not None:
            v = torch.index_select(v, 0, index, out=ws.views(B, B).vpos)
        return FusedInfo(*cd_step(ws, model, v, gen, self.est.k, self.est.sample_visible, track_error, accumulate))

    def _pcd(self, model, v, gen, accumulate, index):
        est = self.est
        if index is not None and not (est.chains is not None and self._kernels(model.W) is not None):
            v, index = v.index_select(0, index), None
        if est.chains is None:
            est.init_chains(model, v)
        C, B = est.n_chains, (v.shape[0] if index is None else index.shape[0])
        ws = self._chain_workspace(model, B)
        if ws.native is not None:
            vneg, applied = pcd_step_native(ws, model, v, gen, est.k, C, accumulate, index)
            return FusedInfo(vneg, None, applied)
        return FusedInfo(pcd_step(ws, model, v, gen, est.k, C, accumulate), None)

    def _chain_workspace(self, model, B):
        """The workspace for C chains and B rows, holding the chains (moved in if new or restored)."""
        from ...mcmc.gibbs import GibbsState

        est = self.est
        C = est.n_chains
        ws = self._workspace(model, C, B)
        vals = est.chains.values
        if vals.get("h") is not ws.hchain:
            vneg = ws.views(C, B).vneg
            vneg.copy_(vals["v"])
            ws.hchain.copy_(vals["h"])
            est.chains = GibbsState({"v": vneg, "h": ws.hchain}, est.chains.beta)
        return ws

    def sgd_steps(self, model, data: torch.Tensor, index: torch.Tensor, accumulate: dict, lrs, track) -> list:
        """``len(index)`` SGD steps in one native call, bit for bit what as many
        ``grad(model, data, track[i], accumulate=…, index=index[i])`` calls followed by
        the update would do.

        ``data`` (N, n_visible) contiguous float32; ``index`` (steps, B) int64, rows of
        ``data``; ``accumulate`` entries (u, μ, λ, η) for every parameter (momentum and
        weight decay are taken from it, the learning rates from ``lrs``, (steps, 3) for
        W, b, c). Needs :meth:`uses_whole_step`. Returns, per step, Σ‖v − v₁‖² (CD,
        where ``track[i]``) or ``None``.
        """
        if not self.uses_whole_step(model):
            raise RuntimeError(f"sgd_steps needs the whole-step native kernel ({_native.status()})")
        index = checked_index(index.reshape(-1), data).view(index.shape)
        est, gen, B = self.est, self.est._generator(model), index.shape[1]
        if not self.persistent:
            ws = self._workspace(model, B, B)
            return ws.whole.run_steps(model, data, index, gen, lrs, track, k=est.k, n_neg=B, persistent=False,
                                      sample_visible=est.sample_visible, accumulate=accumulate)
        if est.chains is None:
            est.init_chains(model, data[index[0]])
        ws = self._chain_workspace(model, B)
        track = [False] * index.shape[0]  # PCD's chains do not reconstruct the data
        return ws.whole.run_steps(model, data, index, gen, lrs, track, k=est.k, n_neg=est.n_chains,
                                  persistent=True, accumulate=accumulate)
