"""Pictures of GAN training: the history's two panels, D's output histograms, and the
sample-snapshot callback, which writes at its epochs and leaves the run bit-identical."""

import pytest
import torch

from inference.adversarial import fit_gan, fit_gmmn
from inference.adversarial.pictures import SampleSnapshots, plot_discriminator_outputs, plot_gan_history
from models.adversarial import GAN, GMMN


def _data(n=120, d=4, seed=0):
    return (torch.rand(n, d, generator=torch.Generator().manual_seed(seed)) > 0.5).float()


@pytest.fixture(scope="module")
def trained():
    model = GAN(4, n_latent=2, hidden=(8,), seed=0)
    history = fit_gan(model, _data(), epochs=3, batch_size=40, progress=False)
    return model, history


def test_history_picture_is_written(trained, tmp_path):
    _, history = trained
    path = tmp_path / "history.png"
    fig = plot_gan_history(history, path=path, title="game")
    assert path.stat().st_size > 0
    assert len(fig.axes) == 2


def test_history_refuses_what_is_not_a_history(trained):
    with pytest.raises(TypeError, match="history"):
        plot_gan_history({"d_loss": [1.0]})
    _, history = trained
    with pytest.raises(ValueError, match="path"):
        plot_gan_history(history, path="history.txt")
    empty = type(history)()
    with pytest.raises(ValueError, match="history"):
        plot_gan_history(empty)


def test_discriminator_histograms_are_written(trained, tmp_path):
    model, _ = trained
    path = tmp_path / "d.png"
    plot_discriminator_outputs(model, _data(50, seed=1), n=30, generator=torch.Generator().manual_seed(0), path=path)
    assert path.stat().st_size > 0


def test_discriminator_histograms_of_a_conditional_gan(tmp_path):
    model = GAN(4, n_latent=2, hidden=(8,), n_classes=3, seed=0)
    x, y = _data(30), torch.arange(30) % 3
    path = tmp_path / "d.png"
    plot_discriminator_outputs(model, x, labels=y, path=path)
    assert path.stat().st_size > 0
    with pytest.raises(ValueError, match="labels"):
        plot_discriminator_outputs(model, x)
    with pytest.raises(ValueError, match="labels"):
        plot_discriminator_outputs(model, x, labels=torch.full((30,), 3))


def test_discriminator_histograms_refuse_bad_input(trained):
    model, _ = trained
    with pytest.raises(ValueError, match="labels"):
        plot_discriminator_outputs(model, _data(10), labels=torch.zeros(10, dtype=torch.long))
    with pytest.raises(ValueError, match="n"):
        plot_discriminator_outputs(model, _data(10), n=0)
    with pytest.raises(ValueError, match="data"):
        plot_discriminator_outputs(model, torch.full((10, 4), 2.0))
    with pytest.raises(TypeError, match="model"):
        plot_discriminator_outputs(GMMN(4, 2, hidden=(8,), bandwidths=(1.0,), seed=0), _data(10))


def test_snapshots_refuse_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="every"):
        SampleSnapshots(tmp_path, every=0, image_shape=(2, 2))
    with pytest.raises(ValueError, match="image_shape"):
        SampleSnapshots(tmp_path, image_shape=(2,))
    with pytest.raises(ValueError, match="image_shape"):
        SampleSnapshots(tmp_path)
    with pytest.raises(TypeError, match="path"):
        SampleSnapshots(3, image_shape=(2, 2))
    with pytest.raises(ValueError, match="path"):
        SampleSnapshots(str(tmp_path / "s_{step}.png"), image_shape=(2, 2))
    with pytest.raises(ValueError, match="image_shape"):
        SampleSnapshots(tmp_path, every=1, image_shape=(3, 3))(1, None, GAN(4, n_latent=2, hidden=(8,), seed=0))


def _run(callbacks, fitter="gan"):
    if fitter == "gan":
        model = GAN(4, n_latent=2, hidden=(8,), seed=0)
        fit_gan(model, _data(), epochs=6, batch_size=40, progress=False, callbacks=callbacks)
    else:
        model = GMMN(4, 2, hidden=(8,), bandwidths=(0.5, 1.0), seed=0)
        fit_gmmn(model, _data(), epochs=6, batch_size=40, progress=False, callbacks=callbacks)
    return model


@pytest.mark.parametrize("fitter", ["gan", "gmmn"])
def test_snapshots_write_at_their_epochs_and_leave_the_run_unchanged(tmp_path, fitter):
    snaps = SampleSnapshots(tmp_path / "snaps", every=2, n=6, image_shape=(2, 2), seed=3)
    with_cb, without = _run(snaps, fitter), _run((), fitter)
    written = sorted(p.name for p in (tmp_path / "snaps").iterdir())
    assert written == ["epoch_0002.png", "epoch_0004.png", "epoch_0006.png"]
    assert all(p.stat().st_size > 0 for p in snaps.paths)
    assert sorted(snaps.samples) == [2, 4, 6]
    a, b = with_cb.state_dict(), without.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # the same fixed z at every snapshot: the last snapshot is the trained model at those z
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(6, 2, generator=gen)
    assert torch.equal(snaps.samples[6], with_cb.sample(6, z=z))
    path = tmp_path / "evolution.png"
    snaps.plot_evolution(k=4, path=path)
    assert path.stat().st_size > 0


def test_snapshots_with_a_pattern_and_a_conditional_model(tmp_path):
    snaps = SampleSnapshots(str(tmp_path / "s_{epoch:02d}.png"), every=1, n=6, image_shape=(2, 2))
    model = GAN(4, n_latent=2, hidden=(8,), n_classes=3, seed=0)
    fit_gan(model, _data(), labels=torch.arange(120) % 3, epochs=2, batch_size=40, progress=False, callbacks=snaps)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s_01.png", "s_02.png"]


def test_evolution_needs_a_snapshot(tmp_path):
    with pytest.raises(ValueError, match="snapshot"):
        SampleSnapshots(tmp_path, image_shape=(2, 2)).plot_evolution()
