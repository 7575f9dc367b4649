"""Training autoencoders: the loss per batch, walk-back, the running sparsity estimate,
resume, stacks (greedy on the codes, end to end, a classifier from the encoders)."""

import pytest
import torch

import inference
from inference.autoencoders import batch_loss, fit_autoencoder, fit_stacked, stacked_classifier
from models import Autoencoder, StackedAutoencoder
from pgm import load_digits

pytestmark = pytest.mark.usefixtures("one_thread")
QUIET = {"progress": False}


@pytest.fixture(scope="module")
def digits():
    return load_digits(split="train")[:300]


def test_batch_loss_is_the_reconstruction_loss_plus_the_penalty():
    model = Autoencoder(6, 3, contraction=0.3, l1=0.1, seed=0).double()
    x = torch.rand(8, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    loss, running = batch_loss(model, x, torch.Generator().manual_seed(0))
    h = model.encode(x)
    torch.testing.assert_close(loss, -model.log_prob(x, h).mean() + model.penalty(x, h))
    assert running is None


def test_the_running_sparsity_estimate_blends_batches_with_the_batch_s_gradient():
    model = Autoencoder(6, 3, sparsity=0.1, sparsity_weight=2.0, seed=0).double()
    x = torch.rand(8, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    _, first = batch_loss(model, x, gen)
    torch.testing.assert_close(first, model.encode(x).mean(0).detach())
    r = torch.tensor([0.2, 0.05, 0.5], dtype=torch.float64)
    loss, second = batch_loss(model, x, gen, running=r, sparsity_decay=0.75)
    batch = model.encode(x).mean(0)
    torch.testing.assert_close(second, 0.75 * r + 0.25 * batch.detach())
    model.zero_grad()
    loss.backward()
    got = model.b.grad.clone()
    model.zero_grad()  # the same value, the gradient of the batch mean at full weight
    h = model.encode(x)
    rho = h.mean(0) + (second - h.mean(0)).detach()
    (-model.log_prob(x, h).mean() + 2.0 * model.sparsity_penalty(rho)).backward()
    torch.testing.assert_close(got, model.b.grad)


def test_walk_back_averages_the_chain_s_corrupted_points():
    model = Autoencoder(6, 3, noise="masking", noise_level=0.3, seed=0).double()
    x = torch.bernoulli(torch.full((8, 6), 0.5, dtype=torch.float64), generator=torch.Generator().manual_seed(1))
    loss, _ = batch_loss(model, x, torch.Generator().manual_seed(0), walkback=3)
    gen = torch.Generator().manual_seed(0)  # the same draws by hand
    corrupt, terms = model.corruption, []
    h = model.encode(corrupt.sample(x, gen))
    terms.append(-model.log_prob(x, h).mean())
    for _ in range(2):
        xt = torch.bernoulli(torch.sigmoid(model.decoder_output(h)), generator=gen)
        h = model.encode(corrupt.sample(xt, gen))
        terms.append(-model.log_prob(x, h).mean())
    torch.testing.assert_close(loss, sum(terms) / 3)


def test_every_variant_trains_through_fit(digits):
    for kw, method in (({}, None), ({"noise": "salt_pepper", "noise_level": 0.2}, "walkback"),
                       ({"sparsity": 0.1, "sparsity_weight": 1.0}, None), ({"contraction": 0.1}, None)):
        model = Autoencoder(64, 16, seed=0, **kw)
        hist = inference.fit(model, digits, method=method, epochs=4, walkback=2, **QUIET)
        assert hist.recon_error[-1] < hist.recon_error[0], kw
        assert (hist.denoise_error[-1] is None) == ("noise" not in kw)


def test_resumed_training_is_bit_identical(digits, tmp_path):
    def model():
        return Autoencoder(64, 12, noise="masking", noise_level=0.2, sparsity=0.1, sparsity_weight=1.0, seed=0)

    whole = model()
    h_whole = fit_autoencoder(whole, digits, epochs=3, **QUIET)
    fit_autoencoder(model(), digits, epochs=1, checkpoint=tmp_path / "a.pt", **QUIET)
    resumed = model()
    h = fit_autoencoder(resumed, digits, epochs=3, checkpoint=tmp_path / "a.pt", resume=True, **QUIET)
    assert h.loss == h_whole.loss
    for key, value in whole.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_greedy_trains_each_layer_on_the_codes_below(digits):
    stack = StackedAutoencoder([64, 16, 8], seed=0)
    fit_stacked(stack, digits, epochs=2, seed=3, **QUIET)
    by_hand = StackedAutoencoder([64, 16, 8], seed=0)
    fit_autoencoder(by_hand.layers[0], digits, epochs=2, seed=3, **QUIET)
    with torch.no_grad():
        codes = by_hand.layers[0].encode(digits)
    fit_autoencoder(by_hand.layers[1], codes, epochs=2, seed=4, **QUIET)
    for key, value in stack.state_dict().items():
        assert torch.equal(value, by_hand.state_dict()[key]), key


def test_fine_tuning_lowers_the_deep_reconstruction_loss_and_the_classifier_is_the_encoder(digits):
    stack = StackedAutoencoder([64, 16, 8], seed=0)
    fit_stacked(stack, digits, epochs=2, **QUIET)
    hist = fit_stacked(stack, digits, method="finetune", epochs=5, **QUIET).finetune
    assert hist.loss[-1] < hist.loss[0]
    clf = stacked_classifier(stack, 10, seed=0)
    for got, want in zip(clf.hidden(digits), stack.codes(digits)):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("monitor", [0, 7])
def test_fine_tuning_monitors_the_rows_asked_for(digits, monitor):
    """``monitor`` rows of the fixed subset (none for 0), scored after each epoch."""
    from inference.training import monitor_subset

    stack = StackedAutoencoder([64, 16, 8], seed=0)
    hist = fit_stacked(stack, digits, method="finetune", epochs=2, monitor=monitor, **QUIET).finetune
    if monitor == 0:
        assert hist.recon_error == [None, None]
        return
    x = monitor_subset(digits, monitor)
    assert x.shape[0] == 7
    with torch.no_grad():
        want = float((stack.decode(stack.encode(x)) - x).double().square().sum(-1).mean())
    assert hist.recon_error[-1] == pytest.approx(want, rel=1e-12)
    with pytest.raises(ValueError, match="monitor"):
        fit_stacked(stack, digits, method="finetune", epochs=1, monitor=-1, **QUIET)


@pytest.mark.parametrize("call, error, match", [
    (lambda m, x: fit_autoencoder(m, x, method="walkback", epochs=1), ValueError, "needs a corruption"),
    (lambda m, x: fit_autoencoder(m, x[:, :10], epochs=1), ValueError, "64 columns"),
    (lambda m, x: fit_autoencoder(m, x * 3, epochs=1), ValueError, r"\[0, 1\]"),
    (lambda m, x: fit_autoencoder(m, x, sparsity_decay=1.0, epochs=1), ValueError, "sparsity_decay"),
    (lambda m, x: fit_autoencoder(m, x, evaluate="exact", epochs=1), ValueError, "evaluate"),
    (lambda m, x: fit_autoencoder(m, x, resume=True, epochs=1), ValueError, "resume needs checkpoint"),
    (lambda m, x: inference.fit(m, x, k=1, epochs=1), TypeError, "k is not an option of the ae family"),
    (lambda m, x: fit_stacked(m, x), TypeError, "StackedAutoencoder"),
])
def test_bad_calls_are_refused_before_training(digits, call, error, match):
    model = Autoencoder(64, 8, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(error, match=match):
        call(model, digits)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
