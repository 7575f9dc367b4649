"""The shared graph representation: variable groups, edges and plates.

A :class:`Graph` is plain, immutable data. Energy models build one from their sizes;
directed models get one by tracing their Pyro program (:func:`pgm.from_pyro`). Inference
reads structure from it (the Gibbs schedule, Markov blankets), never from class names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

import networkx as nx

__all__ = ["VariableGroup", "Edge", "Plate", "Graph", "KINDS", "BERNOULLI_KINDS", "SPIN_KINDS", "REAL_KINDS",
           "COUNT_KINDS", "ONEHOT_KINDS"]

#: Unit kinds with a dedicated meaning in the library. Traced Pyro programs may also use
#: the lower-case name of any other distribution (e.g. ``"beta"``, ``"dirichlet"``).
KINDS = ("bernoulli", "gaussian", "spike_slab", "categorical", "real", "binary_pm1", "count", "softmax")
#: Kinds of integer units with values in {0, …, N}: the count of N binary copies of a
#: stepped-sigmoid unit, neither binary (it exceeds 1) nor real (its law is discrete).
COUNT_KINDS = ("count",)
#: Kinds of binary units with values in {0, 1}.
BERNOULLI_KINDS = ("bernoulli",)
#: Kinds of binary units with values in {−1, +1}.
SPIN_KINDS = ("binary_pm1", "spin")
#: Kinds of real-valued units (densities with respect to Lebesgue measure).
REAL_KINDS = ("gaussian", "real")
#: Kinds of softmax groups: the whole group is one K-way categorical variable held as K
#: one-hot units (a row of values has exactly one 1), so it has K states, not 2^K. Its
#: conditional in an energy model is a ``torch.distributions.OneHotCategorical``. (A traced
#: Pyro site of a categorical distribution has kind ``"categorical"`` instead.)
ONEHOT_KINDS = ("softmax",)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def _shape(size, name) -> tuple[int, ...]:
    if isinstance(size, bool):
        raise TypeError(f"VariableGroup {name!r}: size must be an int or a tuple of ints, got bool")
    if isinstance(size, int):
        size = (size,)
    try:
        shape = tuple(size)
    except TypeError:
        raise TypeError(
            f"VariableGroup {name!r}: size must be an int or a tuple of ints, got {size!r}"
        ) from None
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise ValueError(
            f"VariableGroup {name!r}: size must hold non-negative ints, got {size!r}"
        )
    return shape


@dataclass(frozen=True)
class VariableGroup:
    """A named group of random variables (one layer of units).

    Parameters
    ----------
    name : str
        Identifier, unique within a graph (e.g. ``"v"``, ``"h1"``).
    size : int or tuple of int
        Event shape of the group; an int ``n`` means ``(n,)``. Stored as a tuple.
    kind : str
        Unit type: one of :data:`KINDS` or the lower-case name of a distribution.
    observed : bool
        Whether the group is observed (data) rather than latent.
    """

    name: str
    size: tuple[int, ...]
    kind: str = "bernoulli"
    observed: bool = False

    def __post_init__(self):
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ValueError(
                f"VariableGroup name must be an identifier-like string, got {self.name!r}"
            )
        object.__setattr__(self, "size", _shape(self.size, self.name))
        if not isinstance(self.kind, str) or not self.kind:
            raise TypeError(f"VariableGroup {self.name!r}: kind must be a non-empty str, got {self.kind!r}")
        object.__setattr__(self, "observed", bool(self.observed))

    @property
    def n_units(self) -> int:
        """Total number of scalar units, the product of ``size``."""
        n = 1
        for s in self.size:
            n *= s
        return n


@dataclass(frozen=True)
class Edge:
    """A coupling between two groups.

    ``directed=True`` is a parent → child arc (``src`` is the parent). An undirected edge
    is stored with its endpoints sorted, so ``Edge("h", "v", False) == Edge("v", "h",
    False)``. ``src == dst`` (undirected only) denotes lateral couplings within a group.
    """

    src: str
    dst: str
    directed: bool = False

    def __post_init__(self):
        for end in ("src", "dst"):
            if not isinstance(getattr(self, end), str):
                raise TypeError(f"Edge.{end} must be a group name (str), got {getattr(self, end)!r}")
        object.__setattr__(self, "directed", bool(self.directed))
        if self.directed and self.src == self.dst:
            raise ValueError(
                f"Edge: a directed edge cannot loop on {self.src!r}; "
                "use directed=False for lateral couplings within a group"
            )
        if not self.directed and self.dst < self.src:
            src, dst = self.dst, self.src
            object.__setattr__(self, "src", src)
            object.__setattr__(self, "dst", dst)


@dataclass(frozen=True)
class Plate:
    """A plate (conditionally independent replication) over some groups.

    ``size`` is ``None`` when unknown; ``dim`` is the batch dimension Pyro allocated.
    """

    name: str
    members: tuple[str, ...]
    size: int | None = None
    dim: int | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"Plate name must be a non-empty str, got {self.name!r}")
        if isinstance(self.members, str):
            raise TypeError(
                f"Plate {self.name!r}: members must be a collection of group names, got the "
                f"str {self.members!r}; write members=({self.members!r},)"
            )
        members = tuple(self.members)
        if not all(isinstance(m, str) for m in members):
            raise TypeError(f"Plate {self.name!r}: members must be group names (str), got {members!r}")
        for attr in ("size", "dim"):
            value = getattr(self, attr)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise TypeError(f"Plate {self.name!r}: {attr} must be an int or None, got {value!r}")
        if self.size is not None and self.size < 0:
            raise ValueError(f"Plate {self.name!r}: size must be non-negative, got {self.size}")
        object.__setattr__(self, "members", tuple(sorted(set(members))))


@dataclass(frozen=True, eq=False)
class Graph:
    """Variable groups joined by directed and undirected edges, with optional plates.

    Plain data: equality and hashing ignore the order in which groups, edges and plates
    were listed. Group order is kept for display (bottom layer first).

    Parameters
    ----------
    groups : iterable of VariableGroup
    edges : iterable of Edge
    plates : iterable of Plate

    Examples
    --------
    >>> g = Graph([VariableGroup("v", 6, observed=True), VariableGroup("h", 4)],
    ...           [Edge("v", "h")])
    >>> g.gibbs_blocks()
    [['v'], ['h']]
    >>> sorted(g.markov_blanket("h"))
    ['v']
    """

    groups: tuple[VariableGroup, ...]
    edges: tuple[Edge, ...] = ()
    plates: tuple[Plate, ...] = ()
    _index: dict = field(default=None, init=False, repr=False, compare=False)
    _blocks: tuple = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        groups = tuple(self.groups)
        edges = tuple(self.edges)
        plates = tuple(self.plates)
        for g in groups:
            if not isinstance(g, VariableGroup):
                raise TypeError(f"Graph: groups must be VariableGroup, got {type(g).__name__}")
        for e in edges:
            if not isinstance(e, Edge):
                raise TypeError(f"Graph: edges must be Edge, got {type(e).__name__}")
        edges = tuple(dict.fromkeys(edges))  # drop duplicates, keep order
        index = {g.name: g for g in groups}
        if len(index) != len(groups):
            names = [g.name for g in groups]
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"Graph: group names must be unique, repeated: {dup}")
        for e in edges:
            missing = [n for n in (e.src, e.dst) if n not in index]
            if missing:
                raise ValueError(
                    f"Graph: edge {e.src!r}-{e.dst!r} names unknown group(s) {missing}; "
                    f"known groups: {list(index)}"
                )
        for p in plates:
            if not isinstance(p, Plate):
                raise TypeError(f"Graph: plates must be Plate, got {type(p).__name__}")
            missing = [n for n in p.members if n not in index]
            if missing:
                raise ValueError(f"Graph: plate {p.name!r} names unknown group(s) {missing}")
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "plates", plates)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_blocks", None)  # derived data: computed anew, never copied

    # -- plain-data protocol ---------------------------------------------------------
    def _key(self):
        return (frozenset(self.groups), frozenset(self.edges), frozenset(self.plates))

    def __eq__(self, other):
        if not isinstance(other, Graph):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    # -- queries ---------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Group names in declaration order."""
        return [g.name for g in self.groups]

    def __getitem__(self, name: str) -> VariableGroup:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"no group named {name!r}; groups are {self.names}") from None

    def __contains__(self, name) -> bool:
        return name in self._index

    def parents(self, name: str) -> set[str]:
        self[name]
        return {e.src for e in self.edges if e.directed and e.dst == name}

    def children(self, name: str) -> set[str]:
        self[name]
        return {e.dst for e in self.edges if e.directed and e.src == name}

    def neighbours(self, name: str) -> set[str]:
        """Groups joined to ``name`` by an undirected edge (itself if self-coupled)."""
        self[name]
        out = set()
        for e in self.edges:
            if not e.directed and name in (e.src, e.dst):
                out.add(e.dst if e.src == name else e.src)
        return out

    def markov_blanket(self, name: str) -> set[str]:
        """Groups that make ``name`` conditionally independent of the rest.

        Undirected neighbours, parents, children and the children's other parents.
        ``name`` itself is excluded (lateral couplings are internal to the group).
        """
        blanket = self.neighbours(name) | self.parents(name) | self.children(name)
        for child in self.children(name):
            blanket |= self.parents(child)
        blanket.discard(name)
        return blanket

    def gibbs_blocks(self) -> list[list[str]]:
        """A colouring of the undirected part into blocks sampled one after another.

        Groups in one block share no undirected edge, so given the other blocks they are
        conditionally independent and can be sampled together. A bipartite graph (RBM,
        DBM) gets two blocks, the one holding the first declared group first (RBM:
        ``[["v"], ["h"]]``; DBM: odd then even layers). Otherwise a greedy colouring in
        declaration order. Self-couplings do not constrain the colouring: a self-coupled
        group's own conditional must handle its lateral connections (unit by unit).
        Groups with only directed edges are left out. Computed once per graph (it is
        immutable); each call returns fresh lists.
        """
        if self._blocks is None:
            object.__setattr__(self, "_blocks", tuple(tuple(b) for b in self._colour_blocks()))
        return [list(b) for b in self._blocks]

    def _colour_blocks(self) -> list[list[str]]:
        und = nx.Graph()
        members = [g.name for g in self.groups if self._touches_undirected(g.name)]
        und.add_nodes_from(members)
        und.add_edges_from((e.src, e.dst) for e in self.edges if not e.directed and e.src != e.dst)
        if not members:
            return []
        colour: dict[str, int] = {}
        if nx.is_bipartite(und):
            for comp in sorted(nx.connected_components(und), key=lambda c: min(members.index(n) for n in c)):
                root = min(comp, key=members.index)
                colour.update(nx.bipartite.color(und.subgraph(comp)))
                if colour[root] == 1:
                    for n in comp:
                        colour[n] = 1 - colour[n]
        else:
            for n in members:
                used = {colour[m] for m in und.neighbors(n) if m in colour}
                colour[n] = next(c for c in range(len(members)) if c not in used)
        blocks: dict[int, list[str]] = {}
        for n in members:
            blocks.setdefault(colour[n], []).append(n)
        return [blocks[c] for c in sorted(blocks)]

    def _touches_undirected(self, name: str) -> bool:
        touching = [e for e in self.edges if name in (e.src, e.dst)]
        return any(not e.directed for e in touching) or not touching

    def layers(self) -> list[list[str]]:
        """Groups arranged bottom to top for display.

        Observed groups (or, failing that, the first group) form the bottom layer; each
        further layer holds the groups one hop farther away, ignoring edge direction.
        """
        g = nx.Graph()
        g.add_nodes_from(self.names)
        g.add_edges_from((e.src, e.dst) for e in self.edges if e.src != e.dst)
        depth: dict[str, int] = {}
        for comp in nx.connected_components(g):
            comp_order = [n for n in self.names if n in comp]
            roots = [n for n in comp_order if self[n].observed] or [comp_order[0]]
            depth.update(nx.multi_source_dijkstra_path_length(g, set(roots)))
        out: dict[int, list[str]] = {}
        for n in self.names:
            out.setdefault(depth[n], []).append(n)
        return [out[d] for d in sorted(out)]

    def grouped(self, groups) -> "Graph":
        """The quotient graph that merges groups: ``groups`` maps each new name to the
        existing groups it holds (every group exactly once).

        A new group's size is the total unit count of its members, its kind their common
        kind (``"mixed"`` if they differ) and it is observed if all members are. An edge
        joins two new groups if one joined any of their members (edges within a new group
        are dropped: the new group is one node). Plates keep the new groups of their
        members.

        Examples
        --------
        >>> g = Graph([VariableGroup(n, 1, observed=True) for n in "abc"],
        ...           [Edge("a", "b", True), Edge("a", "c", True), Edge("b", "c", True)])
        >>> q = g.grouped({"ab": ["a", "b"], "c": ["c"]})
        >>> q["ab"].size, q.parents("c")
        ((2,), {'ab'})
        """
        owner: dict[str, str] = {}
        for new, members in groups.items():
            members = list(members)
            if not members:
                raise ValueError(f"Graph.grouped: group {new!r} has no members")
            for m in members:
                if m not in self._index:
                    raise ValueError(f"Graph.grouped: {m!r} (in {new!r}) is not a group of the graph")
                if m in owner:
                    raise ValueError(f"Graph.grouped: {m!r} is in both {owner[m]!r} and {new!r}")
                owner[m] = new
        left = [n for n in self.names if n not in owner]
        if left:
            raise ValueError(f"Graph.grouped: every group must be placed, left out: {left[:5]}")
        new_groups = []
        for new, members in groups.items():
            kinds = {self[m].kind for m in members}
            new_groups.append(VariableGroup(new, sum(self[m].n_units for m in members),
                                            kinds.pop() if len(kinds) == 1 else "mixed",
                                            all(self[m].observed for m in members)))
        edges = [Edge(owner[e.src], owner[e.dst], e.directed) for e in self.edges
                 if owner[e.src] != owner[e.dst] or not e.directed]
        plates = [Plate(p.name, tuple({owner[m] for m in p.members}), p.size, p.dim) for p in self.plates]
        return Graph(new_groups, edges, plates)

    def to_networkx(self):
        """Convert to networkx.

        Returns a ``networkx.Graph`` when every edge is undirected, otherwise a
        ``networkx.DiGraph`` (an undirected edge becomes two opposite arcs). Nodes carry
        ``size``, ``kind`` and ``observed``; edges carry ``directed``.
        """
        directed = any(e.directed for e in self.edges)
        out = nx.DiGraph() if directed else nx.Graph()
        for grp in self.groups:
            out.add_node(grp.name, size=grp.size, kind=grp.kind, observed=grp.observed)
        for e in self.edges:
            out.add_edge(e.src, e.dst, directed=e.directed)
            if directed and not e.directed:
                out.add_edge(e.dst, e.src, directed=False)
        out.graph["plates"] = {p.name: list(p.members) for p in self.plates}
        return out

    def describe(self) -> str:
        """A one-line-per-group text summary."""
        lines = []
        for grp in self.groups:
            flag = "observed" if grp.observed else "latent"
            size = "x".join(map(str, grp.size)) or "scalar"
            lines.append(f"{grp.name}: {grp.kind} {size} ({flag})")
        for e in self.edges:
            lines.append(f"{e.src} {'->' if e.directed else '--'} {e.dst}")
        return "\n".join(lines)

    @classmethod
    def layered(cls, sizes: Iterable[tuple[str, int, str]], observed=("v",)):
        """An undirected chain of groups ``(name, size, kind)``, each coupled to the next."""
        sizes = list(sizes)
        groups = [VariableGroup(n, s, k, observed=n in observed) for n, s, k in sizes]
        edges = [Edge(a[0], b[0]) for a, b in zip(sizes[:-1], sizes[1:])]
        return cls(groups, edges)
