r"""The fused binary-RBM kernels behind :class:`~inference.contrastive.CD` and
:class:`~inference.contrastive.PCD`: no autograd, in-place ops on preallocated buffers,
and one GEMM for the whole weight gradient,

.. math::

    \nabla_W = [v_{\text{model}}; v_{\text{data}}]^\top
               [\,p(h|v_{\text{model}})/C;\; -p(h|v_{\text{data}})/B\,],

C chains and B data rows, which is exactly the gradient of the free-energy surrogate
``F(v_data).mean() - F(v_model).mean()`` for the same chain samples. With
``accumulate`` the gradients go straight into an optimizer's momentum buffers,
u ← μ u + ∇ (``u.addmm_(…, beta=μ)``), saving a pass over the weights
(:class:`~inference.optim.LeanSGD`).

Bernoulli draws compare uniforms with the probabilities in place: float uniforms
(exactly :func:`inference.sampling.bernoulli`'s draws) or, on CPU, 16-bit ones, four per
64-bit random number.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["Workspace", "Views", "write_grads", "sigmoid_affine_", "cd_step", "pcd_step"]

_SHIFT = 32768.5  # u = (s + 32768.5) / 65536 for a uniform int16 s


class Views(NamedTuple):
    """Views of a :class:`Workspace` for C chains and B data rows (C + B stacked rows).

    ``V2`` (C+B, n_vis) = [v_model; v_data] with halves ``vneg``, ``vpos``; ``H2``
    (C+B, n_hid) = [p(h|v_model); p(h|v_data)] with halves ``pneg``, ``ppos``; ``s``
    (C+B,) the row weights [+1/C …; −1/B …] (``s_col`` as a column), ``ones`` (C+B,),
    and the transposes ``V2t``, ``H2t``.
    """

    V2: torch.Tensor
    H2: torch.Tensor
    vneg: torch.Tensor
    vpos: torch.Tensor
    pneg: torch.Tensor
    ppos: torch.Tensor
    s: torch.Tensor
    s_col: torch.Tensor
    ones: torch.Tensor
    V2t: torch.Tensor
    H2t: torch.Tensor


class Workspace:
    """Preallocated buffers of the fused RBM step for ``n_neg`` chains and batches of
    up to ``n_pos`` rows. Rows are stacked negative first, so the chain part of the
    buffers stays put whatever the batch size."""

    def __init__(self, n_neg, n_pos, n_vis, n_hid, dtype, device, fast):
        opts = dict(dtype=dtype, device=device)
        rows = n_neg + n_pos
        self.key = (n_neg, n_pos, n_vis, n_hid, dtype, device, fast)
        self.n_neg, self.n_pos = n_neg, n_pos
        self.shape, self.dtype, self.device = (n_vis, n_hid), dtype, torch.device(device)
        self.V2 = torch.zeros(rows, n_vis, **opts)   # [v_model; v_data]
        self.H2 = torch.zeros(rows, n_hid, **opts)   # [p(h|v_model); p(h|v_data)], then scaled
        self.hs = torch.zeros(max(n_neg, n_pos), n_hid, **opts)  # hidden samples (CD)
        self.hchain = torch.zeros(n_neg, n_hid, **opts)          # hidden chain state (PCD)
        self.diff = torch.zeros(n_pos, n_vis, **opts)
        big = max(n_neg, n_pos) * max(n_vis, n_hid)
        self.fast = fast
        if fast:
            self.bits = torch.empty((big + 3) // 4, dtype=torch.int64, device=device)
            self.thresh = torch.empty(big, **opts)
            self.shift = torch.tensor(-_SHIFT, **opts)
        else:
            self.u = torch.empty(big, **opts)
        self._views = {}
        self._draw = {}
        self._params_key, self._params = None, None

    def params(self, model):
        """(W, Wᵀ, b, c) of ``model`` as views without autograd, cached while the
        parameters keep their storage (in-place updates keep it)."""
        W, b, c = model.W, model.b, model.c
        key = (W.data_ptr(), b.data_ptr(), c.data_ptr())
        if self._params_key != key:
            Wd = W.detach()
            self._params = (Wd, Wd.t(), b.detach(), c.detach())
            self._params_key = key
        return self._params

    def views(self, n_neg, n_pos):
        """Cached views for C = ``n_neg`` and B = ``n_pos`` rows: the stacked buffers
        ``V2 = [v_model; v_data]`` and ``H2``, their halves, and the row weights
        s = [+1/C …; −1/B …] of the gradient."""
        out = self._views.get((n_neg, n_pos))
        if out is None:
            rows = n_neg + n_pos
            opts = dict(dtype=self.V2.dtype, device=self.V2.device)
            s = torch.cat([torch.full((n_neg,), 1.0 / n_neg, **opts), torch.full((n_pos,), -1.0 / n_pos, **opts)])
            V2, H2 = self.V2[:rows], self.H2[:rows]
            out = self._views[(n_neg, n_pos)] = Views(V2, H2, V2[:n_neg], V2[n_neg:], H2[:n_neg], H2[n_neg:],
                                                       s, s[:, None], torch.ones(rows, **opts), V2.t(), H2.t())
        return out

    def bernoulli_(self, out, probs, generator):
        """out ← 1{u < probs} with u uniform; ``out`` may alias ``probs``.

        With ``fast`` the uniforms have 16 bits (four per 64-bit draw of the generator,
        so P(out = 1) is ``probs`` rounded to a multiple of 2⁻¹⁶); otherwise they are
        ``torch.rand`` floats, exactly as :func:`inference.sampling.bernoulli` draws them.
        """
        shape = probs.shape
        bufs = self._draw.get(shape)
        if bufs is None:
            n = probs.numel()
            if self.fast:
                bits = self.bits[: (n + 3) // 4]
                bufs = (bits, bits.view(torch.int16)[:n].view(shape), self.thresh[:n].view(shape))
            else:
                bufs = (self.u[:n].view(shape),)
            self._draw[shape] = bufs
        if self.fast:
            bits, s, t = bufs
            bits.random_(-(2**63), None, generator=generator)
            torch.add(self.shift, probs, alpha=65536.0, out=t)
            torch.lt(s, t, out=out)
        else:
            u = bufs[0]
            u.uniform_(generator=generator)
            torch.lt(u, probs, out=out)


def _grad_buffer(p):
    g = p.grad
    if (g is None or g.shape != p.shape or g.dtype != p.dtype or g.device != p.device
            or not g.is_contiguous()):
        g = p.grad = torch.zeros_like(p, memory_format=torch.contiguous_format)
    return g


def write_grads(model, views, accumulate=None):
    """∇W = V2ᵀ (s ⊙ H2), ∇c = Σ_rows s ⊙ H2, ∇b = V2ᵀ s, straight into ``.grad``, or
    with ``accumulate = {param: (u, μ)}`` as u ← μ u + ∇ in the same GEMM / GEMV."""
    H2 = views.H2.mul_(views.s_col)
    V2t = views.V2t
    W, b, c = model.W, model.b, model.c
    if accumulate is None:
        torch.mm(V2t, H2, out=_grad_buffer(W))
        torch.sum(H2, 0, out=_grad_buffer(c))
        torch.mv(V2t, views.s, out=_grad_buffer(b))
        return
    entry = accumulate.get(W)
    if entry is None:
        torch.mm(V2t, H2, out=_grad_buffer(W))
    else:
        entry[0].addmm_(V2t, H2, beta=entry[1])
    entry = accumulate.get(c)
    if entry is None:
        torch.sum(H2, 0, out=_grad_buffer(c))
    else:
        entry[0].addmv_(views.H2t, views.ones, beta=entry[1])
    entry = accumulate.get(b)
    if entry is None:
        torch.mv(V2t, views.s, out=_grad_buffer(b))
    else:
        entry[0].addmv_(V2t, views.s, beta=entry[1])


def sigmoid_affine_(out, x, weight, bias):
    """out ← σ(x @ weight + bias) (a plain GEMM then in-place ops: cheaper than addmm)."""
    torch.mm(x, weight, out=out)
    out.add_(bias)
    return torch.sigmoid(out, out=out)


def cd_step(ws, model, v, gen, k, sample_visible, track_error, accumulate=None):
    """CD-k on the fused path: v₀ → h₀ → v₁ → … → v_k, then the gradients.

    Returns (v_k, Σ‖v₀ − v₁‖² or ``None``); v_k is a view of ``ws``'s buffers."""
    B = v.shape[0]
    views = ws.views(B, B)
    vneg, vpos, pneg, ppos = views.vneg, views.vpos, views.pneg, views.ppos
    W, Wt, b, c = ws.params(model)  # no autograd, no no_grad() cost
    hs = ws.hs[:B] if B != ws.hs.shape[0] else ws.hs
    if v is not vpos:
        vpos.copy_(v)
    sigmoid_affine_(ppos, vpos, W, c)
    ws.bernoulli_(hs, ppos, gen)
    recon = None
    for step in range(k):
        sigmoid_affine_(vneg, hs, Wt, b)
        if step == 0 and track_error:
            d = torch.sub(vpos, vneg, out=ws.diff[:B]).view(-1)
            recon = torch.dot(d, d)
        if sample_visible:
            ws.bernoulli_(vneg, vneg, gen)
        sigmoid_affine_(pneg, vneg, W, c)
        if step < k - 1:
            ws.bernoulli_(hs, pneg, gen)
    write_grads(model, views, accumulate)
    return vneg, recon


def pcd_step(ws, model, v, gen, k, n_chains, accumulate=None):
    """PCD-k on the fused path: k sweeps of the chains held in ``ws`` (``ws.V2``'s first
    ``n_chains`` rows and ``ws.hchain``), then the gradients. Returns the chains' v."""
    C, B = n_chains, v.shape[0]
    views = ws.views(C, B)
    vneg, pneg = views.vneg, views.pneg
    W, Wt, b, c = ws.params(model)
    h = ws.hchain
    if v is not views.vpos:
        views.vpos.copy_(v)
    for step in range(k):
        sigmoid_affine_(vneg, h, Wt, b)
        ws.bernoulli_(vneg, vneg, gen)
        if step < k - 1:
            sigmoid_affine_(pneg, vneg, W, c)
        else:  # p(h | v) for the chains and the data in one GEMM
            sigmoid_affine_(views.H2, views.V2, W, c)
        ws.bernoulli_(h, pneg, gen)
    write_grads(model, views, accumulate)
    return vneg
