"""Hopfield: the three storage rules, energy descent, fixed points, and recall at T > 0
as Gibbs sampling of exp(−E/T).

The sampling test follows the seed policy of ``tests/inference/mcmc/test_gibbs.py``: a
chi-square test of ``N_PROBES`` independent runs against enumeration, failing with
probability ``ALPHA = 1e-4`` under a correct sampler, after the exact sweep kernel shows
the burn-in bias negligible (noncentrality < 1e-3) and a power check shows a wrong
temperature would be rejected (asymptotic power > 1 − 1e-6).
"""

import itertools

import pytest
import torch

from inference import gibbs
from inference.mcmc.sampling import make_generator
from models import Hopfield
from tests.oracles import all_binary_states, chi_square_gof, noncentral_power, state_index

ALPHA = 1e-4
N_PROBES = 20_000


def random_patterns(p, n, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(p, n, generator=gen).lt(0.5).float() * 2 - 1


def flip(x, fraction, seed):
    gen = torch.Generator().manual_seed(seed)
    k = int(round(fraction * x.shape[1]))
    idx = torch.rand(x.shape, generator=gen).argsort(1)[:, :k]
    out = x.clone()
    out.scatter_(1, idx, -out.gather(1, idx))
    return out


@pytest.mark.parametrize("rule", ["hebbian", "storkey", "pseudo_inverse"])
def test_couplings_are_symmetric_with_zero_diagonal(rule):
    net = Hopfield(20, rule).store(random_patterns(4, 20, 0)).store(random_patterns(3, 20, 1))
    torch.testing.assert_close(net.W, net.W.t())
    assert (net.W.diagonal() == 0).all()
    assert net.n_patterns == 7


def test_hebbian_and_pseudo_inverse_weights_match_their_formulas():
    xi = random_patterns(6, 30, 2).double()
    heb = Hopfield(30).double().store(xi[:2]).store(xi[2:])
    torch.testing.assert_close(heb.W, (xi.t() @ xi / 30).fill_diagonal_(0))
    pinv = Hopfield(30, "pseudo_inverse").double().store(xi[:4]).store(xi[4:])
    torch.testing.assert_close(pinv.W, (xi.t() @ torch.linalg.pinv(xi.t())).fill_diagonal_(0), atol=1e-9, rtol=0)


def test_storkey_matches_its_definition_elementwise():
    n, xi = 7, random_patterns(3, 7, 3).double()
    W = torch.zeros(n, n, dtype=torch.float64)
    for p in xi:
        new = W.clone()
        for i, j in itertools.product(range(n), range(n)):
            if i == j:
                continue
            h_ij = sum(W[i, k] * p[k] for k in range(n) if k not in (i, j))
            h_ji = sum(W[j, k] * p[k] for k in range(n) if k not in (i, j))
            new[i, j] = W[i, j] + (p[i] * p[j] - p[i] * h_ji - h_ij * p[j]) / n
        W = new
    torch.testing.assert_close(Hopfield(n, "storkey").double().store(xi).W, W)


@pytest.mark.parametrize("ordered", [True, False])
def test_asynchronous_updates_never_raise_the_energy(ordered):
    net = Hopfield(40, "hebbian").store(random_patterns(30, 40, 4))  # far over capacity: frustrated
    with torch.no_grad():
        net.theta.copy_(0.3 * torch.randn(40, generator=torch.Generator().manual_seed(5)))
    probes = random_patterns(64, 40, 6)
    energies = [net.energy({"v": probes})]
    for t in range(1, 8):
        gen = None if ordered else make_generator(7)
        energies.append(net.energy({"v": net.recall(probes, gen, max_sweeps=t).states}))
    for before, after in zip(energies, energies[1:]):
        assert (after <= before + 1e-5).all()
    assert (energies[-1] < energies[0]).all()


@pytest.mark.parametrize("rule, p", [("hebbian", 5), ("storkey", 10), ("pseudo_inverse", 30)])
def test_stored_patterns_are_fixed_points_below_capacity(rule, p):
    xi = random_patterns(p, 100, 8)
    net = Hopfield(100, rule).store(xi)
    out = net.recall(xi)
    assert torch.equal(out.states, xi)
    assert out.converged.all() and (out.sweeps == 1).all()
    assert (net.local_fields(xi) * xi > 0).all()


def test_corrupted_probes_are_recalled():
    xi = random_patterns(5, 100, 9)
    out = Hopfield(100).store(xi).recall(flip(xi, 0.1, 10), make_generator(11))
    assert torch.equal(out.states, xi) and out.converged.all()


def test_synchronous_updates_end_in_a_fixed_point_or_a_two_cycle():
    net = Hopfield(30).store(random_patterns(12, 30, 12))
    probes = random_patterns(50, 30, 13)
    out = net.recall(probes, mode="sync", max_sweeps=200)
    assert out.converged.all()
    h = net.local_fields(out.states)
    nxt = torch.where(h > 0, 1.0, torch.where(h < 0, -1.0, out.states))
    nxt2 = torch.where(net.local_fields(nxt) > 0, 1.0, torch.where(net.local_fields(nxt) < 0, -1.0, nxt))
    assert torch.equal(nxt2, out.states)


def _exact(net, T):
    s = all_binary_states(net.n) * 2 - 1
    return torch.softmax(-net.double().energy({"v": s}).detach() / T, 0)


def _random_scan_kernel(net, T):
    n = net.n
    s = all_binary_states(n) * 2 - 1
    kernels = []
    for i in range(n):
        p_up = torch.sigmoid(net.site_logits("v", i, {"v": s}, 1.0 / T))
        up, down = s.clone(), s.clone()
        up[:, i], down[:, i] = 1, -1
        K = torch.zeros(2**n, 2**n, dtype=torch.float64)
        rows = torch.arange(2**n)
        K[rows, state_index((up + 1) / 2)] += p_up
        K[rows, state_index((down + 1) / 2)] += 1 - p_up
        kernels.append(K)
    T_ = torch.zeros(2**n, 2**n, dtype=torch.float64)
    for order in itertools.permutations(range(n)):
        P = torch.eye(2**n, dtype=torch.float64)
        for i in order:
            P = P @ kernels[i]
        T_ += P
    return T_ / len(list(itertools.permutations(range(n))))


def test_recall_at_positive_temperature_samples_the_boltzmann_distribution(one_thread):
    T, sweeps = 1.5, 20
    net = Hopfield(4).double().store(random_patterns(2, 4, 14).double())
    with torch.no_grad():
        net.theta.copy_(torch.tensor([0.3, -0.2, 0.1, 0.0]))
    p = _exact(net, T)
    K = _random_scan_kernel(net, T)
    torch.testing.assert_close(p @ K, p, rtol=0, atol=1e-12)
    pn = torch.full_like(p, 1 / 16) @ torch.linalg.matrix_power(K, sweeps)
    assert N_PROBES * float(((pn - p) ** 2 / p).sum()) < 1e-3
    assert noncentral_power(N_PROBES, _exact(net, 2.0).numpy(), p.numpy(), ALPHA) > 1 - 1e-6
    probes = random_patterns(N_PROBES, 4, 15).double()
    out = net.recall(probes, make_generator(16), max_sweeps=sweeps, temperature=T)
    assert not out.converged.any() and (out.sweeps == sweeps).all()
    counts = torch.bincount(state_index((out.states + 1) / 2), minlength=16).numpy()
    assert chi_square_gof(counts, p.numpy())[2] > ALPHA


def test_gibbs_sampler_starts_spins_at_plus_minus_one_and_keeps_them_there():
    net = Hopfield(6).store(random_patterns(2, 6, 17))
    gen = make_generator(18)
    state = gibbs.init(net, 32, gen)
    assert set(state.values["v"].unique().tolist()) <= {-1.0, 1.0}
    state = gibbs.run(net, state, 3, gen, scan="random")
    assert set(state.values["v"].unique().tolist()) <= {-1.0, 1.0}


@pytest.mark.parametrize("kwargs, match", [
    (dict(temperature=1.0), "generator"),
    (dict(temperature=1.0, mode="sync", generator=make_generator(0)), "async"),
    (dict(mode="parallel"), "mode"),
    (dict(temperature=-1.0), "temperature"),
    (dict(max_sweeps=0), "max_sweeps"),
])
def test_recall_refuses_bad_arguments(kwargs, match):
    net = Hopfield(4).store(random_patterns(1, 4, 0))
    with pytest.raises(ValueError, match=match):
        net.recall(random_patterns(2, 4, 1), **kwargs)


def test_store_refuses_non_spin_patterns():
    with pytest.raises(ValueError, match="-1 and \\+1"):
        Hopfield(3).store(torch.tensor([[0.0, 1.0, 1.0]]))
    with pytest.raises(ValueError, match="rule"):
        Hopfield(3, "oja")


def test_recall_frames_run_from_the_probe_to_the_recalled_pattern():
    xi = random_patterns(3, 64, 19)
    net = Hopfield(64, "storkey").store(xi)
    probes = flip(xi, 0.2, 20)
    frames = net.recall_frames(probes, make_generator(21))
    assert torch.equal(frames[0], probes)
    out = net.recall(probes, make_generator(21))
    assert frames.shape[0] == int(out.sweeps.max()) + 1
    assert torch.equal(frames[-1], out.states) and torch.equal(frames[-1], xi)


def test_a_contrastive_rule_trains_the_couplings(one_thread):
    """fit(net, ±1 data, method="pcd") (the family's energy methods; the storage rules set
    W without a gradient) trains W and θ: W stays symmetric with a zero diagonal (its
    gradient ⟨ssᵀ⟩_data − ⟨ssᵀ⟩_model is, for ±1 spins), moves towards the data's
    correlations from W = 0, and the parameters go back to requires_grad=False."""
    from inference import fit

    data = flip(random_patterns(2, 9, 4).repeat(40, 1), 0.1, 5)
    net = Hopfield(9)
    fit(net, data, method="pcd", epochs=3, lr=0.01, batch_size=20, progress=False, monitor=0)
    torch.testing.assert_close(net.W, net.W.t())
    assert (net.W.diagonal() == 0).all() and net.W.abs().max() > 0
    assert not any(p.requires_grad for p in net.parameters())
    corr = (data.t() @ data / data.shape[0]).fill_diagonal_(0)
    off = ~torch.eye(9, dtype=torch.bool)
    assert torch.corrcoef(torch.stack([net.W[off], corr[off]]))[0, 1] > 0.9
    with pytest.raises(ValueError, match="±1 spins"):
        fit(Hopfield(9), (data + 1) / 2, method="pcd", epochs=1, progress=False)
