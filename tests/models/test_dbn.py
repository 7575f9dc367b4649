"""The deep belief net: its program and graph, densities against enumeration, sampling."""

import itertools
import math

import numpy as np
import pytest
import torch
from pyro import poutine

import pgm
from inference import EnergyDistribution, dbn_log_likelihood, load_model, make_generator, save_model, set_dbn_prior
from models import DBN, RBM
from tests.oracles import all_binary_states, chi_square_gof, random_rbm, state_index

ALPHA = 1e-3  # failure rate of each statistical test below


def _dbn(sizes=(4, 3, 2), seed=0):
    """A small DBN with N(0, 1.5²) lower weights and a random top RBM (biases included)."""
    dbn = DBN(list(sizes), weight_std=1.5, seed=seed)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for down in dbn.generative:
            down.bias.copy_(torch.randn(down.bias.shape, generator=gen))
        dbn.top.load_state_dict(random_rbm(sizes[-2], sizes[-1], seed=seed, dtype=torch.float32).state_dict())
    return dbn


def _exact_log_p(dbn, x):
    """log p(x) = log Σ_h p(h_{L-1}) Π p(h_{l-1} | h_l) by a loop over every state of the
    program's latent layers, the top marginal from the enumerated joint of the top RBM."""
    top = dbn.top.double()
    v_top = all_binary_states(top.n_visible)
    joint = torch.stack([-top.energy({"v": v_top, "h": h.expand(len(v_top), -1)})
                         for h in all_binary_states(top.n_hidden)], 1)
    log_prior = (torch.logsumexp(joint, 1) - torch.logsumexp(joint.flatten(), 0)).detach().numpy()
    dbn.top.float()
    params = [(d.weight.detach().double().numpy(), d.bias.detach().double().numpy()) for d in dbn.generative]
    sizes, out = dbn.sizes, []
    for row in x.double().numpy():
        total = -math.inf
        for bits in itertools.product([0.0, 1.0], repeat=sum(sizes[1:-1])):
            layers = [row, *np.split(np.array(bits), np.cumsum(sizes[1:-2]))]  # v, h1, ..., h_{L-1}
            lp = log_prior[int("".join(str(int(b)) for b in layers[-1]), 2)]
            for l in range(1, len(layers)):
                w, b = params[l - 1]
                logits = w @ layers[l] + b
                lp += float(np.sum(layers[l - 1] * logits - np.logaddexp(0.0, logits)))
            total = np.logaddexp(total, lp)
        out.append(total)
    return torch.tensor(out, dtype=torch.float64)


def test_graph_joins_the_traced_directed_layers_and_the_top_rbm():
    dbn = DBN([6, 5, 4, 3], seed=0)
    want = pgm.Graph(
        [pgm.VariableGroup("v", 6, "bernoulli", observed=True), pgm.VariableGroup("h1", 5),
         pgm.VariableGroup("h2", 4), pgm.VariableGroup("h3", 3)],
        [pgm.Edge("h1", "v", directed=True), pgm.Edge("h2", "h1", directed=True), pgm.Edge("h2", "h3")],
        [pgm.Plate("data", ("v", "h1", "h2", "h3"), 1, -1)])
    assert dbn.graph == want
    assert dbn.graph.gibbs_blocks() == [["h2"], ["h3"]]
    fig = pgm.draw(dbn.graph)
    gids = {a.get_gid() for a in fig.axes[0].patches}
    assert {"edge:h1->v", "edge:h2->h1", "edge:h2--h3"} <= gids


def test_program_sites_and_the_prior_it_needs():
    dbn = _dbn((4, 3, 2))
    x = torch.ones(5, 4)
    with pytest.raises(ValueError, match="dbn.prior"):
        dbn.model(x)
    set_dbn_prior(dbn)
    guide = poutine.trace(dbn.guide).get_trace(x)
    model = poutine.trace(poutine.replay(dbn.model, trace=guide)).get_trace(x)
    assert [n for n, s in model.nodes.items() if s["type"] == "sample"] == ["data", "h1", "v"]
    assert isinstance(model.nodes["h1"]["fn"], EnergyDistribution) and model.nodes["v"]["is_observed"]
    h1 = guide.nodes["h1"]["value"]
    want = dbn.prior.log_prob(h1) + torch.distributions.Bernoulli(
        logits=dbn.generative[0](h1)).log_prob(x).sum(-1)
    model.compute_log_prob()
    torch.testing.assert_close(model.nodes["h1"]["log_prob"] + model.nodes["v"]["log_prob"], want)
    dbn.prior = EnergyDistribution(RBM(3, 2))
    with pytest.raises(ValueError, match="dbn.top"):
        dbn.model(x)


@pytest.mark.parametrize("sizes", [(4, 3, 2), (4, 2, 2, 2)])
def test_importance_estimate_and_bound_against_enumeration(sizes):
    dbn = _dbn(sizes)
    x = all_binary_states(4, torch.float32)[::3]
    exact = _exact_log_p(dbn, x)
    est = dbn_log_likelihood(dbn, x, "exact", n_samples=4000, seed=0)
    per = est.importance.per_example
    # the estimate's bias (≈ -var/2K) is far below its Monte Carlo error at K = 4000
    assert ((per - exact).abs() <= 5 * est.importance.per_example_se + 1e-6).all()
    assert (est.importance.per_example_elbo <= exact + 1e-6).all()
    assert est.lower == est.mean == est.upper and est.elbo <= est.mean


def test_the_bound_carries_the_ais_bracket():
    from inference import ais_log_partition

    dbn = _dbn()
    lz = ais_log_partition(dbn.top, n_chains=20, betas=torch.linspace(0, 1, 20, dtype=torch.float64),
                           base="uniform", progress=False)
    est = dbn_log_likelihood(dbn, torch.ones(3, 4), lz, n_samples=50)
    assert est.log_z is lz
    assert est.elbo_lower == pytest.approx(est.elbo - (lz.upper - lz.log_z))
    assert est.upper == pytest.approx(est.mean + (lz.log_z - lz.lower))


def test_samples_follow_the_exact_marginal():
    dbn = _dbn()
    set_dbn_prior(dbn, None, n_gibbs=30)
    x = dbn.sample(6000, make_generator(0))
    probs = _exact_log_p(dbn, all_binary_states(4, torch.float32)).exp()
    assert float(probs.sum()) == pytest.approx(1.0, abs=1e-9)
    counts = torch.bincount(state_index(x), minlength=16)
    _, _, p = chi_square_gof(counts.numpy(), probs.numpy())
    assert p > ALPHA
    layers = dbn.sample(3, make_generator(0), latents=True)
    assert {k: tuple(v.shape) for k, v in layers.items()} == {"h1": (3, 3), "v": (3, 4)}


def test_layers_round_trip_and_recognition_starts_tied():
    dbn = DBN([5, 4, 3, 2], seed=1)
    for down, up in zip(dbn.generative, dbn.recognition):
        assert torch.equal(up.weight, down.weight.t())
    rbm = random_rbm(4, 3, seed=2, dtype=torch.float32)
    dbn.set_layer(2, rbm)
    back = dbn.layer_rbm(2)
    for name in ("W", "b", "c"):
        assert torch.equal(getattr(back, name), getattr(rbm, name))
    assert torch.equal(dbn.recognition[1].weight, rbm.W.t())
    assert dbn.layer_rbm(3) is dbn.top
    with pytest.raises(ValueError, match="set_layer"):
        dbn.set_layer(3, rbm)


def test_save_and_load(tmp_path):
    dbn = _dbn((4, 3, 2))
    save_model(tmp_path / "dbn.pt", dbn)
    back = load_model(tmp_path / "dbn.pt")
    assert isinstance(back, DBN) and back.config() == dbn.config() and back.prior is None
    for (k, a), b in zip(dbn.state_dict().items(), back.state_dict().values()):
        assert torch.equal(a, b), k


@pytest.mark.parametrize("sizes, error, match", [
    ([4, 3], ValueError, "three layers"),
    ("4,3,2", TypeError, "sizes"),
    ([4, 0, 2], ValueError, "sizes"),
])
def test_bad_sizes(sizes, error, match):
    with pytest.raises(error, match=match):
        DBN(sizes)
