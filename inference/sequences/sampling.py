r"""Generating sequences from a sequence RBM, one frame per step: :func:`init` and :func:`step`
over a :class:`SequenceState`.

Frame t is drawn by block Gibbs sampling in the frame's RBM with its context clamped
(the library's :mod:`~inference.mcmc.gibbs` on the model itself, ``clamp={context: s_t}``),
started at the previous frame; the sample then advances the context (the past window of
the conditional RBM, the RNN state û_t of the RNN-RBM):

.. math::

    v_t \sim p(v_t \mid s_t) \text{ by } k \text{ Gibbs sweeps}, \qquad s_{t+1} = \mathrm{advance}(s_t, v_t).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from models.energy import TemporalRBM
from pgm.checks import check_int, check_model, validation_disabled

from ..mcmc import gibbs

__all__ = ["SequenceState", "init", "step", "generate"]


class SequenceState(NamedTuple):
    """Where a batch of generated sequences stands.

    Attributes
    ----------
    carry : Tensor
        The model's carried state (:meth:`~models.energy.TemporalRBM.advance`).
    frames : Tensor, shape (batch, t, n_visible)
        The frames so far, the prefix first (binary samples).
    means : Tensor, shape (batch, t, n_visible)
        The frames' conditional means σ(b_t + W h) at their last sweep (the prefix as given).
    """

    carry: torch.Tensor
    frames: torch.Tensor
    means: torch.Tensor


def init(model: TemporalRBM, prefix: torch.Tensor) -> SequenceState:
    """The state after a seed prefix (batch, P, n_visible) of P ≥ ``model.n_given`` frames
    (P = 0 is allowed for the RNN-RBM: its first frame comes from û^(0))."""
    check_model(model, TemporalRBM, "sequences.init", what="a sequence RBM (ConditionalRBM, RNNRBM)")
    if not isinstance(prefix, torch.Tensor) or prefix.dim() != 3 or prefix.shape[-1] != model.n_visible \
            or prefix.shape[1] < model.n_given or prefix.shape[0] == 0:
        got = tuple(prefix.shape) if isinstance(prefix, torch.Tensor) else type(prefix).__name__
        raise ValueError(f"sequences.init: prefix must have shape (batch >= 1, P >= {model.n_given}, "
                         f"{model.n_visible}), got {got}; give at least the {model.n_given} frames the model is "
                         "given")
    prefix = prefix.to(dtype=model.dtype, device=model.device)
    with torch.no_grad():
        carry = model.start(prefix[:, :model.n_given])
        for t in range(model.n_given, prefix.shape[1]):
            carry = model.advance(carry, prefix[:, t])
    return SequenceState(carry, prefix, prefix)


@torch.no_grad()
def step(model: TemporalRBM, state: SequenceState, generator: torch.Generator, sweeps: int = 20) -> SequenceState:
    """Draw the next frame of every sequence by ``sweeps`` Gibbs sweeps in its RBM, the
    context clamped, started at the last frame (uniformly at random when there is none);
    a new state (``state`` and the model are not modified)."""
    sweeps = check_int(sweeps, "sweeps", 1, "sequences.step")
    n = state.frames.shape[0]
    ctx = model.context_of(state.carry).expand(n, model.n_context)
    clamp = {model.context_name: ctx}
    values = {"v": state.frames[:, -1]} if state.frames.shape[1] else None
    with validation_disabled():
        chain = gibbs.init(model, n, generator, clamp=clamp, values=values)
        chain = gibbs.run(model, chain, sweeps, generator, clamp=clamp)
        v = chain.values["v"].to(model.dtype)
        mean = model.conditional("v", chain.values).mean
    return SequenceState(model.advance(state.carry, v), torch.cat([state.frames, v[:, None]], 1),
                         torch.cat([state.means, mean[:, None]], 1))


def generate(model: TemporalRBM, prefix: torch.Tensor, length: int, generator: torch.Generator,
             sweeps: int = 20) -> SequenceState:
    """Continue each prefix (batch, P, n_visible) to ``length`` frames in all; the final
    :class:`SequenceState` (``frames`` and ``means`` of shape (batch, length, n_visible))."""
    length = check_int(length, "length", 1, "sequences.generate")
    state = init(model, prefix)
    if length < state.frames.shape[1]:
        raise ValueError(f"sequences.generate: length {length} is shorter than the prefix's {state.frames.shape[1]} "
                         "frames; ask for more frames")
    for _ in range(length - state.frames.shape[1]):  # one step per frame, batched over sequences
        state = step(model, state, generator, sweeps)
    return state
