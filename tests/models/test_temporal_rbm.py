"""The energy-model contract of the sequence RBMs (conditional RBM, RNN-RBM), whose context
group is always given and so does not fit the registry of ``test_energy_contract.py``
(it has no conditional and no Gibbs block): the same checks on ``v`` and ``h`` with the
context in the state — conditionals against energy differences, the Markov blanket,
free energies against enumeration over the hidden units, float64, config round trips."""

from __future__ import annotations

import pytest
import torch

from models.energy import RNNRBM, ConditionalRBM, EnergyModel, TemporalRBM
from models.energy.temporal_rbm import TemporalRBM as Base
from tests.oracles import all_binary_states

BATCH = 6


def random_temporal(kind: str, seed: int = 0, dtype=torch.float64):
    """A tiny sequence RBM with N(0, 1) parameters (non-zero biases and context weights)."""
    model = ConditionalRBM(4, 3, order=2, seed=seed) if kind == "condrbm" else RNNRBM(4, 3, 2, seed=seed)
    gen = torch.Generator().manual_seed(seed + 11)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    return model.to(dtype)


@pytest.fixture(params=["condrbm", "rnnrbm"])
def model(request) -> TemporalRBM:
    return random_temporal(request.param)


def random_state(model, seed=0, batch=BATCH):
    gen = torch.Generator().manual_seed(seed)
    ctx = model.graph[model.context_name]
    s = torch.rand(batch, ctx.n_units, generator=gen, dtype=model.dtype)
    return {"v": torch.rand(batch, model.n_visible, generator=gen, dtype=model.dtype).lt(0.5).to(model.dtype),
            "h": torch.rand(batch, model.n_hidden, generator=gen, dtype=model.dtype).lt(0.5).to(model.dtype),
            model.context_name: s.lt(0.5).to(model.dtype) if ctx.kind == "bernoulli" else 4 * s - 2}


def test_graph_has_the_context_as_an_observed_parent_of_both_layers(model):
    ctx = model.context_name
    assert isinstance(model, EnergyModel)
    assert set(model.graph.names) == {"v", "h", ctx} and model.graph[ctx].observed
    assert model.graph.parents("v") == {ctx} == model.graph.parents("h")
    assert model.graph.gibbs_blocks() == [["v"], ["h"]]
    assert model.graph.markov_blanket("h") == {"v", ctx}
    assert model.data_groups == ("v", ctx)


@pytest.mark.parametrize("beta", [1.0, 0.4, "per-chain"])
def test_conditional_log_ratios_equal_energy_differences(model, beta):
    state = random_state(model, 1)
    other = random_state(model, 2)
    b = torch.linspace(0, 1, BATCH, dtype=torch.float64) if beta == "per-chain" else torch.full((BATCH,), beta,
                                                                                                 dtype=torch.float64)
    for group in ("v", "h"):
        swapped = {**state, group: other[group]}
        dist = model.conditional(group, state, beta=b if beta == "per-chain" else beta)
        lhs = dist.log_prob(state[group]).sum(-1) - dist.log_prob(other[group]).sum(-1)
        rhs = -b * (model.energy(state) - model.energy(swapped))
        torch.testing.assert_close(lhs.detach(), rhs.detach(), rtol=1e-10, atol=1e-10)


def test_conditional_needs_only_the_markov_blanket_and_refuses_the_context(model):
    state = random_state(model)
    for group in ("v", "h"):
        partial = {k: state[k] for k in model.graph.markov_blanket(group)}
        torch.testing.assert_close(model.conditional(group, partial).probs, model.conditional(group, state).probs)
    with pytest.raises(ValueError, match="always given"):
        model.conditional(model.context_name, state)
    with pytest.raises(ValueError, match="'no_such_group'"):
        model.conditional("no_such_group", state)


@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_free_energies_sum_out_the_other_layer(model, beta):
    state = random_state(model, 3)
    ctx = model.context_name
    for kept, summed in (("v", "h"), ("h", "v")):
        states = all_binary_states(getattr(model, f"n_{'hidden' if summed == 'h' else 'visible'}"))
        S = states.shape[0]
        full = {kept: state[kept].repeat_interleave(S, 0), ctx: state[ctx].repeat_interleave(S, 0),
                summed: states.repeat(BATCH, 1)}
        expected = -torch.logsumexp((-beta * model.energy(full)).reshape(BATCH, S), 1)
        got = model.free_energy_given({kept: state[kept], ctx: state[ctx]}, beta)
        torch.testing.assert_close(got.detach(), expected.detach(), rtol=0, atol=1e-10)
    x = model.join_data(state)
    torch.testing.assert_close(model.free_energy(x, beta), model.free_energy_given({"v": state["v"], ctx: state[ctx]},
                                                                                   beta))
    torch.testing.assert_close(model.free_energy_given(state, beta), beta * model.energy(state))


def test_energy_is_differentiable_in_every_parameter(model):
    model.energy(random_state(model)).sum().backward()
    for name, p in model.named_parameters():
        if name in ("W_vu", "W_uu", "b_u", "u0"):  # the RNN acts through the context, not one frame's energy
            continue
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_float64_config_and_state_dict_round_trip(model):
    model32 = model.float()
    state = random_state(model32)
    e32 = model32.energy(state).detach()
    clone = type(model32)(**model32.config())
    assert clone.config() == model32.config() and clone.graph == model32.graph
    clone.load_state_dict(model32.state_dict())
    torch.testing.assert_close(clone.energy(state), e32)
    model64 = model32.to(torch.float64)
    assert model64.energy(state).dtype == torch.float64


def test_frame_biases_are_the_contexts_biases(model):
    x = torch.rand(3, 5, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64).lt(0.5).double()
    frames, b_t, c_t = model.frame_biases(x)
    s = model.contexts(x)
    assert frames.shape == (3, 5 - model.n_given, 4) and s.shape == (3, 5 - model.n_given, model.n_context)
    torch.testing.assert_close(frames, x[:, model.n_given:])
    for t in range(frames.shape[1]):
        state = {"v": frames[:, t], model.context_name: s[:, t]}
        torch.testing.assert_close(model.conditional("v", {**state, "h": torch.zeros(3, 3, dtype=torch.float64)})
                                   .logits, b_t[:, t])


def test_conditional_rbm_context_is_the_previous_frames_most_recent_first():
    model = random_temporal("condrbm")
    x = torch.rand(2, 6, 4, generator=torch.Generator().manual_seed(5), dtype=torch.float64).lt(0.5).double()
    s = model.contexts(x)
    torch.testing.assert_close(s[:, 0], torch.cat([x[:, 1], x[:, 0]], 1))
    torch.testing.assert_close(s[:, 3], torch.cat([x[:, 4], x[:, 3]], 1))
    torch.testing.assert_close(s, Base.contexts(model, x))  # the batched form equals the recurrence


def test_rnn_rbm_follows_the_recurrence():
    model = random_temporal("rnnrbm")
    x = torch.rand(2, 4, 4, generator=torch.Generator().manual_seed(6), dtype=torch.float64).lt(0.5).double()
    s = model.contexts(x)
    u = model.u0.expand(2, 2)
    for t in range(4):
        torch.testing.assert_close(s[:, t], u)
        u = torch.tanh(model.b_u + u @ model.W_uu + x[:, t] @ model.W_vu)
    _, b_t, c_t = model.frame_biases(x)
    torch.testing.assert_close(b_t, model.b + s @ model.W_uv)
    torch.testing.assert_close(c_t, model.c + s @ model.W_uh)


@pytest.mark.parametrize("make, match", [
    (lambda: ConditionalRBM(4, 3, order=0), "order"),
    (lambda: RNNRBM(4, 3, n_recurrent=0), "n_recurrent"),
    (lambda: ConditionalRBM(0, 3), "n_visible"),
    (lambda: RNNRBM(4, 3, recurrent_std=-1.0), "recurrent_std"),
])
def test_constructors_refuse_bad_sizes(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


@pytest.mark.parametrize("x, match", [
    (torch.zeros(3, 4), r"shape \(n_sequences, length, 4\)"),
    (torch.zeros(3, 2, 4), "at least one more"),
    (torch.zeros(3, 5, 5), r"shape \(n_sequences, length, 4\)"),
    (torch.full((2, 5, 4), 2.0), "x"),
    ([[0.0]], "tensor of sequences"),
])
def test_check_sequences_names_the_argument(x, match):
    with pytest.raises((TypeError, ValueError), match=match):
        ConditionalRBM(4, 3, order=2).check_sequences(x, "x")

