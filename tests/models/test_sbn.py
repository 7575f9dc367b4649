"""The sigmoid belief net: its programs, densities against enumeration, sampling, checks."""

import itertools
import math

import numpy as np
import pytest
import torch

from models import HelmholtzMachine, SigmoidBeliefNet
from models.directed import MAX_EXACT_LATENT
from inference.evaluation.weights import trace_pair, site_log_prob
from tests.oracles import all_binary_states, chi_square_gof

ALPHA = 1e-3  # failure rate of each statistical test below


def _net(sizes=(4, 3, 2), seed=0):
    return SigmoidBeliefNet(list(sizes), weight_std=1.5, seed=seed)


def _brute_log_p(net, x):
    """log p(x) by an independent loop over latent states, in float64 numpy."""
    params = {k: v.detach().double().numpy() for k, v in net.state_dict().items()}
    sizes = net.sizes
    L = len(sizes) - 1

    def bern(logits, value):
        return float(np.sum(value * logits - np.logaddexp(0.0, logits)))

    total = -math.inf
    for bits in itertools.product([0.0, 1.0], repeat=sum(sizes[1:])):
        bits = np.array(bits)
        layers = np.split(bits, np.cumsum(sizes[1:-1]))  # h1 .. hL
        lp = bern(params["generative.top"], layers[-1])
        for l in range(L, 0, -1):
            w, b = params[f"generative.layers.{l - 1}.weight"], params[f"generative.layers.{l - 1}.bias"]
            below = x if l == 1 else layers[l - 2]
            lp += bern(w @ layers[l - 1] + b, below)
        total = np.logaddexp(total, lp)
    return total


def test_graph_is_traced_from_the_program():
    net = _net((5, 3, 2))
    g = net.graph
    assert [grp.name for grp in g.groups] == ["h2", "h1", "v"]
    assert [grp.n_units for grp in g.groups] == [2, 3, 5]
    assert all(grp.kind == "bernoulli" for grp in g.groups)
    assert g["v"].observed and not g["h1"].observed
    assert g.parents("v") == {"h1"} and g.parents("h1") == {"h2"} and g.parents("h2") == set()
    assert g.plates[0].name == "data" and set(g.plates[0].members) == {"h2", "h1", "v"}
    assert HelmholtzMachine is SigmoidBeliefNet


def test_exact_log_likelihood_matches_brute_force_and_normalises():
    net = _net((4, 3, 2))
    xs = all_binary_states(4).float()
    ll = net.exact_log_likelihood(xs)
    assert ll.dtype == torch.float64 and ll.shape == (16,)
    for x, value in zip(xs.numpy(), ll.tolist()):
        assert value == pytest.approx(_brute_log_p(net, x.astype(np.float64)), abs=1e-9)
    assert float(torch.logsumexp(ll, 0)) == pytest.approx(0.0, abs=1e-9)  # Σ_x p(x) = 1


def test_log_joint_and_guide_log_prob_equal_the_pyro_traces():
    net = _net((5, 3, 2))
    x = net.sample(7, torch.Generator().manual_seed(1))
    guide_trace, model_trace = trace_pair(net, x)
    latents = {name: guide_trace.nodes[name]["value"] for name in net.latent_names}
    torch.testing.assert_close(site_log_prob(model_trace), net.log_joint(x, latents))
    torch.testing.assert_close(site_log_prob(guide_trace), net.guide_log_prob(x, latents))


def test_exact_posterior_sums_to_one_and_is_bayes_rule():
    net = _net((4, 2, 2))
    x = all_binary_states(4).float()[[3, 9]]
    states, log_post = net.exact_log_posterior(x)
    assert log_post.shape == (2, 16) and set(states) == {"h1", "h2"}
    torch.testing.assert_close(torch.logsumexp(log_post, 1), torch.zeros(2, dtype=torch.float64))
    joint = net.double().log_joint(x.double()[:, None], {k: s.double()[None] for k, s in states.items()})
    torch.testing.assert_close(log_post, joint - net.exact_log_likelihood(x)[:, None])


def test_ancestral_samples_follow_the_exact_marginal():
    net = _net((4, 3, 2))
    n = 20000
    x = net.sample(n, torch.Generator().manual_seed(0))
    assert x.shape == (n, 4) and set(x.unique().tolist()) <= {0.0, 1.0}
    index = (x * 2 ** torch.arange(3, -1, -1)).sum(1).long()
    counts = torch.bincount(index, minlength=16).numpy()
    probs = net.exact_log_likelihood(all_binary_states(4).float()).exp().numpy()
    _, _, p_value = chi_square_gof(counts, probs / probs.sum())
    assert p_value > ALPHA
    layers = net.sample(3, torch.Generator().manual_seed(0), latents=True)
    assert set(layers) == {"v", "h1", "h2"} and layers["h1"].shape == (3, 3)
    torch.testing.assert_close(layers["v"], net.sample(3, torch.Generator().manual_seed(0)))


def test_from_data_sets_the_visible_bias_from_the_marginals():
    data = torch.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    net = SigmoidBeliefNet.from_data(data, [3, 2], seed=0)
    p = torch.tensor([0.75, 0.25, 0.5])
    torch.testing.assert_close(net.generative.layers[0].bias.detach(), torch.log(p / (1 - p)))


def test_seed_reproduces_the_initialisation_and_config_rebuilds():
    a, b = _net(seed=3), _net(seed=3)
    for (k, v), (_, w) in zip(a.state_dict().items(), b.state_dict().items()):
        torch.testing.assert_close(v, w, msg=k)
    assert SigmoidBeliefNet(**a.config()).config() == a.config()
    assert repr(a) == "SigmoidBeliefNet(sizes=[4, 3, 2], weight_std=1.5, seed=3)"


@pytest.mark.parametrize("sizes, error, match", [
    (64, TypeError, "sizes must be a sequence"),
    ([64], ValueError, "at least two layers"),
    ([64, 0], ValueError, r"sizes\[1\] must be an int >= 1"),
    ([64, 2.5], TypeError, r"sizes\[1\] must be an int"),
])
def test_bad_sizes_are_refused_by_name(sizes, error, match):
    with pytest.raises(error, match=match):
        SigmoidBeliefNet(sizes)


def test_bad_data_is_refused_by_name():
    net = _net((4, 3))
    with pytest.raises(ValueError, match=r"x must be binary"):
        net.model(torch.full((2, 4), 0.5))
    with pytest.raises(ValueError, match=r"x must have 4 columns"):
        net.guide(torch.zeros(2, 5))
    with pytest.raises(TypeError, match=r"x must have a floating dtype"):
        net.exact_log_likelihood(torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        net.sample(2, generator=0)


def test_large_nets_are_not_enumerated():
    net = SigmoidBeliefNet([4, MAX_EXACT_LATENT + 1])
    with pytest.raises(ValueError, match=r"at most 16 latent units .*importance_log_likelihood"):
        net.exact_log_likelihood(torch.zeros(1, 4))


def test_works_in_float64():
    net = _net((4, 2)).double()
    x = all_binary_states(4).double()
    assert net.exact_log_likelihood(x).dtype == torch.float64
    guide_trace, model_trace = trace_pair(net, x)
    assert site_log_prob(model_trace).dtype == torch.float64


def test_docstring_examples():
    import doctest

    import models.directed.sbn

    result = doctest.testmod(models.directed.sbn, extraglobs={"torch": torch})
    assert result.attempted > 0 and result.failed == 0
