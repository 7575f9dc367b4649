r"""The binary RBM's annealing loop: AIS on the visible marginal with two GEMMs per step.

Taken through :func:`inference.backends.fast_path` by :func:`annealer` for an
:class:`~inference.partition.path.AnnealingPath` in the marginal form with a Bernoulli
base factor on v only, that is the path of Salakhutdinov & Murray (2008):

.. math::

    \log p^*_\beta(v) = (1-\beta)\, b_A^\top v + \beta\, b^\top v
        + \sum_j \operatorname{softplus}\big(\beta\,(c + v W)_j\big),

with the transition h ~ σ(β (c + vW)), then v ~ σ((1−β) b_A + β (b + W h)) — the
generic loop's sweep (:class:`inference.partition.loop.TorchAnnealer`) specialised.

Implementation: two matrix products per step (c + vW, reused by the weight and by the
hidden draw; and W h), samples in the model's dtype, draws from an explicit
``torch.Generator`` (float32 on CPU: two 23-bit uniforms per 64-bit random word),
preallocated buffers and in-place updates. Weight increments are computed in float64
from ``softplus(a) = relu(a) + log(1 + e^{-|a|})``: the relu parts are linear in β, and the
rest is one logarithm per chain of a product of ratios
``(1 + e^{-β_k |x_j|}) / (1 + e^{-β_{k-1} |x_j|})``, each in (1/2, 2), taken over blocks of
1000 hidden units so that it can neither overflow nor underflow — the same value as the
difference of the two softplus sums, at a fraction of the cost of per-unit logarithms.
"""

from __future__ import annotations

import torch

__all__ = ["annealer", "RBMAnnealer"]

_F64 = torch.float64
#: Columns per product in the float64 weight update: a product of 1000 ratios in
#: (1/2, 2) stays within float64's normal range.
_PROD_COLS = 1000


def annealer(model, request):
    """An :class:`RBMAnnealer` for a :class:`~inference.backends.requests.MarginalAnnealing`
    request on a recognised binary RBM, or ``None`` (no Bernoulli base, another model, or
    parameters that are not float32/float64)."""
    if request.model is not model or request.base_logits is None:
        return None
    W = getattr(model, "W", None)
    if not isinstance(W, torch.Tensor) or W.dtype not in (torch.float32, torch.float64):
        return None
    return RBMAnnealer(model, request.base_logits, request.refresh)


class RBMAnnealer:
    """Runs AIS chains of a binary RBM from a Bernoulli base with logits ``base_logits``.

    Parameters
    ----------
    model : RBM
    base_logits : Tensor, shape (n_visible,)
        Visible biases b_A of the base model (used in float64, rounded to the model's
        dtype for the sampler).
    refresh : int, default 100
        Steps between updates of the progress bar.
    """

    def __init__(self, model, base_logits, refresh: int = 100):
        self.W, self.b, self.c = model.W.detach(), model.b.detach(), model.c.detach()
        self.refresh = refresh
        self.bias_a = base_logits.detach().to(device=self.W.device, dtype=_F64)

    def run(self, v, betas, generator, pbar=None):
        """Run the chains from ``v`` ~ p_{betas[0]} through ``betas`` (a list of floats, any
        order). Returns (log_w float64 of shape (n_chains,), final v)."""
        with torch.no_grad():
            return _anneal(self.W, self.b, self.c, self.bias_a, v, betas, generator, pbar, self.refresh)


class _Uniforms:
    """A buffer of ``size`` U[0, 1) draws from ``generator``, refilled by :meth:`draw`.

    float32 on CPU: each 64-bit word of ``random_()`` gives two floats, from the mantissa
    trick u = float(0x3F800000 | 23 random bits) - 1 (exact, values k / 2^23), about 1.5×
    cheaper than ``uniform_`` (one 32-bit draw per float, 24 bits kept). Otherwise
    ``uniform_`` (float64: 53 bits; CUDA: Philox).
    """

    def __init__(self, size, dtype, device, generator):
        self.generator = generator
        self.fast = dtype == torch.float32 and torch.device(device).type == "cpu"
        if self.fast:
            self.bits = torch.empty((size + 1) // 2, dtype=torch.int64, device=device)
            self.words = self.bits.view(torch.int32)[:size]
            self.values = self.words.view(torch.float32)
        else:
            self.values = torch.empty(size, dtype=dtype, device=device)

    def draw(self):
        if self.fast:
            self.bits.random_(generator=self.generator)  # 63 random bits per word
            self.words.bitwise_and_(0x7FFFFF).bitwise_or_(0x3F800000)  # floats in [1, 2)
            self.values.sub_(1.0)
        else:
            self.values.uniform_(generator=self.generator)
        return self.values


def _anneal(W, b, c, bias_a, v, betas, generator, pbar, refresh):
    """Run the chains from ``v`` ~ p_{betas[0]} through ``betas``; float64 log-weights.

    ``betas`` is a list of Python floats (any order). Returns (log_w, final v).
    """
    n, nv = v.shape
    nh = W.shape[1]
    dt, dev = W.dtype, W.device
    Wt = W.t().contiguous()
    d64 = b.to(_F64) - bias_a  # b - b_A in float64: the weight's visible term
    bias_a_m = bias_a.to(dt)
    d_m = b - bias_a_m  # the same in the model's dtype: the sampler's visible logits
    log_w = torch.zeros(n, dtype=_F64, device=dev)
    x = torch.empty(n, nh, dtype=dt, device=dev)
    lv = torch.empty(n, nv, dtype=dt, device=dev)
    uniforms = _Uniforms(n * (nh + nv), dt, dev, generator)
    h = uniforms.values[: n * nh].view(n, nh)  # draws, then samples, in place
    v_next = uniforms.values[n * nh:].view(n, nv)
    cols = [slice(i, i + _PROD_COLS) for i in range(0, nh, _PROD_COLS)]
    n_steps = len(betas) - 1
    for k in range(1, n_steps + 1):
        b0, b1 = betas[k - 1], betas[k]
        torch.addmm(c, v, W, out=x)  # GEMM 1: c + vW
        if b1 != b0:
            # log p*_b1(v) - log p*_b0(v) = (b1 - b0)[(b - b_A)·v + Σ relu(x)]
            #   + Σ_j log (1 + exp(-b1|x_j|)) / (1 + exp(-b0|x_j|)),
            # using softplus(a) = relu(a) + log(1 + exp(-|a|)) and β ≥ 0.
            xd = x.to(_F64)
            inc = torch.mv(v.to(_F64), d64).add_(xd.clamp(min=0).sum(1)).mul_(b1 - b0)
            ax = xd.abs()
            ratio = torch.mul(ax, -b1).exp_().add_(1).div_(ax.mul_(-b0).exp_().add_(1))
            for sl in cols:
                inc.add_(ratio[:, sl].prod(1).log_())
            log_w.add_(inc)
        if k == n_steps:
            break
        # one Gibbs sweep at b1: h ~ σ(b1 x), then v ~ σ(b_A + b1 (b - b_A + W h))
        # (v is no longer needed in this step: its buffer may take new draws)
        uniforms.draw()
        x.mul_(b1).sigmoid_()
        h.lt_(x)
        torch.addmm(torch.add(bias_a_m, d_m, alpha=b1), h, Wt, alpha=b1, out=lv)  # GEMM 2
        lv.sigmoid_()
        v = v_next.lt_(lv)
        if pbar is not None and k % refresh == 0:
            pbar.update(refresh)
    if pbar is not None:
        pbar.update(n_steps - pbar.n)
        pbar.close()
    return log_w, v
