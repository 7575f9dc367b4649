r"""Next-frame prediction by a sequence RBM (or a plain RBM), with the past clamped.

The prediction of frame t is the model's conditional mean E[v_t | past], estimated by
block Gibbs sampling in the frame's RBM started at the previous frame v_{t−1} (at a draw
from σ(b_t) for a first frame), Rao-Blackwellised: the average of σ(b_t + W h) over the
sweeps after ``burn_in``. The error is the mean squared error per pixel,

.. math::

    \mathrm{MSE} = \frac{1}{N T' V} \sum_{n, t, i} (\hat v_{n,t,i} - v_{n,t,i})^2 .
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from models.energy import FrameRBM, TemporalRBM
from pgm.checks import check_int, check_model, validation_disabled

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
    sweeps = check_int(sweeps, "sweeps", 1, "predict_frames")
    burn_in = check_int(burn_in, "burn_in", 0, "predict_frames")
    if burn_in >= sweeps:
        raise ValueError(f"predict_frames: burn_in ({burn_in}) must be less than sweeps ({sweeps})")
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
    per_frame = ((pred - frames.double()) ** 2).mean(-1)
    per_seq = per_frame.mean(1)
    sem = float(per_seq.std() / math.sqrt(N)) if N > 1 else None
    return FramePrediction(float(per_seq.mean()), sem, pred, per_frame)


def next_frame_prediction(model: TemporalRBM, x: torch.Tensor, sweeps: int = 20, burn_in: int = 10,
                          seed: int | None = 0) -> FramePrediction:
    """Predict every modelled frame of sequences x (N, T, n_visible) from its past (module
    docstring)."""
    check_model(model, TemporalRBM, "next_frame_prediction", what="a sequence RBM (ConditionalRBM, RNNRBM)")
    x = model.check_sequences(x, "x", "next_frame_prediction")
    with torch.no_grad():
        frames, b_t, c_t = model.frame_biases(x)
    previous = previous_frames(x, model.n_given, b_t, seed)
    return predict_frames(model.W, frames, previous, b_t, c_t, sweeps, burn_in, seed)


def previous_frames(x, start: int, b_t, seed):
    """x[:, start − 1 : T − 1], the frame before each modelled one; a first frame (start = 0)
    gets a draw from σ(b_0) in its place."""
    if start >= 1:
        return x[:, start - 1:-1]
    gen = make_generator(None if seed is None else seed + 1, x.device)
    first = torch.bernoulli(torch.sigmoid(b_t[:, :1]).to(x), generator=gen)
    return torch.cat([first, x[:, :-1]], 1)
