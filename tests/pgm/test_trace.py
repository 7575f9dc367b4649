"""Tests of pgm.from_pyro: traced Pyro programs compared with hand-built graphs."""

import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro.nn import PyroModule

from pgm import Edge, Graph, Plate, VariableGroup, from_pyro, site_kind

V = VariableGroup


def hierarchical(data):
    mu = pyro.sample("mu", dist.Normal(0.0, 1.0))
    sigma = pyro.sample("sigma", dist.LogNormal(0.0, 1.0))
    with pyro.plate("N", len(data)):
        pyro.sample("x", dist.Normal(mu, sigma), obs=data)


def sbn(v, n_h2=3, n_h1=4):
    """A two-layer sigmoid belief net over a batch of binary vectors ``v``."""
    n_v = v.shape[-1]
    b2 = pyro.param("b2", torch.zeros(n_h2))
    w2 = pyro.param("W2", torch.randn(n_h2, n_h1) * 0.1)
    b1 = pyro.param("b1", torch.zeros(n_h1))
    w1 = pyro.param("W1", torch.randn(n_h1, n_v) * 0.1)
    b0 = pyro.param("b0", torch.zeros(n_v))
    with pyro.plate("batch", v.shape[0]):
        h2 = pyro.sample("h2", dist.Bernoulli(torch.sigmoid(b2)).expand([v.shape[0], n_h2]).to_event(1))
        h1 = pyro.sample("h1", dist.Bernoulli(torch.sigmoid(h2 @ w2 + b1)).to_event(1))
        pyro.sample("v", dist.Bernoulli(torch.sigmoid(h1 @ w1 + b0)).to_event(1), obs=v)


def test_hierarchical_model():
    g = from_pyro(hierarchical, torch.randn(5))
    expected = Graph(
        [V("mu", (), "gaussian"), V("sigma", (), "lognormal"), V("x", (), "gaussian", observed=True)],
        [Edge("mu", "x", True), Edge("sigma", "x", True)],
        [Plate("N", ("x",), 5, -1)],
    )
    assert g == expected
    assert g.names == ["mu", "sigma", "x"]  # sampling order
    assert g.markov_blanket("mu") == {"x", "sigma"}


def test_sigmoid_belief_net():
    v = torch.bernoulli(torch.full((8, 6), 0.5))
    g = from_pyro(sbn, v)
    expected = Graph(
        [V("h2", 3), V("h1", 4), V("v", 6, observed=True)],
        [Edge("h2", "h1", True), Edge("h1", "v", True)],
        [Plate("batch", ("h2", "h1", "v"), 8, -1)],
    )
    assert g == expected
    assert g.layers() == [["v"], ["h1"], ["h2"]]
    pyro.clear_param_store()  # W2, b1, W1 change shape
    wider = from_pyro(sbn, v, n_h1=5)  # kwargs are passed through
    assert wider["h1"] == V("h1", 5) and wider != g


def test_pyro_module_and_kwargs():
    class Model(PyroModule):
        def forward(self, x, *, scale=1.0):
            z = pyro.sample("z", dist.Normal(torch.zeros(2), scale).to_event(1))
            with pyro.plate("data", x.shape[0], dim=-2):
                with pyro.plate("feat", x.shape[1], dim=-1):
                    pyro.sample("x", dist.Normal(z.sum(), 1.0), obs=x)

    g = from_pyro(Model(), torch.zeros(4, 3), scale=2.0)
    assert g == Graph(
        [V("z", 2, "gaussian"), V("x", (), "gaussian", True)],
        [Edge("z", "x", True)],
        [Plate("data", ("x",), 4, -2), Plate("feat", ("x",), 3, -1)],
    )


def test_deterministic_factor_subsample_and_sequential_plate():
    def model():
        a = pyro.sample("a", dist.Normal(0.0, 1.0))
        d = pyro.deterministic("d", 2 * a)
        pyro.sample("b", dist.Normal(d, 1.0), obs=torch.tensor(0.5))
        pyro.factor("f", -(a**2))
        with pyro.plate("M", 100, subsample_size=10):
            pyro.sample("c", dist.Normal(a, 1.0).expand([10, 3]).to_event(1).mask(True))
        for i in pyro.plate("seq", 2):
            pyro.sample(f"s_{i}", dist.Categorical(logits=torch.zeros(3)))
        pyro.sample("o", dist.OneHotCategorical(logits=torch.zeros(4)))
        pyro.sample("p", dist.Beta(2.0, 2.0))

    g = from_pyro(model)
    assert g == Graph(
        [
            V("a", (), "gaussian"),
            V("d", (), "deterministic"),  # kept, and not "observed" despite Pyro's obs=
            V("b", (), "gaussian", True),
            V("f", (0,), "factor", True),
            V("c", 3, "gaussian"),
            V("s_0", (), "categorical"),
            V("s_1", (), "categorical"),
            V("o", 4, "categorical"),
            V("p", (), "beta"),
        ],
        [Edge("a", "d", True), Edge("d", "b", True), Edge("a", "f", True), Edge("a", "c", True)],
        # subsampled plate: full size 100; sequential plate: dim None
        [Plate("M", ("c",), 100, -1), Plate("seq", ("s_0", "s_1"), 2, None)],
    )


def test_rng_state_untouched():
    torch.manual_seed(1)
    expected = torch.rand(3)
    torch.manual_seed(1)
    from_pyro(sbn, torch.ones(2, 6))
    assert torch.equal(torch.rand(3), expected)


def test_site_kind_unwraps():
    assert site_kind(dist.Bernoulli(0.5).expand([3]).to_event(1).mask(False)) == "bernoulli"
    assert site_kind(dist.Normal(0.0, 1.0)) == "gaussian"
    assert site_kind(dist.Categorical(logits=torch.zeros(3))) == "categorical"
    assert site_kind(dist.OneHotCategorical(logits=torch.zeros(3))) == "categorical"
    assert site_kind(dist.Dirichlet(torch.ones(3))) == "dirichlet"
    assert site_kind(dist.Normal(0.0, 1.0), deterministic=True) == "deterministic"


def test_not_callable():
    with pytest.raises(TypeError, match="model must be a callable.*got Tensor"):
        from_pyro(torch.zeros(3))
    with pytest.raises(TypeError, match="got NoneType"):
        from_pyro(hierarchical(torch.zeros(2)))


def test_bad_site_name():
    def model():
        pyro.sample("x[0]", dist.Normal(0.0, 1.0))

    with pytest.raises(ValueError, match=r"sample site 'x\[0\]'"):
        from_pyro(model)


def test_empty_program():
    assert from_pyro(lambda: None) == Graph([])


def test_control_flow_that_changes_between_runs():
    calls = []

    def model():
        calls.append(None)
        pyro.sample(f"x{len(calls)}", dist.Normal(0.0, 1.0))

    with pytest.raises(ValueError, match="different sample sites in two runs"):
        from_pyro(model)
