"""fit_autoregressive: the exact NLL per epoch, the objective, resume, the guard, dispatch."""

import math

import pytest
import torch

import inference
from inference.autoregressive import exact_nll, fit_autoregressive
from models.autoregressive import FVSBN, NADE
from pgm import load_digits

pytestmark = pytest.mark.usefixtures("one_thread")
QUIET = {"progress": False}


@pytest.fixture(scope="module")
def digits():
    return load_digits(split="train")[:300]


def test_the_history_records_the_exact_nll(digits):
    model = NADE(64, 16, seed=0)
    test = load_digits(split="test")[:100]
    h = fit_autoregressive(model, digits, epochs=3, evaluate="exact", eval_data=test, monitor=50, **QUIET)
    assert h.epoch == [1, 2, 3] and h.nll[-1] < h.nll[0]
    with torch.no_grad():
        assert h.eval_nll[-1] == pytest.approx(float(-model.log_prob(test).double().mean()), abs=1e-9)
    assert h.nll[-1] == pytest.approx(exact_nll(model, digits[:: 300 // 50][:50]), abs=1e-9)


def test_one_epoch_is_minibatch_maximum_likelihood(digits):
    """The epoch's loss is the mean of −log p(x) over the minibatches, weighted by size."""
    model = FVSBN(64, seed=0)
    reference = FVSBN(64, seed=0)
    opt = torch.optim.Adam(reference.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    perm = torch.randperm(digits.shape[0], generator=gen)
    total = 0.0
    for batch in perm.split(32):
        opt.zero_grad()
        loss = -reference.log_prob(digits[batch]).mean()
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(batch)
    h = fit_autoregressive(model, digits, epochs=1, batch_size=32, monitor=0, **QUIET)
    assert h.loss[0] == pytest.approx(total / digits.shape[0], rel=1e-6)
    for key, value in reference.state_dict().items():
        assert torch.allclose(value, model.state_dict()[key], atol=1e-6), key


def test_resumed_training_is_bit_identical(digits, tmp_path):
    whole = NADE(64, 8, seed=0)
    h_whole = fit_autoregressive(whole, digits, epochs=3, **QUIET)
    fit_autoregressive(NADE(64, 8, seed=0), digits, epochs=1, checkpoint=tmp_path / "a.pt", **QUIET)
    resumed = NADE(64, 8, seed=0)
    h = fit_autoregressive(resumed, digits, epochs=3, checkpoint=tmp_path / "a.pt", resume=True, **QUIET)
    assert h.loss == h_whole.loss and h.nll == h_whole.nll
    for key, value in whole.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_a_diverged_epoch_is_put_back(digits):
    model = NADE(64, 8, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(FloatingPointError, match="epoch 1"):
        fit_autoregressive(model, digits, epochs=2, lr=1e38, optimizer=torch.optim.SGD, **QUIET)
    for key, value in before.items():
        assert torch.equal(value, model.state_dict()[key]), key


def test_inference_fit_dispatches_to_the_family(digits):
    model = FVSBN(64, seed=0)
    h = inference.fit(model, digits, epochs=1, progress=False)
    assert math.isfinite(h.loss[0])
    with pytest.raises(TypeError, match="k is not an option of the fvsbn family"):
        inference.fit(model, digits, epochs=1, k=3, progress=False)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"method": "cd"}, ValueError, "method"),
    ({"epochs": 0}, ValueError, "epochs"),
    ({"lr": 0.0}, ValueError, "lr"),
    ({"evaluate": "ais"}, ValueError, "evaluate"),
    ({"optimizer": 3}, TypeError, "optimizer"),
    ({"callbacks": 3}, TypeError, "callbacks"),
    ({"checkpoint": "/proc/nope/x.pt"}, (ValueError, OSError), "checkpoint"),
])
def test_bad_calls_are_refused_before_training(digits, kwargs, error, match):
    model = NADE(64, 4, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(error, match=match):
        fit_autoregressive(model, digits, epochs=kwargs.pop("epochs", 1), **kwargs, **QUIET)
    for key, value in before.items():
        assert torch.equal(value, model.state_dict()[key]), key


def test_bad_data_is_refused_naming_it():
    with pytest.raises(ValueError, match="data"):
        fit_autoregressive(NADE(64, 4), torch.full((5, 64), 0.5), epochs=1, **QUIET)
    with pytest.raises(ValueError, match="data"):
        fit_autoregressive(NADE(64, 4), torch.ones(5, 63), epochs=1, **QUIET)
    with pytest.raises(TypeError, match="autoregressive model"):
        fit_autoregressive(torch.nn.Linear(3, 3), torch.ones(5, 3), epochs=1, **QUIET)
