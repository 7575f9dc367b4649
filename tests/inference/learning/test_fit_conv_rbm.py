"""Training a conv RBM by inference.fit: the sparsity penalty joins the contrastive loss,
checkpoints resume bit for bit."""

import pytest
import torch

from inference import fit, surrogate_loss
from models import ConvRBM
from tests.models.test_conv_rbm import random_conv_rbm

QUIET = dict(monitor=0, progress=False)


@pytest.fixture
def images():
    gen = torch.Generator().manual_seed(0)
    return (torch.rand(40, 36, generator=gen) < 0.3).float()


def test_the_surrogate_loss_adds_the_sparsity_penalty(images):
    model = random_conv_rbm(6, 3, 3, 2, seed=0, dtype=torch.float32)
    pos, neg = {"v": images[:10]}, {"v": images[10:20]}
    plain = surrogate_loss(model, pos, neg)
    model.sparsity = 0.05
    torch.testing.assert_close(surrogate_loss(model, pos, neg), plain + model.training_penalty(images[:10]))


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_a_stopped_run_resumes_bit_for_bit(images, tmp_path, method, one_thread):
    kw = dict(method=method, epochs=4, batch_size=10, seed=3, **QUIET)
    straight = ConvRBM.from_data(images, 3, 3, 2, seed=0, sparsity=0.1)
    fit(straight, images, **kw)
    stopped = ConvRBM.from_data(images, 3, 3, 2, seed=0, sparsity=0.1)
    fit(stopped, images, checkpoint=tmp_path / "c.pt", callbacks=lambda epoch, history, model: epoch == 2, **kw)
    resumed = ConvRBM.from_data(images, 3, 3, 2, seed=0, sparsity=0.1)
    hist = fit(resumed, images, checkpoint=tmp_path / "c.pt", resume=True, **kw)
    assert hist.epoch[-1] == 4
    for name, p in straight.state_dict().items():
        assert torch.equal(p, resumed.state_dict()[name]), name
