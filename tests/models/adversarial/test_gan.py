"""The GAN model: shapes, the Pyro program and its graph, the decoder's likelihood, config."""

import math

import pyro
import pytest
import torch

import pgm
from models.adversarial import GAN

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("n_classes", [0, 3])
@pytest.mark.parametrize("output", ["sigmoid", "linear"])
def test_shapes(n_classes, output):
    m = GAN(5, n_latent=3, hidden=(8, 6), n_classes=n_classes, output=output, seed=0)
    y = m.one_hot(torch.arange(4) % 3) if n_classes else None
    x = m.generator(torch.randn(4, 3), y)
    assert x.shape == (4, 5) and m.discriminator(x, y).shape == (4,)
    if output == "sigmoid":
        assert ((x >= 0) & (x <= 1)).all()
    assert m.visible_kind == ("bernoulli" if output == "sigmoid" else "gaussian")
    assert m.n_parameters == sum(p.numel() for p in m.parameters())
    assert isinstance(m.discriminator.net[1], torch.nn.LeakyReLU) and m.discriminator.net[1].negative_slope == 0.2
    assert isinstance(m.generator.net[1], torch.nn.ReLU)


def test_the_program_draws_z_then_v():
    m = GAN(4, n_latent=2, hidden=(8,), seed=0)
    x = torch.rand(3, 4)
    tr = pyro.poutine.trace(m.model).get_trace(x)
    assert tr.nodes["z"]["value"].shape == (3, 2) and tr.nodes["v"]["is_observed"]
    assert torch.equal(tr.nodes["v"]["fn"].base_dist.v if hasattr(tr.nodes["v"]["fn"], "base_dist")
                       else tr.nodes["v"]["fn"].v, m.generator(tr.nodes["z"]["value"]))
    g = m.graph
    assert g.parents("v") == {"z"} and g["v"].kind == "bernoulli" and g["z"].kind == "gaussian"
    assert pgm.from_pyro(m.model, x).parents("v") == {"z"}
    drawn = m.model(n=6)  # no data: v is drawn
    assert drawn.shape == (6, 4)


def test_the_conditional_program_has_the_label_as_a_parent():
    m = GAN(4, 2, (8,), n_classes=3, output="linear", seed=0)
    assert m.graph.parents("v") == {"z", "y"} and m.graph["y"].kind == "categorical" and m.graph["y"].observed
    assert m.graph["v"].kind == "gaussian"


@pytest.mark.parametrize("observation", ["gaussian", "bernoulli"])
def test_the_observation_models(observation):
    m = GAN(4, 2, (8,), seed=0)
    x = torch.rand(3, 4).round()
    sigma = 0.3 if observation == "gaussian" else None  # sigma is refused with the other observations
    tr = pyro.poutine.trace(m.model).get_trace(x, observation=observation, sigma=sigma)
    mean = m.generator(tr.nodes["z"]["value"])
    lp = tr.nodes["v"]["fn"].log_prob(x)
    if observation == "gaussian":
        want = torch.distributions.Normal(mean, 0.3).log_prob(x).sum(-1)
    else:
        want = torch.distributions.Bernoulli(probs=mean).log_prob(x).sum(-1)
    assert torch.allclose(lp, want, atol=1e-5)


def test_decoder_log_prob_is_the_normal_density_by_hand():
    m = GAN(3, 2, (8,), output="linear", seed=0)
    z, x, sigma = torch.randn(5, 2, requires_grad=True), torch.randn(5, 3), 0.7
    lp = m.decoder_log_prob(z, x, sigma)
    mean = m.generator(z)
    by_hand = (-0.5 * ((x - mean) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)).sum(-1)
    assert lp.shape == (5,) and torch.allclose(lp, by_hand, atol=1e-5)
    (g,) = torch.autograd.grad(lp.sum(), z)
    assert torch.isfinite(g).all() and g.abs().sum() > 0
    log_lik, d = m.decoder(sigma)
    assert d == 2 and torch.allclose(log_lik(z, x), lp)


def test_the_conditional_decoder_repeats_its_labels_as_decoder_ais_repeats_the_rows():
    m = GAN(3, 2, (8,), n_classes=2, output="linear", seed=0)
    x, y = torch.randn(2, 3), torch.tensor([0, 1])
    log_lik, _ = m.decoder(0.5, y)
    z = torch.randn(6, 2)
    want = torch.cat([m.decoder_log_prob(z[i:i + 1], x.repeat_interleave(3, 0)[i:i + 1], 0.5, y[i // 3:i // 3 + 1])
                      for i in range(6)])
    assert torch.allclose(log_lik(z, x.repeat_interleave(3, 0)), want)


def test_decoder_ais_runs_on_a_gan():
    from inference.evaluation.decoder_ais import decoder_ais
    m = GAN(3, 2, (8,), output="linear", seed=0)
    log_lik, d = m.decoder(0.5)
    est = decoder_ais(log_lik, d, m.sample(2, torch.Generator().manual_seed(0)), n_chains=4, n_steps=10, seed=0)
    assert torch.isfinite(est.log_likelihood).all()


def test_config_round_trip():
    m = GAN(5, n_latent=3, hidden=(8, 6), n_classes=2, output="linear", seed=4)
    again = GAN(**m.config())
    assert again.config() == m.config()
    for key, value in m.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key
    assert "n_latent=3" in repr(m)


def test_sample_is_reproducible_from_the_generator():
    m = GAN(4, 2, (8,), seed=0)
    a = m.sample(7, torch.Generator().manual_seed(1))
    b = m.sample(7, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, m.sample(7, torch.Generator().manual_seed(2)))
    z = torch.randn(7, 2, generator=torch.Generator().manual_seed(1))
    assert torch.equal(m.sample(7, z=z), a)
    c = GAN(4, 2, (8,), n_classes=3, seed=0)
    assert torch.equal(c.sample(6, torch.Generator().manual_seed(0)),
                       c.sample(6, torch.Generator().manual_seed(0), y=torch.tensor([0, 1, 2, 0, 1, 2])))


def test_a_checkpoint_of_a_gan_loads(tmp_path):
    import inference.adversarial  # noqa: F401  (registers the class)
    from inference.checkpoint import load_model, save_model
    m = GAN(4, 2, (8,), seed=0)
    save_model(tmp_path / "gan.pt", m)
    again = load_model(tmp_path / "gan.pt")
    assert again.config() == m.config() and torch.equal(again.sample(3, z=torch.zeros(3, 2)),
                                                         m.sample(3, z=torch.zeros(3, 2)))
