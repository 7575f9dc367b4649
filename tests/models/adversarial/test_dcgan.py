"""The DCGAN: the architecture's shapes and rules, its Pyro program, configuration, samples
and refusals; the GMMN's program and GMMN+AE."""

import doctest

import pytest
import torch
from torch import nn

from models import Autoencoder
from models.adversarial import DCGAN, GMMN, GMMNAutoencoder, dcgan
from models.adversarial.dcgan import dcgan_layout
from tests.bad_inputs.common import assert_refused


@pytest.mark.parametrize("size, base", [(8, 2), (28, 7)])
def test_output_shapes(one_thread, size, base):
    gan = DCGAN(size, n_latent=5, channels=8, seed=0)
    assert dcgan_layout(size) == (base, 2)
    z = torch.randn(6, 5)
    x = gan.generator(z)
    assert x.shape == (6, size * size) and gan.n_visible == size * size
    assert bool(((x >= 0) & (x <= 1)).all())
    assert gan.discriminator(x).shape == (6,)


def test_architecture_follows_the_paper(one_thread):
    gan = DCGAN(28, n_latent=5, channels=8, seed=0)
    kinds = [type(m) for m in gan.modules()]
    assert not any(issubclass(k, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Linear)) for k in kinds)
    g, d = list(gan.generator.net), list(gan.discriminator.net)
    assert isinstance(g[-1], nn.Sigmoid) and isinstance(g[-2], nn.ConvTranspose2d)  # no batch norm at the output
    assert isinstance(d[0], nn.Conv2d) and isinstance(d[1], nn.LeakyReLU)  # none on the input either
    assert all(m.negative_slope == 0.2 for m in d if isinstance(m, nn.LeakyReLU))
    assert all(m.stride == (2, 2) for m in d[:-1] if isinstance(m, nn.Conv2d))
    assert sum(isinstance(m, nn.BatchNorm2d) for m in g) == 2 and sum(isinstance(m, nn.BatchNorm2d) for m in d) == 1
    convs = [m.weight for m in gan.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    std = torch.cat([w.detach().flatten() for w in convs]).std()
    assert 0.017 < float(std) < 0.023  # N(0, 0.02)


def test_graph_is_z_to_v():
    gan = DCGAN(8, n_latent=3, channels=4, seed=0)
    assert [(grp.name, grp.observed) for grp in gan.graph.groups] == [("z", False), ("v", True)]
    assert gan.graph.parents("v") == {"z"}
    assert GMMN(3, 2, hidden=(4,), seed=0).graph.parents("v") == {"z"}


def test_config_round_trip(one_thread):
    gan = DCGAN(8, n_latent=3, channels=4, n_classes=2, seed=1)
    gan.train()
    gan.generator(torch.randn(4, 3), torch.eye(2)[[0, 1, 0, 1]])  # moves the running statistics
    copy = DCGAN(**gan.config())
    copy.load_state_dict(gan.state_dict())
    assert copy.config() == gan.config()
    gen = torch.Generator().manual_seed(0)
    y = torch.tensor([0, 1, 1])
    torch.testing.assert_close(copy.sample(3, torch.Generator().manual_seed(0), y=y), gan.sample(3, gen, y=y))
    g = GMMN(3, 2, hidden=(4, 5), bandwidths=(1.0, 2.0), output="linear", seed=0)
    assert GMMN(**g.config()).config() == g.config()


@pytest.mark.parametrize("training", [True, False])
def test_sample_is_reproducible_and_keeps_the_mode(one_thread, training):
    gan = DCGAN(8, n_latent=3, channels=4, seed=0)
    gan.train(training)
    flags = [m.training for m in gan.modules()]
    a = gan.sample(5, torch.Generator().manual_seed(3))
    b = gan.sample(5, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == (5, 64)
    assert [m.training for m in gan.modules()] == flags
    # eval mode: one row does not depend on the others of its batch
    z = torch.randn(4, 3)
    torch.testing.assert_close(gan.sample(1, z=z[:1]), gan.sample(4, z=z)[:1])


def test_model_observations_and_decoder(one_thread):
    gan = DCGAN(8, n_latent=3, channels=4, seed=0)
    import pyro.poutine as poutine
    x = gan.sample(2)
    tr = poutine.trace(gan.model).get_trace(x, observation="gaussian", sigma=0.5)
    z = tr.nodes["z"]["value"]
    log_lik, n_latent = gan.decoder(0.5)
    assert n_latent == 3
    expect = torch.distributions.Normal(gan.sample(2, z=z), 0.5).log_prob(x).sum(-1)
    torch.testing.assert_close(log_lik(z, x), expect)
    zz = z.clone().requires_grad_()
    log_lik(zz, x).sum().backward()
    assert zz.grad is not None and bool(zz.grad.abs().sum() > 0)
    assert poutine.trace(gan.model).get_trace(n=4).nodes["v"]["value"].shape == (4, 64)


def test_gmmn_autoencoder_samples_by_decoding(one_thread):
    ae = Autoencoder(6, 3, seed=0)
    both = GMMNAutoencoder(ae, GMMN(3, 2, hidden=(4,), seed=0))
    x = both.sample(5, torch.Generator().manual_seed(0))
    assert x.shape == (5, 6)
    assert both.codes(torch.rand(4, 6)).shape == (4, 3)


def test_docstring_examples():
    assert doctest.testmod(dcgan, extraglobs={"torch": torch}).failed == 0


def _gan():
    return DCGAN(8, n_latent=3, channels=4, seed=0)


BAD = [
    ("DCGAN: image_size 7", lambda: DCGAN(7), ValueError, "image_size"),
    ("DCGAN: image_size 2", lambda: DCGAN(2), ValueError, "image_size"),
    ("DCGAN: channels 0", lambda: DCGAN(8, channels=0), ValueError, "channels"),
    ("DCGAN: n_latent 0", lambda: DCGAN(8, n_latent=0), ValueError, "n_latent"),
    ("DCGAN: n_classes 1", lambda: DCGAN(8, n_classes=1), ValueError, "n_classes"),
    ("DCGAN: seed -1", lambda: DCGAN(8, seed=-1), ValueError, "seed"),
    ("GMMN: hidden (0,)", lambda: GMMN(4, hidden=(0,)), ValueError, "hidden"),
    ("GMMN: bandwidths ()", lambda: GMMN(4, bandwidths=()), ValueError, "bandwidths"),
    ("GMMN: bandwidths (1, -1)", lambda: GMMN(4, bandwidths=(1.0, -1.0)), ValueError, "bandwidths[1]"),
    ("GMMN: output tanh", lambda: GMMN(4, output="tanh"), ValueError, "output"),
    ("GMMNAutoencoder: code width", lambda: GMMNAutoencoder(Autoencoder(6, 3), GMMN(4)), ValueError, "gmmn"),
]


@pytest.mark.parametrize("name, call, error, match", BAD, ids=[r[0] for r in BAD])
def test_bad_constructor_arguments_are_refused(name, call, error, match):
    assert_refused(call, error, match)


ROWS = [
    ("sample: n -1", lambda m: m.sample(-1), ValueError, "n"),
    ("sample: generator 5", lambda m: m.sample(2, generator=5), TypeError, "generator"),
    ("sample: z of 2 rows", lambda m: m.sample(3, z=torch.zeros(2, 3)), ValueError, "z"),
    ("sample: z of 4 columns", lambda m: m.sample(2, z=torch.zeros(2, 4)), ValueError, "z"),
    ("sample: labels without classes", lambda m: m.sample(2, y=torch.tensor([0, 1])), ValueError, "y"),
    ("model: 5 columns", lambda m: m.model(torch.zeros(2, 5)), ValueError, "x"),
    ("model: values above 1", lambda m: m.model(torch.full((2, 64), 2.0)), ValueError, "x"),
    ("model: observation poisson", lambda m: m.model(n=2, observation="poisson"), ValueError, "observation"),
    ("model: gaussian without sigma", lambda m: m.model(n=2, observation="gaussian"), ValueError, "sigma"),
    ("model: sigma with delta", lambda m: m.model(n=2, sigma=1.0), ValueError, "sigma"),
    ("decoder: sigma 0", lambda m: m.decoder(0.0), ValueError, "sigma"),
    ("check_data: NaN", lambda m: m.check_data(torch.full((2, 64), float("nan"))), ValueError, "NaN"),
]


@pytest.mark.parametrize("name, call, error, match", ROWS, ids=[r[0] for r in ROWS])
def test_bad_input_is_refused_naming_the_argument(name, call, error, match):
    gan = _gan()
    assert_refused(lambda: call(gan), error, match, model=gan)


def test_conditional_labels_are_checked():
    gan = DCGAN(8, n_latent=3, channels=4, n_classes=3, seed=0)
    assert_refused(lambda: gan.sample(2, y=torch.tensor([0, 3])), ValueError, "y", model=gan)
    assert_refused(lambda: gan.sample(2, y=torch.tensor([0, 1, 2])), ValueError, "y", model=gan)
    assert_refused(lambda: gan.decoder(1.0), ValueError, "conditional", model=gan)


def test_every_generator_shares_labels_in_turn_eval_mode_and_the_conditional_decoder(one_thread):
    from models.adversarial import GAN
    for model in (DCGAN(8, n_latent=3, channels=4, n_classes=3, seed=0), GAN(64, 3, (8,), n_classes=3, seed=0)):
        model.train()
        z = torch.randn(6, 3)
        torch.testing.assert_close(model.sample(6, z=z), model.sample(6, z=z, y=torch.tensor([0, 1, 2, 0, 1, 2])))
        torch.testing.assert_close(model.sample(6, z=z, y=torch.eye(3)[[2, 2, 1, 0, 0, 1]]),
                                   model.sample(6, z=z, y=torch.tensor([2, 2, 1, 0, 0, 1])))
        assert all(m.training for m in model.modules())
        x, y = model.sample(2), torch.tensor([1, 2])
        log_lik, n_latent = model.decoder(0.5, y)
        zz = torch.randn(4, n_latent)  # two chains per row, rows repeated in place
        want = torch.distributions.Normal(model.sample(4, z=zz, y=y.repeat_interleave(2)), 0.5)
        torch.testing.assert_close(log_lik(zz, x.repeat_interleave(2, 0)),
                                   want.log_prob(x.repeat_interleave(2, 0)).sum(-1))
        assert model.graph.parents("v") == {"z", "y"}
        assert_refused(lambda: model.decoder(0.5), ValueError, "labels", model=model)

