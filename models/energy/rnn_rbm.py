r"""The RNN-RBM (Boulanger-Lewandowski, Bengio & Vincent, 2012)."""

from __future__ import annotations

import torch
from torch import nn

from .marginals import column_means
from .rbm import check_layers, init_layers
from .temporal_rbm import TemporalRBM
from pgm.checks import check_float, check_int, check_units

__all__ = ["RNNRBM"]


class RNNRBM(TemporalRBM):
    r"""RNN-RBM: an RBM at each time step whose biases come from a recurrent network
    (Boulanger-Lewandowski, Bengio & Vincent, 2012, section 3, the RNN-RBM's equations):

    .. math::

        b_v^{(t)} = b_v + W_{\hat u v}\, \hat u^{(t-1)}, \qquad
        b_h^{(t)} = b_h + W_{\hat u h}\, \hat u^{(t-1)}, \qquad
        \hat u^{(t)} = \tanh\big(b_{\hat u} + W_{\hat u \hat u}\, \hat u^{(t-1)} + W_{v \hat u}\, v^{(t)}\big),

    with û^(0) a learned initial state, and at each step the RBM
    E(v, h) = −b_v^(t)ᵀv − b_h^(t)ᵀh − vᵀWh. The sequence's probability is
    Π_t p(v^(t) | û^(t−1)); no frame is given (the first frame's biases come from û^(0)).

    As an energy model a frame is the state ``{"v", "h", "u"}``: ``u`` = û^(t−1)
    (n_recurrent real units, observed, always given) has directed edges into ``v`` and ``h``.
    Training (:func:`inference.sequences.fit_sequences`) is CD-k at each step with the bias
    gradients back-propagated through time into the RNN, as in the paper.

    Parameters
    ----------
    n_visible : int
        Pixels of a frame.
    n_hidden : int
        Hidden units of each RBM.
    n_recurrent : int, default 32
        Units of the RNN state û.
    weight_std : float, default 0.01
        Standard deviation of the initial W, W_ûv and W_ûh.
    recurrent_std : float, default 0.05
        Standard deviation of the initial W_vû and W_ûû.
    seed : int, optional

    Attributes
    ----------
    W : Parameter (n_visible, n_hidden)
    b : Parameter (n_visible,)
        b_v.
    c : Parameter (n_hidden,)
        b_h.
    W_uv : Parameter (n_recurrent, n_visible)
    W_uh : Parameter (n_recurrent, n_hidden)
    W_vu : Parameter (n_visible, n_recurrent)
    W_uu : Parameter (n_recurrent, n_recurrent)
    b_u : Parameter (n_recurrent,)
    u0 : Parameter (n_recurrent,)
        û^(0).

    References
    ----------
    N. Boulanger-Lewandowski, Y. Bengio and P. Vincent, "Modeling temporal dependencies in
    high-dimensional sequences: application to polyphonic music generation and
    transcription", ICML 2012.

    Examples
    --------
    >>> model = RNNRBM(6, 4, n_recurrent=3, seed=0)
    >>> x = torch.bernoulli(torch.full((2, 5, 6), 0.5))
    >>> [t.shape[1] for t in model.frame_biases(x)]
    [5, 5, 5]
    """

    context_name = "u"
    context_kind = "real"
    n_given = 0
    default_lr = 1e-3

    def __init__(self, n_visible: int, n_hidden: int, n_recurrent: int = 32, *, weight_std: float = 0.01,
                 recurrent_std: float = 0.05, seed: int | None = None):
        super().__init__()
        n_visible, n_hidden, seed = check_layers("RNNRBM", n_visible, n_hidden, weight_std, seed)
        self.n_recurrent = check_int(n_recurrent, "n_recurrent", 1, "RNNRBM")
        self.recurrent_std = check_float(recurrent_std, "recurrent_std", where="RNNRBM")
        init_layers(self, n_visible, n_hidden, weight_std, seed)
        gen = torch.Generator().manual_seed(seed + 1) if seed is not None else None
        r = self.n_recurrent

        def normal(*shape, std):
            return nn.Parameter(torch.randn(*shape, generator=gen) * std)

        self.W_uv = normal(r, n_visible, std=weight_std)
        self.W_uh = normal(r, n_hidden, std=weight_std)
        self.W_vu = normal(n_visible, r, std=self.recurrent_std)
        self.W_uu = normal(r, r, std=self.recurrent_std)
        self.b_u = nn.Parameter(torch.zeros(r))
        self.u0 = nn.Parameter(torch.zeros(r))
        self._build_graph()

    @property
    def n_context(self) -> int:
        return self.n_recurrent

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "n_hidden": self.n_hidden, "n_recurrent": self.n_recurrent,
                "weight_std": self.weight_std, "recurrent_std": self.recurrent_std, "seed": self.seed}

    @classmethod
    def from_data(cls, x: torch.Tensor, n_hidden: int, n_recurrent: int = 32, **kwargs) -> "RNNRBM":
        """An RNN-RBM sized for sequences x (N, T, n_visible), b_v from the frames' marginals."""
        if not isinstance(x, torch.Tensor) or x.dim() != 3:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"RNNRBM.from_data: x must be sequences (n_sequences, length, n_visible), got {got}")
        model = cls(x.shape[-1], n_hidden, n_recurrent, **kwargs)
        with torch.no_grad():
            frames = check_units(x.reshape(-1, x.shape[-1]), "x", model.n_visible, unit_interval=True)
            model.b.copy_(torch.logit(column_means(frames).clamp(1e-3, 1 - 1e-3)).to(model.b))
        return model

    def context_biases(self, context):
        return context @ self.W_uv, context @ self.W_uh

    def start(self, given):
        """û^(0) for each of the batch's sequences."""
        return self.u0.expand(given.shape[0], self.n_recurrent)

    def advance(self, carry, v):
        """û^(t) = tanh(b_û + W_ûû û^(t−1) + W_vû v^(t))."""
        return torch.tanh(self.b_u + carry @ self.W_uu + v @ self.W_vu)

    def context_of(self, carry):
        return carry
