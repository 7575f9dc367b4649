"""Exact log Z by enumeration of a set of binary groups, against brute force over all joint states.

Everything here is deterministic: the oracle (``tests.oracles.brute_force_log_z``, or a
local enumeration of ±1 states) sums exp(-E(x)) over every joint state in float64,
without using free energies.
"""

import doctest
import math

import pytest
import torch

import inference.partition.exact
import pgm
from inference.partition import MAX_EXACT_UNITS, LogZEstimate, exact_log_partition
from inference.partition.exact import enumeration_set
from models.energy import RBM
from torch.distributions import AffineTransform, Bernoulli, TransformedDistribution

from models.energy import EnergyModel
from tests.oracles import all_binary_states, brute_force_log_z, random_rbm


class _VisibleOnlyRBM(RBM):
    """An RBM that lists only the visible layer: enumeration must use it."""

    free_energy_hidden = None

    def marginal_sets(self):
        return [("v",)]


class _JointOnlyRBM(RBM):
    """An RBM with the default hook: enumeration of the joint through β E."""

    marginal_sets = EnergyModel.marginal_sets
    free_energy_given = EnergyModel.free_energy_given


class _SpinRBM(EnergyModel):
    r"""Two coupled layers of ±1 spins: E(v, h) = -bᵀv - cᵀh - vᵀWh, v ∈ {-1, 1}^n_v, h ∈ {-1, 1}^n_h.

    With ``visible_set=True`` it lists ``("v",)`` with F(v) = -bᵀv - Σ_j log 2cosh(c + vW)_j.
    """

    def __init__(self, n_visible, n_hidden, seed=0, visible_set=False):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.W = torch.nn.Parameter(torch.randn(n_visible, n_hidden, generator=gen, dtype=torch.float64) * 0.7)
        self.b = torch.nn.Parameter(torch.randn(n_visible, generator=gen, dtype=torch.float64) * 0.5)
        self.c = torch.nn.Parameter(torch.randn(n_hidden, generator=gen, dtype=torch.float64) * 0.5)
        self.visible_set = visible_set
        self.graph = pgm.Graph([pgm.VariableGroup("v", n_visible, "binary_pm1", observed=True),
                                pgm.VariableGroup("h", n_hidden, "binary_pm1")], [pgm.Edge("v", "h")])

    def energy(self, state):
        v, h = state["v"], state["h"]
        return -(v @ self.b) - (h @ self.c) - ((v @ self.W) * h).sum(-1)

    def conditional(self, group, state, beta=1.0):
        field = self.c + state["v"] @ self.W if group == "h" else self.b + state["h"] @ self.W.t()
        return TransformedDistribution(Bernoulli(logits=2 * beta * field), [AffineTransform(-1.0, 2.0)])

    def marginal_sets(self):
        return [("v",)] if self.visible_set else super().marginal_sets()

    def free_energy_given(self, state, beta=1.0):
        if set(state) == {"v"}:
            x = beta * (self.c + state["v"] @ self.W)
            log_2cosh = x.abs() + torch.nn.functional.softplus(-2 * x.abs())
            return -beta * (state["v"] @ self.b) - log_2cosh.sum(-1)
        return super().free_energy_given(state, beta)

    def config(self):
        return {}


def _spin_states(n):
    return 2 * all_binary_states(n) - 1


@pytest.mark.parametrize("n_visible, n_hidden", [(6, 4), (4, 7), (5, 5), (1, 3), (9, 1)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_matches_brute_force_over_joint_states(n_visible, n_hidden, dtype):
    model = random_rbm(n_visible, n_hidden, seed=n_visible * 10 + n_hidden, scale=1.0, dtype=dtype)
    est = exact_log_partition(model)
    assert abs(est.log_z - brute_force_log_z(model).item()) < 1e-10


def test_every_listed_set_gives_the_same_answer():
    """The smaller layer (h here), the visible layer only, and the joint (default hook)."""
    model = random_rbm(9, 6, seed=3, scale=1.0)
    via_visible = _VisibleOnlyRBM(9, 6).double()
    via_visible.load_state_dict(model.state_dict())
    via_joint = _JointOnlyRBM(9, 6).double()
    via_joint.load_state_dict(model.state_dict())
    assert enumeration_set(model) == (("h",), 6)
    assert enumeration_set(via_visible) == (("v",), 9)
    assert enumeration_set(via_joint) == (("v", "h"), 15)
    ref = brute_force_log_z(model).item()
    for m in (model, via_visible, via_joint):
        assert abs(exact_log_partition(m).log_z - ref) < 1e-10


@pytest.mark.parametrize("visible_set", [False, True])
def test_spin_groups_enumerate_plus_minus_one(visible_set):
    """binary_pm1 groups take values ±1: the joint (default hook) and the visible set."""
    model = _SpinRBM(4, 3, seed=1, visible_set=visible_set)
    sv, sh = _spin_states(4), _spin_states(3)
    v = sv.repeat_interleave(len(sh), 0)
    h = sh.repeat(len(sv), 1)
    with torch.no_grad():
        ref = torch.logsumexp(-model.energy({"v": v, "h": h}), 0).item()
    assert enumeration_set(model) == ((("v",), 4) if visible_set else (("v", "h"), 7))
    assert abs(exact_log_partition(model, chunk_size=5).log_z - ref) < 1e-10


@pytest.mark.parametrize("chunk_size", [1, 3, 7, 64, 2**16])
def test_chunking_does_not_change_the_result(chunk_size):
    model = random_rbm(7, 5, seed=1, scale=1.0)
    ref = brute_force_log_z(model).item()
    assert abs(exact_log_partition(model, chunk_size=chunk_size).log_z - ref) < 1e-10


def test_closed_form_for_uncoupled_layers_with_many_chunks():
    """W = 0: log Z = Σ softplus(b) + Σ softplus(c); 2^20 states in 16 chunks."""
    model = RBM(20, 40, weight_std=0.0)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        model.b.copy_(2 * torch.randn(20, generator=gen))
        model.c.copy_(2 * torch.randn(40, generator=gen))
    expected = (torch.nn.functional.softplus(model.b.double()).sum()
                + torch.nn.functional.softplus(model.c.double()).sum()).item()
    assert abs(exact_log_partition(model).log_z - expected) < 1e-9


def test_returns_an_exact_estimate_and_leaves_the_model_alone():
    model = random_rbm(5, 3, seed=0, dtype=torch.float32)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    est = exact_log_partition(model)
    assert isinstance(est, LogZEstimate)
    assert est.lower == est.log_z == est.upper
    assert est.ess == math.inf and est.n_chains == 0 and est.method == "exact"
    assert all(isinstance(x, float) for x in (est.log_z, est.lower, est.upper, est.ess))
    assert model.W.dtype == torch.float32
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_digits_log_z_exceeds_every_free_energy(digits_rbm, digits_log_z, digits):
    """Z = Σ_v exp(-F(v)) ≥ exp(-F(v)) for every v: a sanity check on a trained model."""
    with torch.no_grad():
        best = (-digits_rbm.free_energy(digits)).max().double().item()
    assert math.isfinite(digits_log_z.log_z) and digits_log_z.log_z > best


def test_refuses_layers_above_the_limit():
    with pytest.raises(ValueError, match=r"groups \('v',\).*2\^26 states.*\('h',\) \(30 units\).*ais_log_partition"):
        exact_log_partition(RBM(26, 30))
    with pytest.raises(ValueError, match=r"groups \('h',\).*2\^26"):
        exact_log_partition(RBM(40, 26))
    assert MAX_EXACT_UNITS == 25
    with pytest.raises(ValueError, match="max_units=4"):
        exact_log_partition(RBM(5, 6), max_units=4)


@pytest.mark.parametrize("chunk_size", [0, -1, 2.0, True])
def test_rejects_bad_chunk_size(chunk_size):
    with pytest.raises(ValueError, match="chunk_size must be a positive int"):
        exact_log_partition(RBM(3, 2), chunk_size=chunk_size)


def test_rejects_models_it_cannot_enumerate():
    with pytest.raises(TypeError, match="EnergyModel"):
        exact_log_partition(torch.nn.Linear(3, 2))
    model = _VisibleOnlyRBM(3, 2)
    model.graph = pgm.Graph([pgm.VariableGroup("v", 3, "gaussian", observed=True),
                             pgm.VariableGroup("h", 2)], [pgm.Edge("v", "h")])
    with pytest.raises(TypeError, match=r"none of _VisibleOnlyRBM.marginal_sets\(\) \[\('v',\)\] is all-binary"):
        exact_log_partition(model)
    model = _VisibleOnlyRBM(3, 2)
    model.marginal_sets = lambda: [("v", "x")]
    with pytest.raises(TypeError, match=r"\['x'\] not in the graph"):
        exact_log_partition(model)


def test_docstring_examples():
    result = doctest.testmod(inference.partition.exact, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
