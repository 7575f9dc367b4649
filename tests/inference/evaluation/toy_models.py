"""Energy models known only to the evaluation tests.

* :class:`Chain` — a binary chain v – h1 – h2 without ``free_energy``: evaluation sums
  its latent units through the enumeration hook (the default set, or declared ones);
* :class:`SpinRBM` — an RBM whose visible units take values in {−1, +1}
  (kind ``binary_pm1``), with a free energy;
* :class:`OddKind` — a model whose visible group has a kind evaluation does not know.
"""

import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Distribution, constraints

import pgm
from models.energy import EnergyModel


def _param(gen, scale, *shape):
    return torch.nn.Parameter(scale * torch.randn(*shape, generator=gen, dtype=torch.float64))


class Chain(EnergyModel):
    r"""E(v, h1, h2) = −aᵀv − b1ᵀh1 − b2ᵀh2 − vᵀW1 h1 − h1ᵀW2 h2, all units binary.

    ``declare_sets``: lists ``("h1",)`` and ``("v", "h2")`` besides the joint (h1 sums
    out given v and h2). It has no ``free_energy``.
    """

    def __init__(self, nv, n1, n2, seed=0, scale=1.0, declare_sets=False):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.sizes, self.seed, self.scale, self.declare_sets = (nv, n1, n2), seed, scale, declare_sets
        self.W1, self.W2 = _param(gen, scale, nv, n1), _param(gen, scale, n1, n2)
        self.a, self.b1, self.b2 = _param(gen, scale, nv), _param(gen, scale, n1), _param(gen, scale, n2)
        self.graph = pgm.Graph.layered([("v", nv, "bernoulli"), ("h1", n1, "bernoulli"), ("h2", n2, "bernoulli")])

    def energy(self, state):
        v, h1, h2 = state["v"], state["h1"], state["h2"]
        return (-(v @ self.a) - (h1 @ self.b1) - (h2 @ self.b2)
                - ((v @ self.W1) * h1).sum(-1) - ((h1 @ self.W2) * h2).sum(-1))

    def conditional(self, group, state, beta=1.0):
        if group == "v":
            logits = self.a + state["h1"] @ self.W1.t()
        elif group == "h1":
            logits = self.b1 + state["v"] @ self.W1 + state["h2"] @ self.W2.t()
        else:
            logits = self.b2 + state["h1"] @ self.W2
        return Bernoulli(logits=beta * logits, validate_args=False)

    def marginal_sets(self):
        if self.declare_sets:
            return [("h1",), ("v", "h2"), ("v", "h1", "h2")]
        return super().marginal_sets()

    def free_energy_given(self, state, beta=1.0):
        if set(state) == {"h1"}:
            h1 = state["h1"]
            return (-beta * (h1 @ self.b1) - F.softplus(beta * (self.a + h1 @ self.W1.t())).sum(-1)
                    - F.softplus(beta * (self.b2 + h1 @ self.W2)).sum(-1))
        if set(state) == {"v", "h2"}:
            v, h2 = state["v"], state["h2"]
            return (-beta * (v @ self.a + h2 @ self.b2)
                    - F.softplus(beta * (self.b1 + v @ self.W1 + h2 @ self.W2.t())).sum(-1))
        return super().free_energy_given(state, beta)

    def config(self):
        nv, n1, n2 = self.sizes
        return {"nv": nv, "n1": n1, "n2": n2, "seed": self.seed, "scale": self.scale,
                "declare_sets": self.declare_sets}


class _Spin(Distribution):
    """Independent ±1 units with P(s = +1) = σ(2 x): mean tanh(x)."""

    arg_constraints = {}
    support = constraints.real

    def __init__(self, field):
        self.field = field
        super().__init__(field.shape, validate_args=False)

    @property
    def mean(self):
        return torch.tanh(self.field)

    def sample(self, sample_shape=torch.Size()):
        p = torch.sigmoid(2 * self.field)
        return 2 * torch.bernoulli(p.expand(sample_shape + p.shape)) - 1


class SpinRBM(EnergyModel):
    r"""E(s, h) = −bᵀs − cᵀh − sᵀW h with s ∈ {−1, +1}ⁿ, h ∈ {0, 1}ᵐ;
    F(s) = −bᵀs − Σ_j softplus(c_j + (sW)_j)."""

    def __init__(self, nv, nh, seed=0, scale=1.0, kind="binary_pm1"):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.sizes, self.seed, self.scale, self.kind = (nv, nh), seed, scale, kind
        self.W, self.b, self.c = _param(gen, scale, nv, nh), _param(gen, scale, nv), _param(gen, scale, nh)
        self.graph = pgm.Graph([pgm.VariableGroup("v", nv, kind, observed=True),
                                pgm.VariableGroup("h", nh, "bernoulli")], [pgm.Edge("v", "h")])

    def energy(self, state):
        s, h = state["v"], state["h"]
        return -(s @ self.b) - (h @ self.c) - ((s @ self.W) * h).sum(-1)

    def conditional(self, group, state, beta=1.0):
        if group == "h":
            return Bernoulli(logits=beta * (self.c + state["v"] @ self.W), validate_args=False)
        return _Spin(beta * (self.b + state["h"] @ self.W.t()))

    def free_energy(self, v, beta=1.0):
        return -beta * (v @ self.b) - F.softplus(beta * (self.c + v @ self.W)).sum(-1)

    def marginal_sets(self):
        return [("v",), ("v", "h")]

    def free_energy_given(self, state, beta=1.0):
        if set(state) == {"v"}:
            return self.free_energy(state["v"], beta)
        return super().free_energy_given(state, beta)

    def config(self):
        nv, nh = self.sizes
        return {"nv": nv, "nh": nh, "seed": self.seed, "scale": self.scale, "kind": self.kind}


class OddKind(SpinRBM):
    """A :class:`SpinRBM` whose visible group claims kind ``categorical``."""

    def __init__(self, nv=3, nh=2):
        super().__init__(nv, nh, kind="categorical")
