"""The classification RBM: binary pixels and a softmax label layer sharing binary hidden units."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Bernoulli, OneHotCategorical

import pgm

from .base import EnergyModel
from .marginals import column_means
from .rbm import _beta_column, _get, check_layers, init_layers
from pgm.checks import check_beta, check_int, check_memory, check_onehot, check_units

__all__ = ["ClassRBM"]


class ClassRBM(EnergyModel):
    r"""Classification RBM (Larochelle & Bengio, 2008): a joint model p(v, y) of binary
    pixels v and a class label y ∈ {1, …, K}, held as a one-hot row, with binary hidden
    units h.

    .. math::

        E(v, y, h) = -h^\top W^\top v - b^\top v - c^\top h - d^\top y - h^\top U^\top y,
        \qquad p(v, y, h) = e^{-E(v, y, h)} / Z,

    (``W`` is (n_visible, n_hidden) and ``U`` (n_classes, n_hidden), so hᵀWᵀv = vᵀW h).
    The conditionals factorise: p(h_j = 1 | v, y) = σ(c_j + (vW)_j + (yU)_j),
    p(v_i = 1 | h) = σ(b_i + (W h)_i) and p(y | h) = softmax(d + U h), a
    ``OneHotCategorical``. The hidden units sum out given (v, y) and (v, y) sum out given h:

    .. math::

        F(v, y) = -b^\top v - d^\top y - \sum_j \operatorname{softplus}(c_j + (vW)_j + (yU)_j),

        F(h) = -c^\top h - \sum_i \operatorname{softplus}(b_i + (W h)_i)
               - \log \sum_k e^{d_k + (U h)_k},

    and the class posterior is exact, p(y = k | v) ∝ exp(−F(v, e_k)), a softmax over K free
    energies (:meth:`predict_proba`).

    **Data.** A row of data is the pixels and the one-hot label side by side,
    x = [v, onehot(y)] of width n_visible + n_classes (:attr:`data_groups` is
    ``("v", "y")``; :meth:`join_labels` builds it from class indices). That is what
    :func:`inference.fit` trains on (generatively: CD/PCD on the joint log-likelihood
    log p(v, y)), what :meth:`free_energy` takes and what ``inference.log_likelihood``
    scores (log p(v, y), in nats per example).

    Parameters
    ----------
    n_visible : int
        Number of binary visible units (pixels).
    n_hidden : int
        Number of binary hidden units.
    n_classes : int
        Number of classes K ≥ 2 (units of the softmax group ``y``).
    weight_std : float, default 0.01
        Standard deviation of the initial Gaussian weights ``W`` and ``U``.
    seed : int, optional
        Seed of the weight initialisation; ``None`` draws from torch's global generator.

    Attributes
    ----------
    W : Parameter, shape (n_visible, n_hidden)
    U : Parameter, shape (n_classes, n_hidden)
    b : Parameter, shape (n_visible,)
        Pixel biases (zero; :meth:`from_data` sets them from the data's marginals).
    c : Parameter, shape (n_hidden,)
        Hidden biases (zero).
    d : Parameter, shape (n_classes,)
        Label biases (zero; :meth:`from_data`: log class frequencies).
    graph : pgm.Graph
        ``v`` (observed, bernoulli) -- ``h`` (latent, bernoulli) -- ``y`` (observed, softmax).

    Notes
    -----
    Where a method takes pixels it also accepts probabilities in [0, 1]; labels may be
    probability vectors (energies extend multilinearly). Likelihoods need binary pixels
    and one-hot labels.

    References
    ----------
    H. Larochelle and Y. Bengio, "Classification using discriminative restricted Boltzmann
    machines", ICML 2008.

    Examples
    --------
    >>> crbm = ClassRBM(6, 4, 3, seed=0)
    >>> x = ClassRBM.join_labels(torch.ones(2, 6), torch.tensor([0, 2]), 3)
    >>> x.shape, crbm.free_energy(x).shape, crbm.predict_proba(x[:, :6]).shape
    (torch.Size([2, 9]), torch.Size([2]), torch.Size([2, 3]))
    """

    def __init__(self, n_visible: int, n_hidden: int, n_classes: int, *, weight_std: float = 0.01,
                 seed: int | None = None):
        super().__init__()
        n_visible, n_hidden, seed = check_layers("ClassRBM", n_visible, n_hidden, weight_std, seed)
        n_classes = check_int(n_classes, "n_classes", 2, "ClassRBM")
        check_memory(f"ClassRBM({n_visible}, {n_hidden}, {n_classes})", n_classes * (n_hidden + 1))
        init_layers(self, n_visible, n_hidden, weight_std, seed)
        self.n_classes = n_classes
        gen = torch.Generator().manual_seed((seed + 1) % 2**63) if seed is not None else None
        self.U = nn.Parameter(torch.randn(n_classes, n_hidden, generator=gen) * weight_std)
        self.d = nn.Parameter(torch.zeros(n_classes))
        self.graph = pgm.Graph(
            [pgm.VariableGroup("v", n_visible, "bernoulli", observed=True),
             pgm.VariableGroup("y", n_classes, "softmax", observed=True),
             pgm.VariableGroup("h", n_hidden, "bernoulli")],
            [pgm.Edge("v", "h"), pgm.Edge("y", "h")],
        )

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "n_hidden": self.n_hidden, "n_classes": self.n_classes,
                "weight_std": self.weight_std, "seed": self.seed}

    @property
    def data_groups(self) -> tuple[str, ...]:
        """``("v", "y")``: a row of data is the pixels, then the one-hot label."""
        return ("v", "y")

    # -- data --------------------------------------------------------------------------
    @staticmethod
    def join_labels(v: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
        """Rows [v, onehot(labels)] of width n_visible + n_classes, in ``v``'s dtype.

        Parameters
        ----------
        v : Tensor, shape (n, n_visible)
        labels : integer Tensor, shape (n,), values in {0, …, n_classes − 1}
        n_classes : int
        """
        n_classes = check_int(n_classes, "n_classes", 2, "ClassRBM.join_labels")
        v = check_units(v, "v")
        labels = _check_labels(labels, "labels", n_classes, v.shape[0], "ClassRBM.join_labels")
        return torch.cat([v, F.one_hot(labels.to(v.device), n_classes).to(v.dtype)], 1)

    def split_labels(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(pixels (n, n_visible), class indices (n,) int64) of data rows [v, onehot(y)]."""
        x = check_units(x, "x", self.data_width)
        v, y = x.split([self.n_visible, self.n_classes], 1)
        check_onehot(y, "x[:, label columns]", self.n_classes)
        return v, y.argmax(1)

    @classmethod
    def from_data(cls, data: torch.Tensor, n_hidden: int, n_classes: int, *, eps: float = 1e-3,
                  **kwargs) -> "ClassRBM":
        r"""A classification RBM sized for ``data`` = [v, onehot(y)] whose biases match its
        marginals: b_i = logit(p_i) from the pixel means (clipped to [ε, 1 − ε]) and
        d_k = log q_k from the class frequencies q_k (floored at ε).

        Parameters
        ----------
        data : Tensor, shape (n, n_visible + n_classes)
            Pixels in [0, 1] and one-hot labels (:meth:`join_labels`).
        n_hidden, n_classes : int
        **kwargs
            Passed to the constructor (``weight_std``, ``seed``).
        """
        n_classes = check_int(n_classes, "n_classes", 2, "ClassRBM.from_data")
        data = check_units(data, "data", unit_interval=True)
        if data.shape[1] <= n_classes or data.shape[0] == 0:
            raise ValueError(f"ClassRBM.from_data: data must hold rows [v, onehot(y)] with more than n_classes="
                             f"{n_classes} columns, got shape {tuple(data.shape)}; build it with "
                             "ClassRBM.join_labels(v, labels, n_classes)")
        model = cls(data.shape[1] - n_classes, n_hidden, n_classes, **kwargs)
        v, y = data.split([model.n_visible, n_classes], 1)
        check_onehot(y, "data[:, label columns]", n_classes)
        with torch.no_grad():
            model.b.copy_(torch.logit(column_means(v).clamp(eps, 1 - eps)).to(model.b))
            model.d.copy_(column_means(y).clamp(min=eps).log().to(model.d))
        return model

    # -- the energy-model contract -----------------------------------------------------
    def _check_v(self, x, name):
        return check_units(x, name, self.n_visible, unit_interval=True, dtype=self.W.dtype, device=self.W.device)

    def _check_y(self, x, name):
        return check_onehot(x, name, self.n_classes, exact=False, dtype=self.W.dtype, device=self.W.device)

    def _check_h(self, x, name):
        return check_units(x, name, self.n_hidden, unit_interval=True, dtype=self.W.dtype, device=self.W.device)

    def hidden_logits(self, v: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Pre-activations c + vW + yU of the hidden units, shape (batch, n_hidden)."""
        return torch.addmm(torch.addmm(self.c, v, self.W), y, self.U)

    def energy(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        """E(v, y, h) for a batch; ``state`` maps ``"v"``, ``"y"``, ``"h"`` to (batch, units).

        Returns
        -------
        Tensor, shape (batch,)
        """
        v = self._check_v(_get(state, "v", "energy"), "state['v']")
        y = self._check_y(_get(state, "y", "energy"), "state['y']")
        h = self._check_h(_get(state, "h", "energy"), "state['h']")
        if not v.shape[0] == y.shape[0] == h.shape[0]:
            raise ValueError(f"energy: state['v'], state['y'] and state['h'] must have one batch size, got "
                             f"{v.shape[0]}, {y.shape[0]} and {h.shape[0]}")
        return -(v @ self.b) - (y @ self.d) - (self.hidden_logits(v, y) * h).sum(-1)

    def conditional(self, group: str, state: dict[str, torch.Tensor], beta=1.0):
        """p_β(h | v, y) = Bernoulli(σ(β(c + vW + yU))), p_β(v | h) = Bernoulli(σ(β(b + W h)))
        or p_β(y | h) = OneHotCategorical(softmax(β(d + U h))).

        ``state`` needs only the group's Markov blanket (``v`` and ``y`` for ``h``; ``h``
        for either of them).
        """
        if group == "h":
            v = self._check_v(_get(state, "v", "conditional('h')"), "state['v']")
            y = self._check_y(_get(state, "y", "conditional('h')"), "state['y']")
            if v.shape[0] != y.shape[0]:
                raise ValueError(f"conditional('h'): state['v'] has batch {v.shape[0]} but state['y'] has "
                                 f"{y.shape[0]}")
            logits = self.hidden_logits(v, y)
        elif group in ("v", "y"):
            h = self._check_h(_get(state, "h", f"conditional({group!r})"), "state['h']")
            logits = torch.addmm(self.b, h, self.W.t()) if group == "v" else torch.addmm(self.d, h, self.U.t())
        else:
            raise ValueError(f"conditional: group must be 'v', 'y' or 'h', got {group!r}")
        beta = check_beta(beta, batch=logits.shape[0])
        if not (isinstance(beta, float) and beta == 1.0):
            b = _beta_column(beta, logits)
            if group == "y" and bool(torch.isinf(torch.as_tensor(b)).any()):
                # β = ∞ (annealing's greedy sweep, unchecked): all mass on the largest logits, not ∞ − ∞
                shifted = logits - logits.max(-1, keepdim=True).values
                logits = torch.where(shifted == 0, torch.zeros_like(shifted), shifted * b)
            else:
                logits = logits * b
        if group == "y":
            return OneHotCategorical(logits=logits, validate_args=False)
        return Bernoulli(logits=logits, validate_args=False)

    def free_energy(self, x: torch.Tensor, beta=1.0) -> torch.Tensor:
        r"""F_β(v, y) = −β(bᵀv + dᵀy) − Σ_j softplus(β(c_j + (vW)_j + (yU)_j)), shape (batch,).

        Parameters
        ----------
        x : Tensor, shape (batch, n_visible + n_classes)
            Rows [v, y]: pixels, then the one-hot label (:meth:`join_labels`).
        """
        x = check_units(x, "x", self.data_width, dtype=self.W.dtype, device=self.W.device)
        v, y = x.split([self.n_visible, self.n_classes], 1)
        v, y = self._check_v(v, "x[:, pixel columns]"), self._check_y(y, "x[:, label columns]")
        return self._free_energy(v, y, check_beta(beta, batch=x.shape[0]))

    def _free_energy(self, v, y, beta):
        linear, logits = v @ self.b + y @ self.d, self.hidden_logits(v, y)
        if isinstance(beta, torch.Tensor):
            beta = beta.to(linear).reshape(-1)
            return -beta * linear - F.softplus(logits * beta[:, None]).sum(-1)
        return -beta * linear - F.softplus(beta * logits).sum(-1)

    def free_energy_hidden(self, h: torch.Tensor, beta=1.0) -> torch.Tensor:
        r"""F_β(h) = −β cᵀh − Σ_i softplus(β(b_i + (W h)_i)) − log Σ_k exp(β(d_k + (U h)_k)),
        pixels and label summed out, shape (batch,)."""
        h = self._check_h(h, "h")
        beta = check_beta(beta, batch=h.shape[0])
        vis, lab = torch.addmm(self.b, h, self.W.t()), torch.addmm(self.d, h, self.U.t())
        if isinstance(beta, torch.Tensor):
            beta = beta.to(vis).reshape(-1)
            col = beta[:, None]
            return -beta * (h @ self.c) - F.softplus(vis * col).sum(-1) - torch.logsumexp(lab * col, -1)
        return -beta * (h @ self.c) - F.softplus(beta * vis).sum(-1) - torch.logsumexp(beta * lab, -1)

    def marginal_sets(self) -> list[tuple[str, ...]]:
        """``[("v", "y"), ("h",), ("v", "y", "h")]``: h sums out given (v, y), and (v, y) given h."""
        return [("v", "y"), ("h",), ("v", "y", "h")]

    def free_energy_given(self, state: dict[str, torch.Tensor], beta=1.0) -> torch.Tensor:
        """:meth:`free_energy` for ``{"v", "y"}``, :meth:`free_energy_hidden` for ``{"h"}``, β E for all."""
        if isinstance(state, dict) and set(state) == {"v", "y"}:
            return self.free_energy(self.join_data(state), beta)
        if isinstance(state, dict) and set(state) == {"h"}:
            return self.free_energy_hidden(state["h"], beta)
        return super().free_energy_given(state, beta)

    # -- classification ----------------------------------------------------------------
    def class_logits(self, v: torch.Tensor) -> torch.Tensor:
        r"""−F(v, e_k) + bᵀv = d_k + Σ_j softplus(c_j + (vW)_j + U_kj), shape (batch, n_classes):
        the unnormalised log p(y = k | v)."""
        v = self._check_v(v, "v")
        base = torch.addmm(self.c, v, self.W)
        return self.d + F.softplus(base.unsqueeze(1) + self.U).sum(-1)

    def predict_log_proba(self, v: torch.Tensor) -> torch.Tensor:
        """log p(y = k | v), exact (the hidden units summed out), shape (batch, n_classes).

        Parameters
        ----------
        v : Tensor, shape (batch, n_visible)
            Pixels (binary or in [0, 1]).
        """
        return torch.log_softmax(self.class_logits(v), -1)

    def predict_proba(self, v: torch.Tensor) -> torch.Tensor:
        """p(y = k | v) ∝ exp(−F(v, e_k)), exact, shape (batch, n_classes); rows sum to 1."""
        return self.predict_log_proba(v).exp()

    def predict(self, v: torch.Tensor) -> torch.Tensor:
        """The most probable class argmax_k p(y = k | v), int64, shape (batch,)."""
        return self.class_logits(v).argmax(-1)

    def score(self, v: torch.Tensor, labels: torch.Tensor) -> float:
        """Accuracy of :meth:`predict` against class indices ``labels`` (n,), in [0, 1]."""
        v = self._check_v(v, "v")
        labels = _check_labels(labels, "labels", self.n_classes, v.shape[0], "ClassRBM.score")
        with torch.no_grad():
            return float((self.predict(v) == labels.to(v.device)).double().mean())


def _check_labels(labels, name, n_classes, n, where):
    if not isinstance(labels, torch.Tensor) or labels.dtype.is_floating_point or labels.dtype == torch.bool \
            or labels.is_complex():
        got = labels.dtype if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise TypeError(f"{where}: {name} must be an integer tensor of class indices, shape ({n},), got {got}")
    if labels.shape != (n,):
        raise ValueError(f"{where}: {name} must have shape ({n},) (one class index per row), "
                         f"got shape {tuple(labels.shape)}")
    if n and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise ValueError(f"{where}: {name} must lie in {{0, …, {n_classes - 1}}} (n_classes={n_classes}), got "
                         f"values in [{int(labels.min())}, {int(labels.max())}]")
    return labels.long()
