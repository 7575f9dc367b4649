"""Discriminative fine-tuning of a DBN: the MLP it initialises, its gradients, the training loop."""

import pytest
import torch
import torch.nn.functional as F

from inference import DBNClassifier, DiscriminativeHistory, discriminative_finetune
from models import DBN
from tests.oracles import random_rbm

QUIET = dict(progress=False)


def _dbn(dtype=torch.float32):
    dbn = DBN([5, 4, 3, 2], weight_std=1.0, seed=0)
    dbn.top.load_state_dict(random_rbm(3, 2, seed=1, dtype=torch.float32).state_dict())
    with torch.no_grad():  # untie the recognition weights, so using the generative ones shows
        for up in dbn.recognition:
            up.weight.add_(torch.randn(up.weight.shape, generator=torch.Generator().manual_seed(2)))
            up.bias.normal_(generator=torch.Generator().manual_seed(3))
    return dbn.to(dtype)


def _labelled(n=60, seed=0):
    gen = torch.Generator().manual_seed(seed)
    proto = torch.tensor([[1, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 1, 1]], dtype=torch.float32)
    y = torch.randint(0, 3, (n,), generator=gen)
    x = proto[y]
    return torch.where(torch.rand(x.shape, generator=gen) < 0.1, 1 - x, x), y


def test_the_hidden_layers_are_the_up_pass_probabilities():
    dbn = _dbn()
    before = {k: v.clone() for k, v in dbn.state_dict().items()}
    x = torch.rand(7, 5, generator=torch.Generator().manual_seed(4))
    clf = DBNClassifier.from_dbn(dbn, 4, seed=5)
    hidden = clf.hidden(x)
    up = dbn.up_pass(x)  # h1, h2 through the recognition weights
    assert len(hidden) == 3 and [h.shape[1] for h in hidden] == [4, 3, 2]
    for mine, theirs in zip(hidden, up):
        assert torch.equal(mine, theirs)
    torch.testing.assert_close(hidden[-1], torch.sigmoid(dbn.top.hidden_logits(up[-1])), rtol=0, atol=1e-6)
    random = DBNClassifier(dbn.sizes, 4, seed=5)  # the same output layer, random hidden layers
    assert torch.equal(clf.output.weight, random.output.weight) and torch.equal(clf.output.bias, random.output.bias)
    assert not torch.equal(clf.hidden_layers[0].weight, random.hidden_layers[0].weight)
    p = clf.predict_proba(x)
    torch.testing.assert_close(p, torch.softmax(clf.output(hidden[-1]), -1))
    torch.testing.assert_close(p.sum(-1), torch.ones(7))
    assert torch.equal(clf.predict(x), p.argmax(-1))
    assert all(torch.equal(before[k], v) for k, v in dbn.state_dict().items())


def test_the_gradient_is_backpropagation_and_matches_finite_differences():
    clf = DBNClassifier.from_dbn(_dbn(torch.float64), 3, seed=0)
    x = torch.rand(6, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    y = torch.tensor([0, 2, 1, 1, 0, 2])
    clf.loss(x, y).backward()
    with torch.no_grad():  # backpropagation by hand: δ_out = p − onehot(y), δ_l = (Uᵀδ) ⊙ h(1 − h)
        hs = [x, *clf.hidden(x)]
        delta = (torch.softmax(clf.output(hs[-1]), -1) - F.one_hot(y, 3)) / x.shape[0]
        torch.testing.assert_close(clf.output.weight.grad, delta.t() @ hs[-1])
        torch.testing.assert_close(clf.output.bias.grad, delta.sum(0))
        weight = clf.output.weight
        for l in range(len(clf.hidden_layers), 0, -1):
            delta = (delta @ weight) * hs[l] * (1 - hs[l])
            layer = clf.hidden_layers[l - 1]
            torch.testing.assert_close(layer.weight.grad, delta.t() @ hs[l - 1])
            torch.testing.assert_close(layer.bias.grad, delta.sum(0))
            weight = layer.weight
    params = tuple(p.detach().clone().requires_grad_() for p in clf.parameters())
    names = [n for n, _ in clf.named_parameters()]

    def loss(*values):
        return torch.func.functional_call(clf, dict(zip(names, values)), (x,)).log_softmax(-1)[range(6), y].mean()

    assert torch.autograd.gradcheck(loss, params, eps=1e-6, atol=1e-7)


def test_training_lowers_the_cross_entropy_and_a_seed_reproduces_it(one_thread):
    x, y = _labelled()
    dbn = DBN([5, 8, 6], weight_std=1.0, seed=0)
    start = DBNClassifier.from_dbn(dbn, 3, seed=0).loss(x, y).item()  # ≈ log 3
    run = dict(epochs=20, lr=0.2, seed=0, eval_data=x[:20], eval_labels=y[:20], **QUIET)
    clf, hist = discriminative_finetune(dbn, x, y, **run)
    assert isinstance(hist, DiscriminativeHistory) and hist.epoch == list(range(1, 21))
    assert clf.loss(x, y).item() < start / 2 and hist.loss[-1] < hist.loss[0]
    assert clf.score(x, y) > 0.85 and hist.eval_accuracy[-1] == pytest.approx(clf.score(x[:20], y[:20]))
    again, hist2 = discriminative_finetune(dbn, x, y, **run)
    assert hist2.loss == hist.loss
    assert all(torch.equal(a, b) for a, b in zip(clf.state_dict().values(), again.state_dict().values()))
    other, _ = discriminative_finetune(dbn, x, y, epochs=1, seed=1, **QUIET)
    assert not torch.equal(other.output.weight, clf.output.weight)


def test_a_random_classifier_is_trained_in_place_and_callbacks_stop():
    x, y = _labelled(40)
    clf = DBNClassifier([5, 4, 3, 2], 3, seed=0)
    before = clf.output.weight.clone()
    out, hist = discriminative_finetune(clf, x, y, epochs=5, callbacks=lambda e, h, m: e == 2, **QUIET)
    assert out is clf and hist.epoch == [1, 2] and hist.eval_accuracy == [None, None]
    assert not torch.equal(clf.output.weight, before)
