"""The RBM's annealing loop (inference.backends.rbm.ais) against the generic loop.

The door (``inference.backends.fast_path``) hands the RBM loop out only for the path it
computes; on the same chain states both loops give the same weight increments (float64
rounding for float64 models; the rounding of c + vW for float32 ones); and both estimates
agree with exact log Z within their ±3 standard-error brackets (failure rate ≈ 0.27% per
assertion, fixed seeds).
"""

import math

import pytest
import torch

from inference.backends import fast_path
from inference.backends.rbm.ais import RBMAnnealer
from inference.mcmc.sampling import make_generator
from inference.partition import AnnealingPath, FactorisedBase, ais_log_partition, ais_log_weights, exact_log_partition
from inference.partition.loop import TorchAnnealer
from inference.partition.ais import annealing_request
from inference.partition.path import make_path
from models.energy import RBM
from tests.oracles import all_binary_states, brute_force_marginal_v, random_rbm


class _OwnConditionalRBM(RBM):
    """An RBM subclass with its own conditional: the fast path must not take it."""

    def conditional(self, group, state, beta=1.0):
        return super().conditional(group, state, beta)


def test_the_door_hands_out_the_rbm_loop_only_for_its_path():
    model = RBM(5, 3, seed=0)
    path = make_path(model, "uniform", func="test")
    assert path.form == "marginal"
    assert isinstance(fast_path(model, annealing_request(path)), RBMAnnealer)
    assert isinstance(fast_path(model.double(), annealing_request(make_path(model.double(), "uniform"))), RBMAnnealer)
    assert fast_path(model, annealing_request(path), backend="torch") is None
    joint = AnnealingPath(model, FactorisedBase.uniform(model.graph, ["v", "h"]), "joint")
    assert fast_path(model, annealing_request(joint)) is None
    other = _OwnConditionalRBM(5, 3, seed=0)
    assert fast_path(other, annealing_request(make_path(other, "uniform"))) is None
    with pytest.raises(ValueError, match="backend must be one of"):
        ais_log_partition(model, base="uniform", backend="native", progress=False)


def _increment_tolerance(model, b0, b1):
    """Bound on the float32 rounding of c + vW carried into one increment: each x_j is off by
    at most (n_v + 1) 2^-24 (|c_j| + Σ_i |W_ij|), and d inc / d x_j ∈ [−1, 1] (twice that)."""
    if model.W.dtype == torch.float64:
        return 1e-10
    W, c = model.W.detach().double(), model.c.detach().double()
    per_unit = (W.shape[0] + 1) * 2.0**-24 * (c.abs() + W.abs().sum(0))
    return 2 * per_unit.sum().item() * max(1.0, abs(b1 - b0)) + 1e-10


@pytest.mark.parametrize("n_visible, n_hidden, dtype", [
    (6, 4, torch.float64), (6, 4, torch.float32), (3, 2100, torch.float64), (3, 2100, torch.float32)])
def test_same_increments_for_the_same_states(n_visible, n_hidden, dtype):
    """betas = [b0, b1] (no transition): one increment on every visible state, both loops.

    2100 hidden units exercise the blocked float64 product of the RBM loop.
    """
    model = random_rbm(n_visible, n_hidden, seed=2, scale=1.0 if n_hidden < 100 else 0.3, dtype=dtype)
    gen = make_generator(0)
    bias_a = torch.randn(n_visible, generator=gen, dtype=torch.float64)
    v = all_binary_states(n_visible, dtype)
    for b0, b1 in [(0.0, 1.0), (0.0, 1e-3), (0.3, 0.30001), (0.9, 1.0), (1.0, 0.5), (0.7, 0.7)]:
        fast, v_fast = ais_log_weights(model, v, [b0, b1], bias_a, gen)
        generic, v_generic = ais_log_weights(model, v, [b0, b1], bias_a, gen, backend="torch")
        assert fast.dtype == generic.dtype == torch.float64
        tol = _increment_tolerance(model, b0, b1)
        assert (fast - generic).abs().max().item() <= tol, (b0, b1)
        assert torch.equal(v_fast, v) and torch.equal(v_generic, v)
        if b0 == b1:
            assert not fast.any() and not generic.any()


def test_both_loops_bracket_exact_log_z_on_the_same_model():
    """The same model, schedule, base and chain count through both loops; each bracket holds
    exact log Z (failure rate ≈ 0.27% per assertion). The base is fitted to exact model
    samples, as AIS is used: a base far from the model's marginals gives heavy-tailed
    weights, whose sample variance (hence the bracket) is too small."""
    model = random_rbm(6, 4, seed=11, dtype=torch.float32)
    exact = exact_log_partition(model).log_z
    idx = torch.multinomial(brute_force_marginal_v(model), 200, replacement=True, generator=make_generator(1))
    data = all_binary_states(6, torch.float32)[idx]
    kw = dict(n_chains=300, betas=torch.linspace(0, 1, 301), data=data, seed=2, progress=False)
    fast = ais_log_partition(model, **kw)
    generic = ais_log_partition(model, backend="torch", **kw)
    assert fast != generic  # different loops, different draws
    for est in (fast, generic):
        assert est.lower <= exact <= est.upper, (est, exact)


def test_generic_loop_on_the_joint_form_of_an_rbm():
    """An RBM annealed on its joint state (base factors on v and h) by the generic loop:
    log Z_0 = log Z_A, bracket around exact log Z (failure rate ≈ 0.27%)."""
    from inference.partition.estimate import from_log_weights
    from inference.partition.path import log_z_start, start_state

    model = random_rbm(5, 3, seed=4, dtype=torch.float32)
    exact = exact_log_partition(model).log_z
    path = AnnealingPath(model, FactorisedBase.uniform(model.graph, ["v", "h"]), "joint")
    gen = make_generator(5)
    state = start_state(path, 300, gen)
    assert set(state) == {"v", "h"}
    log_z_0 = log_z_start(path, state, "test")
    assert log_z_0 == pytest.approx(8 * math.log(2), abs=1e-12)
    log_w, _ = TorchAnnealer(path).run(state, torch.linspace(0, 1, 301, dtype=torch.float64).tolist(), gen)
    est = from_log_weights(log_w, log_z_0, "ais")
    assert est.lower <= exact <= est.upper, (est, exact)


def test_unknown_path_form_is_refused():
    model = RBM(3, 2, seed=0)
    with pytest.raises(ValueError, match=r"form must be one of \['marginal', 'summed', 'joint'\], got 'visible'"):
        TorchAnnealer(AnnealingPath(model, FactorisedBase.uniform(model.graph, ["v"]), "visible"))
