"""Drawing a :class:`~pgm.graph.Graph` with matplotlib.

Drawing is kept apart from the graph, which stays plain data. The figure is made with
:class:`matplotlib.figure.Figure` directly (no pyplot state), so it works on any backend,
headless ones included.

Every artist carries a ``gid`` saying what it shows, which is how tests (and users who
want to restyle a drawing) find them: ``"group:<name>"`` (the box), ``"label:<name>"``
(its text), ``"edge:<src>-><dst>"`` (arrow) or ``"edge:<src>--<dst>"`` (line),
``"loop:<name>"`` (lateral couplings), ``"plate:<name>"`` and ``"plate-label:<name>"``,
and ``"plate-note:<name>"`` for a plate that could not be drawn as a rectangle.
"""

from __future__ import annotations

import os

from .graph import Graph

__all__ = ["draw", "group_label"]

from .checks import PICTURE_FORMATS as _FORMATS
_FONT = 9  # points
_H = 0.75  # box height, data units (one data unit is drawn as one inch)
_GAP_X = 0.6
_GAP_Y = 0.95
_PLATE_PAD = 0.14
_PLATE_STEP = 0.12
_PLATE_LABEL = 0.2  # extra room under a plate's members for its label
_OBSERVED = "#c8c8c8"
_LATENT = "white"


def group_label(group) -> str:
    """The text drawn in a group's box: name, kind and number of units, one per line.

    Parameters
    ----------
    group : VariableGroup

    Returns
    -------
    str
        e.g. ``"h\\nbernoulli\\n16 units"``; a multi-dimensional group also shows its
        shape (``"784 units (28x28)"``), a scalar group reads ``"1 unit"``.
    """
    n = group.n_units
    units = f"{n} unit" if n == 1 else f"{n} units"
    if len(group.size) > 1:
        units += f" ({'x'.join(map(str, group.size))})"
    return f"{group.name}\n{group.kind}\n{units}"


def _plate_members(graph: Graph, name: str) -> tuple[str, ...]:
    return tuple(sorted(p.name for p in graph.plates if name in p.members))


def _layout(graph: Graph, width: float) -> dict[str, tuple[float, float, int]]:
    """Centre ``(x, y)`` and layer index of each group; layers bottom to top."""
    pos = {}
    for i, layer in enumerate(graph.layers()):
        # Keep members of the same plates side by side so their rectangle can be drawn.
        layer = sorted(layer, key=lambda n: _plate_members(graph, n))
        for j, name in enumerate(layer):
            x = (j - (len(layer) - 1) / 2) * (width + _GAP_X)
            pos[name] = (x, i * (_H + _GAP_Y), i)
    return pos


def _check(graph, path, ax, title):
    if not isinstance(graph, Graph):
        raise TypeError(f"draw: graph must be a pgm.Graph, got {type(graph).__name__}")
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"draw: path must be a str or os.PathLike, got {type(path).__name__}")
        ext = os.path.splitext(os.fspath(path))[1].lower()
        if ext not in _FORMATS:
            raise ValueError(
                f"draw: path must end in one of {', '.join(_FORMATS)}, got {os.fspath(path)!r}"
            )
    if ax is not None:
        from matplotlib.axes import Axes

        if not isinstance(ax, Axes):
            raise TypeError(f"draw: ax must be a matplotlib Axes, got {type(ax).__name__}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"draw: title must be a str or None, got {type(title).__name__}")


def _edge_rad(e, pos, edges) -> float:
    (xa, _, la), (xb, _, lb) = pos[e.src][:3], pos[e.dst][:3]
    if e.directed and any(f.directed and (f.src, f.dst) == (e.dst, e.src) for f in edges):
        return 0.2  # a pair of opposite arcs: bend both (they bend to opposite sides)
    if abs(la - lb) == 1:
        return 0.0
    if la == lb:
        same_layer = sorted(x for x, _, layer in pos.values() if layer == la)
        between = [x for x in same_layer if min(xa, xb) < x < max(xa, xb)]
        return 0.0 if not between else 0.35
    return 0.25  # skips a layer: bend around the groups in between


def _draw_plates(ax, graph, pos, width):
    """Rectangles around plate members, larger for plates that contain other plates."""
    from matplotlib.patches import Rectangle

    boxes = {n: (x - width / 2, y - _H / 2, x + width / 2, y + _H / 2) for n, (x, y, _) in pos.items()}
    notes = []
    for plate in graph.plates:
        members = set(plate.members)
        inner = sum(1 for q in graph.plates if q is not plate and set(q.members) < members)
        pad = _PLATE_PAD + _PLATE_STEP * inner
        x0 = min(boxes[m][0] for m in members) - pad
        y0 = min(boxes[m][1] for m in members) - pad - _PLATE_LABEL
        x1 = max(boxes[m][2] for m in members) + pad
        y1 = max(boxes[m][3] for m in members) + pad
        clash = [
            n for n, (a0, b0, a1, b1) in boxes.items()
            if n not in members and a0 < x1 and a1 > x0 and b0 < y1 and b1 > y0
        ]
        # A size of 1 is what tracing a program on a single example records, not the data size.
        label = plate.name if plate.size in (None, 1) else f"{plate.name} = {plate.size}"
        if clash:  # a rectangle would enclose non-members: say it in words instead
            notes.append((plate.name, f"plate {label}: {', '.join(plate.members)}"))
            continue
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, linewidth=1.0,
                               edgecolor="0.35", zorder=0.5, gid=f"plate:{plate.name}"))
        ax.text(x1 - 0.05, y0 + 0.04, label, ha="right", va="bottom", fontsize=_FONT - 1,
                color="0.25", zorder=0.6, gid=f"plate-label:{plate.name}")
    for i, (name, text) in enumerate(notes):
        ax.text(0.01, 0.01 + 0.05 * i, text, transform=ax.transAxes, ha="left", va="bottom",
                fontsize=_FONT - 1, color="0.25", gid=f"plate-note:{name}")


def _reduced(graph: Graph) -> tuple[Graph, int]:
    """``graph`` with its directed edges replaced by their transitive reduction (the edges
    that no longer path implies), and the number of edges left out."""
    import networkx as nx

    dag = nx.DiGraph()
    dag.add_nodes_from(graph.names)
    dag.add_edges_from((e.src, e.dst) for e in graph.edges if e.directed)
    if not nx.is_directed_acyclic_graph(dag):
        raise ValueError("draw: reduce=True needs the directed edges to form a DAG")
    keep = set(nx.transitive_reduction(dag).edges())
    edges = [e for e in graph.edges if not e.directed or (e.src, e.dst) in keep]
    return Graph(graph.groups, edges, graph.plates), len(graph.edges) - len(edges)


def _reading_layout(graph: Graph, width: float, per_row: int = 7) -> dict[str, tuple[float, float, int]]:
    """Groups in topological order, left to right in rows of ``per_row``, rows top to bottom."""
    import networkx as nx

    order = list(nx.topological_sort(graph.to_networkx())) if graph.edges else graph.names
    pos = {}
    for k, name in enumerate(order):
        row, col = divmod(k, per_row)
        pos[name] = (col * (width + _GAP_X), -row * (_H + _GAP_Y), -row)
    return pos


def draw(graph: Graph, path=None, ax=None, title: str | None = None, reduce: bool = False):
    """Draw a graph: layers bottom to top, groups as boxes, edges as arrows or lines.

    Layers come from :meth:`Graph.layers` (observed groups at the bottom). Each group is a
    rounded box labelled by :func:`group_label` (name, kind, unit count), shaded grey when
    observed. A directed edge is an arrow parent → child, an undirected edge a plain line,
    lateral couplings within a group (``src == dst``) a loop on the box's top right.
    A plate is a labelled rectangle (``"N = 100"``; its name alone when its size is
    unknown or 1, the size a program traced on one example records) around its members when that
    rectangle encloses no other group; otherwise it is listed in a note in the bottom
    left corner.

    Parameters
    ----------
    graph : Graph
        What to draw.
    path : str or os.PathLike, optional
        Save the figure here (creating missing folders); the format follows the
        extension (``.png``, ``.pdf`` or ``.svg``).
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (their axis lines are switched off and their limits set)
        instead of a new figure.
    title : str, optional
        Axes title.
    reduce : bool, default False
        Draw only the transitive reduction of the directed edges (an autoregressive
        chain, where each group depends on every earlier one, is drawn as the chain),
        with a note of how many implied edges are left out, and lay the groups out in
        reading order, in rows.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure, or the figure holding ``ax``.

    Raises
    ------
    TypeError
        If ``graph`` is not a :class:`Graph`, ``ax`` not an Axes or ``title`` not a str.
    ValueError
        If ``path`` has an extension other than png, pdf or svg.

    Examples
    --------
    >>> from pgm import Graph
    >>> rbm = Graph.layered([("v", 784, "bernoulli"), ("h", 500, "bernoulli")])
    >>> fig = draw(rbm, title="RBM")
    >>> sorted(t.get_text().split("\\n")[0] for t in fig.axes[0].texts)
    ['h', 'v']
    """
    _check(graph, path, ax, title)
    if not isinstance(reduce, bool):
        raise TypeError(f"draw: reduce must be a bool, got {type(reduce).__name__}")
    implied = 0
    if reduce:
        graph, implied = _reduced(graph)
    from matplotlib.figure import Figure
    from matplotlib.patches import Arc, FancyArrowPatch, FancyBboxPatch

    labels = {g.name: group_label(g) for g in graph.groups}
    longest = max((len(line) for text in labels.values() for line in text.split("\n")), default=0)
    width = max(1.3, 0.075 * longest + 0.35)
    pos = _reading_layout(graph, width) if reduce else _layout(graph, width)
    n_plates = len(graph.plates)
    margin = 0.35 + (_PLATE_PAD + _PLATE_STEP * n_plates + _PLATE_LABEL if n_plates else 0.0)
    xs = [x for x, _, _ in pos.values()] or [0.0]
    ys = [y for _, y, _ in pos.values()] or [0.0]
    xlim = (min(xs) - width / 2 - margin, max(xs) + width / 2 + margin)
    ylim = (min(ys) - _H / 2 - margin, max(ys) + _H / 2 + margin + 0.25)

    if ax is None:
        fig = Figure(figsize=(max(3.0, xlim[1] - xlim[0]), max(2.0, ylim[1] - ylim[0] + 0.4)))
        ax = fig.add_subplot()
    else:
        try:
            fig = ax.get_figure(root=True)
        except TypeError:  # matplotlib < 3.10
            fig = ax.figure
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    if not graph.groups:
        ax.text(0.5, 0.5, "(empty graph)", transform=ax.transAxes, ha="center", va="center")

    boxes = {}
    for grp in graph.groups:
        x, y, _ = pos[grp.name]
        box = FancyBboxPatch(
            (x - width / 2, y - _H / 2), width, _H, boxstyle="round,pad=0,rounding_size=0.12",
            facecolor=_OBSERVED if grp.observed else _LATENT, edgecolor="black",
            linewidth=1.2, zorder=2, gid=f"group:{grp.name}",
        )
        ax.add_patch(box)
        boxes[grp.name] = box
        ax.text(x, y, labels[grp.name], ha="center", va="center", fontsize=_FONT,
                linespacing=1.25, zorder=3, gid=f"label:{grp.name}")

    for e in graph.edges:
        if e.src == e.dst:
            x, y, _ = pos[e.src]
            # A loop standing on the top right of the box (its lower half is hidden).
            ax.add_patch(Arc((x + width / 2 - 0.25, y + _H / 2), 0.34, 0.4, theta1=-30,
                             theta2=210, linewidth=1.2, zorder=1.5, gid=f"loop:{e.src}"))
            continue
        ax.add_patch(FancyArrowPatch(
            pos[e.src][:2], pos[e.dst][:2], patchA=boxes[e.src], patchB=boxes[e.dst],
            arrowstyle="-|>" if e.directed else "-", mutation_scale=14, shrinkA=1, shrinkB=1,
            connectionstyle=f"arc3,rad={_edge_rad(e, pos, graph.edges)}", linewidth=1.2,
            color="black", zorder=1, gid=f"edge:{e.src}{'->' if e.directed else '--'}{e.dst}",
        ))

    _draw_plates(ax, graph, pos, width)
    if implied:
        ax.text(0.99, 0.01, f"each group depends on every earlier one: {implied} implied edges not drawn",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=_FONT - 1, color="0.25", gid="implied-note")
    if path is not None:
        folder = os.path.dirname(os.fspath(path))
        if folder:
            os.makedirs(folder, exist_ok=True)
        fig.savefig(path, bbox_inches="tight", pad_inches=0.1)
    return fig
