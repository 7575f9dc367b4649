"""fit_gan: Algorithm 1 step by step, resume, the guard, conditional labels, coverage."""

import warnings

import pytest
import torch

from inference.adversarial import ModeCollapseWarning, discriminator_loss, fit_gan, generator_loss
from models.adversarial import GAN
from models.features import FeatureNet

pytestmark = pytest.mark.usefixtures("one_thread")
QUIET = {"progress": False, "monitor": 0}


@pytest.fixture(scope="module")
def data():
    return torch.rand(120, 4, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("method", ["non_saturating", "minimax"])
@pytest.mark.parametrize("d_steps", [1, 2])
def test_one_epoch_is_algorithm_1(data, method, d_steps):
    """The same epoch written out: k discriminator steps then one generator step, fresh z."""
    model, ref = GAN(4, 2, (8,), seed=0), GAN(4, 2, (8,), seed=0)
    opt_d = torch.optim.Adam(ref.discriminator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(ref.generator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(3)
    batches = torch.randperm(120, generator=gen).split(32)
    d_total = 0.0
    for i, idx in enumerate(batches):
        x = data[idx]
        with torch.no_grad():
            fake = ref.generator(torch.randn(len(idx), 2, generator=gen))
        opt_d.zero_grad()
        loss = discriminator_loss(ref.discriminator(x), ref.discriminator(fake))
        loss.backward()
        opt_d.step()
        d_total += float(loss.detach()) * len(idx)
        if (i + 1) % d_steps == 0 or i + 1 == len(batches):
            opt_g.zero_grad()
            generator_loss(ref.discriminator(ref.generator(torch.randn(len(idx), 2, generator=gen))), method).backward()
            opt_g.step()
    h = fit_gan(model, data, method=method, d_steps=d_steps, epochs=1, batch_size=32, lr=1e-3, seed=3, **QUIET)
    assert h.d_loss[0] == pytest.approx(d_total / 120, rel=1e-5)
    for key, value in ref.state_dict().items():
        assert torch.allclose(value, model.state_dict()[key], atol=1e-6), key


def test_resumed_training_is_bit_identical(data, tmp_path):
    whole = GAN(4, 2, (8,), seed=0)
    h_whole = fit_gan(whole, data, epochs=4, batch_size=16, progress=False)
    fit_gan(GAN(4, 2, (8,), seed=0), data, epochs=2, batch_size=16, checkpoint=tmp_path / "g.pt", progress=False)
    resumed = GAN(4, 2, (8,), seed=0)
    h = fit_gan(resumed, data, epochs=4, batch_size=16, checkpoint=tmp_path / "g.pt", resume=True, progress=False)
    assert h.d_loss == h_whole.d_loss and h.g_loss == h_whole.g_loss and h.monitor_fake == h_whole.monitor_fake
    for key, value in whole.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_resuming_with_another_method_is_refused(data, tmp_path):
    fit_gan(GAN(4, 2, (8,), seed=0), data, epochs=1, checkpoint=tmp_path / "g.pt", **QUIET)
    with pytest.raises(ValueError, match="method"):
        fit_gan(GAN(4, 2, (8,), seed=0), data, method="minimax", epochs=2, checkpoint=tmp_path / "g.pt",
                resume=True, **QUIET)


def test_divergence_is_caught_and_the_parameters_put_back(data):
    model = GAN(4, 2, (8,), output="linear", seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(FloatingPointError, match="diverged"):
        fit_gan(model, data * 1e30, epochs=2, lr=1e30, optimizer=torch.optim.SGD, **QUIET)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]) or torch.isfinite(value).all(), key
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_the_conditional_gan_uses_its_labels(data):
    model = GAN(4, 2, (8,), n_classes=3, seed=0)
    labels = torch.arange(120) % 3
    h = fit_gan(model, data, labels=labels, epochs=2, **QUIET)
    assert len(h) == 2
    z = torch.randn(5, 2)
    outs = [model.sample(5, y=torch.full((5,), k), z=z) for k in range(3)]
    assert not torch.allclose(outs[0], outs[1]) and not torch.allclose(outs[1], outs[2])
    # the discriminator sees the label too
    x = data[:5]
    d = [model.discriminator(x, model.one_hot(torch.full((5,), k))) for k in range(3)]
    assert not torch.allclose(d[0], d[1])


def test_coverage_is_recorded_and_collapse_warned(data):
    net = FeatureNet(4, 3, hidden=(8,), seed=0)
    model = GAN(4, 2, (8,), seed=0)
    with pytest.warns(ModeCollapseWarning, match="min_classes=3"):
        h = fit_gan(model, data, coverage=net, coverage_every=2, min_classes=3, epochs=3, **QUIET)
    assert h.coverage_classes[0] is None and isinstance(h.coverage_classes[1], int)
    assert isinstance(h.coverage_classes[2], int) and 1 <= h.coverage_classes[2] < 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_gan(GAN(4, 2, (8,), seed=0), data, coverage=net, coverage_every=2, min_classes=1, epochs=2, **QUIET)


def test_the_monitor_columns_use_the_end_of_epoch_discriminator(data):
    model = GAN(4, 2, (8,), seed=0)
    h = fit_gan(model, data, epochs=2, monitor=40, progress=False)
    with torch.no_grad():
        d = torch.sigmoid(model.discriminator(data[:: 120 // 40][:40]))
    assert h.monitor_real[-1] == pytest.approx(float(d.double().mean()), abs=1e-6)
    assert all(0 < v < 1 for v in h.d_real + h.d_fake + h.monitor_fake)


def test_betas_go_only_to_optimizers_that_take_them(data):
    fit_gan(GAN(4, 2, (8,), seed=0), data, epochs=1, optimizer=torch.optim.SGD, **QUIET)
    fit_gan(GAN(4, 2, (8,), seed=0), data, epochs=1, optimizer=torch.optim.AdamW, betas=(0.0, 0.9), **QUIET)


def test_an_epoch_makes_its_tensors_on_the_models_device(data):
    """Every tensor of an epoch is made on the model's device: with the default device
    elsewhere ('meta' here, the CPU beside a GPU model), one made without ``device=`` would
    meet the model's on another device and the operation would raise."""
    model, ref = GAN(4, 2, (8,), seed=0), GAN(4, 2, (8,), seed=0)
    with torch.device("meta"):
        h = fit_gan(model, data, epochs=1, batch_size=32, seed=3, **QUIET)
    assert h.d_loss == fit_gan(ref, data, epochs=1, batch_size=32, seed=3, **QUIET).d_loss
