"""Single-site Gibbs for self-coupled groups (Boltzmann machine), sequential and random scan.

Seed policy as in ``test_gibbs.py``: each chi-square test compares the histogram of
``N_CHAINS`` independent chains with the exact distribution and fails when its p-value is
below ``ALPHA = 1e-4`` (probability 1e-4 under a correct sampler; seeds fixed, not
searched). The exact transition matrix of one sweep is built from the model's site
conditionals first: the target is shown to be its stationary distribution exactly, and the
n-sweep distribution from the uniform start to be indistinguishable from it at the sample
size used (noncentrality < 1e-3), so the test checks the sampler and not burn-in. A power
check shows that a wrong temperature would be rejected (asymptotic power > 1 − 1e-6).
"""

import itertools

import pytest
import torch

from inference import gibbs
from inference.mcmc.sampling import make_generator
from inference.mcmc.single_site import self_coupled
from tests.oracles import all_binary_states, brute_force_conditional, brute_force_joint, chi_square_gof, \
    noncentral_power, random_bm, state_index

ALPHA = 1e-4
N_CHAINS = 20_000
N_SWEEPS = 30
NV, NH = 3, 2


@pytest.fixture
def bm():
    return random_bm(NV, NH, seed=11, dtype=torch.float32)


def _site_kernel(model, unit, beta):
    """The exact transition matrix (2ⁿ, 2ⁿ) of redrawing one unit (global index)."""
    n = NV + NH
    x = all_binary_states(n)
    values = {"v": x[:, :NV], "h": x[:, NV:]}
    group, i = ("v", unit) if unit < NV else ("h", unit - NV)
    m64 = model.double()
    with torch.no_grad():
        p1 = torch.sigmoid(m64.site_logits(group, i, values, torch.full((2**n,), beta, dtype=torch.float64)))
    model.float()
    on, off = x.clone(), x.clone()
    on[:, unit], off[:, unit] = 1, 0
    K = torch.zeros(2**n, 2**n, dtype=torch.float64)
    rows = torch.arange(2**n)
    K[rows, state_index(on)] += p1
    K[rows, state_index(off)] += 1 - p1
    return K


def _sweep_kernel(model, scan, beta=1.0):
    n = NV + NH
    kernels = [_site_kernel(model, u, beta) for u in range(n)]
    orders = [range(n)] if scan == "sequential" else list(itertools.permutations(range(n)))
    T = torch.zeros(2**n, 2**n, dtype=torch.float64)
    for order in orders:
        P = torch.eye(2**n, dtype=torch.float64)
        for u in order:
            P = P @ kernels[u]
        T += P / len(orders)
    return T


def test_the_graph_marks_both_groups_for_single_site_updates(bm):
    assert self_coupled(bm.graph) == {"v", "h"}


@pytest.mark.parametrize("scan", ["sequential", "random"])
def test_target_is_the_exact_stationary_distribution_of_a_sweep(bm, scan):
    _, log_p = brute_force_joint(bm)
    p = log_p.exp()
    T = _sweep_kernel(bm, scan)
    torch.testing.assert_close(p @ T, p, rtol=0, atol=1e-12)
    pn = torch.full_like(p, 1 / len(p)) @ torch.linalg.matrix_power(T, N_SWEEPS)
    assert N_CHAINS * float(((pn - p) ** 2 / p).sum()) < 1e-3


@pytest.mark.parametrize("scan", ["sequential", "random"])
def test_chains_sample_the_exact_joint(bm, scan, one_thread):
    _, log_p = brute_force_joint(bm)
    p = log_p.exp().numpy()
    _, log_p_hot = brute_force_joint(bm, beta=0.8)
    assert noncentral_power(N_CHAINS, log_p_hot.exp().numpy(), p, ALPHA) > 1 - 1e-6
    gen = make_generator(5)
    state = gibbs.run(bm, gibbs.init(bm, N_CHAINS, gen), N_SWEEPS, gen, scan=scan)
    x = torch.cat([state.values["v"], state.values["h"]], 1)
    assert set(x.unique().tolist()) <= {0.0, 1.0}
    counts = torch.bincount(state_index(x), minlength=2 ** (NV + NH)).numpy()
    assert chi_square_gof(counts, p)[2] > ALPHA


def test_clamped_visibles_sample_the_exact_hidden_conditional(bm, one_thread):
    """Positive phase: v clamped, h sampled unit by unit, against p(h | v)."""
    v = torch.tensor([1.0, 0.0, 1.0])
    q = brute_force_conditional(bm, "h", {"v": v}).numpy()
    gen = make_generator(6)
    clamp = {"v": v.expand(N_CHAINS, -1).clone()}
    state = gibbs.run(bm, gibbs.init(bm, N_CHAINS, gen, clamp=clamp), 10, gen, clamp=clamp)
    assert torch.equal(state.values["v"], clamp["v"])
    counts = torch.bincount(state_index(state.values["h"]), minlength=2**NH).numpy()
    assert chi_square_gof(counts, q)[2] > ALPHA


def test_random_scan_is_reproducible_and_needs_the_generator(bm):
    runs = []
    for _ in range(2):
        gen = make_generator(3)
        runs.append(gibbs.run(bm, gibbs.init(bm, 8, gen), 3, gen, scan="random").values["v"])
    assert torch.equal(*runs)
    with pytest.raises(ValueError, match="scan"):
        gibbs.step(bm, gibbs.init(bm, 2, make_generator(0)), make_generator(0), scan="backwards")


def test_step_does_not_modify_its_input(bm):
    gen = make_generator(1)
    state = gibbs.init(bm, 16, gen)
    before = {g: x.clone() for g, x in state.values.items()}
    gibbs.step(bm, state, gen)
    for g in before:
        assert torch.equal(state.values[g], before[g])
