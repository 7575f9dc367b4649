r"""The fused binary-RBM steps behind :class:`~inference.backends.rbm.fused_gradient.FusedGradient`
(CD-k and PCD-k): no autograd, in-place ops on preallocated buffers, and one GEMM for the
whole weight gradient,

.. math::

    \nabla_W = [v_{\text{model}}; v_{\text{data}}]^\top
               [\,p(h|v_{\text{model}})/C;\; -p(h|v_{\text{data}})/B\,],

C chains and B data rows, which is exactly the gradient of the free-energy surrogate
``F(v_data).mean() - F(v_model).mean()`` for the same chain samples. With
``accumulate`` the gradients go straight into an optimizer's momentum buffers,
u ← μ u + ∇ (``u.addmm_(…, beta=μ)``), saving a pass over the weights
(:class:`~inference.backends.rbm.sgd.SGDFusion`).

Two implementations of the elementwise work (bias, logistic, Bernoulli draw, bias
gradients) around the GEMMs:

- the native kernels of :mod:`inference.backends.rbm.native` (CPU, float32, when a C compiler is
  available): one pass per layer that adds the bias, applies σ, scales the
  probabilities by their gradient weight, draws the Bernoulli samples from Philox
  uniforms and accumulates the bias gradients (``cd_step_native``, ``pcd_step_native``);
  when torch's MKL ``sgemm`` is reachable, the whole step, GEMMs and SGD update
  included, is one call of :mod:`inference.backends.rbm.whole_step`'s kernel instead;
- torch ops on the preallocated buffers (any device and dtype): the draws compare
  uniforms with the probabilities in place, float uniforms (exactly
  :func:`inference.mcmc.sampling.bernoulli`'s draws) or, on CPU, 16-bit ones, four per 64-bit
  random number (``cd_step``, ``pcd_step``).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .native import index_error
from .whole_step import WholeStep, grad_buffer, gradient_target

__all__ = ["Workspace", "Views", "write_grads", "sigmoid_affine_", "cd_step", "pcd_step", "cd_step_native",
           "pcd_step_native"]

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

    def __init__(self, n_neg, n_pos, n_vis, n_hid, dtype, device, fast, native=None):
        opts = dict(dtype=dtype, device=device)
        rows = n_neg + n_pos
        self.key = (n_neg, n_pos, n_vis, n_hid, dtype, device, fast, native is not None)
        self.native = native  # inference.backends.rbm.native.Kernels or None
        self._philox_key = torch.empty((), dtype=torch.int64, device="cpu")  # scratch for next_key
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
        #: The whole-step kernel's state (:mod:`inference.backends.rbm.whole_step`), or ``None``.
        self.whole = (WholeStep(native, self) if native is not None and native.has_step and WholeStep.fits(self)
                      else None)

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

    def next_key(self, generator) -> int:
        """A fresh 63-bit Philox key drawn from ``generator`` (native kernels)."""
        if generator.device.type != "cpu":  # pragma: no cover - native kernels are CPU-only
            return int(torch.randint(0, 2**62, (), generator=generator, device=generator.device))
        return self._philox_key.random_(generator=generator).item()

    def bernoulli_(self, out, probs, generator):
        """out ← 1{u < probs} with u uniform; ``out`` may alias ``probs``.

        With ``fast`` the uniforms have 16 bits (four per 64-bit draw of the generator,
        so P(out = 1) is ``probs`` rounded to a multiple of 2⁻¹⁶); otherwise they are
        ``torch.rand`` floats, exactly as :func:`inference.mcmc.sampling.bernoulli` draws them.
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


def write_grads(model, views, accumulate=None):
    """∇W = V2ᵀ (s ⊙ H2), ∇c = Σ_rows s ⊙ H2, ∇b = V2ᵀ s, straight into ``.grad``, or
    with ``accumulate = {param: (u, μ)}`` as u ← μ u + ∇ in the same GEMM / GEMV."""
    H2 = views.H2.mul_(views.s_col)
    V2t = views.V2t
    W, b, c = model.W, model.b, model.c
    if accumulate is None:
        torch.mm(V2t, H2, out=grad_buffer(W))
        torch.sum(H2, 0, out=grad_buffer(c))
        torch.mv(V2t, views.s, out=grad_buffer(b))
        return
    entry = accumulate.get(W)
    if entry is None:
        torch.mm(V2t, H2, out=grad_buffer(W))
    else:
        entry[0].addmm_(V2t, H2, beta=entry[1])
    entry = accumulate.get(c)
    if entry is None:
        torch.sum(H2, 0, out=grad_buffer(c))
    else:
        entry[0].addmv_(views.H2t, views.ones, beta=entry[1])
    entry = accumulate.get(b)
    if entry is None:
        torch.mv(V2t, views.s, out=grad_buffer(b))
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


# -- native kernels ----------------------------------------------------------------------

def _weight_grad(model, views, accumulate):
    u, mu = gradient_target(model.W, accumulate, "W")[:2]  # u ← μ u + V2ᵀ H2
    if mu == 0:
        torch.mm(views.V2t, views.H2, out=u)
    else:
        u.addmm_(views.V2t, views.H2, beta=mu)


def _load_batch(ws, v, index, vpos, ub_ptr, mu_b, nt):
    """vpos ← the batch (``v``, or rows ``index`` of ``v``), ub ← β ub − Σ_rows vpos / B."""
    kern, (B, nv) = ws.native, vpos.shape
    if index is not None and v.is_contiguous():
        bad = kern.raw_gather_rows(v.data_ptr(), v.shape[0], index.data_ptr(), B, nv, vpos.data_ptr(), ub_ptr, mu_b,
                                   -1.0 / B, nt)
        if bad:
            raise index_error(index, bad, v.shape[0])
        return
    if index is not None:
        torch.index_select(v, 0, index, out=vpos)
    elif v is not vpos:
        vpos.copy_(v)
    kern.raw_column_sum(vpos.data_ptr(), B, nv, ub_ptr, mu_b, -1.0 / B, nt)


def cd_step_native(ws, model, v, gen, k, sample_visible, track_error, accumulate=None, index=None):
    """:func:`cd_step` with the native kernels: the same estimate, Philox draws. With
    ``index`` (int64, contiguous) the batch is the rows ``index`` of ``v``. Entries
    (u, μ, λ, η) of ``accumulate`` ask for the SGD update too, which the whole-step
    kernel applies.

    Streams of the step's key: 0 for h₀, 2s + 1 for v_{s+1} and 2s + 2 for h_{s+1}.
    Returns (v_k, Σ‖v₀ − v₁‖² or ``None``, whether the update was applied)."""
    kern, nt = ws.native, torch.get_num_threads()
    B = v.shape[0] if index is None else index.shape[0]
    if ws.whole is not None:
        recon, applied = ws.whole.run(model, v, gen, k=k, n_neg=B, persistent=False, sample_visible=sample_visible,
                                      track_error=track_error, accumulate=accumulate, index=index)
        return ws.views(B, B).vneg, recon, applied
    nv, nh = ws.shape
    views = ws.views(B, B)
    vneg, vpos, pneg, ppos = views.vneg, views.vpos, views.pneg, views.ppos
    W, Wt, b, c = ws.params(model)
    hs = ws.hs[:B] if B != ws.hs.shape[0] else ws.hs
    ub, mu_b = gradient_target(model.b, accumulate, "b")[:2]
    uc, mu_c = gradient_target(model.c, accumulate, "c")[:2]
    b_ptr, c_ptr, ub_ptr, uc_ptr = b.data_ptr(), c.data_ptr(), ub.data_ptr(), uc.data_ptr()
    key = ws.next_key(gen)
    _load_batch(ws, v, index, vpos, ub_ptr, mu_b, nt)                             # ∇b = mean v_k − mean v₀
    torch.mm(vpos, W, out=ppos)
    kern.raw_logistic_bernoulli(ppos.data_ptr(), c_ptr, B, nh, -1.0 / B, hs.data_ptr(), key, 0,
                                uc_ptr, mu_c, 1.0, 0, nt)                         # ppos ← −p(h|v₀)/B, h₀
    recon = None
    vneg_ptr, pneg_ptr, hs_ptr = vneg.data_ptr(), pneg.data_ptr(), hs.data_ptr()
    for step in range(k):
        last = step == k - 1
        torch.mm(hs, Wt, out=vneg)
        stream, sums = 2 * step + 1, (ub_ptr if last else None)
        if step == 0 and track_error:
            kern.raw_logistic_bernoulli(vneg_ptr, b_ptr, B, nv, 1.0, None, 0, 0, None, 0.0, 0.0, 0, nt)
            d = torch.sub(vpos, vneg, out=ws.diff[:B]).view(-1)
            recon = torch.dot(d, d)
            if sample_visible:
                kern.raw_bernoulli(vneg_ptr, vneg_ptr, B, nv, key, stream, sums, 1.0, 1.0 / B, nt)
            elif last:
                kern.raw_column_sum(vneg_ptr, B, nv, ub_ptr, 1.0, 1.0 / B, nt)
        else:
            kern.raw_logistic_bernoulli(vneg_ptr, b_ptr, B, nv, 1.0, vneg_ptr if sample_visible else None, key,
                                        stream, sums, 1.0, 1.0 / B, 1, nt)
        torch.mm(vneg, W, out=pneg)
        if last:
            kern.raw_logistic_bernoulli(pneg_ptr, c_ptr, B, nh, 1.0 / B, None, 0, 0, uc_ptr, 1.0, 1.0, 0, nt)
        else:
            kern.raw_logistic_bernoulli(pneg_ptr, c_ptr, B, nh, 1.0, hs_ptr, key, 2 * step + 2, None, 0.0, 0.0,
                                        0, nt)
    _weight_grad(model, views, accumulate)
    return vneg, recon, False


def pcd_step_native(ws, model, v, gen, k, n_chains, accumulate=None, index=None):
    """:func:`pcd_step` with the native kernels: the same estimate, Philox draws. With
    ``index`` the batch is the rows ``index`` of ``v``; ``accumulate`` as in
    :func:`cd_step_native`.

    Streams of the step's key: 2s + 1 for the chains' v and 2s + 2 for their h at sweep s.
    Returns (the chains' v, whether the update was applied)."""
    kern, nt = ws.native, torch.get_num_threads()
    C, B = n_chains, (v.shape[0] if index is None else index.shape[0])
    if ws.whole is not None:
        _, applied = ws.whole.run(model, v, gen, k=k, n_neg=C, persistent=True, accumulate=accumulate, index=index)
        return ws.views(C, B).vneg, applied
    nv, nh = ws.shape
    views = ws.views(C, B)
    vneg = views.vneg
    W, Wt, b, c = ws.params(model)
    ub, mu_b = gradient_target(model.b, accumulate, "b")[:2]
    uc, mu_c = gradient_target(model.c, accumulate, "c")[:2]
    h = ws.hchain
    vneg_ptr, pneg_ptr, h_ptr = vneg.data_ptr(), views.pneg.data_ptr(), h.data_ptr()
    b_ptr, c_ptr, ub_ptr, uc_ptr = b.data_ptr(), c.data_ptr(), ub.data_ptr(), uc.data_ptr()
    key = ws.next_key(gen)
    _load_batch(ws, v, index, views.vpos, ub_ptr, mu_b, nt)
    for step in range(k):
        last = step == k - 1
        torch.mm(h, Wt, out=vneg)
        kern.raw_logistic_bernoulli(vneg_ptr, b_ptr, C, nv, 1.0, vneg_ptr, key, 2 * step + 1,
                                    ub_ptr if last else None, 1.0, 1.0 / C, 1, nt)
        if not last:
            torch.mm(vneg, W, out=views.pneg)
            kern.raw_logistic_bernoulli(pneg_ptr, c_ptr, C, nh, 1.0, h_ptr, key, 2 * step + 2, None, 0.0, 0.0, 0,
                                        nt)
            continue
        torch.mm(views.V2, W, out=views.H2)  # p(h | v) for the chains and the data in one GEMM
        kern.raw_logistic_bernoulli(pneg_ptr, c_ptr, C, nh, 1.0 / C, h_ptr, key, 2 * step + 2,
                                    uc_ptr, mu_c, 1.0, 0, nt)
        kern.raw_logistic_bernoulli(views.ppos.data_ptr(), c_ptr, B, nh, -1.0 / B, None, 0, 0,
                                    uc_ptr, 1.0, 1.0, 0, nt)
    _weight_grad(model, views, accumulate)
    return vneg, False
