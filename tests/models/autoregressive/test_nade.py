"""NADE's running sum against the defining per-dimension computation, FVSBN's and NADE's
autoregressive structure by autograd, and their refusals of bad input."""

from __future__ import annotations

import pytest
import torch

from models.autoregressive import FVSBN, NADE


def _data(n, d, seed=0):
    return torch.bernoulli(torch.full((n, d), 0.4), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("ordering", [None, "random"])
def test_running_sum_equals_the_naive_computation(ordering):
    D = 20
    order = torch.randperm(D, generator=torch.Generator().manual_seed(1)) if ordering == "random" else None
    model = NADE(D, 7, ordering=order, seed=0)
    with torch.no_grad():
        model.b.normal_(generator=torch.Generator().manual_seed(2))
        model.c.normal_(generator=torch.Generator().manual_seed(3))
    x = _data(50, D)
    assert torch.allclose(model.log_prob(x), model.log_prob_naive(x), atol=1e-4)


def test_the_running_sum_is_chunked_for_many_rows(monkeypatch):
    import models.autoregressive.base as base

    model, x = NADE(10, 5, seed=0), _data(37, 10)
    whole = model.log_prob(x)
    monkeypatch.setattr(base, "CHUNK", 60)  # 60 // (10 * 5) = 1 row per chunk
    assert torch.allclose(model.log_prob(x), whole, atol=1e-5)  # row blocks round differently


@pytest.mark.parametrize("make", [lambda o: FVSBN(7, ordering=o, seed=0, weight_std=1.0),
                                  lambda o: NADE(7, 5, ordering=o, seed=0)], ids=["fvsbn", "nade"])
def test_each_logit_depends_only_on_earlier_dimensions(make):
    order = torch.tensor([4, 2, 6, 0, 1, 5, 3])
    model = make(order)
    position = torch.empty(7, dtype=torch.long)
    position[order] = torch.arange(7)
    x = _data(1, 7)
    jac = torch.autograd.functional.jacobian(lambda v: model.logits(v)[0], x)[:, 0, :]  # (d, i)
    later = position[None, :] >= position[:, None]
    assert bool((jac[later] == 0).all())
    assert bool((jac[~later] != 0).any())


def test_sampling_keeps_the_running_sum_of_the_draws():
    model = NADE(12, 6, seed=0)
    gen = torch.Generator().manual_seed(0)
    x = model.sample(5, gen)
    assert x.shape == (5, 12) and bool(((x == 0) | (x == 1)).all())
    assert torch.equal(model.sample(5, torch.Generator().manual_seed(0)), model.sample(5, torch.Generator().manual_seed(0)))


@pytest.mark.parametrize("call, match", [
    (lambda: NADE(0, 3), "n_visible"),
    (lambda: NADE(4, 0), "n_hidden"),
    (lambda: NADE(4, 3, ordering=[0, 1, 1, 2]), "ordering must be a permutation"),
    (lambda: NADE(4, 3, ordering=[0.0, 1.0, 2.0, 3.0]), "ordering must be a 1-D sequence of ints"),
    (lambda: FVSBN(3, ordering=[0, 1]), "ordering must be a permutation"),
    (lambda: FVSBN(3, seed=-1), "seed"),
    (lambda: NADE(4, 3).log_prob(torch.ones(2, 5)), "x"),
    (lambda: NADE(4, 3).log_prob(torch.full((2, 4), 0.5)), "x"),
    (lambda: NADE(4, 3).log_prob(torch.ones(2, 4), member=[3, 2, 1, 0]), "member"),
    (lambda: NADE(4, 3).members(2), "k = 1"),
    (lambda: NADE(4, 3).sample(-1), "n"),
    (lambda: NADE(4, 3).sample(2, generator=5), "generator"),
    (lambda: NADE(4, 3).sample(2, observed=torch.tensor([True, False, False, False])), "values"),
    (lambda: NADE(4, 3).sample(2, observed=torch.ones(3, dtype=torch.bool), values=torch.ones(4)), "observed"),
    (lambda: NADE(4, 3).sample(2, observed=torch.tensor([False, True, False, False]), values=torch.ones(4)),
     "observed dimensions must come first"),
])
def test_bad_input_is_refused_naming_the_argument(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()


def test_a_member_equal_to_the_own_ordering_is_accepted():
    model, x = NADE(4, 3, ordering=[2, 0, 3, 1], seed=0), _data(3, 4)
    assert torch.equal(model.log_prob(x, member=[2, 0, 3, 1]), model.log_prob(x))
