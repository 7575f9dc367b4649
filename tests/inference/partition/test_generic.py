"""Exact log Z and AIS for any energy model through its contract, against brute force.

The models here are defined in this file only (no library code knows them): a binary
chain v – h1 – h2 (annealed on its joint state; exact log Z through the default hook or
through the sets it declares) and an RBM with real-valued hidden units (whose marginal
path has no finite start). The generic loop is also run on a tiny RBM (``backend="torch"``).

Seed policy: fixed seeds. Statistical assertions use the estimator's own ±3 standard-error
bracket on Z (a correct estimator misses it with probability about 0.27% per assertion,
by the central limit theorem on the mean weight); the failure rate is restated per test.
Deterministic checks (weights without transitions) are exact to float64 rounding.
"""

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal

import pgm
from inference.mcmc.sampling import make_generator
from inference.partition import (
    BernoulliFactor,
    FactorisedBase,
    ais_log_partition,
    ais_log_weights,
    exact_log_partition,
    reverse_ais_log_partition,
)
from inference.partition.exact import enumeration_set
from inference.partition.path import annealing_form, make_path, sweep_blocks
from models.energy import EnergyModel
from tests.inference.evaluation.toy_models import Chain
from tests.oracles import all_binary_states, brute_force_joint, brute_force_log_z, brute_force_marginal_v, random_rbm


class ThreeLayer(Chain):
    """The evaluation tests' binary chain v – h1 – h2 (:class:`Chain`), in float32, noting
    the thread counts its conditionals run under."""

    def __init__(self, nv, n1, n2, seed=0, scale=1.0, declare_sets=False):
        super().__init__(nv, n1, n2, seed=seed, scale=scale, declare_sets=declare_sets)
        self.float()
        self.threads_seen = set()

    def conditional(self, group, state, beta=1.0):
        self.threads_seen.add(torch.get_num_threads())
        return super().conditional(group, state, beta)


class GaussianHiddenRBM(EnergyModel):
    r"""Binary v, real h: E(v, h) = −bᵀv − vᵀW h + ½‖h‖², so that

    F_β(v) = −β bᵀv − Σ_j [β (vW)_j² / 2 + ½ log(2π/β)], infinite at β = 0.
    """

    def __init__(self, nv, nh):
        super().__init__()
        self.W = torch.nn.Parameter(torch.full((nv, nh), 0.1))
        self.b = torch.nn.Parameter(torch.zeros(nv))
        self.graph = pgm.Graph([pgm.VariableGroup("v", nv, "bernoulli", observed=True),
                                pgm.VariableGroup("h", nh, "gaussian")], [pgm.Edge("v", "h")])

    def energy(self, state):
        v, h = state["v"], state["h"]
        return -(v @ self.b) - ((v @ self.W) * h).sum(-1) + 0.5 * h.square().sum(-1)

    def conditional(self, group, state, beta=1.0):
        if group == "h":
            loc = state["v"] @ self.W
            return Normal(loc, torch.full_like(loc, beta).rsqrt(), validate_args=False)
        return Bernoulli(logits=beta * (self.b + state["h"] @ self.W.t()), validate_args=False)

    def free_energy(self, v, beta=1.0):
        if beta == 0:
            return torch.full((v.shape[0],), -math.inf, dtype=v.dtype)
        x = v @ self.W
        return (-beta * (v @ self.b) - (beta * x.square() / 2).sum(-1)
                - 0.5 * x.shape[1] * math.log(2 * math.pi / beta))

    def config(self):
        return {}


def _inside(est, exact):
    return est.lower <= exact <= est.upper


def _joint_samples(model, n, seed):
    """n exact joint draws of a tiny all-binary model, by enumeration."""
    states, log_p = brute_force_joint(model)
    idx = torch.multinomial(log_p.exp(), n, replacement=True, generator=make_generator(seed))
    return {k: x[idx].float() for k, x in states.items()}


# -- exact log Z through the hook ------------------------------------------------------------

def test_three_layer_exact_through_the_default_hook_and_the_declared_sets():
    default = ThreeLayer(5, 4, 3, seed=1)
    declared = ThreeLayer(5, 4, 3, seed=1, declare_sets=True)
    ref = brute_force_log_z(default).item()
    assert enumeration_set(default) == (("v", "h1", "h2"), 12)
    assert enumeration_set(declared) == (("h1",), 4)
    assert abs(exact_log_partition(default, chunk_size=1000).log_z - ref) < 1e-10
    assert abs(exact_log_partition(declared).log_z - ref) < 1e-10
    # the other declared set, chosen when it is the only one
    declared.marginal_sets = lambda: [("v", "h2")]
    assert abs(exact_log_partition(declared).log_z - ref) < 1e-10


# -- the joint form ----------------------------------------------------------------------------

def test_three_layer_is_annealed_on_its_joint_state():
    model = ThreeLayer(5, 4, 3)
    path = make_path(model, "uniform", func="test")
    assert annealing_form(model) == "joint" and path.form == "joint"
    assert set(path.base.factors) == {"v", "h1", "h2"}
    assert sweep_blocks(path) == model.graph.gibbs_blocks() == [["v", "h2"], ["h1"]]
    assert path.base.log_z() == pytest.approx(12 * math.log(2), abs=1e-12)


def test_joint_weights_without_transitions_are_the_importance_ratio():
    """betas = [0, 1]: log w = −log p̃_A(x) − E(x), exactly, for every joint state."""
    model = ThreeLayer(3, 2, 2, seed=2).double()
    gen = make_generator(0)
    logits = torch.randn(3, generator=gen, dtype=torch.float64)
    states, _ = brute_force_joint(model)
    base = FactorisedBase({"v": BernoulliFactor(logits)})
    log_w, end = ais_log_weights(model, states, [0.0, 1.0], base, gen)
    expected = -(states["v"] @ logits) - model.energy(states).detach()
    assert log_w.dtype == torch.float64
    assert torch.allclose(log_w, expected, atol=1e-12, rtol=0)
    assert all(torch.equal(end[k], states[k]) for k in states)
    reverse, _ = ais_log_weights(model, states, [1.0, 0.0], base, gen)
    assert torch.allclose(reverse, -expected, atol=1e-12, rtol=0)


def test_three_layer_forward_ais_brackets_exact_log_z():
    """Joint-form AIS from a data-fitted base on v (uniform latents); failure rate ≈ 0.27%.

    The chains are small, so the loop runs single-threaded whatever torch's setting.
    """
    model = ThreeLayer(5, 4, 3, seed=3, scale=0.8)
    exact = brute_force_log_z(model).item()
    data = _joint_samples(model, 300, seed=0)["v"]
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        model.threads_seen.clear()
        est = ais_log_partition(model, n_chains=300, betas=torch.linspace(0, 1, 301), data=data, seed=1,
                                progress=False)
        assert model.threads_seen == {1} and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert est.method == "ais" and est.n_chains == 300
    assert _inside(est, exact), (est, exact)


def test_three_layer_reverse_ais_from_exact_samples_brackets_exact_log_z():
    """Reverse AIS from exact joint samples; failure rate ≈ 0.27%."""
    model = ThreeLayer(5, 4, 3, seed=3, scale=0.8)
    exact = brute_force_log_z(model).item()
    init = _joint_samples(model, 300, seed=2)
    est = reverse_ais_log_partition(model, init=init, betas=torch.linspace(0, 1, 301), base="uniform", seed=1,
                                    progress=False)
    assert est.method == "reverse_ais"
    assert _inside(est, exact), (est, exact)


def test_three_layer_reverse_ais_burn_in_from_data_rows_runs():
    """The default start (data rows for v, latents from gibbs.init, burn-in) on the joint form."""
    model = ThreeLayer(4, 3, 2, seed=4, scale=0.5)
    data = _joint_samples(model, 50, seed=5)["v"]
    est = reverse_ais_log_partition(model, n_chains=20, betas=torch.linspace(0, 1, 30), data=data, burn_in=5,
                                    progress=False)
    assert math.isfinite(est.log_z) and est.n_chains == 20


def test_joint_form_init_must_hold_every_group():
    model = ThreeLayer(3, 2, 2)
    with pytest.raises(ValueError, match=r"joint state; init must be a dict of every group"):
        reverse_ais_log_partition(model, init=torch.zeros(4, 3), base="uniform", progress=False)
    with pytest.raises(ValueError, match=r"base has factors for \['x'\]"):
        ais_log_partition(model, base=FactorisedBase.uniform(pgm.Graph.layered([("x", 2, "bernoulli")],
                                                                               observed=("x",)), ["x"]),
                          progress=False)


# -- the marginal form through the generic loop -------------------------------------------------

@pytest.mark.parametrize("n_visible, n_hidden, dtype", [(6, 4, torch.float32), (4, 7, torch.float64)])
def test_generic_loop_on_an_rbm_brackets_exact_log_z(n_visible, n_hidden, dtype):
    """backend="torch": the generic marginal-form loop; failure rate ≈ 0.27% per case."""
    model = random_rbm(n_visible, n_hidden, seed=5, dtype=dtype)
    assert annealing_form(model) == "marginal"
    exact = exact_log_partition(model).log_z
    est = ais_log_partition(model, n_chains=300, betas=torch.linspace(0, 1, 301), base="uniform", seed=1,
                            progress=False, backend="torch")
    assert _inside(est, exact), (est, exact)


def test_generic_reverse_ais_on_an_rbm_from_exact_samples():
    """backend="torch", reverse, exact model samples; failure rate ≈ 0.27%."""
    model = random_rbm(6, 4, seed=5, dtype=torch.float32)
    exact = exact_log_partition(model).log_z
    idx = torch.multinomial(brute_force_marginal_v(model), 300, replacement=True, generator=make_generator(3))
    init = all_binary_states(6, torch.float32)[idx]
    est = reverse_ais_log_partition(model, init=init, betas=torch.linspace(0, 1, 301), base="uniform", seed=1,
                                    progress=False, backend="torch")
    assert _inside(est, exact), (est, exact)


def test_marginal_path_without_a_finite_start_is_refused():
    """Real-valued latents without a confining term at β = 0: −F_0(v) = +∞."""
    model = GaussianHiddenRBM(3, 2)
    assert annealing_form(model) == "marginal"
    with pytest.raises(ValueError, match=r"F_0\(v\) = -inf is not finite: the latent groups \['h'\]"):
        ais_log_partition(model, base="uniform", n_chains=4, betas=[0.0, 1.0], progress=False)
