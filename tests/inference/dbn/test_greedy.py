"""Greedy layer-wise training of a DBN through fit(dbn, method="greedy")."""

import pytest
import torch

from inference import GreedyHistory, exact_log_partition, fit, log_likelihood
from models import DBN, RBM

QUIET = dict(monitor=0, progress=False)


@pytest.fixture
def data():
    gen = torch.Generator().manual_seed(0)
    proto = (torch.rand(4, 8, generator=gen) < 0.5).float()
    rows = proto[torch.randint(0, 4, (200,), generator=gen)]
    flip = torch.rand(rows.shape, generator=gen) < 0.1
    return torch.where(flip, 1 - rows, rows)


def test_each_layer_is_the_existing_fit_on_the_layer_below(data, one_thread):
    dbn = DBN([8, 6, 4], seed=0)
    first = dbn.layer_rbm(1)  # the initial layer-1 RBM, trained directly for comparison
    first.init_visible_bias(data)
    hist = fit(dbn, data, method="greedy", epochs=3, batch_size=20, seed=0, **QUIET)
    fit(first, data, epochs=3, batch_size=20, seed=0, **QUIET)
    assert isinstance(hist, GreedyHistory) and len(hist.layers) == 2 and hist.bounds == []
    assert torch.equal(dbn.generative[0].weight, first.W) and torch.equal(dbn.recognition[0].weight, first.W.t())
    assert torch.equal(dbn.generative[0].bias, first.b) and torch.equal(dbn.recognition[0].bias, first.c)
    up = torch.sigmoid(first.hidden_logits(data)).detach()  # propagate="mean": layer 2 sees these
    second = RBM(6, 4, seed=dbn.layer_rbm(2).seed)
    second.load_state_dict(DBN([8, 6, 4], seed=0).top.state_dict())
    second.init_visible_bias(up)
    fit(second, up, epochs=3, batch_size=20, seed=1, **QUIET)
    for name in ("W", "b", "c"):
        torch.testing.assert_close(getattr(dbn.top, name), getattr(second, name))
    assert dbn.prior is not None and dbn.prior.log_z == exact_log_partition(dbn.top)


def test_the_bound_after_each_layer(data, one_thread):
    dbn = DBN([8, 6, 4], seed=0)
    test = data[:50]
    hist = fit(dbn, data, method="greedy", epochs=5, evaluate="exact", eval_data=test, n_samples=200, **QUIET)
    assert [row["layer"] for row in hist.bounds] == [1, 2]
    first = dbn.layer_rbm(1)
    ll = log_likelihood(first, test, exact_log_partition(first))
    assert hist.bounds[0]["estimate"] == pytest.approx(ll.mean) and hist.bounds[0]["bound"] == pytest.approx(ll.mean)
    row = hist.bounds[1]
    assert row["bound"] <= row["estimate"] < 0 and row["bound_lower"] == row["bound"]
    assert row["log_z"] == pytest.approx(dbn.prior.log_z.log_z)


def test_sampled_propagation_trains_the_next_layer_on_binary_data(data, one_thread):
    seen = []

    def record(epoch, history, model):
        seen.append(model)

    dbn = DBN([8, 6, 4], seed=0)
    fit(dbn, data, method="greedy", epochs=1, propagate="sample", callbacks=record, **QUIET)
    assert seen[-1] is dbn.top
    means = DBN([8, 6, 4], seed=0)
    fit(means, data, method="greedy", epochs=1, **QUIET)
    assert torch.equal(dbn.generative[0].weight, means.generative[0].weight)
    assert not torch.equal(dbn.top.W, means.top.W)


def test_checkpoints_per_layer_and_resume(data, tmp_path, one_thread):
    dbn = DBN([8, 6, 4], seed=0)
    fit(dbn, data, method="greedy", epochs=2, checkpoint=tmp_path / "run.pt", **QUIET)
    assert (tmp_path / "run.layer1.pt").is_file() and (tmp_path / "run.layer2.pt").is_file()
    again = DBN([8, 6, 4], seed=0)
    fit(again, data, method="greedy", epochs=2, checkpoint=tmp_path / "run.pt", resume=True, **QUIET)
    for a, b in zip(dbn.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)


def test_a_run_stopped_between_two_layers_resumes(data, tmp_path, one_thread):
    """Killed after layer 1's checkpoint was complete, before layer 2 wrote one: resuming
    keeps layer 1 (not trained again) and trains layer 2 afresh, ending as the
    uninterrupted run; ``resume=True`` still needs the first layer's file."""
    dbn = DBN([8, 6, 4], seed=0)
    fit(dbn, data, method="greedy", epochs=2, checkpoint=tmp_path / "run.pt", **QUIET)
    (tmp_path / "run.layer2.pt").unlink()
    layer1 = (tmp_path / "run.layer1.pt").read_bytes()
    again = DBN([8, 6, 4], seed=0)
    fit(again, data, method="greedy", epochs=2, checkpoint=tmp_path / "run.pt", resume=True, **QUIET)
    assert (tmp_path / "run.layer1.pt").read_bytes() == layer1 and (tmp_path / "run.layer2.pt").is_file()
    for a, b in zip(dbn.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(FileNotFoundError, match="layer1"):
        fit(DBN([8, 6, 4], seed=0), data, method="greedy", epochs=2, checkpoint=tmp_path / "none.pt", resume=True,
            **QUIET)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(method="cd"), ValueError, "greedy"),
    (dict(propagate="noise"), ValueError, "propagate"),
    (dict(layer_method="adam"), ValueError, "layer_method"),
    (dict(evaluate="importance"), ValueError, "evaluate"),
    (dict(evaluate="exact", eval_data=torch.full((2, 8), 0.5)), ValueError, "eval_data"),
    (dict(resume=True), ValueError, "resume"),
])
def test_bad_arguments(data, kwargs, error, match):
    dbn = DBN([8, 6, 4], seed=0)
    before = {k: v.clone() for k, v in dbn.state_dict().items()}
    with pytest.raises(error, match=match):
        fit(dbn, data, epochs=1, **QUIET, **kwargs)
    assert all(torch.equal(before[k], v) for k, v in dbn.state_dict().items())


def test_exact_evaluation_of_a_layer_too_large_is_refused_before_training(data):
    dbn = DBN([8, 30, 30], seed=0)
    before = dbn.top.W.clone()
    with pytest.raises(ValueError, match="layer 2"):
        fit(dbn, data, epochs=1, evaluate="exact", **QUIET)
    assert torch.equal(dbn.top.W, before)
