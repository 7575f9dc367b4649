"""Generative stochastic networks: the chain's update by hand, walk-back through the
unrolled chain, training, resume, sampling, the command line."""

import pytest
import torch

import inference
from inference.autoencoders import fit_gsn, gsn_loss, sample_gsn
from inference.cli import main
from models import GSN
from pgm import load_digits

pytestmark = pytest.mark.usefixtures("one_thread")


def test_a_noiseless_step_updates_odd_then_even_layers():
    model = GSN([5, 4, 3], input_noise=0.0, hidden_noise=0.0, seed=0).double()
    with torch.no_grad():
        for b in model.biases:
            b.normal_(generator=torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 5, generator=g, dtype=torch.float64)
    h2 = torch.rand(2, 3, generator=g, dtype=torch.float64)
    W1, W2 = model.weights
    b0, b1, b2 = model.biases
    state, p = model.step([x, torch.zeros(2, 4, dtype=torch.float64), h2])
    h1 = torch.tanh(x @ W1.t() + b1 + h2 @ W2)  # odd layer from both neighbours
    torch.testing.assert_close(state[1], h1)
    torch.testing.assert_close(p, torch.sigmoid(h1 @ W1 + b0))
    torch.testing.assert_close(state[0], p)  # no corruption
    torch.testing.assert_close(state[2], torch.tanh(h1 @ W2.t() + b2))  # then the even layer from the new h1


def test_the_walkback_loss_averages_the_unrolled_chain_s_reconstructions():
    model = GSN([6, 5, 4], walkback=3, seed=0).double()
    x = torch.bernoulli(torch.full((4, 6), 0.5, dtype=torch.float64), generator=torch.Generator().manual_seed(0))
    loss = gsn_loss(model, x, torch.Generator().manual_seed(1))
    gen = torch.Generator().manual_seed(1)  # the same draws by hand
    state, terms = model.initial_state(model.corruption.sample(x, gen)), []
    for _ in range(3):
        state, p = model.step(state, gen)
        terms.append(-model.log_prob(x, p).mean())
    torch.testing.assert_close(loss, sum(terms) / 3)
    loss.backward()  # through the whole unrolled chain
    assert all(w.grad is not None and bool(w.grad.abs().sum() > 0) for w in model.weights)


def test_training_lowers_the_loss_and_resumes_bit_for_bit(tmp_path):
    x = load_digits(split="train")[:200]
    whole = GSN([64, 32, 32], seed=0)
    hist = inference.fit(whole, x, epochs=4, progress=False)
    assert hist.loss[-1] < hist.loss[0]
    fit_gsn(GSN([64, 32, 32], seed=0), x, epochs=2, checkpoint=tmp_path / "g.pt", progress=False)
    resumed = GSN([64, 32, 32], seed=0)
    h = fit_gsn(resumed, x, epochs=4, checkpoint=tmp_path / "g.pt", resume=True, progress=False)
    assert h.loss == hist.loss
    for key, value in whole.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    frames = sample_gsn(whole, 3, 10, torch.Generator().manual_seed(0), record_every=5)
    assert frames.shape == (2, 3, 64) and bool(((frames >= 0) & (frames <= 1)).all())


@pytest.mark.parametrize("kw, error, match", [
    ({"input_noise": 1.0}, ValueError, "noise_level"),
    ({"hidden_noise": -1.0}, ValueError, "hidden_noise"),
    ({"walkback": 0}, ValueError, "walkback"),
])
def test_bad_hyperparameters_are_refused(kw, error, match):
    with pytest.raises(error, match=match):
        GSN([6, 4], **kw)


def test_the_command_line(tmp_path, capsys):
    assert main(["fit", "gsn", "--sizes", "64,16,16", "--epochs", "1", "--no-progress", "--out",
                 str(tmp_path / "g")]) == 0
    assert main(["sample", str(tmp_path / "g" / "model.pt"), "--n", "2", "--steps", "3", "--out",
                 str(tmp_path / "s.pt")]) == 0
    assert main(["fit", "gsn", "--method", "cd", "--out", str(tmp_path / "o")]) == 2
    assert "--method cd does not apply to the gsn model" in capsys.readouterr().err
