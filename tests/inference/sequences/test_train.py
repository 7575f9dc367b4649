"""Training sequence RBMs: the surrogate's gradient is the CD estimate, carried through the
context by autograd; resumed runs are bit-identical; bad input is refused by name."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import inference
from inference.sequences import fit_sequences, next_frame_prediction, sampling
from inference.sequences.train import cd_negatives, free_energy_gap
from models.energy import RNNRBM, ConditionalRBM
from tests.models.test_temporal_rbm import random_temporal

QUIET = {"progress": False}


def _sequences(n, T, V, seed, dtype=torch.float64):
    return torch.rand(n, T, V, generator=torch.Generator().manual_seed(seed), dtype=dtype).lt(0.5).to(dtype)


@pytest.mark.parametrize("kind", ["condrbm", "rnnrbm"])
def test_surrogate_gradient_is_the_cd_estimate_propagated_through_the_context(kind):
    """∂L/∂b_t = −(v − v*)/R, ∂L/∂c_t = −(σ(c_t + vW) − σ(c_t + v*W))/R, ∂L/∂W the CD
    statistic, and the gradient of every context parameter is the vector-Jacobian product
    of (b_t, c_t) with those bias gradients (back-propagation through time for the RNN)."""
    model = random_temporal(kind, seed=2)
    x = _sequences(3, 5, model.n_visible, 3)
    frames, b_t, c_t = model.frame_biases(x)
    V, H = model.n_visible, model.n_hidden
    v, b, c = frames.reshape(-1, V), b_t.reshape(-1, V), c_t.reshape(-1, H)
    v_star, _ = cd_negatives(model.W, v, b.detach(), c.detach(), 2, torch.Generator().manual_seed(0))
    R = v.shape[0]
    loss = free_energy_gap(model.W, v, v_star, b, c)
    params = dict(model.named_parameters())
    grads = dict(zip(params, torch.autograd.grad(loss, list(params.values()) + [], retain_graph=True,
                                                 allow_unused=True)))
    g_b, g_c = torch.autograd.grad(loss, [b_t, c_t], retain_graph=True)
    p_data, p_model = torch.sigmoid(c.detach() + v @ model.W.detach()), torch.sigmoid(c.detach() + v_star @ model.W.detach())
    torch.testing.assert_close(g_b.reshape(-1, V), -(v - v_star) / R)
    torch.testing.assert_close(g_c.reshape(-1, H), -(p_data - p_model) / R)
    torch.testing.assert_close(grads["W"], -(v.t() @ p_data - v_star.t() @ p_model) / R)
    context = [n for n in params if n != "W"]
    expected = torch.autograd.grad((b_t, c_t), [params[n] for n in context], grad_outputs=(
        (-(v - v_star) / R).reshape(b_t.shape), (-(p_data - p_model) / R).reshape(c_t.shape)), allow_unused=True)
    for name, want in zip(context, expected):
        if want is not None:
            torch.testing.assert_close(grads[name], want, msg=name)
    recurrent = {"W_vu", "W_uu", "b_u", "u0"} if kind == "rnnrbm" else {"A", "B"}
    assert all(grads[n] is not None and float(grads[n].abs().sum()) > 0 for n in recurrent)


def test_training_raises_the_likelihood_and_resumes_bit_identically(tmp_path):
    x = _sequences(12, 6, 6, 4, torch.float32)
    x[:, 1::2] = 1 - x[:, 0:-1:2]  # odd frames are the negatives of the frames before: a learnable dependence
    for make in (lambda: ConditionalRBM.from_data(x, 4, order=1, seed=0), lambda: RNNRBM.from_data(x, 4, 3, seed=0)):
        whole = make()
        history = fit_sequences(whole, x, epochs=4, lr=0.03, batch_size=4, **QUIET)
        assert history.nll[-1] < history.nll[0] - 0.1
        resumed = make()
        path = tmp_path / f"{type(resumed).__name__}.pt"
        fit_sequences(resumed, x, epochs=2, lr=0.03, batch_size=4, checkpoint=path, **QUIET)
        again = fit_sequences(resumed, x, epochs=4, lr=0.03, batch_size=4, checkpoint=path, resume=True, **QUIET)
        for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
            assert torch.equal(a, b), name
        assert again.loss == history.loss and again.nll == history.nll


def test_fit_dispatches_through_the_family_with_its_options():
    x = _sequences(4, 4, 4, 5, torch.float32)
    model = RNNRBM(4, 3, 2, seed=0)
    history = inference.fit(model, x, epochs=1, k=2, evaluate="exact", progress=False)
    assert len(history.eval_nll) == 1 and history.eval_nll[0] is not None


def test_generation_and_prediction_shapes_seeds_and_no_mutation():
    model = random_temporal("condrbm", seed=3).float()
    x = _sequences(3, 6, 4, 6, torch.float32)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    a = sampling.generate(model, x[:, :2], 6, torch.Generator().manual_seed(1), sweeps=3)
    b = sampling.generate(model, x[:, :2], 6, torch.Generator().manual_seed(1), sweeps=3)
    assert a.frames.shape == (3, 6, 4) and torch.equal(a.frames, b.frames) and torch.equal(a.frames[:, :2], x[:, :2])
    assert bool(((a.frames == 0) | (a.frames == 1)).all()) and bool(((a.means >= 0) & (a.means <= 1)).all())
    state = sampling.init(model, x[:, :2])
    nxt = sampling.step(model, state, torch.Generator().manual_seed(2), sweeps=2)
    assert state.frames.shape[1] == 2 and nxt.frames.shape[1] == 3
    pred = next_frame_prediction(model, x, sweeps=4, burn_in=2)
    assert pred.predictions.shape == (3, 4, 4) and pred.per_frame.shape == (3, 4)
    assert abs(pred.mse - float(((pred.predictions - x[:, 2:].double()) ** 2).mean())) < 1e-12
    rnn = RNNRBM(4, 3, 2, seed=0)
    assert sampling.generate(rnn, x[:, :0], 3, torch.Generator().manual_seed(0), sweeps=1).frames.shape == (3, 3, 4)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
