r"""The shared form of the sequence RBMs: a binary RBM over each frame whose biases are
linear in a context computed from the frames before it.

.. math::

    E(v_t, h_t \mid s_t) = -b_t^\top v_t - c_t^\top h_t - v_t^\top W h_t, \qquad
    b_t = b + A s_t, \quad c_t = c + B s_t,

with s_t the frame's context: the previous n frames for the conditional RBM
(:class:`~models.energy.ConditionalRBM`), the RNN state û_{t−1} for the RNN-RBM
(:class:`~models.energy.RNNRBM`). The sequence's probability factorises over frames,
p(v_{k:T} | v_{<k}) = Π_t p(v_t | s_t) with p(v_t | s_t) = exp(−F_t(v_t)) / Z_t.

As an energy model, one frame is a state of three groups: ``v`` (the frame, observed),
``h`` (latent) and the context (observed, always given: directed edges into ``v`` and
``h``). ``energy``, ``conditional`` and ``free_energy`` take the context from the state;
the context is never sampled.
"""

from __future__ import annotations

import abc

import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli

import pgm

from .base import EnergyModel
from .frame_rbm import FrameRBM
from .rbm import _beta_column, _beta_vector, _get
from pgm.checks import check_beta, check_units

__all__ = ["TemporalRBM"]


class TemporalRBM(EnergyModel, abc.ABC):
    """Base class of RBMs over frames with context-dependent biases (module docstring).

    Subclasses set ``n_visible``, ``n_hidden``, the parameters ``W`` (n_visible, n_hidden),
    ``b`` (n_visible,), ``c`` (n_hidden,), the class attributes :attr:`context_name`,
    :attr:`context_kind`, and implement :meth:`context_biases`, :meth:`start`,
    :meth:`advance` (and :meth:`config`); :meth:`contexts` loops :meth:`advance` over time
    unless overridden by a batched form.
    """

    #: Name and unit kind of the context group.
    context_name: str = "context"
    context_kind: str = "real"
    #: Frames at the start of a sequence that are given, not modelled.
    n_given: int = 0

    def _build_graph(self):
        ctx = self.context_name
        self.graph = pgm.Graph(
            [pgm.VariableGroup("v", self.n_visible, "bernoulli", observed=True),
             pgm.VariableGroup("h", self.n_hidden, "bernoulli"),
             pgm.VariableGroup(ctx, self.n_context, self.context_kind, observed=True)],
            [pgm.Edge("v", "h"), pgm.Edge(ctx, "v", directed=True), pgm.Edge(ctx, "h", directed=True)])

    @property
    @abc.abstractmethod
    def n_context(self) -> int:
        """Units of the context s_t."""

    @abc.abstractmethod
    def context_biases(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(A s, B s): the context's shifts of the visible and hidden biases, for s of shape
        (..., n_context); shapes (..., n_visible) and (..., n_hidden)."""

    @abc.abstractmethod
    def start(self, given: torch.Tensor):
        """The carried state before the first modelled frame, from the ``n_given`` given
        frames (batch, n_given, n_visible)."""

    @abc.abstractmethod
    def advance(self, carry, v: torch.Tensor):
        """The carried state after frame v (batch, n_visible)."""

    @abc.abstractmethod
    def context_of(self, carry) -> torch.Tensor:
        """The context s_t (batch, n_context) of the next frame from the carried state."""

    # -- sequences ------------------------------------------------------------------------
    def check_sequences(self, x, name: str = "x", where: str = "") -> torch.Tensor:
        """``x`` as (n_sequences, length, n_visible) in the model's dtype, values in [0, 1],
        longer than :attr:`n_given`; a ValueError/TypeError naming ``name`` otherwise."""
        prefix = f"{where}: " if where else ""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{prefix}{name} must be a tensor of sequences (n_sequences, length, {self.n_visible}), "
                            f"got {type(x).__name__}")
        if x.dim() != 3 or x.shape[-1] != self.n_visible or x.shape[0] == 0:
            raise ValueError(f"{prefix}{name} must have shape (n_sequences, length, {self.n_visible}) with at least "
                             f"one sequence, got {tuple(x.shape)}; rows of frames are x.reshape(n, length, "
                             f"{self.n_visible})")
        if x.shape[1] <= self.n_given:
            raise ValueError(f"{prefix}{name} has sequences of {x.shape[1]} frames, but {type(self).__name__} is "
                             f"given the first {self.n_given} and needs at least one more; use longer sequences")
        flat = check_units(x.reshape(-1, self.n_visible), name, self.n_visible, unit_interval=True,
                           dtype=self.W.dtype, device=self.W.device)
        return flat.reshape(x.shape)

    def check_data(self, x, name: str = "data") -> torch.Tensor:
        """:meth:`check_sequences` for trainers."""
        return self.check_sequences(x, name, "fit")

    def contexts(self, x: torch.Tensor) -> torch.Tensor:
        """The context s_t of every modelled frame t = n_given, …, T − 1 of sequences x
        (N, T, n_visible): shape (N, T − n_given, n_context). Differentiable."""
        carry = self.start(x[:, :self.n_given])
        out = []
        for t in range(self.n_given, x.shape[1]):  # the recurrence: one step per frame, batched over sequences
            out.append(self.context_of(carry))
            if t + 1 < x.shape[1]:
                carry = self.advance(carry, x[:, t])
        return torch.stack(out, 1)

    def frame_biases(self, x: torch.Tensor):
        r"""``(frames, b_t, c_t)`` of sequences x (N, T, n_visible): the modelled frames
        x[:, n_given:] and their biases b_t = b + A s_t, c_t = c + B s_t, shapes
        (N, T', n_visible), (N, T', n_visible), (N, T', n_hidden), T' = T − n_given."""
        x = self.check_sequences(x)
        da, db = self.context_biases(self.contexts(x))
        return x[:, self.n_given:], self.b + da, self.c + db

    def frame_rbm(self, b_t: torch.Tensor, c_t: torch.Tensor) -> FrameRBM:
        """The RBMs of frames with biases b_t (..., n_visible), c_t (..., n_hidden), flattened
        to rows, as one :class:`~models.energy.frame_rbm.FrameRBM`."""
        return FrameRBM(self.W, b_t.reshape(-1, self.n_visible), c_t.reshape(-1, self.n_hidden))

    # -- the energy-model contract (one frame given its context) ------------------------------
    @property
    def data_groups(self) -> tuple[str, ...]:
        """``("v", context)``: a row of data is a frame beside its context."""
        return ("v", self.context_name)

    def _units(self, state, name, width, where):
        x = _get(state, name, where)
        if name == self.context_name and self.context_kind in pgm.REAL_KINDS:
            return check_units(x, f"state[{name!r}]", width, dtype=self.W.dtype, device=self.W.device)
        return check_units(x, f"state[{name!r}]", width, unit_interval=True, dtype=self.W.dtype, device=self.W.device)

    def _biases(self, state, where):
        s = self._units(state, self.context_name, self.n_context, where)
        da, db = self.context_biases(s)
        return self.b + da, self.c + db

    def energy(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        """E(v, h | s) = −b_tᵀv − c_tᵀh − vᵀWh; ``state`` holds ``v``, ``h`` and the context,
        each (batch, units). Returns (batch,)."""
        v = self._units(state, "v", self.n_visible, "energy")
        h = self._units(state, "h", self.n_hidden, "energy")
        b_t, c_t = self._biases(state, "energy")
        if not v.shape[0] == h.shape[0] == b_t.shape[0]:
            raise ValueError(f"energy: the groups of state must have the same batch, got v {v.shape[0]}, h "
                             f"{h.shape[0]}, {self.context_name} {b_t.shape[0]}")
        return -(v * b_t).sum(-1) - (h * c_t).sum(-1) - ((v @ self.W) * h).sum(-1)

    def conditional(self, group: str, state: dict[str, torch.Tensor], beta=1.0):
        """p_β(h | v, s) = Bernoulli(σ(β(c_t + vW))), p_β(v | h, s) = Bernoulli(σ(β(b_t + W h))).

        The context group is always given: asking for its conditional is a ValueError.
        """
        if group not in ("v", "h"):
            if group == self.context_name:
                raise ValueError(f"conditional: the context group {group!r} of {type(self).__name__} is always "
                                 f"given (clamped), never sampled; ask for 'v' or 'h'")
            raise ValueError(f"conditional: group must be 'v' or 'h', got {group!r}")
        b_t, c_t = self._biases(state, f"conditional({group!r})")
        if group == "h":
            x = self._units(state, "v", self.n_visible, "conditional('h')")
            logits = c_t + x @ self.W
        else:
            x = self._units(state, "h", self.n_hidden, "conditional('v')")
            logits = b_t + x @ self.W.t()
        beta = check_beta(beta, batch=x.shape[0])
        if not (isinstance(beta, float) and beta == 1.0):
            logits = logits * _beta_column(beta, logits)
        return Bernoulli(logits=logits, validate_args=False)

    def free_energy(self, x: torch.Tensor, beta=1.0) -> torch.Tensor:
        r"""F_β(v | s) = −β b_tᵀv − Σ_j softplus(β(c_t + vW)_j) of rows x = [v, s]
        (:meth:`join_data`), shape (batch,)."""
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != self.data_width:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"free_energy: x must be rows [v, {self.context_name}] of shape (batch, "
                             f"{self.data_width}) (join_data), got {got}")
        return self.free_energy_given(self.split_data(x), beta)

    def marginal_sets(self) -> list[tuple[str, ...]]:
        """Given the context, either layer sums out given the other."""
        ctx = self.context_name
        return [("v", ctx), ("h", ctx), ("v", "h", ctx)]

    def free_energy_given(self, state: dict[str, torch.Tensor], beta=1.0) -> torch.Tensor:
        """F_β of ``{v, s}`` (hiddens summed), ``{h, s}`` (visibles summed) or β E of all."""
        keys = set(state) if isinstance(state, dict) else None
        ctx = self.context_name
        if keys not in ({"v", ctx}, {"h", ctx}):
            return super().free_energy_given(state, beta)
        b_t, c_t = self._biases(state, "free_energy_given")
        if keys == {"v", ctx}:
            x = self._units(state, "v", self.n_visible, "free_energy_given")
            own, other = b_t, c_t + x @ self.W
        else:
            x = self._units(state, "h", self.n_hidden, "free_energy_given")
            own, other = c_t, b_t + x @ self.W.t()
        beta = check_beta(beta, batch=x.shape[0])
        bv = _beta_vector(beta, x)
        soft = F.softplus(other * _beta_column(beta, other)) if isinstance(beta, torch.Tensor) \
            else F.softplus(beta * other)
        return -bv * (x * own).sum(-1) - soft.sum(-1)

    def conditional_inputs(self, group: str) -> set[str]:
        return self.graph.markov_blanket(group)
