r"""Annealed importance sampling (AIS) estimates of the log partition function of an RBM.

AIS (Neal, 2001) moves a batch of independent chains through a sequence of distributions
p_0, ..., p_K from a tractable base model p_A = p_0 to the model p_B = p_K and
accumulates importance weights

.. math::

    \log w = \sum_{k=1}^{K} \log p^*_k(v_k) - \log p^*_{k-1}(v_k),
    \qquad v_1 \sim p_0, \quad v_{k+1} \sim T_k(\cdot \mid v_k),

where T_k leaves p_k invariant. Then E[w] = Z_B / Z_A, so Ẑ_B = Z_A · mean(w) is unbiased
and log Ẑ_B is, by Jensen's inequality, a stochastic *lower* bound of log Z_B.

Following Salakhutdinov & Murray (2008), the base model has visible biases b_A only and
the path is geometric in the visible marginal (hidden units summed out):

.. math::

    \log p^*_\beta(v) = (1-\beta)\, b_A^\top v + \beta\, b^\top v
        + \sum_j \operatorname{softplus}\big(\beta\,(c + v W)_j\big),

    \log Z_A = \sum_i \operatorname{softplus}(b_{A,i}) + n_h \log 2 ,

(at β = 0 the softplus terms are n_h log 2, the hidden units of the base model being
uniform). T_k is one Gibbs sweep at β_k: h ~ σ(β_k (c + vW)), then
v ~ σ((1-β_k) b_A + β_k (b + W h)).

Reverse AIS (Burda, Grosse & Salakhutdinov, 2015) runs the same chain from model samples
towards the base model; it estimates Z_A / Z_B and so gives a stochastic *upper* bound of
log Z_B when started from exact model samples.

Implementation: two matrix products per step (c + vW, reused by the weight and by the
hidden draw; and W h), samples in the model's dtype, draws from an explicit
``torch.Generator`` (float32 on CPU: two 23-bit uniforms per 64-bit random word),
preallocated buffers and in-place updates. Weight increments are
computed in float64 from softplus(a) = relu(a) + log(1 + e^{-|a|}): the relu parts are
linear in β, and the rest is one logarithm per chain of a product of ratios
(1 + e^{-β_k |x_j|}) / (1 + e^{-β_{k-1} |x_j|}), each in (1/2, 2), taken over blocks of
1000 hidden units so that it can neither overflow nor underflow — the same value as the
difference of the two softplus sums, at a fraction of the cost of per-unit logarithms.

References
----------
R. M. Neal, "Annealed importance sampling", Statistics and Computing 11, 125-139, 2001.

R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep belief networks",
ICML 2008.

Y. Burda, R. Grosse and R. Salakhutdinov, "Accurate and conservative estimates of MRF
log-likelihood using reverse annealing", AISTATS 2015.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from models.energy.validation import check_int, check_units

from .exact import LogZEstimate, _bipartite_binary
from ..mcmc.sampling import bernoulli, make_generator

__all__ = [
    "ais_log_partition",
    "ais_log_weights",
    "default_schedule",
    "base_rate_bias",
]

_F64 = torch.float64
#: Columns per product in the float64 weight update: a product of 1000 ratios in
#: (1/2, 2) stays within float64's normal range.
_PROD_COLS = 1000
#: Progress-bar refresh period, in annealing steps.
_REFRESH = 100


def default_schedule(dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
    r"""The schedule of Salakhutdinov & Murray (2008): 14,501 inverse temperatures.

    β runs from 0 to 0.5 in steps of 1e-3, to 0.9 in steps of 1e-4 and to 1 in steps of
    1e-5. Each value is computed as an integer divided by a power of ten (no accumulated
    rounding), so β_k is the float nearest to its decimal value and the ends are exactly
    0 and 1.

    Returns
    -------
    Tensor, shape (14501,)
    """
    segments = [
        torch.arange(0, 500, dtype=_F64) / 1e3,
        torch.arange(5000, 9000, dtype=_F64) / 1e4,
        torch.arange(90000, 100001, dtype=_F64) / 1e5,
    ]
    return torch.cat(segments).to(dtype=dtype, device=device)


def base_rate_bias(data: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    r"""Visible biases of the base-rate model: b_A,i = logit(clip(mean_n v_ni, ε, 1-ε)).

    The same clipped logits as :meth:`models.energy.RBM.init_visible_bias`.

    Parameters
    ----------
    data : Tensor, shape (n, n_visible), values in [0, 1]
    eps : float
        Clipping of the marginals, so that no bias is infinite.

    Returns
    -------
    Tensor, shape (n_visible,), float64
    """
    data = check_units(data, "data", unit_interval=True)
    if data.shape[0] == 0:
        raise ValueError("base_rate_bias: data has no rows; pass at least one example")
    if not (isinstance(eps, float) and 0 < eps < 0.5):
        raise ValueError(f"base_rate_bias: eps must be a float in (0, 0.5), got {eps!r}")
    return torch.logit(data.to(_F64).mean(0).clamp(eps, 1 - eps))


# -- argument handling ---------------------------------------------------------------------

def _rbm_tensors(model, func):
    """Detached (W, b, c) of a binary RBM; W is (n_visible, n_hidden)."""
    vis, hid = _bipartite_binary(model, func)
    nv, nh = model.graph[vis].n_units, model.graph[hid].n_units
    shapes = {"W": (nv, nh), "b": (nv,), "c": (nh,)}
    out = []
    for name, shape in shapes.items():
        t = getattr(model, name, None)
        if not isinstance(t, torch.Tensor) or tuple(t.shape) != shape:
            got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise TypeError(
                f"{func}: needs a binary RBM with tensors W {shapes['W']}, b {shapes['b']} and "
                f"c {shapes['c']} (E(v,h) = -b·v - c·h - vᵀWh); {type(model).__name__}.{name} is {got}"
            )
        out.append(t.detach())
    return tuple(out)


def _check_betas(betas, func, dtype):
    """The schedule as float64, rounded to ``dtype`` so that weights and draws agree."""
    if betas is None:
        betas = default_schedule()
    if not isinstance(betas, torch.Tensor):
        try:
            betas = torch.as_tensor(betas, dtype=_F64)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(
                f"{func}: betas must be a 1-D tensor or sequence of floats, got {type(betas).__name__}"
            ) from None
    if betas.dim() != 1 or betas.shape[0] < 2:
        raise ValueError(f"{func}: betas must be 1-D with at least 2 values, got shape {tuple(betas.shape)}")
    if not torch.is_floating_point(betas):
        betas = betas.to(_F64)
    betas = betas.detach().to(device="cpu", dtype=_F64)
    if not torch.isfinite(betas).all() or (betas < 0).any() or (betas > 1).any():
        raise ValueError(f"{func}: betas must lie in [0, 1], got values in [{betas.min():.4g}, {betas.max():.4g}]")
    if betas[0] != 0 or betas[-1] != 1:
        raise ValueError(
            f"{func}: betas must run from 0 (base model) to 1 (the model), got "
            f"{betas[0].item():.6g} ... {betas[-1].item():.6g}"
        )
    if (betas[1:] < betas[:-1]).any():
        k = int((betas[1:] < betas[:-1]).nonzero()[0])
        raise ValueError(
            f"{func}: betas must be non-decreasing, got betas[{k}] = {betas[k].item():.6g} > "
            f"betas[{k + 1}] = {betas[k + 1].item():.6g}"
        )
    return betas.to(dtype).to(_F64)


def _base_bias(base, data, n_visible, func, dtype, device):
    if isinstance(base, torch.Tensor):
        if base.shape != (n_visible,) or not torch.is_floating_point(base):
            raise ValueError(
                f"{func}: a tensor base must hold the base model's visible biases, a float tensor "
                f"of shape ({n_visible},); got {base.dtype} of shape {tuple(base.shape)}"
            )
        if not torch.isfinite(base).all():
            raise ValueError(f"{func}: base biases must be finite")
        bias = base.detach().to(_F64)
    elif base == "data":
        if data is None:
            raise ValueError(
                f"{func}: base='data' builds the base model from the data marginals and needs "
                "data=<Tensor (n, n_visible)>; pass the training data, or use base='uniform'"
            )
        bias = base_rate_bias(check_units(data, "data", n_visible, unit_interval=True))
    elif base == "uniform":
        bias = torch.zeros(n_visible, dtype=_F64)
    else:
        raise ValueError(
            f"{func}: base must be 'data', 'uniform' or a tensor of visible biases, got {base!r}"
        )
    # the sampler sees the biases in the model's dtype: use exactly those values
    return bias.to(device=device, dtype=dtype).to(_F64)


def _progress(total, desc, enabled):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="β", mininterval=0.5)


# -- the annealing loop --------------------------------------------------------------------

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


def _anneal(W, b, c, bias_a, v, betas, generator, pbar):
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
        if pbar is not None and k % _REFRESH == 0:
            pbar.update(_REFRESH)
    if pbar is not None:
        pbar.update(n_steps - pbar.n)
        pbar.close()
    return log_w, v


def ais_log_weights(model, init, betas, base_bias, generator, progress=False):
    r"""Run AIS chains along an arbitrary path of inverse temperatures; the raw weights.

    Starting from ``init`` (which should be distributed as p_{β_0}), accumulates

    .. math::

        \log w = \sum_{k=1}^{K} \log p^*_{\beta_k}(v_k) - \log p^*_{\beta_{k-1}}(v_k)

    with one Gibbs sweep at β_k between consecutive terms (none after the last), for the
    path p*_β of the module docstring. An increasing path from 0 to 1 gives forward AIS
    (E[w] = Z_B/Z_A), a decreasing one from 1 to 0 reverse AIS (E[w] = Z_A/Z_B).

    Parameters
    ----------
    model : RBM
        Binary RBM (tensors ``W`` (n_visible, n_hidden), ``b``, ``c``).
    init : Tensor, shape (n_chains, n_visible), binary
        Starting states.
    betas : Tensor or sequence of float, shape (K + 1,)
        Path of inverse temperatures in [0, 1], in the order visited. Values are rounded
        to the model's dtype, so that weights and draws use the same distributions.
    base_bias : Tensor, shape (n_visible,)
        Visible biases b_A of the base model.
    generator : torch.Generator
        Source of all randomness, on the model's device.
    progress : bool
        Show a progress bar.

    Returns
    -------
    log_w : Tensor, shape (n_chains,), float64
    v : Tensor, shape (n_chains, n_visible)
        Final states of the chains (``init`` itself is not modified).
    """
    func = "ais_log_weights"
    W, b, c = _rbm_tensors(model, func)
    nv = W.shape[0]
    init = check_units(init, "init", nv, binary=True, dtype=W.dtype, device=W.device)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"{func}: generator must be a torch.Generator, got {type(generator).__name__}")
    if not isinstance(betas, torch.Tensor):
        betas = torch.as_tensor(betas, dtype=_F64)
    if betas.dim() != 1 or betas.shape[0] < 2 or ((betas < 0) | (betas > 1) | betas.isnan()).any():
        raise ValueError(f"{func}: betas must be 1-D, at least 2 values in [0, 1], got {betas!r}")
    betas = betas.detach().cpu().to(W.dtype).to(_F64).tolist()
    bias_a = _base_bias(base_bias, None, nv, func, W.dtype, W.device)
    with torch.no_grad():
        return _anneal(W, b, c, bias_a, init, betas, generator,
                       _progress(len(betas) - 1, "ais", progress))


def _summarise(log_w, log_z_a, method, reverse=False):
    """LogZEstimate from log-weights: log mean w and log(mean w ∓ 3 se(w)), stably."""
    n = log_w.shape[0]
    top = log_w.max()
    w = (log_w - top).exp()  # in (0, 1]: no overflow
    mean = w.mean()
    se = w.std() / math.sqrt(n)
    log_mean = float(torch.logsumexp(log_w, 0) - math.log(n))
    hi = float(top + torch.log(mean + 3 * se))
    lo = float(top + torch.log(mean - 3 * se)) if mean - 3 * se > 0 else -math.inf
    ess = float(torch.exp(2 * torch.logsumexp(log_w, 0) - torch.logsumexp(2 * log_w, 0)))
    if reverse:
        return LogZEstimate(log_z_a - log_mean, log_z_a - hi, log_z_a - lo, ess, n, method)
    return LogZEstimate(log_z_a + log_mean, log_z_a + lo, log_z_a + hi, ess, n, method)


def _log_z_base(bias_a, n_hidden):
    return float(F.softplus(bias_a).sum() + n_hidden * math.log(2.0))


def ais_log_partition(model, n_chains: int = 100, betas=None, base="data", data=None,
                      seed: int | None = 0, progress: bool = True) -> LogZEstimate:
    r"""Estimate log Z of a binary RBM by annealed importance sampling.

    Runs ``n_chains`` independent chains from the base-rate model p_A to the RBM along
    the path of the module docstring (Salakhutdinov & Murray, 2008) and returns

    .. math::

        \log \hat Z = \log Z_A + \log \frac{1}{M}\sum_{m=1}^{M} w_m ,
        \qquad \text{bracket: } \log Z_A + \log\big(\bar w \mp 3\, \mathrm{se}(\bar w)\big),

    with se(w̄) = std(w) / √M. Ẑ is unbiased, so log Ẑ tends to *underestimate* log Z
    (Jensen); the bracket is a ±3 standard-error interval for Z mapped to the log scale,
    only as trustworthy as the sample variance of the weights (heavy-tailed weights make
    it too narrow: check ``ess``). ``lower`` is ``-inf`` when w̄ - 3 se ≤ 0.

    Parameters
    ----------
    model : RBM
        Binary RBM; it is not modified.
    n_chains : int, default 100
        Number of independent AIS runs (importance samples), at least 2.
    betas : Tensor or sequence of float, optional
        Non-decreasing inverse temperatures from 0 to 1; default :func:`default_schedule`
        (14,501 values).
    base : {"data", "uniform"} or Tensor, default "data"
        Base model: biases from the data marginals (:func:`base_rate_bias`, needs
        ``data``), all-zero biases (uniform), or a tensor of biases (n_visible,). A base
        close to the model's marginals needs fewer βs for the same accuracy.
    data : Tensor, shape (n, n_visible), optional
        Training data, for ``base="data"``.
    seed : int or None, default 0
        Seed of the ``torch.Generator`` that drives every draw.
    progress : bool, default True
        Show a progress bar (refreshed every 100 steps).

    Returns
    -------
    LogZEstimate
        ``method="ais"``; ``ess`` = (Σw)²/Σw².

    Examples
    --------
    >>> from models.energy import RBM
    >>> est = ais_log_partition(RBM(6, 4, seed=0), n_chains=50, betas=torch.linspace(0, 1, 200),
    ...                         base="uniform", progress=False)
    >>> est.lower <= est.log_z <= est.upper
    True
    """
    func = "ais_log_partition"
    W, b, c = _rbm_tensors(model, func)
    n_chains = check_int(n_chains, "n_chains", 2, func)
    betas = _check_betas(betas, func, W.dtype)
    bias_a = _base_bias(base, data, W.shape[0], func, W.dtype, W.device)
    gen = make_generator(seed, W.device)
    with torch.no_grad():
        v = bernoulli(torch.sigmoid(bias_a.to(W.dtype)).expand(n_chains, -1), gen)
        log_w, _ = _anneal(W, b, c, bias_a, v, betas.tolist(), gen,
                           _progress(len(betas) - 1, "ais", progress))
    return _summarise(log_w, _log_z_base(bias_a, W.shape[1]), "ais")
