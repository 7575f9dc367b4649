"""The VAE: its programs, the ELBO and IWAE objectives against Pyro and the K-sample bound."""

import doctest
import math

import pytest
import torch
from pyro.infer import RenyiELBO, Trace_ELBO

from inference import importance_log_likelihood
from inference.directed.objectives import elbo_loss, iwae_loss
from inference.evaluation.weights import seeded, site_log_prob, trace_pair
from models import VAE, SigmoidBeliefNet


def _data(n=8, width=6, seed=0):
    return torch.bernoulli(torch.full((n, width), 0.4), generator=torch.Generator().manual_seed(seed))


def test_graph_and_sites():
    vae = VAE(6, 8, 2, seed=0)
    g = vae.graph
    assert [(grp.name, grp.kind, grp.n_units, grp.observed) for grp in g.groups] == [
        ("z", "gaussian", 2, False), ("v", "bernoulli", 6, True)]
    assert g.parents("v") == {"z"}
    assert VAE(6, 8, 2, "gaussian").graph["v"].kind == "gaussian"


def test_log_densities_are_the_defining_equations():
    vae = VAE(6, 8, 2, "gaussian", seed=0)
    x = torch.randn(5, 6)
    guide_trace, model_trace = trace_pair(vae, x)
    z = guide_trace.nodes["z"]["value"]
    loc, scale = vae.encode(x)
    normal = torch.distributions.Normal
    log_q = normal(loc, scale).log_prob(z).sum(-1)
    log_p = normal(0.0, 1.0).log_prob(z).sum(-1) + normal(vae.decode(z), vae.decoder.log_scale.exp()).log_prob(x).sum(-1)
    torch.testing.assert_close(site_log_prob(guide_trace), log_q)
    torch.testing.assert_close(site_log_prob(model_trace), log_p)


def test_iwae_equals_pyro_renyi_alpha0_and_the_k_sample_bound_on_the_same_draws():
    vae = VAE(6, 8, 2, seed=0)
    x = _data()
    k = 5
    with seeded(1, vae.device), torch.no_grad():
        ours = iwae_loss(vae, x, k)
    with seeded(1, vae.device), torch.no_grad():
        renyi = RenyiELBO(alpha=0, num_particles=k, vectorize_particles=True, max_plate_nesting=1)
        theirs = renyi.loss(vae.model, vae.guide, x) / x.shape[0]
    assert float(ours) == pytest.approx(theirs, rel=1e-5)
    est = importance_log_likelihood(vae, x, n_samples=k, seed=1)
    assert -float(ours) == pytest.approx(est.mean, rel=1e-5)


def test_iwae_with_one_particle_is_the_elbo_of_trace_elbo():
    vae = VAE(6, 8, 2, seed=0)
    x = _data()
    with seeded(2, vae.device), torch.no_grad():
        ours = iwae_loss(vae, x, 1)
    with seeded(2, vae.device), torch.no_grad():
        theirs = elbo_loss(vae, x)
    with seeded(2, vae.device), torch.no_grad():
        plain = Trace_ELBO().loss(vae.model, vae.guide, x) / x.shape[0]
    assert float(ours) == pytest.approx(float(theirs), rel=1e-5)
    assert float(theirs) == pytest.approx(plain, rel=1e-5)


def test_iwae_gradients_flow_to_encoder_and_decoder():
    vae = VAE(6, 8, 2, seed=0)
    iwae_loss(vae, _data(), 3).backward()
    for name, p in vae.named_parameters():
        assert p.grad is not None and bool(p.grad.abs().sum() > 0), name


def test_iwae_refuses_discrete_latents():
    sbn = SigmoidBeliefNet([6, 2], seed=0)
    with pytest.raises(ValueError, match=r"sites \['h1'\] are not reparameterisable.*rws"):
        iwae_loss(sbn, _data(), 3)


def test_sampling_and_seed():
    vae = VAE(6, 8, 2, seed=4)
    assert VAE(6, 8, 2, seed=4).state_dict()["decoder.out.weight"].equal(vae.state_dict()["decoder.out.weight"])
    x = vae.sample(50, torch.Generator().manual_seed(0))
    assert x.shape == (50, 6) and set(x.unique().tolist()) <= {0.0, 1.0}
    m = vae.sample(4, torch.Generator().manual_seed(0), mean=True)
    assert bool(((m > 0) & (m < 1)).all())
    g = VAE(6, 8, 2, "gaussian", seed=0).sample(3)
    assert g.shape == (3, 6) and g.dtype == torch.float32
    assert VAE(**vae.config()).config() == vae.config()


@pytest.mark.parametrize("args, kwargs, error, match", [
    ((0, 8, 2), {}, ValueError, "n_visible must be an int >= 1"),
    ((6, 8.0, 2), {}, TypeError, "n_hidden must be an int"),
    ((6, 8, 2), {"likelihood": "poisson"}, ValueError, "likelihood must be one of"),
])
def test_bad_sizes_are_refused(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        VAE(*args, **kwargs)


def test_bad_data_is_refused():
    with pytest.raises(ValueError, match="x must be binary"):
        VAE(6, 8, 2).guide(torch.full((2, 6), 0.5))
    with pytest.raises(ValueError, match="x must have 6 columns"):
        VAE(6, 8, 2, "gaussian").model(torch.zeros(2, 7))
    with pytest.raises(ValueError, match="NaN or infinite"):
        VAE(6, 8, 2, "gaussian").model(torch.full((2, 6), math.inf))


def test_docstring_examples():
    import models.directed.vae

    result = doctest.testmod(models.directed.vae, extraglobs={"torch": torch})
    assert result.attempted > 0 and result.failed == 0
