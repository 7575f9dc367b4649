r"""The conditional RBM for sequences (Taylor, Hinton & Roweis, 2007)."""

from __future__ import annotations

import torch
from torch import nn

from .marginals import column_means
from .rbm import check_layers, init_layers
from .temporal_rbm import TemporalRBM
from pgm.checks import check_int, check_units

__all__ = ["ConditionalRBM"]


class ConditionalRBM(TemporalRBM):
    r"""Conditional RBM: a binary RBM over frame v_t whose biases depend linearly on the
    previous n frames (Taylor, Hinton & Roweis, 2007, eqs. 1–2 with binary visible units).

    .. math::

        E(v_t, h_t \mid s_t) = -b_t^\top v_t - c_t^\top h_t - v_t^\top W h_t, \qquad
        b_t = b + A s_t, \quad c_t = c + B s_t, \quad
        s_t = [v_{t-1}, \dots, v_{t-n}],

    A the autoregressive weights, B the weights from the past to the hidden units. The
    first n frames of a sequence are given; p(v_t | s_t) = exp(−F_t(v_t)) / Z_t with
    F_t(v) = −b_tᵀv − Σ_j softplus(c_t + vW)_j.

    As an energy model a frame is the state ``{"v", "h", "past"}``: ``past`` (n · n_visible
    units, observed, always given) has directed edges into ``v`` and ``h``.

    Parameters
    ----------
    n_visible : int
        Pixels of a frame.
    n_hidden : int
        Hidden units.
    order : int, default 2
        n, the number of previous frames the biases depend on.
    weight_std : float, default 0.01
        Standard deviation of the initial W, A and B (Gaussian, seeded).
    seed : int, optional
        Seed of the initialisation.

    Attributes
    ----------
    W : Parameter (n_visible, n_hidden)
    b : Parameter (n_visible,)
    c : Parameter (n_hidden,)
    A : Parameter (n_visible, order * n_visible)
        Past → visible (autoregressive) weights.
    B : Parameter (n_hidden, order * n_visible)
        Past → hidden weights.

    References
    ----------
    G. W. Taylor, G. E. Hinton and S. Roweis, "Modeling human motion using binary latent
    variables", NIPS 2007.

    Examples
    --------
    >>> crbm = ConditionalRBM(6, 4, order=2, seed=0)
    >>> x = torch.bernoulli(torch.full((3, 5, 6), 0.5))
    >>> frames, b_t, c_t = crbm.frame_biases(x)
    >>> frames.shape, b_t.shape, c_t.shape
    (torch.Size([3, 3, 6]), torch.Size([3, 3, 6]), torch.Size([3, 3, 4]))
    """

    context_name = "past"
    context_kind = "bernoulli"
    default_lr = 1e-3

    def __init__(self, n_visible: int, n_hidden: int, order: int = 2, *, weight_std: float = 0.01,
                 seed: int | None = None):
        super().__init__()
        n_visible, n_hidden, seed = check_layers("ConditionalRBM", n_visible, n_hidden, weight_std, seed)
        self.order = check_int(order, "order", 1, "ConditionalRBM")
        init_layers(self, n_visible, n_hidden, weight_std, seed)
        gen = torch.Generator().manual_seed(seed + 1) if seed is not None else None
        self.A = nn.Parameter(torch.randn(n_visible, self.order * n_visible, generator=gen) * weight_std)
        self.B = nn.Parameter(torch.randn(n_hidden, self.order * n_visible, generator=gen) * weight_std)
        self._build_graph()

    @property
    def n_given(self) -> int:
        """The first ``order`` frames of a sequence are given."""
        return self.order

    @property
    def n_context(self) -> int:
        return self.order * self.n_visible

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "n_hidden": self.n_hidden, "order": self.order,
                "weight_std": self.weight_std, "seed": self.seed}

    @classmethod
    def from_data(cls, x: torch.Tensor, n_hidden: int, order: int = 2, **kwargs) -> "ConditionalRBM":
        """A conditional RBM sized for sequences x (N, T, n_visible), visible biases from the
        frames' marginals."""
        if not isinstance(x, torch.Tensor) or x.dim() != 3:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"ConditionalRBM.from_data: x must be sequences (n_sequences, length, n_visible), got "
                             f"{got}")
        model = cls(x.shape[-1], n_hidden, order, **kwargs)
        model.init_visible_bias(x)
        return model

    @torch.no_grad()
    def init_visible_bias(self, x: torch.Tensor, eps: float = 1e-3) -> None:
        """b_i = logit(p_i), p_i the mean of pixel i over all frames, clipped to [ε, 1 − ε]."""
        frames = check_units(x.reshape(-1, x.shape[-1]), "x", self.n_visible, unit_interval=True)
        self.b.copy_(torch.logit(column_means(frames).clamp(eps, 1 - eps)).to(self.b))

    def context_biases(self, context):
        return context @ self.A.t(), context @ self.B.t()

    def contexts(self, x):
        """s_t = [x_{t−1}, …, x_{t−n}] for t = n, …, T − 1, batched: (N, T − n, n · n_visible)."""
        n, (N, T, V) = self.order, x.shape
        windows = x.unfold(1, n, 1)[:, :T - n]  # (N, T − n, V, n): frames t − n … t − 1
        return windows.flip(-1).transpose(-1, -2).reshape(N, T - n, n * V)

    def start(self, given):
        """The past window [v_{n−1}, …, v_0] of the n given frames (N, n, n_visible)."""
        return given.flip(1).reshape(given.shape[0], -1)

    def advance(self, carry, v):
        return torch.cat([v, carry[:, :-self.n_visible]], 1)

    def context_of(self, carry):
        return carry
