r"""The whole-step native kernel of binary-RBM training (``inference/backends/rbm/csrc/rbm_step.c``).

One C call does a CD-k or PCD-k step: the batch gather, the GEMMs (torch's MKL
``sgemm``, one thread per call), the logistic layers with their Philox draws, the
gradients into the optimizer's momentum buffers and, when asked, the SGD update. Each
thread owns a fixed range of visible units, i.e. rows of W and of its momentum buffer,
so those stay in one core's cache from step to step; the hidden pre-activations are
summed over the threads' partial products. The estimate, the draws and the column-sum
order are those of the per-pass kernels (:func:`inference.backends.rbm.fused.cd_step_native`);
only the GEMMs' rounding differs, and it depends on the thread count.

:class:`WholeStep` holds the argument block and the extra buffers of one
:class:`~inference.backends.rbm.fused.Workspace`.
"""

from __future__ import annotations

import ctypes

import torch

from .native import index_error

__all__ = ["StepArgs", "WholeStep", "grad_buffer", "gradient_target", "MAX_THREADS"]

_f, _i32, _i64, _p = ctypes.c_float, ctypes.c_int32, ctypes.c_int64, ctypes.c_void_p
_ROWS_PER_BLOCK = 16  # rbm_common.h
#: Most threads the whole step uses: its partial products take (threads - 1) x rows x
#: n_hidden floats, and their sum costs a pass over them per thread.
MAX_THREADS = 16


class StepArgs(ctypes.Structure):
    """``pgm_rbm_step_args`` of ``rbm_step.c``, field for field."""

    _fields_ = [("n_vis", _i64), ("n_hid", _i64), ("n_neg", _i64), ("n_pos", _i64), ("n_data", _i64),
                ("k", _i32), ("sample_visible", _i32), ("persistent", _i32), ("update", _i32), ("nthreads", _i32),
                ("W", _p), ("b", _p), ("c", _p), ("uW", _p), ("ub", _p), ("uc", _p),
                ("mu_W", _f), ("mu_b", _f), ("mu_c", _f),
                ("lr_W", _f), ("lr_b", _f), ("lr_c", _f), ("wd_W", _f), ("wd_b", _f), ("wd_c", _f),
                ("data", _p), ("index", _p),
                ("V2", _p), ("H2", _p), ("hs", _p), ("hchain", _p), ("partial", _p), ("block_sums", _p), ("err", _p),
                ("key", ctypes.c_uint64), ("sgemm", _p), ("threads_local", _p),
                ("n_steps", _i64), ("keys", _p), ("lrs", _p), ("track", _p)]


def grad_buffer(p):
    """``p.grad``, (re)allocated as a contiguous tensor like ``p`` when it is not one."""
    g = p.grad
    if (g is None or g.shape != p.shape or g.dtype != p.dtype or g.device != p.device
            or not g.is_contiguous()):
        g = p.grad = torch.zeros_like(p, memory_format=torch.contiguous_format)
    return g


def gradient_target(param, accumulate, name):
    """(buffer, μ, λ, η) for ``param``: a momentum entry (u, μ) or (u, μ, λ, η) of
    ``accumulate``, else ``.grad`` with μ = 0; λ, η are ``None`` without an update."""
    entry = accumulate.get(param) if accumulate is not None else None
    if entry is None:
        return grad_buffer(param), 0.0, None, None
    u = entry[0]
    if not (u.is_contiguous() and u.shape == param.shape and u.dtype == param.dtype and u.device == param.device):
        raise ValueError(f"accumulate[{name}] must be a contiguous {param.dtype} tensor of shape "
                         f"{tuple(param.shape)} on {param.device}, got {u.dtype} of shape {tuple(u.shape)} on "
                         f"{u.device} (contiguous={u.is_contiguous()})")
    if len(entry) == 4:
        return entry
    return u, entry[1], None, None


class WholeStep:
    """Argument block and buffers of the whole-step kernel for a workspace ``ws``."""

    @staticmethod
    def fits(ws) -> bool:
        """Whether the kernel's 32-bit GEMM dimensions hold ``ws``'s sizes."""
        rows = ws.n_neg + ws.n_pos
        return rows * max(ws.shape) < 2**31 and ws.shape[0] * ws.shape[1] < 2**31

    def __init__(self, kernels, ws):
        self.kernels, self.ws = kernels, ws
        n_vis, n_hid = ws.shape
        self.rows = ws.n_neg + ws.n_pos
        blocks = -(-max(ws.n_neg, ws.n_pos) // _ROWS_PER_BLOCK)
        self.block_sums = torch.empty(2 * blocks * n_hid)
        self.err = torch.empty(n_vis)
        self._alloc_partial(min(torch.get_num_threads(), MAX_THREADS))
        a = self.args = StepArgs()
        a.n_vis, a.n_hid = n_vis, n_hid
        a.V2, a.H2, a.hs, a.hchain = ws.V2.data_ptr(), ws.H2.data_ptr(), ws.hs.data_ptr(), ws.hchain.data_ptr()
        a.block_sums = self.block_sums.data_ptr()
        a.sgemm, a.threads_local = kernels.sgemm, kernels.threads_local
        self._ref = ctypes.byref(a)
        self._params_key = None

    def _alloc_partial(self, threads):
        self.threads = max(1, threads)
        self.partial = torch.empty(max(self.threads - 1, 1) * self.rows * self.ws.shape[1])

    def _prepare(self, model, accumulate, k, n_neg, persistent, sample_visible):
        """Set the fields shared by :meth:`run` and :meth:`run_steps`; returns whether
        ``accumulate`` asks for the update."""
        a = self.args
        threads = min(torch.get_num_threads(), MAX_THREADS)
        if threads > self.threads:
            self._alloc_partial(threads)
        a.partial = self.partial.data_ptr()
        a.nthreads = threads
        W, b, c = model.W, model.b, model.c
        key = (W.data_ptr(), b.data_ptr(), c.data_ptr())
        if key != self._params_key:
            if not (W.is_contiguous() and b.is_contiguous() and c.is_contiguous()):
                raise ValueError("the whole-step kernel needs contiguous W, b and c; got strides "
                                 f"{W.stride()}, {b.stride()}, {c.stride()}")
            a.W, a.b, a.c = key
            self._params_key = key
        uW, a.mu_W, wd_W, lr_W = gradient_target(W, accumulate, "W")
        ub, a.mu_b, wd_b, lr_b = gradient_target(b, accumulate, "b")
        uc, a.mu_c, wd_c, lr_c = gradient_target(c, accumulate, "c")
        a.uW, a.ub, a.uc = uW.data_ptr(), ub.data_ptr(), uc.data_ptr()
        update = lr_W is not None and lr_b is not None and lr_c is not None
        if update:
            a.lr_W, a.lr_b, a.lr_c, a.wd_W, a.wd_b, a.wd_c = lr_W, lr_b, lr_c, wd_W, wd_b, wd_c
        a.update = update
        a.n_neg, a.k, a.persistent, a.sample_visible = n_neg, k, persistent, sample_visible
        return update

    def run(self, model, v, gen, *, k, n_neg, persistent, sample_visible=True, track_error=False,
            accumulate=None, index=None):
        """One step on the batch ``v`` (or its rows ``index``): C = ``n_neg`` chains
        (CD: C = B). Returns (recon_sq or ``None``, whether the SGD update was applied)."""
        a = self.args
        update = self._prepare(model, accumulate, k, n_neg, persistent, sample_visible)
        if not v.is_contiguous():  # the kernel reads rows of a contiguous array
            v = v.contiguous() if index is None else v.index_select(0, index)
            index = None
        a.data, a.n_data = v.data_ptr(), v.shape[0]
        a.index = None if index is None else index.data_ptr()
        a.n_pos = v.shape[0] if index is None else index.shape[0]
        a.err = self.err.data_ptr() if track_error else None
        a.n_steps, a.keys, a.lrs, a.track = 1, None, None, None
        a.key = self.ws.next_key(gen)
        bad = self.kernels.raw_rbm_step(self._ref)
        if bad:
            raise index_error(index, bad, v.shape[0])
        return (self.err.sum() if track_error else None), update

    def run_steps(self, model, data, index, gen, lrs, track, *, k, n_neg, persistent, sample_visible=True,
                  accumulate):
        """``len(index)`` SGD steps in one call: step i on the rows ``index[i]`` of ``data``
        with the learning rates ``lrs[i]`` (W, b, c) and the momentum and weight decay of
        ``accumulate`` (entries (u, μ, λ, η); η is replaced by ``lrs``), keys drawn from
        ``gen`` one per step as :meth:`run` draws them. The same computation, bit for bit,
        as that many :meth:`run` calls. Returns the recon_sq of the steps where ``track``
        (``None`` elsewhere)."""
        a = self.args
        n_steps, n_pos = index.shape
        if not self._prepare(model, accumulate, k, n_neg, persistent, sample_visible):
            raise ValueError("run_steps needs accumulate entries (u, μ, λ, η) for W, b and c")
        keys = torch.tensor([self.ws.next_key(gen) & 0xFFFFFFFFFFFFFFFF for _ in range(n_steps)],
                            dtype=torch.uint64)
        lrs = torch.as_tensor(lrs, dtype=torch.float32).contiguous()
        track = torch.as_tensor(track, dtype=torch.uint8)
        errs = torch.empty(n_steps, data.shape[1]) if bool(track.any()) else None
        a.data, a.n_data, a.index, a.n_pos = data.data_ptr(), data.shape[0], index.data_ptr(), n_pos
        a.n_steps, a.keys, a.lrs, a.track = n_steps, keys.data_ptr(), lrs.data_ptr(), track.data_ptr()
        a.err = None if errs is None else errs.data_ptr()
        bad = self.kernels.raw_rbm_step(self._ref)
        a.n_steps, a.keys, a.lrs, a.track = 1, None, None, None
        if bad:
            raise index_error(index.view(-1), bad, data.shape[0])
        return [errs[i].sum() if flag else None for i, flag in enumerate(track.tolist())]
