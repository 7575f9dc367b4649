"""Greedy training of a conv DBN through fit(model, method="greedy"): each layer is the
energy models' fit, the second on the first's pooling probabilities; checkpoints per layer
and bit-identical resume."""

import pytest
import torch

from inference import GreedyHistory, fit
from models import ConvDBN, ConvRBM

QUIET = dict(monitor=0, progress=False)


@pytest.fixture
def images():
    """60 binary 6×6 images: noisy copies of three prototypes."""
    gen = torch.Generator().manual_seed(0)
    proto = (torch.rand(3, 36, generator=gen) < 0.4).float()
    rows = proto[torch.randint(0, 3, (60,), generator=gen)]
    return torch.where(torch.rand(rows.shape, generator=gen) < 0.05, 1 - rows, rows)


def _tiny(seed=0):
    return ConvDBN(6, (3, 4), (3, 2), (2, 1), seed=seed)  # 6×6 → 4×4 → pool 2×2 → 1×1


def test_each_layer_is_fit_on_the_layer_below(images, one_thread):
    model = _tiny()
    hist = fit(model, images, epochs=2, batch_size=20, seed=0, **QUIET)
    assert isinstance(hist, GreedyHistory) and len(hist.layers) == 2
    first = ConvRBM(6, 3, 3, 2, seed=0)
    first.init_visible_bias(images)
    fit(first, images, epochs=2, batch_size=20, seed=0, **QUIET)
    for name in ("W", "b", "c"):
        assert torch.equal(getattr(model.layer1, name), getattr(first, name))
    pooled = first.pooling_probabilities(images).detach()
    second = ConvRBM((2, 2), 4, 2, 1, n_channels=3, seed=1)
    second.init_visible_bias(pooled)
    fit(second, pooled, epochs=2, batch_size=20, seed=1, **QUIET)
    for name in ("W", "b", "c"):
        assert torch.equal(getattr(model.layer2, name), getattr(second, name))


def test_a_run_stopped_in_the_second_layer_resumes_bit_for_bit(images, tmp_path, one_thread):
    """Stopped after the second layer's first epoch (its checkpoint written), resumed to the
    end: every parameter equals the uninterrupted run's."""
    straight = _tiny()
    fit(straight, images, epochs=3, batch_size=20, checkpoint=tmp_path / "a.pt", **QUIET)
    assert (tmp_path / "a.layer1.pt").is_file() and (tmp_path / "a.layer2.pt").is_file()

    def stop(epoch, history, model):
        return model is stopped.layer2 and epoch == 1

    stopped = _tiny()
    fit(stopped, images, epochs=3, batch_size=20, checkpoint=tmp_path / "b.pt", callbacks=stop, **QUIET)
    resumed = _tiny()
    fit(resumed, images, epochs=3, batch_size=20, checkpoint=tmp_path / "b.pt", resume=True, **QUIET)
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    assert not torch.equal(stopped.layer2.W, straight.layer2.W)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(method="cd"), ValueError, "method must be 'greedy'"),
    (dict(layer_method="pt"), ValueError, "layer_method"),
    (dict(resume=True), ValueError, "resume needs checkpoint"),
    (dict(propagate="mean"), TypeError, "propagate is not an option of the convdbn family"),
])
def test_bad_arguments_are_refused_before_training(images, kwargs, error, match):
    model = _tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(error, match=match):
        fit(model, images, epochs=1, **QUIET, **kwargs)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_grey_or_wrongly_sized_data_is_refused(images):
    with pytest.raises(ValueError, match="data"):
        fit(_tiny(), images[:, :30], epochs=1, **QUIET)
