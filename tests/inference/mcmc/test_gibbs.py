"""Block Gibbs sampling: the init/step contract, then exact-distribution tests.

Statistical tests (seed policy)
-------------------------------
Each chi-square test below compares the histogram of many *independent* chains with the
exact distribution from brute-force enumeration and fails when its p-value is below
``ALPHA = 1e-4``: under a correct sampler it fails with probability 1e-4 (the seeds are
fixed, so a run is deterministic; no seed was searched for). Before trusting a sampler
histogram, the exact n-sweep distribution of the chain is computed from the transition
matrix and shown to be indistinguishable from the target at the sample size used
(noncentrality < 1e-3), so the test checks the sampler and not burn-in. Each test is
paired with a power check: a wrong reference (or an unmixed chain) must be rejected, with
its asymptotic power computed beforehand to be above 1 - 1e-6.
"""

import copy

import pytest
import torch
from scipy import stats

from inference import gibbs
from inference.mcmc.gibbs import GibbsState
from inference.mcmc.sampling import make_generator
from models.energy import RBM
from tests.oracles import (
    all_binary_states,
    brute_force_joint,
    brute_force_marginal_v,
    chi_square_gof,
    noncentral_power,
    random_rbm,
    state_index,
)

ALPHA = 1e-4
N_CHAINS = 20_000
N_SWEEPS = 50
NV, NH = 4, 3


@pytest.fixture(scope="module")
def tiny():
    """A 4×3 RBM, weights and biases ~N(0, 1), float32 like a trained model."""
    return random_rbm(NV, NH, seed=4, dtype=torch.float32)


@pytest.fixture
def rbm():
    return random_rbm(6, 4, seed=0, dtype=torch.float32)


def _chains(model, n, sweeps, seed, beta=1.0, clamp=None):
    gen = make_generator(seed)
    state = gibbs.init(model, n, gen, clamp=clamp, beta=beta)
    return gibbs.run(model, state, sweeps, gen, clamp=clamp)


def _joint_matrix(model, beta=1.0):
    """p_β(v, h) as a (2**n_v, 2**n_h) float64 matrix."""
    _, log_p = brute_force_joint(model, beta)
    return log_p.exp().reshape(2**model.n_visible, 2**model.n_hidden)


def _exact_v_after(model, sweeps, beta=1.0):
    """Exact law of v after ``init`` (uniform v, h) and ``sweeps`` sweeps (v then h)."""
    J = _joint_matrix(model, beta)
    p_h_given_v = J / J.sum(1, keepdim=True)
    p_v_given_h = (J / J.sum(0, keepdim=True)).t()
    if sweeps == 0:
        return torch.full((J.shape[0],), 1.0 / J.shape[0], dtype=torch.float64)
    q = torch.full((J.shape[1],), 1.0 / J.shape[1], dtype=torch.float64) @ p_v_given_h
    for _ in range(sweeps - 1):
        q = q @ p_h_given_v @ p_v_given_h
    return q


def _noncentrality(n, q, p):
    return float(n * ((q - p) ** 2 / p).sum())


def _counts(x, n_units):
    return torch.bincount(state_index(x), minlength=2**n_units).double()


# -- the contract --------------------------------------------------------------------------
def test_init_shapes_dtypes_and_values(rbm):
    st = gibbs.init(rbm, 11, make_generator(0))
    assert isinstance(st, GibbsState)
    assert set(st.values) == {"v", "h"}
    assert st.values["v"].shape == (11, 6) and st.values["h"].shape == (11, 4)
    for x in st.values.values():
        assert x.dtype == torch.float32
        assert torch.all((x == 0) | (x == 1))
    assert st.beta.shape == (11,) and st.beta.dtype == torch.float32
    assert torch.all(st.beta == 1)
    st64 = gibbs.init(copy.deepcopy(rbm).double(), 3, make_generator(0), beta=0.5)
    assert st64.values["v"].dtype == torch.float64 and st64.beta.dtype == torch.float64
    assert torch.all(st64.beta == 0.5)


def test_init_beta_per_chain_and_broadcast(rbm):
    b = torch.tensor([0.0, 0.25, 1.0])
    st = gibbs.init(rbm, 3, make_generator(0), beta=b)
    torch.testing.assert_close(st.beta, b)
    st = gibbs.init(rbm, 3, make_generator(0), beta=torch.tensor([0.5]))
    torch.testing.assert_close(st.beta, torch.full((3,), 0.5))
    st.beta[0] = 0.1  # the state owns its β: no aliasing with the caller's tensor
    assert b[0] == 0.0


def test_init_clamp_and_values_are_used(rbm):
    v = all_binary_states(6, dtype=torch.float64)[:9]
    st = gibbs.init(rbm, 9, make_generator(0), clamp={"v": v})
    assert torch.equal(st.values["v"], v.float())  # converted to the model's dtype
    assert st.values["v"].dtype == torch.float32
    h = torch.ones(9, 4)
    st = gibbs.init(rbm, 9, make_generator(0), values={"h": h})
    assert torch.equal(st.values["h"], h)
    # v is then drawn from p(v | h), whose blanket is set: a deterministic function of gen
    st2 = gibbs.init(rbm, 9, make_generator(0), values={"h": h})
    assert torch.equal(st.values["v"], st2.values["v"])


@pytest.mark.parametrize("kwargs,exc,pattern", [
    (dict(n_chains=0), ValueError, r"gibbs.init: n_chains must be an int >= 1, got 0"),
    (dict(n_chains=-3), ValueError, r"n_chains must be an int >= 1, got -3"),
    (dict(n_chains=2.0), TypeError, r"n_chains must be an int >= 1, got float 2\.0"),
    (dict(n_chains=True), TypeError, r"n_chains must be an int >= 1, got bool True"),
    (dict(n_chains=4, beta=1.5), ValueError, r"beta must be a number in \[0, 1\].*got 1\.5"),
    (dict(n_chains=4, beta=float("nan")), ValueError, r"beta .*got nan"),
    (dict(n_chains=4, beta=torch.tensor([0.5, 2.0, 0.5, 0.5])), ValueError, r"beta must lie in \[0, 1\]"),
    (dict(n_chains=4, beta=torch.tensor(float("nan"))), ValueError, r"beta must lie in \[0, 1\].*nan"),
    (dict(n_chains=4, beta=torch.full((3,), 0.5)), ValueError,
     r"beta must be a scalar or a tensor of shape \(4,\), got shape \(3,\)"),
    (dict(n_chains=4, beta=torch.full((4, 1), 0.5)), ValueError, r"beta .*got shape \(4, 1\)"),
    (dict(n_chains=4, clamp={"x": torch.zeros(4, 6)}), ValueError, r"clamp: unknown group 'x'.*\['v', 'h'\]"),
    (dict(n_chains=4, clamp={"v": torch.zeros(3, 6)}), ValueError,
     r"clamp\['v'\] must have one row per chain \(4\), got shape \(3, 6\)"),
    (dict(n_chains=4, clamp={"v": torch.zeros(4, 5)}), ValueError, r"clamp\['v'\] must have 6 columns"),
    (dict(n_chains=4, clamp={"v": torch.full((4, 6), 2.0)}), ValueError,
     r"clamp\['v'\] must lie in \[0, 1\].*\[2, 2"),
    (dict(n_chains=4, clamp={"v": torch.zeros(4, 6, dtype=torch.long)}), TypeError,
     r"clamp\['v'\] must have a floating dtype"),
    (dict(n_chains=4, values={"h": torch.full((4, 4), float("nan"))}), ValueError,
     r"values\['h'\] contains NaN"),
])
def test_init_rejects_bad_arguments(rbm, kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        gibbs.init(rbm, generator=make_generator(0), **kwargs)


def test_init_rejects_non_models():
    with pytest.raises(TypeError, match=r"model must be an EnergyModel, got Linear"):
        gibbs.init(torch.nn.Linear(2, 2), 3, make_generator(0))


def test_step_shapes_and_no_mutation(rbm):
    gen = make_generator(1)
    st = gibbs.init(rbm, 16, gen, beta=torch.linspace(0, 1, 16))
    before_values = {k: v.clone() for k, v in st.values.items()}
    before_beta = st.beta.clone()
    before_params = copy.deepcopy(rbm.state_dict())
    values_dict = st.values
    new = gibbs.step(rbm, st, gen)
    assert isinstance(new, GibbsState)
    assert new.values is not st.values
    assert st.values is values_dict and set(values_dict) == {"v", "h"}
    for k in before_values:
        assert torch.equal(st.values[k], before_values[k]), k  # input state untouched
        assert new.values[k].shape == before_values[k].shape
        assert torch.all((new.values[k] == 0) | (new.values[k] == 1))
        assert not new.values[k].requires_grad
    assert torch.equal(st.beta, before_beta) and torch.equal(new.beta, before_beta)
    for k, p in rbm.state_dict().items():
        assert torch.equal(p, before_params[k]), k  # model untouched
    assert all(p.grad is None for p in rbm.parameters())
    assert rbm.training  # mode untouched too


def test_a_seed_reproduces_a_run_exactly(rbm):
    a = _chains(rbm, 64, 7, seed=5, beta=torch.linspace(0, 1, 64))
    b = _chains(rbm, 64, 7, seed=5, beta=torch.linspace(0, 1, 64))
    c = _chains(rbm, 64, 7, seed=6, beta=torch.linspace(0, 1, 64))
    for k in ("v", "h"):
        assert torch.equal(a.values[k], b.values[k])
    assert not all(torch.equal(a.values[k], c.values[k]) for k in ("v", "h"))
    # the global RNG plays no part
    gen = make_generator(5)
    st = gibbs.init(rbm, 64, gen, beta=torch.linspace(0, 1, 64))
    torch.manual_seed(12345)
    d = gibbs.run(rbm, st, 7, gen)
    assert all(torch.equal(a.values[k], d.values[k]) for k in ("v", "h"))


def test_run_equals_repeated_steps(rbm):
    clamp = {"v": all_binary_states(6)[:32].float()}
    gen = make_generator(2)
    st = gibbs.init(rbm, 32, gen, clamp=clamp)
    gen_a, gen_b = make_generator(3), make_generator(3)
    by_run = gibbs.run(rbm, st, 4, gen_a, clamp=clamp)
    by_step = st
    for _ in range(4):
        by_step = gibbs.step(rbm, by_step, gen_b, clamp=clamp)
    for k in ("v", "h"):
        assert torch.equal(by_run.values[k], by_step.values[k])
    assert torch.equal(gibbs.run(rbm, st, 0, gen_a).values["h"], st.values["h"])


@pytest.mark.parametrize("group", ["v", "h"])
def test_clamped_group_stays_fixed(rbm, group):
    n = 50
    width = {"v": 6, "h": 4}[group]
    other = {"v": "h", "h": "v"}[group]
    fixed = torch.rand(n, width, generator=torch.Generator().manual_seed(0)).lt(0.5).float()
    gen = make_generator(0)
    st = gibbs.init(rbm, n, gen, clamp={group: fixed})
    seen = []
    for _ in range(5):
        st = gibbs.step(rbm, st, gen, clamp={group: fixed})
        assert torch.equal(st.values[group], fixed)
        seen.append(st.values[other].clone())
    assert not all(torch.equal(seen[0], s) for s in seen[1:])  # the free group moves


def test_run_checks_the_clamp(rbm):
    st = gibbs.init(rbm, 4, make_generator(0))
    with pytest.raises(ValueError, match=r"clamp\['v'\] must lie in \[0, 1\]"):
        gibbs.run(rbm, st, 1, make_generator(0), clamp={"v": torch.full((4, 6), -1.0)})
    with pytest.raises(ValueError, match=r"clamp\['v'\] must have one row per chain \(4\)"):
        gibbs.run(rbm, st, 1, make_generator(0), clamp={"v": torch.zeros(5, 6)})


# -- exact-distribution tests ---------------------------------------------------------------
def test_gibbs_chains_sample_the_exact_joint_and_marginal(tiny):
    p_v = brute_force_marginal_v(tiny)
    J = _joint_matrix(tiny)
    assert N_CHAINS * p_v.min() > 5  # every visible cell is testable without pooling
    # burn-in is exactly negligible: the chain's own 50-sweep law equals p(v) at this n
    assert _noncentrality(N_CHAINS, _exact_v_after(tiny, N_SWEEPS), p_v) < 1e-3
    st = _chains(tiny, N_CHAINS, N_SWEEPS, seed=0)
    counts_v = _counts(st.values["v"], NV)
    _, _, p_value = chi_square_gof(counts_v, p_v)
    assert p_value > ALPHA, p_value
    # the joint (v, h): 128 cells, the law after K sweeps is q_K(v) p(h|v)
    joint_idx = state_index(st.values["v"]) * 2**NH + state_index(st.values["h"])
    counts_vh = torch.bincount(joint_idx, minlength=2**(NV + NH)).double()
    _, _, p_value = chi_square_gof(counts_vh, J.reshape(-1))
    assert p_value > ALPHA, p_value
    # power: the same histogram is rejected against a slightly wrong model (β = 0.8) ...
    p_wrong = brute_force_marginal_v(tiny, beta=0.8)
    assert noncentral_power(N_CHAINS, p_v, p_wrong, ALPHA) > 1 - 1e-6
    assert chi_square_gof(counts_v, p_wrong)[2] < ALPHA
    # ... and a single, unmixed sweep is rejected against the right one
    q1 = _exact_v_after(tiny, 1)
    assert noncentral_power(N_CHAINS, q1, p_v, ALPHA) > 1 - 1e-6
    st1 = _chains(tiny, N_CHAINS, 1, seed=1)
    assert chi_square_gof(_counts(st1.values["v"], NV), p_v)[2] < ALPHA
    # while its exact one-sweep law is accepted (the harness itself is unbiased)
    assert chi_square_gof(_counts(st1.values["v"], NV), q1)[2] > ALPHA


def test_per_chain_beta_samples_each_tempered_distribution(tiny):
    """Chains at β = 1, 0.5 and 0 interleaved in one batch each follow their own p_β."""
    betas = (1.0, 0.5, 0.0)
    n = 10_000
    beta = torch.tensor(betas).repeat(n)  # chain k has β = betas[k % 3]
    for b in betas:
        assert _noncentrality(n, _exact_v_after(tiny, N_SWEEPS, b), brute_force_marginal_v(tiny, b)) < 1e-3
    st = _chains(tiny, 3 * n, N_SWEEPS, seed=2, beta=beta)
    assert torch.equal(st.beta, beta)
    for k, b in enumerate(betas):
        v = st.values["v"][k::3]
        h = st.values["h"][k::3]
        p_vh = _joint_matrix(tiny, b).reshape(-1)
        idx = state_index(v) * 2**NH + state_index(h)
        _, _, p_value = chi_square_gof(torch.bincount(idx, minlength=2**(NV + NH)), p_vh)
        assert p_value > ALPHA, (b, p_value)
    # β = 0 is uniform: every unit Bernoulli(1/2) within 5 standard errors (√(1/4n))
    x = torch.cat([st.values["v"][2::3], st.values["h"][2::3]], 1).double()
    assert torch.all((x.mean(0) - 0.5).abs() < 5 * (0.25 / n) ** 0.5)
    # power: the β = 0.5 chains are not the β = 1 distribution
    p1, p05 = brute_force_marginal_v(tiny, 1.0), brute_force_marginal_v(tiny, 0.5)
    assert noncentral_power(n, p05, p1, ALPHA) > 1 - 1e-6
    assert chi_square_gof(_counts(st.values["v"][1::3], NV), p1)[2] < ALPHA


@pytest.mark.parametrize("sweeps", [0, 2])
@pytest.mark.parametrize("clamped", ["v", "h"])
def test_clamped_sampling_follows_the_exact_conditional(tiny, clamped, sweeps):
    """With one group clamped to each of its states in turn, the other follows p(·|clamp).

    ``sweeps=0`` checks the draw that ``init`` makes from the conditional.
    """
    free = {"v": "h", "h": "v"}[clamped]
    n_c, n_f = {"v": (NV, NH), "h": (NH, NV)}[clamped]
    reps = N_CHAINS // 2**n_c
    J = _joint_matrix(tiny)
    cond = J / J.sum(1, keepdim=True) if clamped == "v" else (J / J.sum(0, keepdim=True)).t()
    fixed = all_binary_states(n_c, dtype=torch.float32).repeat_interleave(reps, 0)
    st = _chains(tiny, len(fixed), sweeps, seed=3 + sweeps, clamp={clamped: fixed})
    assert torch.equal(st.values[clamped], fixed)
    table = torch.zeros(2**n_c, 2**n_f, dtype=torch.float64)
    table.index_put_((state_index(fixed), state_index(st.values[free])),
                     torch.ones(len(fixed), dtype=torch.float64), accumulate=True)

    def combined_p_value(reference):
        parts = [chi_square_gof(table[i], reference[i]) for i in range(2**n_c)]
        return stats.chi2.sf(sum(s for s, _, _ in parts), sum(d for _, d, _ in parts))

    assert combined_p_value(cond) > ALPHA
    # power: against the conditional at β = 0.7 the same samples are rejected
    J7 = _joint_matrix(tiny, 0.7)
    cond7 = J7 / J7.sum(1, keepdim=True) if clamped == "v" else (J7 / J7.sum(0, keepdim=True)).t()
    assert combined_p_value(cond7) < ALPHA


def test_rbm_is_an_energy_model_for_gibbs():
    """The sampler reads the schedule from the graph: RBM → blocks [['v'], ['h']]."""
    assert RBM(2, 2, seed=0).graph.gibbs_blocks() == [["v"], ["h"]]
