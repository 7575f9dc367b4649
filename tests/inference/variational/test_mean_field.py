"""Mean-field inference and the variational bound, against brute force on tiny DBMs."""

import pytest
import torch

from inference import exact_log_partition, mean_field, variational_bound
from inference.evaluation.bound import entropy_bernoulli
from models import DBM, GaussianRBM
from tests.oracles import all_binary_states, brute_force_marginal_v, random_dbm


@pytest.mark.parametrize("centered", [False, True])
def test_fixed_point_satisfies_its_equations(centered):
    dbm = random_dbm([5, 4, 3, 2], seed=3, centered=centered)
    v = all_binary_states(5)
    mf = mean_field(dbm, v, n_iter=500, tol=1e-12)
    assert mf.converged and mf.n_iter < 500
    q = mf.marginals
    for name in ("h1", "h2", "h3"):
        torch.testing.assert_close(q[name], torch.sigmoid(dbm.layer_input(name, q)), rtol=0, atol=1e-10)
    torch.testing.assert_close(q["v"], v)


def test_damping_reaches_the_same_fixed_point():
    dbm = random_dbm([4, 3, 3], seed=5, scale=0.5)
    v = all_binary_states(4)
    plain = mean_field(dbm, v, n_iter=1000, tol=1e-12)
    damped = mean_field(dbm, v, n_iter=1000, tol=1e-12, damping=0.5)
    assert damped.converged and damped.n_iter > plain.n_iter
    for name in ("h1", "h2"):
        torch.testing.assert_close(damped.marginals[name], plain.marginals[name], rtol=0, atol=1e-9)


def test_a_single_hidden_layer_is_exact_in_one_pass():
    """With one hidden layer p(h | v) factorises: mean-field is exact after one pass."""
    dbm = random_dbm([4, 3], seed=2)
    v = all_binary_states(4)
    mf = mean_field(dbm, v, n_iter=10, tol=0.0)
    torch.testing.assert_close(mf.marginals["h1"], dbm.conditional("h1", {"v": v}).probs)


@pytest.mark.parametrize("sizes,centered", [([4, 3, 2], False), ([3, 3, 2, 2], True)])
def test_bound_is_below_the_exact_log_likelihood(sizes, centered):
    dbm = random_dbm(sizes, seed=sum(sizes), centered=centered)
    v = all_binary_states(sizes[0])
    log_p = brute_force_marginal_v(dbm).log()
    bound = variational_bound(dbm, v, exact_log_partition(dbm), tol=1e-10)
    gap = log_p - bound.per_example
    assert (gap >= -1e-10).all()
    assert gap.max() > 1e-3  # a genuine approximation (the posterior is not factorial)
    assert bound.mean == pytest.approx(float(bound.per_example.mean()), abs=1e-12)
    assert bound.lower == bound.upper == bound.mean


def test_bound_with_one_hidden_layer_is_the_exact_log_likelihood():
    dbm = random_dbm([4, 3], seed=9)
    v = all_binary_states(4)
    bound = variational_bound(dbm, v, exact_log_partition(dbm))
    torch.testing.assert_close(bound.per_example, brute_force_marginal_v(dbm).log(), rtol=0, atol=1e-10)


def test_bound_never_decreases_over_passes():
    """Each block update maximises the bound over that block exactly (no damping)."""
    dbm = random_dbm([4, 3, 3, 2], seed=12)
    v = all_binary_states(4)
    values = []
    for k in range(1, 8):
        q = mean_field(dbm, v, n_iter=k, tol=0.0).marginals
        values.append(-dbm.energy(q) + sum(entropy_bernoulli(q[g]) for g in ("h1", "h2", "h3")))
    values = torch.stack(values).detach()
    assert (values[1:] - values[:-1] >= -1e-12).all()


def test_bound_carries_the_log_z_bracket():
    from inference import LogZEstimate

    dbm = random_dbm([3, 2, 2], seed=1)
    est = LogZEstimate(2.0, 1.5, 2.75, 10.0, 10, "ais")
    b = variational_bound(dbm, torch.ones(3, 3), est)
    assert b.lower == pytest.approx(b.mean - 0.75) and b.upper == pytest.approx(b.mean + 0.5)
    assert b.n == 3 and b.sem == pytest.approx(0.0, abs=1e-12)


def test_bad_arguments_are_refused():
    dbm = DBM([3, 2, 2])
    v = torch.ones(2, 3)
    with pytest.raises(ValueError, match="n_iter"):
        mean_field(dbm, v, n_iter=0)
    with pytest.raises(ValueError, match="damping"):
        mean_field(dbm, v, damping=1.0)
    with pytest.raises(ValueError, match="tol"):
        mean_field(dbm, v, tol=-1.0)
    with pytest.raises(ValueError, match="v must"):
        mean_field(dbm, torch.ones(2, 4))
    with pytest.raises(ValueError, match="not latent groups"):
        mean_field(dbm, v, init={"h7": torch.ones(2, 2)})
    with pytest.raises(ValueError, match=r"init\['h1'\] has 1 rows"):
        mean_field(dbm, v, init={"h1": torch.ones(1, 2)})
    with pytest.raises(TypeError, match="EnergyModel"):
        mean_field("dbm", v)
    with pytest.raises(ValueError, match="data"):
        variational_bound(dbm, torch.full((2, 3), 0.5), 0.0)
    with pytest.raises(TypeError, match="log_z"):
        variational_bound(dbm, v, "zero")


def test_real_valued_visible_units_are_accepted():
    """A Gaussian RBM's hidden group is binary and given v it factorises: one pass is exact."""
    grbm = GaussianRBM(3, 2, seed=0)
    v = torch.tensor([[-1.5, 0.3, 2.0]])
    mf = mean_field(grbm, v, n_iter=3, tol=0.0)
    torch.testing.assert_close(mf.marginals["h"], grbm.conditional("h", {"v": v}).probs)
