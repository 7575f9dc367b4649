"""The deep Boltzmann machine: graph, exact log Z, centering, argument checks.

The generic energy-model checks (energies, conditionals, free energies with either
parity summed out) run through ``tests/models/test_energy_contract.py``.
"""

import pytest
import torch

import pgm
from inference import exact_log_partition, log_likelihood
from models import DBM
from tests.oracles import brute_force_log_z, brute_force_marginal_v, random_dbm


def test_graph_is_a_chain_with_odd_and_even_blocks():
    dbm = DBM([5, 4, 3, 2])
    assert dbm.graph == pgm.Graph(
        [pgm.VariableGroup("v", 5, "bernoulli", observed=True), pgm.VariableGroup("h1", 4, "bernoulli"),
         pgm.VariableGroup("h2", 3, "bernoulli"), pgm.VariableGroup("h3", 2, "bernoulli")],
        [pgm.Edge("v", "h1"), pgm.Edge("h1", "h2"), pgm.Edge("h2", "h3")])
    assert dbm.graph.gibbs_blocks() == [["v", "h2"], ["h1", "h3"]]
    assert dbm.marginal_sets() == [("v", "h2"), ("h1", "h3"), ("v", "h1", "h2", "h3")]
    assert [tuple(W.shape) for W in dbm.weights] == [(5, 4), (4, 3), (3, 2)]


@pytest.mark.parametrize("sizes,centered", [([4, 3, 2], False), ([3, 4, 2, 3], False), ([3, 2, 4], True)])
def test_exact_log_partition_equals_brute_force(sizes, centered):
    dbm = random_dbm(sizes, seed=sum(sizes), centered=centered)
    assert exact_log_partition(dbm).log_z == pytest.approx(float(brute_force_log_z(dbm)), abs=1e-10)


def test_log_likelihood_equals_brute_force_marginal():
    """log p(v) from the enumeration hook (h2 summed by enumeration, h1 analytically)."""
    dbm = random_dbm([3, 3, 2], seed=4)
    p_v = brute_force_marginal_v(dbm)
    v = torch.tensor([[0., 0., 0.], [1., 0., 1.], [1., 1., 1.]])
    ll = log_likelihood(dbm, v, exact_log_partition(dbm))
    idx = [0, 5, 7]
    assert ll.mean == pytest.approx(float(p_v[idx].log().mean()), abs=1e-10)


def _all_states(sizes):
    from tests.oracles import all_binary_states

    n = sum(sizes)
    bits = all_binary_states(n)
    out, lo = {}, 0
    for name, s in zip(["v"] + [f"h{l}" for l in range(1, len(sizes))], sizes):
        out[name] = bits[:, lo:lo + s]
        lo += s
    return out


@pytest.mark.parametrize("rate", [1.0, 0.3])
def test_moving_offsets_changes_energies_by_a_constant(rate):
    dbm = random_dbm([3, 4, 2, 3], seed=11, centered=True)
    states = _all_states(dbm.sizes)
    e0 = dbm.energy(states).detach()
    gen = torch.Generator().manual_seed(2)
    targets = [torch.rand(s, generator=gen, dtype=torch.float64) for s in dbm.sizes]
    targets[2] = None  # one layer kept
    old = [mu.clone() for mu in dbm.offsets()]
    dbm.set_offsets(targets, rate=rate)
    e1 = dbm.energy(states).detach()
    diff = e1 - e0
    assert diff.std() < 1e-10 and diff.abs().max() > 1e-3  # a constant, and not zero
    for mu, mu0, t in zip(dbm.offsets(), old, targets):
        torch.testing.assert_close(mu, mu0 if t is None else mu0 + rate * (t - mu0))


def test_centered_and_plain_models_represent_the_same_family():
    """A centred DBM with offsets moved to 0 is a plain DBM with the same weights and
    re-parameterised biases: the same energies."""
    centred = random_dbm([3, 2, 3], seed=5, centered=True)
    states = _all_states(centred.sizes)
    e = centred.energy(states).detach()
    centred.set_offsets([torch.zeros(s, dtype=torch.float64) for s in centred.sizes])
    plain = DBM(centred.sizes).double()
    plain.load_state_dict({k: v for k, v in centred.state_dict().items() if not k.startswith("offset")})
    diff = plain.energy(states).detach() - e
    assert diff.std() < 1e-10


def test_from_data_sets_visible_bias_and_offset():
    data = torch.tensor([[1., 0., 1.], [1., 0., 0.], [1., 1., 0.], [0., 0., 1.]])
    dbm = DBM.from_data(data, [2, 2], centered=True, seed=0)
    p = data.mean(0).clamp(1e-3, 1 - 1e-3)
    torch.testing.assert_close(dbm.biases[0].detach(), torch.logit(p))
    torch.testing.assert_close(dbm.offset0, p)
    torch.testing.assert_close(dbm.offset1, torch.full((2,), 0.5))


@pytest.mark.parametrize("sizes,match", [([4], "at least two layers"), ([4, 0], r"sizes\[1\]"),
                                         ("4,3", "sequence of layer sizes"), ([4, 2.5], r"sizes\[1\]")])
def test_bad_sizes_are_refused(sizes, match):
    with pytest.raises((TypeError, ValueError), match=match):
        DBM(sizes)


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="centered must be a bool"):
        DBM([3, 2], centered=1)
    with pytest.raises(ValueError, match="weight_std"):
        DBM([3, 2], weight_std=-1.0)
    dbm = DBM([3, 2, 2])
    with pytest.raises(ValueError, match="centered=False"):
        dbm.set_offsets([None, None, None])
    with pytest.raises(ValueError, match="group must be one of"):
        dbm.layer_input("h3", {})
    with pytest.raises(ValueError, match="needs group 'h2'"):
        dbm.conditional("h1", {"v": torch.zeros(1, 3)})
    with pytest.raises(ValueError, match=r"state\['v'\]"):
        dbm.energy({"v": torch.zeros(1, 4), "h1": torch.zeros(1, 2), "h2": torch.zeros(1, 2)})
    centred = DBM([3, 2], centered=True)
    with pytest.raises(ValueError, match="rate"):
        centred.set_offsets([None, None], rate=0)
    with pytest.raises(ValueError, match=r"offsets\[1\]"):
        centred.set_offsets([None, torch.tensor([2.0, 0.0])])
