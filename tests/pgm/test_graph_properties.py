"""Property-based checks of Graph: equality ignores listing order, colourings are proper."""

from hypothesis import given, settings
from hypothesis import strategies as st

from pgm import Edge, Graph, VariableGroup

NAMES = [f"g{i}" for i in range(6)]


@st.composite
def graphs(draw):
    n = draw(st.integers(1, len(NAMES)))
    names = NAMES[:n]
    groups = [VariableGroup(name, draw(st.integers(1, 5)), observed=draw(st.booleans())) for name in names]
    pairs = draw(st.lists(st.tuples(st.sampled_from(names), st.sampled_from(names)), max_size=10))
    edges = [Edge(a, b, False) for a, b in pairs]
    return groups, edges


@settings(max_examples=60, deadline=None)
@given(graphs(), st.randoms(use_true_random=False))
def test_equality_and_hash_ignore_order_and_orientation(spec, rnd):
    groups, edges = spec
    g1 = Graph(groups, edges)
    shuffled_groups, flipped = list(groups), [Edge(e.dst, e.src, False) for e in edges]
    rnd.shuffle(shuffled_groups)
    rnd.shuffle(flipped)
    g2 = Graph(shuffled_groups, flipped)
    assert g1 == g2 and hash(g1) == hash(g2)


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_gibbs_blocks_partition_groups_into_independent_sets(spec):
    groups, edges = spec
    g = Graph(groups, edges)
    blocks = g.gibbs_blocks()
    flat = [name for block in blocks for name in block]
    assert sorted(flat) == sorted(g.names)  # every group exactly once (all touch only undirected edges)
    for block in blocks:
        for a in block:
            # no undirected coupling between two different groups of one block
            assert not (g.neighbours(a) - {a}) & set(block)
    for name in g.names:
        assert name not in g.markov_blanket(name)
        assert g.markov_blanket(name) == g.neighbours(name) - {name}
