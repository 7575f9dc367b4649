r"""Next-frame prediction by a sequence RBM (or a plain RBM), with the past clamped.

The prediction of frame t is the model's conditional mean E[v_t | past], estimated by
block Gibbs sampling in the frame's RBM started at the previous frame v_{t−1} (at a draw
from σ(b_t) for a first frame), Rao-Blackwellised: the average of σ(b_t + W h) over the
sweeps after ``burn_in``. The error is the mean squared error per pixel,

.. math::

    \mathrm{MSE} = \frac{1}{N T' V} \sum_{n, t, i} (\hat v_{n,t,i} - v_{n,t,i})^2 .

In a run of W processes (``torchrun``) :func:`next_frame_prediction` splits the sequences
across the ranks, rank r's chains seeded ``seed + r``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from models.energy import FrameRBM, TemporalRBM
from pgm.checks import check_int, check_model, validation_disabled

from ..distributed import joined, map_rows, rank_seed
from ..mcmc import gibbs
from ..mcmc.sampling import make_generator

__all__ = ["FramePrediction", "predict_frames", "next_frame_prediction"]


class FramePrediction(NamedTuple):
    """Next-frame predictions and their error.

    Attributes
    ----------
    mse : float
        Mean squared error per pixel.
    sem : float or None
        Its standard error over sequences.
    predictions : Tensor (N, T', V)
        The predicted means.
    per_frame : Tensor (N, T')
        Squared error per pixel of each frame.
    """

    mse: float
    sem: float | None
    predictions: torch.Tensor
    per_frame: torch.Tensor


@torch.no_grad()
def predict_frames(W, frames, previous, b_t, c_t, sweeps: int = 20, burn_in: int = 10, seed: int | None = 0):
    """Predict frames (N, T', V) from their RBMs (biases b_t (N, T', V), c_t (N, T', H),
    broadcastable) by Gibbs chains started at ``previous`` (N, T', V); a :class:`FramePrediction`."""
    sweeps, burn_in = _checked_sweeps(sweeps, burn_in, "predict_frames")
    N, T, V = frames.shape
    H = W.shape[1]
    rbm = FrameRBM(W, b_t.expand(N, T, V).reshape(-1, V), c_t.expand(N, T, H).reshape(-1, H))
    gen = make_generator(seed, rbm.device)
    with validation_disabled():
        chain = gibbs.init(rbm, N * T, gen, values={"v": previous.reshape(-1, V).to(rbm.W)})
        total = torch.zeros(N * T, V, dtype=torch.float64, device=rbm.device)
        for s in range(sweeps):  # sweeps of all frames at once
            chain = gibbs.step(rbm, chain, gen)
            if s >= burn_in:
                total += rbm.conditional("v", chain.values).mean.double()
    pred = (total / (sweeps - burn_in)).reshape(N, T, V)
    return _summary(pred, ((pred - frames.double()) ** 2).mean(-1))


def _checked_sweeps(sweeps, burn_in, where) -> tuple[int, int]:
    """``(sweeps, burn_in)``: at least one sweep, and fewer left out than run."""
    sweeps = check_int(sweeps, "sweeps", 1, where)
    burn_in = check_int(burn_in, "burn_in", 0, where)
    if burn_in >= sweeps:
        raise ValueError(f"{where}: burn_in ({burn_in}) must be less than sweeps ({sweeps})")
    return sweeps, burn_in


def _summary(pred, per_frame) -> FramePrediction:
    """The :class:`FramePrediction` of predictions (N, T', V) and their errors per frame (N, T')."""
    N = per_frame.shape[0]
    per_seq = per_frame.mean(1)
    sem = float(per_seq.std() / math.sqrt(N)) if N > 1 else None
    return FramePrediction(float(per_seq.mean()), sem, pred, per_frame)


def next_frame_prediction(model: TemporalRBM, x: torch.Tensor, sweeps: int = 20, burn_in: int = 10,
                          seed: int | None = 0, *, distributed=None) -> FramePrediction:
    """Predict every modelled frame of sequences x (N, T, n_visible) from its past (module
    docstring).

    Parameters
    ----------
    model : models.energy.TemporalRBM
    x : Tensor, shape (N, T, n_visible)
    sweeps, burn_in : int, default 20, 10
        Gibbs sweeps per frame, and those left out of the average.
    seed : int or None, default 0
        Seeds the chains (and, for a model with no given frames, the draw standing for the
        frame before the first).
    distributed : bool or None, default None
        Split the sequences across the ranks of a ``torch.distributed`` group: rank r
        predicts the sequences r, r + W, ... (:func:`~inference.distributed.map_rows`) with
        chains seeded ``seed + r``, and the predictions and errors are gathered back in the
        sequences' order, so every rank returns the same result. ``None`` joins a group
        that is open or that a launcher (``torchrun``) describes; ``True`` requires one;
        ``False`` predicts every sequence on each process.

    Returns
    -------
    FramePrediction
        ``predictions`` (N, T − n_given, n_visible), ``per_frame`` (N, T − n_given).
    """
    where = "next_frame_prediction"
    check_model(model, TemporalRBM, where, what="a sequence RBM (ConditionalRBM, RNNRBM)")
    x = model.check_sequences(x, "x", where)
    sweeps, burn_in = _checked_sweeps(sweeps, burn_in, where)

    def predict(rows, seed):
        with torch.no_grad():
            frames, b_t, c_t = model.frame_biases(rows)
        previous = previous_frames(rows, model.n_given, b_t, seed)
        pred = predict_frames(model.W, frames, previous, b_t, c_t, sweeps, burn_in, seed)
        return pred.predictions, pred.per_frame

    with joined(distributed, model.device, where) as replicas:
        seed = rank_seed(seed, replicas)  # this rank's chains
        pred, per_frame = map_rows(lambda rows: predict(rows, seed), x, replicas)
    return _summary(pred, per_frame)


def previous_frames(x, start: int, b_t, seed):
    """x[:, start − 1 : T − 1], the frame before each modelled one; a first frame (start = 0)
    gets a draw from σ(b_0) in its place."""
    if start >= 1:
        return x[:, start - 1:-1]
    gen = make_generator(None if seed is None else seed + 1, x.device)
    first = torch.bernoulli(torch.sigmoid(b_t[:, :1]).to(x), generator=gen)
    return torch.cat([first, x[:, :-1]], 1)
