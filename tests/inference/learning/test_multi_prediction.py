"""Multi-prediction training: the unrolled passes, their gradient and the training loop."""

import pytest
import torch

from inference import MultiPrediction, fit, mean_field
from inference.learning.multi_prediction import unrolled_mean_field
from models import DBM, RBM
from tests.oracles import all_binary_states, random_dbm


def _mask(shape, seed, p=0.5):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < p


@pytest.mark.parametrize("centered,damping", [(False, 0.0), (True, 0.0), (False, 0.4), (True, 0.4)])
@pytest.mark.parametrize("n_iter", [1, 3])
def test_the_unrolled_passes_equal_mean_field(centered, damping, n_iter):
    dbm = random_dbm([5, 4, 3, 2], seed=7, centered=centered)
    v = all_binary_states(5)
    mask = _mask(v.shape, 2)
    q, logits = unrolled_mean_field(dbm, v, mask, n_iter, damping)
    mf = mean_field(dbm, v, n_iter=n_iter, tol=0.0, damping=damping, mask=mask).marginals
    for l, name in enumerate(dbm.graph.names):
        torch.testing.assert_close(q[l], mf[name], rtol=0, atol=1e-13)
    if damping == 0:
        torch.testing.assert_close(torch.sigmoid(logits)[mask], q[0][mask], rtol=0, atol=1e-14)


@pytest.mark.parametrize("centered,damping", [(False, 0.0), (True, 0.3)])
def test_the_gradient_matches_finite_differences(centered, damping):
    dbm = random_dbm([4, 3, 2], seed=3, centered=centered)
    v = all_binary_states(4)[3:11]
    mask = _mask(v.shape, 5)
    mp = MultiPrediction(n_iter=4, damping=damping)
    dbm.zero_grad()
    mp.loss(dbm, v, mask).mean().backward()
    eps = 1e-6
    for name, p in dbm.named_parameters():
        numeric = torch.zeros_like(p)
        with torch.no_grad():
            for i in range(p.numel()):
                flat = p.view(-1)
                flat[i] += eps
                up = mp.loss(dbm, v, mask).mean()
                flat[i] -= 2 * eps
                down = mp.loss(dbm, v, mask).mean()
                flat[i] += eps
                numeric.view(-1)[i] = (up - down) / (2 * eps)
        torch.testing.assert_close(p.grad, numeric, rtol=1e-6, atol=1e-8, msg=name)


def test_grad_writes_the_gradient_of_a_fresh_mask_each_call():
    dbm = random_dbm([4, 3, 2], seed=1)
    v = all_binary_states(4)
    mp = MultiPrediction(n_iter=3, generator=torch.Generator().manual_seed(0))
    info = mp.grad(dbm, v)
    first = [p.grad.clone() for p in dbm.parameters()]
    mask = torch.rand(v.shape, generator=torch.Generator().manual_seed(0), dtype=v.dtype) < 0.5
    torch.testing.assert_close(info.recon_sq, mp.loss(dbm, v, mask).sum().detach())
    mp.grad(dbm, v)
    assert any(not torch.equal(a, p.grad) for a, p in zip(first, dbm.parameters()))


def _teacher_data(n=300, seed=0):
    """Two complementary prototypes of 6 bits, each bit flipped with probability 0.05."""
    gen = torch.Generator().manual_seed(seed)
    proto = torch.tensor([[1., 1., 1., 0., 0., 0.], [0., 0., 0., 1., 1., 1.]])
    x = proto[torch.randint(0, 2, (n,), generator=gen)]
    flip = torch.rand(x.shape, generator=gen) < 0.05
    return torch.where(flip, 1 - x, x)


def _masked_loss(dbm, data, n_iter):
    """Mean over 20 fixed masks per row of the masked cross-entropy (nats per example)."""
    mp = MultiPrediction(n_iter=n_iter)
    rows = data.repeat(20, 1)
    with torch.no_grad():
        return float(mp.loss(dbm, rows, _mask(rows.shape, 99)).mean())


def test_training_lowers_the_masked_loss(one_thread):
    """Before training the pixels are independent (each bit's marginal is 1/2: 3 log 2 ≈
    2.08 nats for the 3 bits masked on average); the prototypes make the hidden bits
    predictable from the others to within the flip noise."""
    data = _teacher_data()
    dbm = DBM.from_data(data, [4, 2], weight_std=0.1, seed=0)
    before = _masked_loss(dbm, data, 5)
    hist = fit(dbm, data, method="mp", epochs=20, batch_size=20, lr=0.1, monitor=0, progress=False,
               multi_prediction=MultiPrediction(n_iter=5))
    after = _masked_loss(dbm, data, 5)
    assert before > 1.9 and after < 0.5 * before, (before, after)
    assert hist.train_recon_error[-1] < hist.train_recon_error[0]
    assert len(hist) == 20 and hist.pseudo_log_likelihood == [None] * 20


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path, one_thread):
    data = _teacher_data(60)
    kw = dict(method="mp", batch_size=10, lr=0.05, monitor=0, progress=False, seed=3)
    whole = DBM.from_data(data, [3, 2], seed=0)
    fit(whole, data, epochs=4, **kw)
    part = DBM.from_data(data, [3, 2], seed=0)
    stopped = fit(part, data, epochs=4, checkpoint=tmp_path / "c.pt", callbacks=lambda epoch, h, m: epoch == 2, **kw)
    assert len(stopped) == 2
    fit(part, data, epochs=4, checkpoint=tmp_path / "c.pt", resume=True, **kw)
    for a, b in zip(whole.parameters(), part.parameters()):
        assert torch.equal(a, b)
    other = DBM.from_data(data, [3, 2], seed=0)
    with pytest.raises(ValueError, match="multi_prediction"):
        fit(other, data, epochs=4, checkpoint=tmp_path / "c.pt", resume=True,
            multi_prediction=MultiPrediction(n_iter=3), **kw)


def test_bad_arguments_are_refused():
    data = _teacher_data(20)
    with pytest.raises(TypeError, match="fit: method 'mp': multi-prediction training needs a DBM"):
        fit(RBM(6, 2), data, method="mp", progress=False)
    with pytest.raises(TypeError, match="multi_prediction must be"):
        fit(DBM([6, 2]), data, method="sml", multi_prediction=MultiPrediction(), progress=False)
    with pytest.raises(TypeError, match="multi_prediction must be"):
        fit(DBM([6, 2]), data, method="mp", multi_prediction="fast", progress=False)
    for bad in (0, 1.0, -0.1, float("nan"), True):
        with pytest.raises(ValueError, match="mask_prob"):
            MultiPrediction(mask_prob=bad)
    with pytest.raises(ValueError, match="damping"):
        MultiPrediction(damping=1.0)
    with pytest.raises(ValueError, match="n_iter"):
        MultiPrediction(n_iter=0)
    with pytest.raises(TypeError, match="generator"):
        MultiPrediction(generator=0)
