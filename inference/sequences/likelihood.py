r"""Per-frame log-likelihoods of sequence RBMs: log Z_t of every frame's RBM, exactly or by AIS.

A sequence RBM (:class:`~models.energy.TemporalRBM`) gives each modelled frame its own
RBM, with biases b_t, c_t set by the frame's context, so

.. math::

    \log p(v_t \mid \text{past}) = -F_t(v_t) - \log Z_t, \qquad
    \log Z_t = \log \sum_h \exp(c_t^\top h) \prod_i \big(1 + e^{b_{t,i} + (W h)_i}\big),

and the score is the mean negative log-likelihood per frame,
−(1/T') Σ_t log p(v_t | past), averaged over sequences. log Z_t is exact by enumerating the
smaller layer (2^min(V, H) states, :func:`exact_frame_log_partition`) or estimated by AIS
on all frames at once (:func:`ais_frame_log_partition`, the library's annealer run on a
:class:`~models.energy.FrameRBM`: one RBM per row). AIS underestimates log Z in
expectation, so its log-likelihoods are optimistic by that bias.

Everything is float64. The functions take frames and their biases, so a plain RBM that
ignores time (b_t = b, c_t = c) is scored the same way. In a run of W processes
(``torchrun``) :func:`sequence_log_likelihood` splits the sequences, each scored whole on
one rank (its frames' log Z_t depend on its own past), and gathers the per-frame values.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from models.energy import FrameRBM, TemporalRBM
from pgm.checks import check_choice, check_int, check_model, validation_disabled

from ..distributed import joined, map_rows
from ..mcmc.sampling import make_generator
from ..partition.ais import ais_log_weights, default_schedule

__all__ = ["MAX_EXACT_UNITS", "FrameLikelihood", "exact_frame_log_partition", "ais_frame_log_partition",
           "frame_log_likelihood", "sequence_log_likelihood"]

#: The most units of the smaller layer that exact enumeration sums over (2**16 states).
MAX_EXACT_UNITS = 16
_F64 = torch.float64


class FrameLikelihood(NamedTuple):
    """Per-frame log-likelihood of sequences.

    Attributes
    ----------
    nll : float
        Mean negative log-likelihood per frame, −(1/N) Σ_n (1/T') Σ_t log p(v_{n,t} | past)
        (nats per frame).
    sem : float or None
        Standard error of ``nll`` over the N sequences (``None`` for one sequence).
    per_frame : Tensor, shape (N, T'), float64
        log p(v_t | past) of every modelled frame.
    method : str
        ``"exact"`` or ``"ais"``.
    """

    nll: float
    sem: float | None
    per_frame: torch.Tensor
    method: str


def _bits(n: int, dtype, device) -> torch.Tensor:
    """All 2**n binary vectors of length n, (2**n, n)."""
    k = torch.arange(2 ** n, device=device)
    return ((k[:, None] >> torch.arange(n - 1, -1, -1, device=device)) & 1).to(dtype)


def exact_frame_log_partition(W: torch.Tensor, b: torch.Tensor, c: torch.Tensor,
                              max_elements: int = 2 ** 23) -> torch.Tensor:
    r"""Exact log Z_r of R RBMs with shared weights W (V, H) and biases b (R, V), c (R, H),
    by enumerating the smaller layer (at most :data:`MAX_EXACT_UNITS` units):

    .. math::

        \log Z_r = \log\sum_h \exp\Big(c_r^\top h + \sum_i \operatorname{softplus}(b_{r,i} + (W h)_i)\Big)
        = \log\sum_v \exp\Big(b_r^\top v + \sum_j \operatorname{softplus}(c_{r,j} + (v^\top W)_j)\Big).

    Returns float64 (R,); chunked over rows so that no temporary exceeds ``max_elements``.
    """
    W, b, c = W.detach().to(_F64), b.detach().to(_F64), c.detach().to(_F64)
    if W.shape[1] > W.shape[0]:  # enumerate the visible layer instead: swap the roles
        W, b, c = W.t(), c, b
    n_sum, n_enum = W.shape
    if n_enum > MAX_EXACT_UNITS:
        raise ValueError(f"exact_frame_log_partition: both layers have more than {MAX_EXACT_UNITS} units "
                         f"({tuple(W.shape)}); use AIS (method='ais') or a smaller hidden layer")
    states = _bits(n_enum, _F64, W.device)  # (S, n_enum)
    summed = states @ W.t()  # (S, n_sum)
    rows = max(1, max_elements // max(1, states.shape[0] * n_sum))
    out = []
    for lo in range(0, b.shape[0], rows):  # chunks of frames, each batched
        bb, cc = b[lo:lo + rows], c[lo:lo + rows]
        log_w = cc @ states.t() + F.softplus(bb[:, None, :] + summed[None]).sum(-1)
        out.append(torch.logsumexp(log_w, 1))
    return torch.cat(out) if out else torch.zeros(0, dtype=_F64, device=W.device)


def ais_frame_log_partition(W: torch.Tensor, b: torch.Tensor, c: torch.Tensor, n_chains: int = 100,
                            betas=None, base=None, seed: int | None = 0, progress: bool = False):
    r"""AIS estimates of log Z_r of R RBMs with shared weights W (V, H) and biases b (R, V),
    c (R, H), all frames at once.

    The R RBMs, each repeated ``n_chains`` times, are one :class:`~models.energy.FrameRBM`
    annealed by the library's AIS (:func:`inference.partition.ais.ais_log_weights`) from the
    factorised base p_A(v) ∝ exp(aᵀv) (hidden units uniform at β = 0), whose
    log Z_0 = Σ_i softplus(a_i) + H log 2, on the visible marginal
    p*_β(v) ∝ p̃_A(v)^{1−β} exp(−F_{β,r}(v)). Then, per RBM,
    log Ẑ_r = log Z_0 + log mean_m w_{r,m}.

    Parameters
    ----------
    W, b, c : Tensor
    n_chains : int, default 100
        Chains per RBM.
    betas : Tensor, optional
        Inverse temperatures from 0 to 1 (default :func:`~inference.partition.default_schedule`).
    base : Tensor (V,), optional
        Base logits a (default zero: uniform units).
    seed : int or None, default 0
    progress : bool, default False

    Returns
    -------
    log_z : Tensor (R,), float64
    log_w : Tensor (R, n_chains), float64
        The chains' log-weights relative to Z_0 (their spread gives the standard error).
    """
    n_chains = check_int(n_chains, "n_chains", 2, "ais_frame_log_partition")
    R, V = b.shape
    H = c.shape[1]
    rbm = FrameRBM(W, b.repeat_interleave(n_chains, 0), c.repeat_interleave(n_chains, 0))
    a = torch.zeros(V, dtype=rbm.dtype, device=rbm.device) if base is None else base.detach().to(rbm.W)
    gen = make_generator(seed, rbm.device)
    init = torch.bernoulli(torch.sigmoid(a).expand(R * n_chains, V), generator=gen)
    betas = default_schedule() if betas is None else betas
    log_w, _ = ais_log_weights(rbm, init, betas, a, gen, progress=progress, backend="torch")
    log_w = log_w.reshape(R, n_chains)
    log_z0 = F.softplus(a.to(_F64)).sum() + H * math.log(2)
    return log_z0 + torch.logsumexp(log_w, 1) - math.log(n_chains), log_w


def frame_log_likelihood(W, frames, b_t, c_t, method: str = "auto", **ais) -> FrameLikelihood:
    """log p(v_t) = −F_t(v_t) − log Z_t of frames (N, T', V) with biases b_t (N, T', V) and
    c_t (N, T', H) (broadcastable), as a :class:`FrameLikelihood`.

    ``method``: ``"exact"`` (the smaller layer at most :data:`MAX_EXACT_UNITS` units),
    ``"ais"`` (keywords ``ais`` go to :func:`ais_frame_log_partition`) or ``"auto"`` (exact
    where possible)."""
    method = _method(W, method, "frame_log_likelihood")
    return _summary(_per_frame(W, frames, b_t, c_t, method, ais), method)


def _method(W, method, where) -> str:
    """``method`` checked, ``"auto"`` resolved to ``"exact"`` or ``"ais"`` by the smaller layer of W."""
    check_choice(method, "method", ("auto", "exact", "ais"), where)
    if method == "auto":
        return "exact" if min(W.shape) <= MAX_EXACT_UNITS else "ais"
    return method


def _per_frame(W, frames, b_t, c_t, method, ais) -> torch.Tensor:
    """log p(v_t) of every frame (N, T'), float64, by ``"exact"`` or ``"ais"``."""
    N, T, V = frames.shape
    b_t = b_t.detach().expand(N, T, V).reshape(-1, V).to(_F64)
    c_t = c_t.detach().expand(N, T, W.shape[1]).reshape(-1, W.shape[1]).to(_F64)
    v = frames.reshape(-1, V).to(_F64)
    W64 = W.detach().to(_F64)
    with torch.no_grad(), validation_disabled():
        free = -(v * b_t).sum(-1) - F.softplus(c_t + v @ W64).sum(-1)
        if method == "exact":
            log_z = exact_frame_log_partition(W64, b_t, c_t)
        else:
            log_z, _ = ais_frame_log_partition(W64, b_t, c_t, **ais)
    return (-free - log_z).reshape(N, T)


def _summary(per_frame, method) -> FrameLikelihood:
    """The :class:`FrameLikelihood` of the per-frame log-likelihoods (N, T')."""
    N = per_frame.shape[0]
    per_seq = per_frame.mean(1)
    sem = float(per_seq.std() / math.sqrt(N)) if N > 1 else None
    return FrameLikelihood(float(-per_seq.mean()), sem, per_frame, method)


def sequence_log_likelihood(model: TemporalRBM, x: torch.Tensor, method: str = "auto", *, distributed=None,
                            **ais) -> FrameLikelihood:
    r"""The per-frame log-likelihood of sequences x (N, T, n_visible) under a sequence RBM:
    log p(v_t | past) for every modelled frame t ≥ ``model.n_given`` (module docstring).

    Parameters
    ----------
    model : models.energy.TemporalRBM
        A :class:`~models.energy.ConditionalRBM` or :class:`~models.energy.RNNRBM`.
    x : Tensor, shape (N, T, n_visible)
        Binary sequences.
    method : {"auto", "exact", "ais"}, default "auto"
        log Z_t of each frame's RBM by enumeration of its smaller layer (at most
        :data:`MAX_EXACT_UNITS` units) or by AIS; ``"auto"``: exact where possible.
    distributed : bool or None, default None
        Split the sequences across the ranks of a ``torch.distributed`` group: each
        frame's log Z_t depends on its own sequence's past, so rank r scores the sequences
        r, r + W, ... (:func:`~inference.distributed.map_rows`; its AIS seeded ``seed + r``,
        the progress bar on rank 0 only) and the per-frame values are gathered back in the
        sequences' order: every rank returns the same result. ``None`` joins a group that
        is open or that a launcher (``torchrun``) describes; ``True`` requires one;
        ``False`` scores every sequence on each process.
    **ais
        Keywords of :func:`ais_frame_log_partition` (``n_chains``, ``betas``, ``base``,
        ``seed``, ``progress``) for ``method="ais"``.

    Returns
    -------
    FrameLikelihood
        ``per_frame`` of shape (N, T − n_given).

    Examples
    --------
    >>> from models.energy import ConditionalRBM
    >>> model = ConditionalRBM(6, 3, order=1, seed=0)
    >>> x = torch.bernoulli(torch.full((4, 5, 6), 0.5), generator=torch.Generator().manual_seed(0))
    >>> result = sequence_log_likelihood(model, x)
    >>> result.per_frame.shape, result.method
    (torch.Size([4, 4]), 'exact')
    """
    where = "sequence_log_likelihood"
    check_model(model, TemporalRBM, where, what="a sequence RBM (ConditionalRBM, RNNRBM)")
    x = model.check_sequences(x, "x", where)
    if not bool(((x == 0) | (x == 1)).all()):
        raise ValueError("sequence_log_likelihood: x must be binary {0, 1} frames for a likelihood; binarize it "
                         "(x > 0.5)")
    method = _method(model.W, method, where)

    def score(rows):
        with torch.no_grad():
            frames, b_t, c_t = model.frame_biases(rows)
        return _per_frame(model.W, frames, b_t, c_t, method, ais)

    with joined(distributed, model.device, where) as replicas:
        if replicas is not None and method == "ais":  # this rank's chains, its bar on rank 0 only
            ais = {**ais, "seed": replicas.seed(ais.get("seed", 0)),
                   "progress": ais.get("progress", False) and replicas.is_main}
        per_frame = map_rows(score, x, replicas)
    return _summary(per_frame, method)
