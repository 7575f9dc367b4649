r"""Multi-prediction training of deep Boltzmann machines (MP-DBM, Goodfellow et al. 2013).

Instead of approximating the likelihood gradient, the mean-field inference itself is
trained as a predictor. For each example a random subset M of the visible units is
hidden (each unit independently with probability ``mask_prob``, drawn afresh every
step), the rest O are clamped, and a fixed number n of mean-field passes infers the
hidden layers and the missing units together (:func:`~inference.mean_field` with a
``mask``). The loss is the cross-entropy of the missing units under their inferred
marginals,

.. math::

    J(\theta) = \frac1B \sum_{n=1}^{B} \sum_{i \in M_n}
        -\big[v_{n,i} \log q_i^{(n)} + (1 - v_{n,i}) \log(1 - q_i^{(n)})\big],

with q^{(n)} the marginals after the n unrolled passes, and ∇_θ J is exact back-
propagation through those passes (each pass is a differentiable function of θ and of
the previous marginals). Nothing in J needs the partition function or Markov chains.

The unrolled passes here are written for the DBM's layer chain directly (no
per-call checks, logits kept for a stable cross-entropy); they equal
``mean_field(dbm, v, n_iter, tol=0, damping, mask=mask)`` pass for pass.

References
----------
I. Goodfellow, M. Mirza, A. Courville and Y. Bengio, "Multi-prediction deep Boltzmann
machines", NIPS 2013.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from models.energy import DBM
from pgm.checks import check_int

from .contrastive import GradInfo

__all__ = ["MultiPrediction", "unrolled_mean_field"]


def _layer_order(dbm: DBM) -> list[int]:
    """Layer indices in the order of the graph's Gibbs blocks (even layers, then odd)."""
    return [dbm.names.index(g) for block in dbm.graph.gibbs_blocks() for g in block]


def unrolled_mean_field(dbm: DBM, v: torch.Tensor, mask: torch.Tensor, n_iter: int, damping: float = 0.0):
    r"""n mean-field passes of a DBM with the visible units under ``mask`` inferred.

    Each pass updates the layers block by block in the graph's order,

    .. math::

        q_l \leftarrow \lambda q_l + (1 - \lambda)\,\sigma(g_l), \qquad
        g_l = b_l + W_l^\top (q_{l-1} - \mu_{l-1}) + W_{l+1} (q_{l+1} - \mu_{l+1}),

    with q_0 = v on the observed units; every q starts at 1/2. Differentiable in the
    parameters (no checks: ``v`` and ``mask`` must already be valid).

    Parameters
    ----------
    dbm : DBM
    v : Tensor, shape (batch, n_visible)
    mask : bool Tensor, shape (batch, n_visible)
        ``True`` where a visible unit is missing.
    n_iter : int
        Passes.
    damping : float in [0, 1)

    Returns
    -------
    q : list of Tensor
        q_0 (v with the inferred units) … q_L, each (batch, sizes[l]).
    logits : Tensor, shape (batch, n_visible)
        g_0 of the last visible update (σ(g_0) is q_0 under the mask when ``damping=0``).
    """
    n, last = v.shape[0], dbm.n_layers
    mu = dbm.offsets() if dbm.centered else None
    q = [v.masked_fill(mask, 0.5)] + [v.new_full((n, s), 0.5) for s in dbm.sizes[1:]]
    order = _layer_order(dbm)
    logits = None
    for _ in range(n_iter):
        for l in order:
            g = dbm.biases[l]
            if l > 0:
                below = q[l - 1] - mu[l - 1] if mu is not None else q[l - 1]
                g = torch.addmm(g, below, dbm.weights[l - 1])
            if l < last:
                above = q[l + 1] - mu[l + 1] if mu is not None else q[l + 1]
                g = torch.addmm(g, above, dbm.weights[l].t())
            new = torch.sigmoid(g)
            if damping:
                new = damping * q[l] + (1 - damping) * new
            if l == 0:
                logits, new = g, torch.where(mask, new, q[0])
            q[l] = new
    return q, logits


class MultiPrediction:
    r"""The multi-prediction estimator: ∇ of the masked cross-entropy into ``.grad``.

    Used by :func:`inference.fit` with ``method="mp"`` (it has the ``grad`` of
    :class:`~inference.CD` and :class:`~inference.PCD`, so the optimizer, schedules,
    averaging and checkpoints are the same).

    Parameters
    ----------
    n_iter : int, default 10
        Unrolled mean-field passes (inpaint with the same count).
    mask_prob : float in (0, 1), default 0.5
        Probability that a visible unit is hidden (per example, per unit, per step).
    damping : float in [0, 1), default 0
    generator : torch.Generator, optional
        Source of the masks (``fit`` passes the run's); ``None`` seeds a fresh one.

    Examples
    --------
    >>> from models import DBM
    >>> dbm = DBM([6, 4, 3], seed=0)
    >>> mp = MultiPrediction(n_iter=5, generator=torch.Generator().manual_seed(0))
    >>> info = mp.grad(dbm, torch.ones(8, 6))
    >>> dbm.weights[0].grad.shape, float(info.recon_sq) > 0
    (torch.Size([6, 4]), True)
    """

    def __init__(self, n_iter: int = 10, mask_prob: float = 0.5, damping: float = 0.0,
                 generator: torch.Generator | None = None):
        where = "MultiPrediction"
        self.n_iter = check_int(n_iter, "n_iter", 1, where)
        for name, x, low_open in (("mask_prob", mask_prob, True), ("damping", damping, False)):
            if (not isinstance(x, (int, float)) or isinstance(x, bool) or math.isnan(x) or x < 0 or x >= 1
                    or (low_open and x == 0)):
                raise ValueError(f"{where}: {name} must be a number in {'(' if low_open else '['}0, 1), got {x!r}")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"{where}: generator must be a torch.Generator or None, got {type(generator).__name__}")
        self.mask_prob, self.damping, self.generator = float(mask_prob), float(damping), generator

    def __repr__(self):
        return f"MultiPrediction(n_iter={self.n_iter}, mask_prob={self.mask_prob}, damping={self.damping})"

    @staticmethod
    def check_model(model, where: str = "MultiPrediction") -> DBM:
        """``model`` checked to be a :class:`models.DBM` (TypeError otherwise)."""
        if not isinstance(model, DBM):
            raise TypeError(f"{where}: multi-prediction training needs a DBM (models.DBM), got {type(model).__name__}")
        return model

    def loss(self, model: DBM, v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        r"""Per-example cross-entropy Σ_{i ∈ M} −log q(v_i) of the masked units, shape
        (batch,), differentiable in the parameters; ``v`` binary, ``mask`` a bool tensor
        of ``v``'s shape (no checks)."""
        q, logits = unrolled_mean_field(model, v, mask, self.n_iter, self.damping)
        if self.damping:
            ce = F.binary_cross_entropy(q[0], v, reduction="none")
        else:
            ce = F.binary_cross_entropy_with_logits(logits, v, reduction="none")
        return (ce * mask).sum(-1)

    def draw_mask(self, v: torch.Tensor) -> torch.Tensor:
        """A fresh mask of ``v``'s shape, each unit hidden with probability ``mask_prob``."""
        if self.generator is None:
            self.generator = torch.Generator(device=v.device)
            self.generator.seed()
        return torch.rand(v.shape, generator=self.generator, device=v.device, dtype=v.dtype) < self.mask_prob

    def grad(self, model: DBM, v: torch.Tensor, track_error: bool = True) -> GradInfo:
        """Set ``p.grad`` of every parameter to ∇ of the batch's mean loss for a fresh
        mask; returns the loss summed over the batch (a 0-d tensor, not synchronised) as
        ``recon_sq``. ``v`` (batch, n_visible) must already be valid binary data."""
        self.check_model(model)
        mask = self.draw_mask(v)
        for p in model.parameters():
            p.grad = None
        with torch.enable_grad():
            per_example = self.loss(model, v, mask)
            per_example.mean().backward()
        return GradInfo(v, per_example.detach().sum() if track_error else None)

    def state_dict(self) -> dict:
        """Nothing to save (the masks come from the run's generator)."""
        return {}

    @staticmethod
    def fold_state_dicts(states: list) -> dict:
        """Nothing to fold (a run resumed on fewer processes)."""
        return {}

    def load_state_dict(self, state: dict, device=None) -> None:
        """Nothing to restore."""
