"""Tests of pgm.graph: the plain-data protocol, validation and structural queries."""

import networkx as nx
import pytest

from pgm import Edge, Graph, Plate, VariableGroup

V = VariableGroup


def rbm():
    return Graph([V("v", 6, observed=True), V("h", 4)], [Edge("v", "h")])


def dbm4():
    return Graph.layered([(n, 3, "bernoulli") for n in ("v", "h1", "h2", "h3", "h4")])


def sbn():
    return Graph(
        [V("h2", 3), V("h1", 4), V("v", 6, observed=True)],
        [Edge("h2", "h1", True), Edge("h1", "v", True)],
    )


# -- VariableGroup / Edge / Plate ---------------------------------------------------------
def test_group_size_normalised_and_units():
    assert V("v", 6).size == (6,)
    assert V("img", (28, 28)).size == (28, 28)
    assert V("img", (28, 28)).n_units == 784
    assert V("s", ()).n_units == 1
    assert V("v", [2, 3]) == V("v", (2, 3))


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"name": "1v", "size": 3}, ValueError, "name"),
        ({"name": "v\n", "size": 3}, ValueError, "name"),
        ({"name": "v w", "size": 3}, ValueError, "name"),
        ({"name": 3, "size": 3}, ValueError, "name"),
        ({"name": "v", "size": -1}, ValueError, "non-negative"),
        ({"name": "v", "size": (2, 1.5)}, ValueError, "non-negative ints"),
        ({"name": "v", "size": True}, TypeError, "bool"),
        ({"name": "v", "size": "abc"}, ValueError, "size"),
        ({"name": "v", "size": None}, TypeError, "size"),
        ({"name": "v", "size": 3, "kind": ""}, TypeError, "kind"),
    ],
)
def test_group_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        V(**kwargs)


def test_group_is_frozen_and_hashable():
    g = V("v", 3)
    with pytest.raises(AttributeError):
        g.name = "w"
    assert len({V("v", 3), V("v", (3,)), V("v", 3, observed=True)}) == 2


def test_undirected_edge_normalised():
    assert Edge("v", "h") == Edge("h", "v")
    assert Edge("v", "h").src == "h" and Edge("v", "h").dst == "v"
    assert hash(Edge("v", "h")) == hash(Edge("h", "v"))
    assert Edge("v", "h", True) != Edge("h", "v", True)
    assert Edge("v", "h", True) != Edge("v", "h", False)
    assert Edge("h", "v", True).src == "h"


def test_edge_validation():
    with pytest.raises(ValueError, match="directed edge cannot loop"):
        Edge("x", "x", directed=True)
    assert Edge("x", "x").src == "x"  # lateral couplings are fine
    with pytest.raises(TypeError, match="src"):
        Edge(1, "x")
    with pytest.raises(TypeError, match="dst"):
        Edge("x", None)


def test_plate_members_sorted_and_validated():
    assert Plate("N", ["b", "a"], 3, -1) == Plate("N", ("a", "b"), 3, -1)
    assert Plate("N", ("a", "a")).members == ("a",)
    with pytest.raises(TypeError, match=r"members=\('obs',\)"):
        Plate("N", "obs")
    with pytest.raises(TypeError, match="size"):
        Plate("N", ("a",), size=2.5)
    with pytest.raises(ValueError, match="size"):
        Plate("N", ("a",), size=-1)
    with pytest.raises(TypeError, match="name"):
        Plate("", ("a",))


# -- Graph: plain data --------------------------------------------------------------------
def test_equality_ignores_order():
    a = Graph([V("v", 6, observed=True), V("h", 4)], [Edge("v", "h"), Edge("h", "h")],
              [Plate("N", ("v", "h"), 10, -1)])
    b = Graph([V("h", 4), V("v", 6, observed=True)], [Edge("h", "h"), Edge("h", "v")],
              [Plate("N", ("h", "v"), 10, -1)])
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a.names == ["v", "h"] and b.names == ["h", "v"]  # order kept for display


@pytest.mark.parametrize(
    "other",
    [
        Graph([V("v", 6, observed=True), V("h", 5)], [Edge("v", "h")]),
        Graph([V("v", 6), V("h", 4)], [Edge("v", "h")]),
        Graph([V("v", 6, observed=True), V("h", 4, "gaussian")], [Edge("v", "h")]),
        Graph([V("v", 6, observed=True), V("h", 4)], [Edge("v", "h", True)]),
        Graph([V("v", 6, observed=True), V("h", 4)], []),
        Graph([V("v", 6, observed=True), V("h", 4)], [Edge("v", "h")], [Plate("N", ("v",))]),
    ],
)
def test_inequality(other):
    assert rbm() != other
    assert rbm() != "not a graph"


def test_duplicate_edges_dropped():
    g = Graph([V("a", 1), V("b", 1)], [Edge("a", "b"), Edge("b", "a")])
    assert g.edges == (Edge("a", "b"),)


def test_graph_validation():
    with pytest.raises(ValueError, match=r"unique, repeated: \['v'\]"):
        Graph([V("v", 1), V("h", 1), V("v", 2)])
    with pytest.raises(ValueError, match=r"unknown group\(s\) \['z'\]"):
        Graph([V("v", 1)], [Edge("v", "z")])
    with pytest.raises(ValueError, match="plate 'N'.*unknown"):
        Graph([V("v", 1)], [], [Plate("N", ("w",))])
    with pytest.raises(TypeError, match="VariableGroup"):
        Graph(["v"])
    with pytest.raises(TypeError, match="Edge"):
        Graph([V("v", 1), V("h", 1)], [["v", "h"]])
    with pytest.raises(TypeError, match="Plate"):
        Graph([V("v", 1)], [], [("N", ("v",))])
    with pytest.raises(ValueError, match="directed edge cannot loop"):
        Graph([V("v", 1)], [Edge("v", "v", directed=True)])


def test_lookup():
    g = rbm()
    assert g["h"] == V("h", 4)
    assert "v" in g and "z" not in g
    with pytest.raises(KeyError, match="no group named 'z'"):
        g["z"]
    with pytest.raises(KeyError):
        g.parents("z")


# -- Gibbs blocks ---------------------------------------------------------------------------
def test_gibbs_blocks_rbm():
    assert rbm().gibbs_blocks() == [["v"], ["h"]]
    # the block holding the first declared group comes first
    flipped = Graph([V("h", 4), V("v", 6, observed=True)], [Edge("v", "h")])
    assert flipped.gibbs_blocks() == [["h"], ["v"]]


def test_gibbs_blocks_dbm_odd_even():
    assert dbm4().gibbs_blocks() == [["v", "h2", "h4"], ["h1", "h3"]]


def test_gibbs_blocks_triangle_needs_three():
    g = Graph([V("a", 1), V("b", 1), V("c", 1)], [Edge("a", "b"), Edge("b", "c"), Edge("a", "c")])
    blocks = g.gibbs_blocks()
    assert blocks == [["a"], ["b"], ["c"]]


def test_gibbs_blocks_valid_colouring_on_odd_cycle():
    names = ["a", "b", "c", "d", "e"]
    edges = [Edge(x, y) for x, y in zip(names, names[1:] + names[:1])]
    g = Graph([V(n, 2) for n in names], edges)
    blocks = g.gibbs_blocks()
    assert sorted(n for b in blocks for n in b) == sorted(names)
    assert len(blocks) == 3
    for block in blocks:
        for e in edges:
            assert not (e.src in block and e.dst in block)


def test_gibbs_blocks_self_coupled():
    bm = Graph([V("x", 5)], [Edge("x", "x")])
    assert bm.gibbs_blocks() == [["x"]]
    semi_rbm = Graph([V("v", 5, observed=True), V("h", 3)], [Edge("v", "v"), Edge("v", "h")])
    assert semi_rbm.gibbs_blocks() == [["v"], ["h"]]


def test_gibbs_blocks_components_and_directed_part():
    g = Graph([V(n, 1) for n in "abcd"], [Edge("a", "b"), Edge("d", "c")])
    assert g.gibbs_blocks() == [["a", "c"], ["b", "d"]]
    assert sbn().gibbs_blocks() == []
    dbn = Graph(
        [V("v", 6, observed=True), V("h1", 4), V("h2", 3), V("h3", 2)],
        [Edge("h1", "v", True), Edge("h2", "h1", True), Edge("h2", "h3")],
    )
    assert dbn.gibbs_blocks() == [["h2"], ["h3"]]
    assert Graph([V("lonely", 2)]).gibbs_blocks() == [["lonely"]]
    assert Graph([]).gibbs_blocks() == []


# -- Markov blankets -------------------------------------------------------------------------
def test_markov_blanket_undirected():
    g = dbm4()
    assert g.markov_blanket("v") == {"h1"}
    assert g.markov_blanket("h2") == {"h1", "h3"}
    assert g.markov_blanket("h4") == {"h3"}
    bm = Graph([V("x", 5), V("y", 2)], [Edge("x", "x"), Edge("x", "y")])
    assert bm.markov_blanket("x") == {"y"}  # lateral couplings are internal
    assert bm.neighbours("x") == {"x", "y"}


def test_markov_blanket_directed():
    g = sbn()
    assert g.markov_blanket("h2") == {"h1"}
    assert g.markov_blanket("h1") == {"h2", "v"}
    assert g.markov_blanket("v") == {"h1"}
    assert g.parents("h1") == {"h2"} and g.children("h1") == {"v"}


def test_markov_blanket_co_parents():
    # a -> c <- b, c -> d, e -> d : blanket of a has child c and co-parent b
    g = Graph(
        [V(n, 1) for n in "abcde"],
        [Edge("a", "c", True), Edge("b", "c", True), Edge("c", "d", True), Edge("e", "d", True)],
    )
    assert g.markov_blanket("a") == {"b", "c"}
    assert g.markov_blanket("c") == {"a", "b", "d", "e"}
    assert g.markov_blanket("e") == {"c", "d"}


def test_markov_blanket_mixed():
    dbn = Graph(
        [V("v", 6, observed=True), V("h1", 4), V("h2", 3), V("h3", 2)],
        [Edge("h1", "v", True), Edge("h2", "h1", True), Edge("h2", "h3")],
    )
    assert dbn.markov_blanket("h2") == {"h1", "h3"}
    assert dbn.markov_blanket("h1") == {"h2", "v"}


# -- networkx, layers ------------------------------------------------------------------------
def test_to_networkx_undirected():
    nxg = Graph([V("v", (2, 3), "gaussian", True), V("h", 4)], [Edge("v", "h"), Edge("h", "h")],
                [Plate("N", ("v", "h"), 7, -1)]).to_networkx()
    assert type(nxg) is nx.Graph
    assert dict(nxg.nodes(data=True)) == {
        "v": {"size": (2, 3), "kind": "gaussian", "observed": True},
        "h": {"size": (4,), "kind": "bernoulli", "observed": False},
    }
    assert {frozenset((a, b)) for a, b in nxg.edges} == {frozenset(("v", "h")), frozenset(("h",))}
    assert all(d == {"directed": False} for _, _, d in nxg.edges(data=True))
    assert nxg.graph["plates"] == {"N": ["h", "v"]}


def test_to_networkx_directed_and_mixed():
    nxg = sbn().to_networkx()
    assert type(nxg) is nx.DiGraph
    assert set(nxg.edges) == {("h2", "h1"), ("h1", "v")}
    assert nx.is_directed_acyclic_graph(nxg)
    mixed = Graph([V("a", 1), V("b", 1), V("c", 1)], [Edge("a", "b", True), Edge("b", "c")])
    nxm = mixed.to_networkx()
    assert set(nxm.edges) == {("a", "b"), ("b", "c"), ("c", "b")}
    assert nxm.edges["a", "b"]["directed"] is True
    assert nxm.edges["c", "b"]["directed"] is False


def test_layers():
    assert rbm().layers() == [["v"], ["h"]]
    assert dbm4().layers() == [["v"], ["h1"], ["h2"], ["h3"], ["h4"]]
    assert sbn().layers() == [["v"], ["h1"], ["h2"]]
    hier = Graph([V("mu", ()), V("sigma", ()), V("x", (), "gaussian", True)],
                 [Edge("mu", "x", True), Edge("sigma", "x", True)])
    assert hier.layers() == [["x"], ["mu", "sigma"]]
    # no observed group: the first group is the root; separate components each start at 0
    g = Graph([V("a", 1), V("b", 1), V("c", 1), V("d", 1)], [Edge("a", "b"), Edge("c", "c")])
    assert g.layers() == [["a", "c", "d"], ["b"]]
    assert Graph([]).layers() == []


def test_describe_and_layered():
    g = Graph.layered([("v", 6, "bernoulli"), ("h", 4, "gaussian")])
    assert g == Graph([V("v", 6, "bernoulli", True), V("h", 4, "gaussian")], [Edge("v", "h")])
    assert g.describe().splitlines() == ["v: bernoulli 6 (observed)", "h: gaussian 4 (latent)", "h -- v"]
    scalar = Graph([VariableGroup("mu", (), "gaussian")])
    assert scalar.describe() == "mu: gaussian scalar (latent)"


def test_cached_colouring_does_not_survive_replace():
    """dataclasses.replace builds a new graph whose colouring is computed from its own edges."""
    import dataclasses

    g = Graph([VariableGroup("v", 3, observed=True), VariableGroup("h1", 2), VariableGroup("h2", 2)],
              [Edge("v", "h1"), Edge("h1", "h2")])
    assert g.gibbs_blocks() == [["v", "h2"], ["h1"]]
    g2 = dataclasses.replace(g, edges=g.edges + (Edge("v", "h2"),))
    blocks = g2.gibbs_blocks()
    assert all(not {"v", "h2"} <= set(b) for b in blocks), blocks
    assert sorted(n for b in blocks for n in b) == ["h1", "h2", "v"]
