"""The binary restricted Boltzmann machine."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Bernoulli

import pgm

from .base import EnergyModel
from .marginals import column_means
from .rectified import RectifiedHidden, check_hidden_units
from pgm.checks import check_beta, check_init, check_int, check_memory, check_units

__all__ = ["RBM"]


def _beta_column(beta, like: torch.Tensor):
    """Broadcast a float or per-chain (batch,) tensor of β against (batch, units)."""
    if isinstance(beta, torch.Tensor):
        return beta.to(dtype=like.dtype, device=like.device).reshape(-1, 1)
    return beta


class TwoLayerMarginals:
    """The enumeration hook of a model with layers ``v`` and ``h``, each of which sums (or
    integrates) out given the other: ``free_energy(v)`` and ``free_energy_hidden(h)``."""

    def marginal_sets(self) -> list[tuple[str, ...]]:
        """``[("v",), ("h",), ("v", "h")]``: either layer sums out given the other."""
        return [("v",), ("h",), ("v", "h")]

    def free_energy_given(self, state: dict[str, torch.Tensor], beta=1.0) -> torch.Tensor:
        """:meth:`free_energy` for ``{"v"}``, :meth:`free_energy_hidden` for ``{"h"}``,
        β E for both."""
        if isinstance(state, dict) and set(state) == {"v"}:
            return self.free_energy(state["v"], beta)
        if isinstance(state, dict) and set(state) == {"h"}:
            return self.free_energy_hidden(state["h"], beta)
        return super().free_energy_given(state, beta)


class RBM(TwoLayerMarginals, RectifiedHidden, EnergyModel):
    r"""Restricted Boltzmann machine with binary visible and hidden units.

    .. math::

        E(v, h) = -b^\top v - c^\top h - v^\top W h, \qquad
        F(v) = -b^\top v - \sum_j \operatorname{softplus}(c_j + (v^\top W)_j)

    so that p(v) = exp(-F(v)) / Z. The conditionals factorise:
    p(h_j = 1 | v) = σ(c_j + (vW)_j) and p(v_i = 1 | h) = σ(b_i + (W h)_i).

    Parameters
    ----------
    n_visible : int
        Number of visible units.
    n_hidden : int
        Number of hidden units.
    weight_std : float, default 0.01
        Standard deviation of the initial Gaussian weights (Hinton, 2010, §8).
    seed : int, optional
        Seed of the weight initialisation; ``None`` draws from torch's global generator.
    hidden : {"binary", "stepped", "nrelu"}, default "binary"
        Hidden unit type. ``"stepped"``: each hidden unit is the count h_j ∈ {0, …, N} of
        N binary copies with biases c_j − ½, c_j − 3/2, …, and the energy gains the
        multiplicity term, E(v, h) = −bᵀv − cᵀh − vᵀWh − Σ_j log e_N(h_j); the
        conditional of h is exact (:class:`~models.energy.rectified.SteppedSigmoid`) and
        F(v) = −bᵀv − Σ_j Σ_{k=1}^N softplus(c_j + (vW)_j − k + ½).
        ``"nrelu"``: the same model, whose ``conditional("h")`` is the noisy rectified
        linear approximation (:class:`~models.energy.rectified.NoisyReLU`). See
        :mod:`models.energy.rectified`.
    n_steps : int, optional
        N, the number of copies of a rectified unit (default 10); only with rectified units.

    Attributes
    ----------
    W : Parameter, shape (n_visible, n_hidden)
    b : Parameter, shape (n_visible,)
        Visible biases (zero; see :meth:`init_visible_bias`).
    c : Parameter, shape (n_hidden,)
        Hidden biases (zero).
    graph : pgm.Graph
        ``v`` (observed, bernoulli) -- ``h`` (latent, bernoulli, or count for rectified units).

    Notes
    -----
    Where a method accepts a visible batch it also accepts probabilities in [0, 1]
    (grey levels, mean-field values): energies and free energies extend multilinearly.
    Only likelihood evaluation requires binary data.

    References
    ----------
    G. Hinton, "A Practical Guide to Training Restricted Boltzmann Machines", 2010.

    Examples
    --------
    >>> rbm = RBM(6, 4, seed=0)
    >>> v = torch.tensor([[1., 0., 1., 1., 0., 0.]])
    >>> rbm.free_energy(v).shape
    torch.Size([1])
    """

    def __init__(self, n_visible: int, n_hidden: int, *, weight_std: float = 0.01, seed: int | None = None,
                 hidden: str = "binary", n_steps: int | None = None):
        super().__init__()
        n_visible, n_hidden, seed = check_layers("RBM", n_visible, n_hidden, weight_std, seed)
        self.hidden, self.n_steps = check_hidden_units(hidden, n_steps, "RBM")
        init_layers(self, n_visible, n_hidden, weight_std, seed)
        self.graph = pgm.Graph(
            [pgm.VariableGroup("v", n_visible, "bernoulli", observed=True),
             pgm.VariableGroup("h", n_hidden, self.hidden_kind)],
            [pgm.Edge("v", "h")],
        )

    def config(self) -> dict:
        return {"n_visible": self.n_visible, "n_hidden": self.n_hidden,
                "weight_std": self.weight_std, "seed": self.seed, **self.hidden_config()}

    @classmethod
    def from_data(cls, data: torch.Tensor, n_hidden: int, **kwargs) -> "RBM":
        """An RBM sized for ``data`` with visible biases set from its marginals."""
        data = check_units(data, "data", unit_interval=True)
        model = cls(data.shape[1], n_hidden, **kwargs)
        model.init_visible_bias(data)
        return model

    @torch.no_grad()
    def init_visible_bias(self, data: torch.Tensor, eps: float = 1e-3) -> None:
        r"""Set b_i = log(p_i / (1 - p_i)) from the data marginals p_i, clipped to [ε, 1-ε].

        Parameters
        ----------
        data : Tensor, shape (n, n_visible), values in [0, 1]
        """
        data = check_units(data, "data", self.n_visible, unit_interval=True)
        p = column_means(data).clamp(eps, 1 - eps)
        self.b.copy_(torch.logit(p).to(self.b))

    # -- the energy-model contract ---------------------------------------------------
    def _check(self, x, name, width):
        return check_units(x, name, width, unit_interval=True, dtype=self.W.dtype, device=self.W.device)

    def energy(self, state: dict[str, torch.Tensor]) -> torch.Tensor:
        """E(v, h) for a batch; ``state = {"v": (batch, n_visible), "h": (batch, n_hidden)}``.

        Returns
        -------
        Tensor, shape (batch,)
        """
        v = self._check(_get(state, "v", "energy"), "state['v']", self.n_visible)
        h = self._check_h(_get(state, "h", "energy"), "state['h']")
        if v.shape[0] != h.shape[0]:
            raise ValueError(f"energy: state['v'] has batch {v.shape[0]} but state['h'] has {h.shape[0]}")
        e = -(v @ self.b) - (h @ self.c) - ((v @ self.W) * h).sum(-1)
        return e if self.hidden == "binary" else e - self._hidden_log_weight(h)

    def _check_h(self, h, name):
        return self._check_hidden_values(h, name, self.W.dtype, self.W.device)

    def hidden_logits(self, v: torch.Tensor) -> torch.Tensor:
        """Pre-activations c + vW of the hidden units, shape (batch, n_hidden)."""
        return torch.addmm(self.c, v, self.W)

    def visible_logits(self, h: torch.Tensor) -> torch.Tensor:
        """Pre-activations b + W h of the visible units, shape (batch, n_visible)."""
        return torch.addmm(self.b, h, self.W.t())

    def conditional(self, group: str, state: dict[str, torch.Tensor], beta=1.0):
        """p_β(h | v) = Bernoulli(σ(β(c + vW))) or p_β(v | h) = Bernoulli(σ(β(b + W h))).

        ``state`` needs only the other group. Values in [0, 1] are accepted (mean-field).
        Rectified units: p_β(h | v) is ``SteppedSigmoid(c + vW, N, β)`` (exact) or
        ``NoisyReLU(c + vW, N, β)`` (the approximation), see :mod:`models.energy.rectified`.
        """
        if group == "h":
            x = self._check(_get(state, "v", "conditional('h')"), "state['v']", self.n_visible)
            logits = self.hidden_logits(x)
            if self.hidden != "binary":
                return self._hidden_distribution(logits, check_beta(beta, batch=x.shape[0]))
        elif group == "v":
            x = self._check_h(_get(state, "h", "conditional('v')"), "state['h']")
            logits = self.visible_logits(x)
        else:
            raise ValueError(f"conditional: group must be 'v' or 'h', got {group!r}")
        beta = check_beta(beta, batch=x.shape[0])
        if not (isinstance(beta, float) and beta == 1.0):
            logits = logits * _beta_column(beta, logits)
        return Bernoulli(logits=logits, validate_args=False)

    def free_energy(self, v: torch.Tensor, beta=1.0) -> torch.Tensor:
        r"""F_β(v) = -β bᵀv - Σ_j softplus(β (c_j + (vW)_j)), shape (batch,).

        p_β(v) ∝ exp(-F_β(v)) is the visible marginal of p_β(v, h) ∝ exp(-β E(v, h)).
        """
        v = self._check(v, "v", self.n_visible)
        beta = check_beta(beta, batch=v.shape[0])
        if self.hidden != "binary":
            return -_beta_vector(beta, v) * (v @ self.b) - self._hidden_log_sum(self.hidden_logits(v), beta)
        return _free_energy(v, self.b, self.hidden_logits(v), beta)

    def free_energy_hidden(self, h: torch.Tensor, beta=1.0) -> torch.Tensor:
        r"""F_β(h) = -β cᵀh - Σ_i softplus(β (b_i + (W h)_i)), the visibles summed out
        (rectified units: also −β Σ_j log e_N(h_j))."""
        h = self._check_h(h, "h")
        beta = check_beta(beta, batch=h.shape[0])
        f = _free_energy(h, self.c, self.visible_logits(h), beta)
        return f if self.hidden == "binary" else f - _beta_vector(beta, h) * self._hidden_log_weight(h)


def check_layers(where, n_visible, n_hidden, weight_std, seed):
    """The constructor arguments every two-layer model shares, checked; returns
    ``(n_visible, n_hidden, seed)`` as ints (integer-like numbers are accepted). Refuses
    layers whose weight matrix and biases alone exceed the machine's memory."""
    n_visible = check_int(n_visible, "n_visible", 1, where)
    n_hidden = check_int(n_hidden, "n_hidden", 1, where)
    _, seed = check_init(where, weight_std, seed)
    check_memory(f"{where}({n_visible}, {n_hidden})", n_visible * n_hidden + n_visible + n_hidden)
    return n_visible, n_hidden, seed


def init_layers(model, n_visible, n_hidden, weight_std, seed) -> None:
    """Store the sizes and hyperparameters; W ~ N(0, weight_std²) (seeded), b = 0, c = 0."""
    model.n_visible, model.n_hidden, model.weight_std, model.seed = n_visible, n_hidden, weight_std, seed
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    model.W = nn.Parameter(torch.randn(n_visible, n_hidden, generator=gen) * weight_std)
    model.b = nn.Parameter(torch.zeros(n_visible))
    model.c = nn.Parameter(torch.zeros(n_hidden))


def _free_energy(x, bias, other_logits, beta):
    """-β biasᵀx - Σ softplus(β · other_logits): one layer kept, the other summed out."""
    if isinstance(beta, torch.Tensor):
        beta = beta.to(x).reshape(-1)
        return -beta * (x @ bias) - F.softplus(other_logits * beta[:, None]).sum(-1)
    return -beta * (x @ bias) - F.softplus(beta * other_logits).sum(-1)


def _beta_vector(beta, like):
    """β as a float or a (batch,) tensor in ``like``'s dtype and device."""
    return beta.to(like).reshape(-1) if isinstance(beta, torch.Tensor) else beta


def _get(state, name, where):
    if not isinstance(state, dict):
        raise TypeError(f"{where}: state must be a dict mapping group name to tensor, got {type(state).__name__}")
    if name not in state:
        raise ValueError(f"{where}: state needs group {name!r}, got groups {sorted(state)}")
    return state[name]
