"""Variational stochastic maximum likelihood for deep Boltzmann machines."""

import pytest
import torch

from inference import MeanFieldPhase, PCD, exact_log_partition, fit, log_likelihood, make_generator, variational_bound
from inference.mcmc.gibbs import GibbsState
from models import DBM, RBM
from tests.oracles import all_binary_states, brute_force_joint, random_dbm


def _exact_negative_bound_gradient(dbm, v, q):
    """−∇θ (mean bound) at fixed q, with log Z by brute force (differentiable)."""
    sizes = dbm.sizes
    bits = all_binary_states(sum(sizes))
    states, lo = {}, 0
    for name, s in zip(dbm.graph.names, sizes):
        states[name] = bits[:, lo:lo + s]
        lo += s
    for p in dbm.parameters():
        p.grad = None
    log_z = torch.logsumexp(-dbm.energy(states), 0)
    q = {k: x.detach() for k, x in q.items()}
    (dbm.energy(q).mean() + log_z).backward()  # −bound up to H(q), which does not depend on θ
    return [p.grad.clone() for p in dbm.parameters()]


def test_sml_gradient_equals_the_exact_gradient_in_expectation(one_thread):
    """Chains started at exact model samples: one sweep keeps them exact, so the negative
    phase is an average of independent draws. Each entry must lie within 5 standard
    errors of −∇ bound (failure rate below 1e-5 for these 15 entries, by a Gaussian tail)."""
    dbm = random_dbm([3, 2, 2], seed=21, scale=0.7)
    gen = make_generator(3)
    v = torch.tensor([[1., 0., 1.], [0., 0., 1.], [1., 1., 1.], [0., 1., 0.]], dtype=torch.float64)
    phase = MeanFieldPhase(n_iter=500, tol=1e-13, centering=0.0)
    q = phase(dbm, v)
    expected = _exact_negative_bound_gradient(dbm, v, q)

    n = 40000
    states, log_p = brute_force_joint(dbm)
    idx = torch.multinomial(log_p.exp(), n, replacement=True, generator=torch.Generator().manual_seed(5))
    est = PCD(1, n_chains=n, generator=gen, positive=phase)
    est.chains = GibbsState({k: x[idx].clone() for k, x in states.items()}, torch.ones(n, dtype=torch.float64))
    est.grad(dbm, v)
    x = est.chains.values
    names = dbm.graph.names
    # per-chain statistics whose mean is the negative phase: ∂E/∂W_l = −x_{l−1} x_lᵀ, ∂E/∂b_l = −x_l
    se = {}
    for l in range(1, len(names)):
        se[f"weights.{l - 1}"] = (x[names[l - 1]][:, :, None] * x[names[l]][:, None, :]).std(0) / n**0.5
    for l, name in enumerate(names):
        se[f"biases.{l}"] = x[name].std(0) / n**0.5
    for (name, p), want in zip(dbm.named_parameters(), expected):
        z = (p.grad - want).abs() / se[name].clamp_min(1e-12)
        assert (z < 5).all(), (name, z)


def _teacher_data(n=300, seed=0):
    """Two complementary prototypes of 6 bits, each bit flipped with probability 0.05:
    entropy log 2 + 6 H(0.05) ≈ 1.89 nats against 6 log 2 ≈ 4.16 for independent bits."""
    gen = torch.Generator().manual_seed(seed)
    proto = torch.tensor([[1., 1., 1., 0., 0., 0.], [0., 0., 0., 1., 1., 1.]])
    x = proto[torch.randint(0, 2, (n,), generator=gen)]
    flip = torch.rand(x.shape, generator=gen) < 0.05
    return torch.where(flip, 1 - x, x)


@pytest.mark.parametrize("centered", [False, True])
def test_sml_raises_the_exact_log_likelihood(one_thread, centered):
    data = _teacher_data()
    dbm = DBM.from_data(data, [3, 2], centered=centered, weight_std=0.1, seed=0)
    before = log_likelihood(dbm, data, exact_log_partition(dbm)).mean
    offset1 = dbm.offset1.clone() if centered else None
    fit(dbm, data, method="sml", epochs=15, batch_size=20, lr=0.05, monitor=0, progress=False,
        positive=MeanFieldPhase(n_iter=10, centering=0.05))
    log_z = exact_log_partition(dbm)
    after = log_likelihood(dbm, data, log_z).mean
    bound = variational_bound(dbm, data, log_z).mean
    # the independent-bit start is about 2 nats from the data's entropy
    assert after > before + 1.0, (before, after)
    assert bound <= after + 1e-9
    if centered:
        assert (dbm.offset1 - offset1).abs().max() > 1e-2  # offsets tracked the layer means


def test_fit_sml_is_the_dbm_default_and_checks_its_positive_phase():
    data = _teacher_data(40)
    dbm = DBM.from_data(data, [3, 2], seed=0)
    hist = fit(dbm, data, epochs=1, monitor=0, progress=False)
    assert len(hist) == 1 and dbm.default_method == "sml"
    with pytest.raises(TypeError, match="positive must be a callable"):
        fit(dbm, data, method="cd", positive=MeanFieldPhase(), epochs=1, progress=False)
    with pytest.raises(TypeError, match="positive must be a callable"):
        fit(dbm, data, method="pcd", positive=3, epochs=1, progress=False)
    with pytest.raises(ValueError, match="centering"):
        MeanFieldPhase(centering=2.0)
    with pytest.raises(ValueError, match="n_iter"):
        MeanFieldPhase(n_iter=0)


def test_an_rbm_with_a_positive_phase_runs_the_generic_path():
    """The RBM's fast path must not take over a rule with a positive phase of its own."""
    from inference.backends import fast_path

    rbm = RBM(4, 3, seed=0)
    est = PCD(1, positive=MeanFieldPhase())
    opt = torch.optim.SGD(rbm.parameters(), lr=0.1)
    assert fast_path(rbm, est.backend_request(), opt) is None
