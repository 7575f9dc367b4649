r"""A generative stochastic network (Bengio, Thibodeau-Laufer, Alain & Yosinski 2014).

Layers x = h_0, h_1, …, h_L with weights W_l between h_{l−1} and h_l, used in both
directions. One step of the chain updates the odd layers from their neighbours, then the
even ones:

.. math::

    h_l \leftarrow \tanh(W_l h_{l-1} + W_{l+1}^\top h_{l+1} + b_l + \sigma \varepsilon)
                   + \sigma \varepsilon', \qquad
    p = \operatorname{sigmoid}(W_1^\top h_1 + c), \qquad x \sim C(\cdot \mid p \text{ or a draw of it}),

with Gaussian noise of σ = ``hidden_noise`` before and after each hidden activation and
salt-and-pepper corruption C of probability ``input_noise`` on the visible layer (the
paper's two-layer network: σ = 2, p = 0.4). Started from corrupted data with the hidden
layers at zero, the chain's visible reconstructions p_1, …, p_K over K = ``walkback``
steps are each trained to reconstruct the data (walk-back training through the unrolled
chain). As a generator the chain draws x from p at every step.
"""

from __future__ import annotations

import pyro
import pyro.distributions as dist
import torch
import torch.nn.functional as F
from pyro.nn import PyroModule
from torch import nn

import pgm
from pgm.checks import check_init, check_int, check_memory, check_sizes, check_units

from ..parameters import ParameterInfo
from .corruption import Corruption

__all__ = ["GSN"]


class GSN(ParameterInfo, PyroModule):
    """A deep generative stochastic network over binary (or grey) data.

    Parameters
    ----------
    sizes : sequence of int
        ``[n_visible, n_1, …, n_L]`` (L ≥ 1 hidden layers).
    input_noise : float in [0, 1), default 0.4
        p of the salt-and-pepper corruption of the visible layer.
    hidden_noise : float ≥ 0, default 2.0
        σ of the Gaussian noise before and after each hidden activation.
    walkback : int, optional
        Chain steps K unrolled in training; default 2 L, twice the depth, as in the paper.
    weight_std : float, optional
        Initial weights N(0, weight_std²); default 1/√fan_in.
    seed : int, optional

    Attributes
    ----------
    weights : nn.ParameterList
        ``weights[l-1]`` is W_l, shape (n_l, n_{l−1}).
    biases : nn.ParameterList
        ``biases[l]`` of layer l (l = 0: the visible bias c).
    graph : pgm.Graph
        One step of the chain traced: ``noise`` → ``x_tilde`` → ``h1`` → … and the
        visible reconstruction observed at ``v``.
    """

    default_method = "walkback"
    visible_name = "v"
    visible_kind = "bernoulli"

    def __init__(self, sizes, *, input_noise: float = 0.4, hidden_noise: float = 2.0, walkback: int | None = None,
                 weight_std: float | None = None, seed: int | None = None):
        super().__init__()
        sizes = check_sizes(sizes, "GSN", 2, "visible and at least one hidden")
        self.corruption = Corruption.make("salt_pepper", input_noise, "GSN")
        if not isinstance(hidden_noise, (int, float)) or isinstance(hidden_noise, bool) or not hidden_noise >= 0 \
                or hidden_noise == float("inf"):
            raise ValueError(f"GSN: hidden_noise must be a finite number >= 0, got {hidden_noise!r}")
        L = len(sizes) - 1
        walkback = 2 * L if walkback is None else check_int(walkback, "walkback", 1, "GSN")
        std = weight_std
        check_init("GSN", 0.0 if std is None else std, seed)
        check_memory("GSN", sum(a * b for a, b in zip(sizes, sizes[1:])) + sum(sizes))
        self.sizes, self.input_noise, self.hidden_noise = list(sizes), float(input_noise), float(hidden_noise)
        self.walkback, self.weight_std, self.seed = walkback, weight_std, seed
        self.n_visible = sizes[0]
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        self.weights = nn.ParameterList(
            nn.Parameter(torch.randn(b, a, generator=gen) * (a ** -0.5 if std is None else std))
            for a, b in zip(sizes, sizes[1:]))
        self.biases = nn.ParameterList(nn.Parameter(torch.zeros(n)) for n in sizes)
        with torch.no_grad(), pyro.validation_enabled(False):
            self.graph = pgm.from_pyro(self.model, torch.zeros(1, sizes[0]))

    def config(self) -> dict:
        return {"sizes": self.sizes, "input_noise": self.input_noise, "hidden_noise": self.hidden_noise,
                "walkback": self.walkback, "weight_std": self.weight_std, "seed": self.seed}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    def check_data(self, x, name: str = "x") -> torch.Tensor:
        """``x`` checked: (batch, n_visible), values in [0, 1]."""
        return check_units(x, name, self.n_visible, unit_interval=True, dtype=self.dtype, device=self.device)

    def initial_state(self, x: torch.Tensor) -> list:
        """``[x, 0, …, 0]``: the visible layer and zero hidden layers."""
        return [x] + [x.new_zeros(x.shape[0], n) for n in self.sizes[1:]]

    def _noise(self, shape, like, generator):
        if self.hidden_noise == 0:
            return 0.0
        return self.hidden_noise * torch.randn(shape, generator=generator, dtype=like.dtype, device=like.device)

    def _hidden(self, state, l, generator):
        a = F.linear(state[l - 1], self.weights[l - 1], self.biases[l])
        if l < self.n_layers:
            a = a + state[l + 1] @ self.weights[l]
        return torch.tanh(a + self._noise(a.shape, a, generator)) + self._noise(a.shape, a, generator)

    def visible_probabilities(self, h1: torch.Tensor) -> torch.Tensor:
        """p = sigmoid(W_1ᵀ h_1 + c), shape (batch, n_visible)."""
        return torch.sigmoid(h1 @ self.weights[0] + self.biases[0])

    def step(self, state: list, generator: torch.Generator | None = None, sample: bool = False):
        """One step: odd layers, then even layers; returns ``(state, p)``, the new state
        (its visible layer the corrupted reconstruction, or with ``sample`` the corrupted
        draw from it) and the visible probabilities p."""
        state = list(state)
        for l in range(1, self.n_layers + 1, 2):
            state[l] = self._hidden(state, l, generator)
        p = self.visible_probabilities(state[1])
        x = torch.bernoulli(p, generator=generator) if sample else p
        state[0] = self.corruption.sample(x, generator)
        for l in range(2, self.n_layers + 1, 2):
            state[l] = self._hidden(state, l, generator)
        return state, p

    def reconstructions(self, x: torch.Tensor, generator: torch.Generator | None = None, steps: int | None = None):
        """The visible probabilities ``[p_1, …, p_K]`` of the chain unrolled from the
        corrupted data (K = ``steps``, default :attr:`walkback`): what training fits to ``x``."""
        state = self.initial_state(self.corruption.sample(x, generator))
        out = []
        for _ in range(self.walkback if steps is None else steps):
            state, p = self.step(state, generator)
            out.append(p)
        return out

    def log_prob(self, x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """log P(x | p) per example: minus the cross-entropy Σ_i x_i log p_i + (1 − x_i) log(1 − p_i)."""
        return -F.binary_cross_entropy(p.clamp(1e-7, 1 - 1e-7), x, reduction="none").sum(-1)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """One noiseless step from clean ``x`` (hidden layers at zero): its visible probabilities."""
        with torch.no_grad():
            x = self.check_data(x)
            saved, self.hidden_noise = self.hidden_noise, 0.0
            try:
                state = self.initial_state(x)
                for l in range(1, self.n_layers + 1, 2):
                    state[l] = self._hidden(state, l, None)
                return self.visible_probabilities(state[1])
            finally:
                self.hidden_noise = saved

    def model(self, x: torch.Tensor) -> None:
        """One step of the chain from corrupted ``x`` as a program: the corruption's sites,
        the odd hidden layers (deterministic given their noise), then ``v`` observed."""
        with pyro.plate("data", x.shape[0]):
            x_tilde = self.corruption.pyro_sample(x)
            state = self.initial_state(x_tilde)
            for l in range(1, self.n_layers + 1):
                a = F.linear(state[l - 1], self.weights[l - 1], self.biases[l])
                state[l] = pyro.deterministic(f"h{l}", torch.tanh(a), event_dim=1)
            p = self.visible_probabilities(state[1])
            pyro.sample("v", dist.Bernoulli(probs=p, validate_args=False).to_event(1), obs=x)
