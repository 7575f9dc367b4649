"""BoltzmannMachine: parametrisation, energy, site conditionals and log Z against enumeration."""

import math

import pytest
import torch

import pgm
from inference import exact_log_partition
from models import BoltzmannMachine
from tests.oracles import all_binary_states, brute_force_conditional, brute_force_log_z, random_bm


def test_couplings_stay_symmetric_with_zero_diagonal():
    bm = random_bm(3, 2, seed=0)
    with torch.no_grad():
        bm.u.add_(torch.randn(bm.u.shape, dtype=bm.u.dtype))
    U = bm.U
    assert U.shape == (5, 5)
    torch.testing.assert_close(U, U.t())
    assert (U.diagonal() == 0).all()
    assert bm.u.shape == (10,)


def test_energy_matches_the_definition():
    bm = random_bm(3, 2, seed=1)
    x = all_binary_states(5)
    U, a = bm.U.detach(), bm.a.detach()
    want = torch.stack([-0.5 * r @ U @ r - a @ r for r in x])
    got = bm.energy({"v": x[:, :3], "h": x[:, 3:]}).detach()
    torch.testing.assert_close(got, want)


def test_graph_couples_each_group_to_itself_and_to_the_other():
    assert BoltzmannMachine(3, 2).graph == pgm.Graph(
        [pgm.VariableGroup("v", 3, "bernoulli", observed=True), pgm.VariableGroup("h", 2, "bernoulli")],
        [pgm.Edge("v", "v"), pgm.Edge("h", "h"), pgm.Edge("v", "h")])
    assert BoltzmannMachine(4).graph == pgm.Graph([pgm.VariableGroup("v", 4, "bernoulli", observed=True)],
                                                  [pgm.Edge("v", "v")])


@pytest.mark.parametrize("beta", [1.0, 0.35])
def test_site_logits_are_the_exact_one_unit_conditionals(beta):
    """logit p_β(x_i = 1 | x_-i) = β(E(x_i = 0) − E(x_i = 1)), for every unit and state."""
    bm = random_bm(3, 2, seed=2)
    x = all_binary_states(5)
    values = {"v": x[:, :3], "h": x[:, 3:]}
    for group, width in (("v", 3), ("h", 2)):
        for i in range(width):
            on = {g: t.clone() for g, t in values.items()}
            off = {g: t.clone() for g, t in values.items()}
            on[group][:, i], off[group][:, i] = 1, 0
            want = beta * (bm.energy(off) - bm.energy(on)).detach()
            got = bm.site_logits(group, i, values, torch.full((32,), beta, dtype=torch.float64)).detach()
            torch.testing.assert_close(got, want)


def test_group_conditional_equals_brute_force():
    bm = random_bm(3, 2, seed=3)
    h = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    dist = bm.conditional("v", {"h": h}, beta=0.7)
    probs = dist.log_prob(all_binary_states(3)).exp().detach()
    torch.testing.assert_close(probs, brute_force_conditional(bm, "v", {"h": h}, beta=0.7))
    torch.testing.assert_close(dist.mean.detach()[0], probs @ all_binary_states(3))


@pytest.mark.parametrize("n_hidden", [0, 3])
def test_exact_log_partition_enumerates_all_units(n_hidden):
    bm = random_bm(4, n_hidden, seed=4)
    est = exact_log_partition(bm)
    assert math.isclose(est.log_z, float(brute_force_log_z(bm)), rel_tol=0, abs_tol=1e-9)


def test_fully_visible_conditional_has_one_row_per_chain():
    bm = random_bm(3, 0, seed=5)
    dist = bm.conditional("v", {"v": torch.zeros(4, 3, dtype=torch.float64)})
    assert dist.batch_shape == (4,) and dist.event_shape == (3,)


@pytest.mark.parametrize("bad, match", [(dict(n_visible=0), "n_visible"), (dict(n_visible=3, n_hidden=-1), "n_hidden"),
                                        (dict(n_visible=3, weight_std=-1.0), "weight_std")])
def test_bad_arguments_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        BoltzmannMachine(**bad)


def test_unknown_group_is_refused():
    with pytest.raises(ValueError, match="'z'"):
        random_bm(2, 1).conditional("z", {"v": torch.zeros(1, 2, dtype=torch.float64)})


@pytest.mark.parametrize("base", ["uniform", "data"])
def test_ais_log_partition_brackets_the_exact_value(base, one_thread):
    """AIS through single-site tempered sweeps; the ±3 s.e. bracket fails with probability
    ≈ 3e-3 under an unbiased sampler (plus AIS's small downward bias in log Ẑ). A data base
    with marginals near 0.95 makes the base factor matter: single-site updates that left it
    out would put log Ẑ near 12.5 instead of 8.67 (measured)."""
    from inference import ais_log_partition

    bm = random_bm(5, 3, seed=9, dtype=torch.float32)
    data = (torch.rand(40, 5, generator=torch.Generator().manual_seed(1)) < 0.95).float()
    est = ais_log_partition(bm, n_chains=2000, betas=torch.linspace(0, 1, 30, dtype=torch.float64), base=base,
                            data=data if base == "data" else None, seed=2, progress=False)
    exact = float(brute_force_log_z(bm))
    assert est.lower <= exact <= est.upper
    assert est.upper - est.lower < 0.2
