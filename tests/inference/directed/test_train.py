"""inference.fit on directed models: every method trains, checkpoints resume exactly, checks."""

import doctest

import pytest
import torch

import inference.directed.train
from inference import DirectedHistory, fit, importance_log_likelihood, load_model
from inference.checkpoint import save_model
from models import VAE, SigmoidBeliefNet


def _data(n=120, seed=0):
    truth = SigmoidBeliefNet([8, 3], weight_std=2.0, seed=1)
    return truth.sample(n, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("make, method", [
    (lambda: SigmoidBeliefNet([8, 3], seed=0), "elbo"),
    (lambda: SigmoidBeliefNet([8, 3], seed=0), "nvil"),
    (lambda: SigmoidBeliefNet([8, 3], seed=0), "rws"),
    (lambda: SigmoidBeliefNet([8, 3], seed=0), "wake_sleep"),
    (lambda: VAE(8, 16, 2, seed=0), "elbo"),
    (lambda: VAE(8, 16, 2, seed=0), "iwae"),
])
def test_every_method_raises_the_bound(make, method, one_thread):
    """From an untrained net (ELBO ≈ −8 log 2 = −5.5 for the SBN) the ELBO rises by far
    more than its epoch-to-epoch noise (about 0.05 nats here) within 4 epochs."""
    data = _data(400)
    model = make()
    start = importance_log_likelihood(model, data, n_samples=1).elbo
    hist = fit(model, data, method=method, epochs=4, batch_size=20, lr=0.03, progress=False,
               evaluate="importance", eval_every=4, eval_samples=50)
    assert isinstance(hist, DirectedHistory) and hist.epoch == [1, 2, 3, 4]
    assert hist.elbo[-1] > start + 0.5, (start, hist.elbo)
    assert hist.log_likelihood[:-1] == [None] * 3 and hist.log_likelihood[-1] > hist.elbo[-1] - 0.3
    assert all(s > 0 for s in hist.seconds)


def test_default_methods():
    data = _data(40)
    assert fit(SigmoidBeliefNet([8, 2], seed=0), data, epochs=1, progress=False, monitor=0) is not None
    assert SigmoidBeliefNet.default_method == "rws" and VAE.default_method == "elbo"


def test_resumed_run_equals_uninterrupted_run(tmp_path, one_thread):
    data = _data()
    whole = SigmoidBeliefNet([8, 3], seed=0)
    h_whole = fit(whole, data, method="rws", epochs=4, batch_size=30, lr=0.02, progress=False,
                  checkpoint=tmp_path / "a.pt")
    part = SigmoidBeliefNet([8, 3], seed=0)
    fit(part, data, method="rws", epochs=2, batch_size=30, lr=0.02, progress=False, checkpoint=tmp_path / "b.pt")
    again = SigmoidBeliefNet([8, 3], seed=0)
    h_again = fit(again, data, method="rws", epochs=4, batch_size=30, lr=0.02, progress=False,
                  checkpoint=tmp_path / "b.pt", resume=True)
    for key, value in whole.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key
    assert h_again.objective == h_whole.objective and h_again.elbo == h_whole.elbo
    loaded = load_model(tmp_path / "a.pt")
    assert isinstance(loaded, SigmoidBeliefNet) and loaded.config() == whole.config()
    for key, value in whole.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key


def test_nvil_resumes_with_its_baseline(tmp_path, one_thread):
    data = _data()
    whole, part = SigmoidBeliefNet([8, 3], seed=0), SigmoidBeliefNet([8, 3], seed=0)
    fit(whole, data, method="nvil", epochs=3, batch_size=30, progress=False)
    fit(part, data, method="nvil", epochs=1, batch_size=30, progress=False, checkpoint=tmp_path / "n.pt")
    again = SigmoidBeliefNet([8, 3], seed=0)
    fit(again, data, method="nvil", epochs=3, batch_size=30, progress=False, checkpoint=tmp_path / "n.pt",
        resume=True)
    for key, value in whole.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key


def test_save_and_load_a_vae(tmp_path):
    vae = VAE(8, 16, 2, "gaussian", seed=0)
    save_model(tmp_path / "vae.pt", vae)
    back = load_model(tmp_path / "vae.pt")
    assert back.config() == vae.config()
    assert all(torch.equal(v, back.state_dict()[k]) for k, v in vae.state_dict().items())


def test_resume_refuses_a_different_run(tmp_path):
    data = _data(40)
    fit(SigmoidBeliefNet([8, 3], seed=0), data, method="rws", epochs=1, progress=False, checkpoint=tmp_path / "c.pt")
    with pytest.raises(ValueError, match=r"the run differs \(lr: checkpoint 0.001 vs now 0.01\)"):
        fit(SigmoidBeliefNet([8, 3], seed=0), data, method="rws", epochs=2, lr=0.01, progress=False,
            checkpoint=tmp_path / "c.pt", resume=True)
    with pytest.raises(ValueError, match=r"does not fit this SigmoidBeliefNet: size mismatch"):
        fit(SigmoidBeliefNet([8, 2], seed=0), data, method="rws", epochs=2, progress=False,
            checkpoint=tmp_path / "c.pt", resume=True)


def test_callbacks_stop_training():
    data = _data(40)
    hist = fit(SigmoidBeliefNet([8, 2], seed=0), data, epochs=5, progress=False, monitor=0,
               callbacks=lambda epoch, history, model: epoch == 2)
    assert len(hist) == 2 and hist.elbo == [None, None]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"method": "cd"}, ValueError, r"method must be one of \['elbo', 'nvil', 'iwae', 'rws', 'wake_sleep'\]"),
    ({"method": "iwae"}, ValueError, "not reparameterisable"),
    ({"k": 3}, TypeError, r"k is not an option of the sbn family .*families that take it: k: rbm, grbm"),
    ({"n_particles": 0}, ValueError, "n_particles must be an int >= 1"),
    ({"lr": 0.0}, ValueError, "lr must be finite and lie in"),
    ({"resume": True}, ValueError, "resume needs checkpoint"),
    ({"evaluate": "ais"}, ValueError, r"evaluate must be one of \['importance'\]"),
    ({"momentum": 0.9}, TypeError, r"momentum is not an option of the sbn family .*momentum: rbm"),
])
def test_bad_arguments_are_refused_before_training(kwargs, error, match):
    net = SigmoidBeliefNet([8, 2], seed=0)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(error, match=match):
        fit(net, _data(40), epochs=1, progress=False, **kwargs)
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())


def test_bad_data_is_refused():
    with pytest.raises(ValueError, match="data must be binary"):
        fit(SigmoidBeliefNet([8, 2]), torch.full((4, 8), 0.5), progress=False)


def test_docstring_examples():
    result = doctest.testmod(inference.directed.train, extraglobs={"torch": torch})
    assert result.attempted > 0 and result.failed == 0
