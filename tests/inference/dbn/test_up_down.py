"""Up-down fine-tuning of a DBN: the update against its closed form, and the training loop."""

import pytest
import torch

from inference import UpDownHistory, fit, make_generator
from inference.dbn import up_down_loss
from models import DBN
from tests.oracles import random_rbm

QUIET = dict(progress=False)


def _dbn():
    dbn = DBN([5, 4, 3, 2], weight_std=1.0, seed=0)
    dbn.top.load_state_dict(random_rbm(3, 2, seed=1, dtype=torch.float32).state_dict())
    with torch.no_grad():  # untie the recognition weights, so a transpose error shows
        for up in dbn.recognition:
            up.weight.add_(torch.randn(up.weight.shape, generator=torch.Generator().manual_seed(2)))
            up.bias.normal_(generator=torch.Generator().manual_seed(3))
    return dbn


def test_the_gradient_is_the_up_down_update():
    dbn = _dbn()
    v = (torch.rand(7, 5, generator=torch.Generator().manual_seed(4)) < 0.5).float()
    loss, states = up_down_loss(dbn, v, 3, make_generator(0))
    loss.backward()
    wake, sleep, (neg, _) = states["wake"], states["sleep"], states["negative"]
    assert torch.equal(wake[0], v) and torch.equal(sleep[-1], neg) and len(wake) == len(sleep) == 3
    B = v.shape[0]
    for l in (1, 2):
        down, up = dbn.generative[l - 1], dbn.recognition[l - 1]
        with torch.no_grad():  # the delta rules: wake for W_l, sleep for R_l
            dw = (wake[l - 1] - torch.sigmoid(wake[l] @ down.weight.t() + down.bias)).t() @ wake[l] / B
            dr = (sleep[l] - torch.sigmoid(sleep[l - 1] @ up.weight.t() + up.bias)).t() @ sleep[l - 1] / B
        torch.testing.assert_close(down.weight.grad, -dw)
        torch.testing.assert_close(up.weight.grad, -dr)
    top = dbn.top
    with torch.no_grad():  # CD-k on the top RBM, the wake h2 as data
        pos, negh = torch.sigmoid(top.hidden_logits(wake[-1])), torch.sigmoid(top.hidden_logits(neg))
        dW = (wake[-1].t() @ pos - neg.t() @ negh) / B
    torch.testing.assert_close(top.W.grad, -dW)
    torch.testing.assert_close(top.b.grad, -(wake[-1] - neg).mean(0))


def test_fit_up_down_trains_evaluates_and_sets_the_prior(one_thread):
    gen = torch.Generator().manual_seed(0)
    proto = (torch.rand(3, 5, generator=gen) < 0.5).float()
    data = proto[torch.randint(0, 3, (60,), generator=gen)]
    dbn = _dbn()
    before = dbn.generative[0].weight.clone()
    hist = fit(dbn, data, method="up_down", epochs=2, k=2, lr=0.05, evaluate="exact", n_samples=20, **QUIET)
    assert isinstance(hist, UpDownHistory) and hist.epoch == [1, 2] and len(hist.bound) == 2
    assert all(b <= e for b, e in zip(hist.bound, hist.log_likelihood))
    assert not torch.equal(dbn.generative[0].weight, before)
    assert dbn.prior.log_z.log_z == pytest.approx(hist.log_z[-1])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(lr=0.0), ValueError, "lr"),
    (dict(k=0), ValueError, "k"),
    (dict(evaluate="importance"), ValueError, "evaluate"),
    (dict(callbacks=[3]), TypeError, "callbacks"),
])
def test_bad_arguments(kwargs, error, match):
    dbn = _dbn()
    before = {k: v.clone() for k, v in dbn.state_dict().items()}
    with pytest.raises(error, match=match):
        fit(dbn, torch.zeros(4, 5), method="up_down", epochs=1, **QUIET, **kwargs)
    assert all(torch.equal(before[k], v) for k, v in dbn.state_dict().items())


def test_fit_keeps_the_ten_sweeps_of_up_down_unless_told(one_thread):
    """fit(dbn, method="up_down") without k runs fit_up_down's default k = 10, bit for bit."""
    from inference.dbn import fit_up_down

    data = (torch.rand(20, 5, generator=torch.Generator().manual_seed(5)) < 0.5).float()
    a, b, c = _dbn(), _dbn(), _dbn()
    fit(a, data, method="up_down", epochs=1, **QUIET)
    fit_up_down(b, data, epochs=1, k=10, **QUIET)
    fit(c, data, method="up_down", epochs=1, k=1, **QUIET)
    assert torch.equal(a.top.W, b.top.W) and torch.equal(a.recognition[0].weight, b.recognition[0].weight)
    assert not torch.equal(a.top.W, c.top.W)  # the top RBM's negative phase runs k sweeps
