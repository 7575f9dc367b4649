"""The classification RBM against brute-force enumeration of every joint state (v, y, h).

The oracle enumerates 2^n_visible · K · 2^n_hidden joint states in float64 from the energy
alone; the model's conditionals, free energies, class posterior p(y | v) and exact log Z
(either enumeration set) must match it. Gibbs samples of a tiny model are tested against
the exact joint law of (v, y) by a chi-square test at level 1e-3 with a fixed seed.
"""

from __future__ import annotations

import pytest
import torch

import pgm
from inference import (ais_log_partition, exact_log_partition, fit, gibbs, log_likelihood, make_generator,
                       reverse_ais_log_partition)
from inference.partition.exact import enumerate_states, enumeration_set
from models import ClassRBM
from tests.oracles import all_binary_states, chi_square_gof, state_index

_F64 = torch.float64


def random_class_rbm(n_visible, n_hidden, n_classes, seed=0, scale=1.0, dtype=_F64) -> ClassRBM:
    """A ClassRBM with every parameter drawn from N(0, scale²) (seeded)."""
    model = ClassRBM(n_visible, n_hidden, n_classes, seed=seed)
    gen = torch.Generator().manual_seed(seed + 100)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
    return model.to(dtype)


def joint_log_weights(model):
    """−E(v, y, h) for every joint state, float64, shape (2^n_v, K, 2^n_h), and the states."""
    model = model.double()
    V, Y, H = all_binary_states(model.n_visible), torch.eye(model.n_classes, dtype=_F64), \
        all_binary_states(model.n_hidden)
    nv, k, nh = V.shape[0], Y.shape[0], H.shape[0]
    state = {"v": V.repeat_interleave(k * nh, 0), "y": Y.repeat_interleave(nh, 0).repeat(nv, 1),
             "h": H.repeat(nv * k, 1)}
    with torch.no_grad():
        return (-model.energy(state)).reshape(nv, k, nh), (V, Y, H)


@pytest.fixture
def model():
    return random_class_rbm(4, 3, 3, seed=1)


def test_graph_and_data_groups(model):
    g = model.graph
    assert g["y"].kind == "softmax" and g["y"].observed and g["v"].observed and not g["h"].observed
    assert g.gibbs_blocks() == [["v", "y"], ["h"]]
    assert model.data_groups == ("v", "y") and model.data_width == 7
    x = ClassRBM.join_labels(torch.ones(2, 4, dtype=_F64), torch.tensor([2, 0]), 3)
    assert x.tolist() == [[1, 1, 1, 1, 0, 0, 1], [1, 1, 1, 1, 1, 0, 0]]
    v, labels = model.split_labels(x)
    assert torch.equal(v, x[:, :4]) and labels.tolist() == [2, 0]
    parts = model.split_data(x)
    assert torch.equal(model.join_data(parts), x)


def test_log_z_equals_brute_force_by_either_enumeration_set(model):
    log_w, _ = joint_log_weights(model)
    want = float(torch.logsumexp(log_w.reshape(-1), 0))
    assert enumeration_set(model) == (("h",), 3)
    assert exact_log_partition(model).log_z == pytest.approx(want, abs=1e-10)
    wide = random_class_rbm(2, 6, 3, seed=2)  # 2^2 · 3 = 12 states of (v, y) < 2^6 of h
    chosen, n = enumeration_set(wide)
    assert chosen == ("v", "y") and n == pytest.approx(2 + torch.log2(torch.tensor(3.0)).item())
    log_w, _ = joint_log_weights(wide)
    assert exact_log_partition(wide).log_z == pytest.approx(float(torch.logsumexp(log_w.reshape(-1), 0)), abs=1e-10)
    assert exact_log_partition(wide, chunk_size=5).log_z == pytest.approx(exact_log_partition(wide).log_z, abs=1e-12)


def test_enumerated_states_count_softmax_groups_once_per_class(model):
    states = enumerate_states(model, ("v", "y"), 0, 16 * 3)
    assert states["y"].sum(1).eq(1).all() and states["v"].shape == (48, 4)
    keys = {(tuple(a.tolist()), tuple(b.tolist())) for a, b in zip(states["v"], states["y"])}
    assert len(keys) == 48  # every state once


@pytest.mark.parametrize("beta", [1.0, 0.35])
def test_free_energies_sum_out_the_other_groups(model, beta):
    log_w, (V, Y, H) = joint_log_weights(model)
    log_w = beta * log_w
    x = torch.cat([V.repeat_interleave(3, 0), Y.repeat(V.shape[0], 1)], 1)
    torch.testing.assert_close(model.free_energy(x, beta=beta).detach(),
                               -torch.logsumexp(log_w, 2).reshape(-1), rtol=0, atol=1e-10)
    torch.testing.assert_close(model.free_energy_hidden(H, beta=beta).detach(),
                               -torch.logsumexp(log_w, (0, 1)), rtol=0, atol=1e-10)


def test_class_posterior_equals_enumeration(model):
    log_w, (V, _, _) = joint_log_weights(model)
    log_p_vy = torch.logsumexp(log_w, 2)                      # (2^n_v, K)
    want = torch.softmax(log_p_vy, 1)
    got = model.predict_proba(V).detach()
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    torch.testing.assert_close(got.sum(1), torch.ones(V.shape[0], dtype=_F64))
    assert torch.equal(model.predict(V), want.argmax(1))
    labels = want.argmax(1)
    assert model.score(V, labels) == 1.0 and model.score(V, (labels + 1) % 3) < 1.0


def test_conditionals_equal_enumeration(model):
    log_w, (V, Y, H) = joint_log_weights(model)
    p = (log_w - torch.logsumexp(log_w.reshape(-1), 0)).exp()  # p(v, y, h)
    i, k, j = 5, 2, 6                                            # one state of each group
    # p(y | h): a OneHotCategorical over the K classes
    want_y = p[:, :, j].sum(0) / p[:, :, j].sum()
    torch.testing.assert_close(model.conditional("y", {"h": H[j:j + 1]}).probs[0].detach(), want_y)
    # p(v | h): factorised Bernoulli; compare the probability of every visible state
    want_v = p[:, :, j].sum(1) / p[:, :, j].sum()
    dist = model.conditional("v", {"h": H[j:j + 1].expand(V.shape[0], -1)})
    torch.testing.assert_close(dist.log_prob(V).sum(1).exp().detach(), want_v)
    # p(h | v, y)
    want_h = p[i, k] / p[i, k].sum()
    dist = model.conditional("h", {"v": V[i:i + 1].expand(H.shape[0], -1), "y": Y[k:k + 1].expand(H.shape[0], -1)})
    torch.testing.assert_close(dist.log_prob(H).sum(1).exp().detach(), want_h)


def test_gibbs_samples_follow_the_exact_joint_law_of_pixels_and_label(one_thread):
    """Chains from gibbs.init (uniform one-hot labels) after burn-in, thinned to nearly
    independent draws, against p(v, y) of a 3-pixel, 3-class model (24 cells): a Pearson
    chi-square test at level 1e-3."""
    model = random_class_rbm(3, 2, 3, seed=4, scale=0.8).float()
    log_w, _ = joint_log_weights(model)
    probs = torch.softmax(torch.logsumexp(log_w, 2).reshape(-1), 0)
    gen = make_generator(0)
    state = gibbs.run(model, gibbs.init(model, 2000, gen), 30, gen)
    counts = torch.zeros(24, dtype=_F64)
    for _ in range(4):
        state = gibbs.run(model, state, 10, gen)
        cell = state_index(state.values["v"]) * 3 + state.values["y"].argmax(1)
        counts += torch.bincount(cell, minlength=24).to(_F64)
    _, _, p_value = chi_square_gof(counts.numpy(), probs.numpy())
    assert p_value > 1e-3


def test_class_conditional_sampling_clamps_the_label(one_thread):
    model = random_class_rbm(3, 2, 3, seed=5).float()
    gen = make_generator(0)
    y = torch.eye(3)[torch.tensor([1] * 50)]
    state = gibbs.run(model, gibbs.init(model, 50, gen, clamp={"y": y}), 5, gen, clamp={"y": y})
    assert torch.equal(state.values["y"], y)


def test_ais_brackets_the_exact_log_z(one_thread):
    """AIS anneals the pixels and the label (the summed form, h summed out) with a base
    fitted to the data marginals, or uniform, and reverse AIS from the data rows; with this
    seed the exact value lies within each ±3σ bracket (about ±0.013 nats here)."""
    model = random_class_rbm(6, 5, 4, seed=6, scale=0.5).float()
    gen = torch.Generator().manual_seed(0)
    data = ClassRBM.join_labels((torch.rand(50, 6, generator=gen) < 0.5).float(),
                                torch.randint(0, 4, (50,), generator=gen), 4)
    exact = exact_log_partition(model).log_z
    for base in ("data", "uniform"):
        est = ais_log_partition(model, n_chains=100, betas=torch.linspace(0, 1, 500, dtype=_F64), data=data,
                                base=base, seed=0, progress=False)
        assert est.lower <= exact <= est.upper, (base, est, exact)
    # reverse AIS from chains started at the data rows [v, onehot(y)]
    est = reverse_ais_log_partition(model, n_chains=100, betas=torch.linspace(0, 1, 500, dtype=_F64), data=data,
                                    seed=0, burn_in=100, progress=False)
    assert est.lower <= exact <= est.upper, est


def test_generative_training_classifies_digits(one_thread):
    """CD-1 through fit on [pixels, one-hot label] rows: test accuracy far above chance
    (0.1) after a few epochs on binarized digits, and the joint log-likelihood is that of a
    probability (≤ 0)."""
    v, y = pgm.load_digits(return_labels=True)
    vt, yt = pgm.load_digits(split="test", return_labels=True)
    x = ClassRBM.join_labels(v, y, 10)
    model = ClassRBM.from_data(x, 16, 10, seed=0)
    before = model.score(vt, yt)
    history = fit(model, x, epochs=8, progress=False)
    assert history.recon_error[-1] < history.recon_error[0]
    assert model.score(vt, yt) > max(0.6, before + 0.3)
    ll = log_likelihood(model, ClassRBM.join_labels(vt, yt, 10), exact_log_partition(model))
    assert ll.mean < 0


def test_from_data_sets_biases_from_marginals():
    v = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [1.0, 0.0]])
    x = ClassRBM.join_labels(v, torch.tensor([0, 0, 0, 1]), 2)
    model = ClassRBM.from_data(x, 3, 2, seed=0)
    torch.testing.assert_close(model.b.detach(), torch.logit(torch.tensor([0.75, 0.25])))
    torch.testing.assert_close(model.d.detach(), torch.tensor([0.75, 0.25]).log())


def test_gibbs_init_draws_uniform_one_hot_labels():
    """Unclamped chains start the softmax group at a uniform one-hot draw: class
    frequencies within 5 standard errors of 1/K (failure rate below 1e-5)."""
    model = random_class_rbm(3, 2, 4, seed=7).float()
    n = 20_000
    y = gibbs.init(model, n, make_generator(0)).values["y"]
    assert torch.all(y.sum(1) == 1) and torch.all((y == 0) | (y == 1))
    freq = y.double().mean(0)
    assert torch.all((freq - 0.25).abs() < 5 * (0.25 * 0.75 / n) ** 0.5), freq
    pixels = gibbs.init(model, 8, make_generator(0), clamp={"y": torch.eye(4)[[0, 1] * 4]}).values
    assert torch.equal(pixels["y"], torch.eye(4)[[0, 1] * 4]) and pixels["h"].shape == (8, 2)


@pytest.mark.parametrize("method", ["pcd", "pt"])
def test_persistent_chains_of_pixels_and_labels_resume_bit_identically(method, tmp_path, one_thread):
    """PCD/PT chains hold v, y and h; a run stopped after 2 of 4 epochs and resumed from its
    checkpoint ends with exactly the parameters of an uninterrupted run."""
    v, y = pgm.load_digits(return_labels=True)
    x = ClassRBM.join_labels(v[:100], y[:100], 10)
    whole = ClassRBM.from_data(x, 6, 10, seed=0)
    fit(whole, x, epochs=4, method=method, progress=False, monitor=0)
    path = tmp_path / "run.pt"
    part = ClassRBM.from_data(x, 6, 10, seed=0)
    fit(part, x, epochs=4, method=method, progress=False, monitor=0, checkpoint=path,
        callbacks=lambda epoch, history, model: epoch == 2)
    resumed = ClassRBM.from_data(x, 6, 10, seed=1)
    fit(resumed, x, epochs=4, method=method, progress=False, monitor=0, checkpoint=path, resume=True)
    assert all(torch.equal(a, b) for a, b in zip(whole.parameters(), resumed.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(whole.parameters(), part.parameters()))
