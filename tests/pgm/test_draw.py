"""Tests of pgm.draw: what ends up on the Axes, and the saved files."""

import matplotlib
import pyro
import pyro.distributions as dist
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Arc, ArrowStyle, FancyArrowPatch, FancyBboxPatch, Rectangle

from pgm import Edge, Graph, Plate, VariableGroup, draw, from_pyro, group_label

V = VariableGroup


def artists(fig, prefix):
    """Artists of the figure's first Axes whose gid starts with ``prefix``, by gid."""
    ax = fig.axes[0]
    return {a.get_gid(): a for a in list(ax.patches) + list(ax.texts) if (a.get_gid() or "").startswith(prefix)}


def rbm():
    return Graph([V("v", 6, observed=True), V("h", 16)], [Edge("v", "h")])


def dbm():
    return Graph.layered([("v", 6, "bernoulli"), ("h1", 4, "bernoulli"), ("h2", 3, "bernoulli")])


def sbn_graph():
    def sbn(v):
        with pyro.plate("batch", v.shape[0]):
            h2 = pyro.sample("h2", dist.Bernoulli(0.5 * torch.ones(v.shape[0], 3)).to_event(1))
            h1 = pyro.sample("h1", dist.Bernoulli(torch.sigmoid(h2 @ torch.ones(3, 4))).to_event(1))
            pyro.sample("v", dist.Bernoulli(torch.sigmoid(h1 @ torch.ones(4, 6))).to_event(1), obs=v)

    return from_pyro(sbn, torch.ones(2, 6))


def test_group_label():
    assert group_label(V("h", 16)) == "h\nbernoulli\n16 units"
    assert group_label(V("mu", (), "gaussian")) == "mu\ngaussian\n1 unit"
    assert group_label(V("img", (28, 28), "gaussian")) == "img\ngaussian\n784 units (28x28)"


def test_rbm_boxes_labels_and_line():
    fig = draw(rbm(), title="RBM")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title() == "RBM"
    labels = artists(fig, "label:")
    assert {g: t.get_text() for g, t in labels.items()} == {
        "label:v": "v\nbernoulli\n6 units",
        "label:h": "h\nbernoulli\n16 units",
    }
    boxes = artists(fig, "group:")
    assert set(boxes) == {"group:v", "group:h"}
    assert all(isinstance(b, FancyBboxPatch) for b in boxes.values())
    # observed shaded, latent white
    assert boxes["group:v"].get_facecolor() != boxes["group:h"].get_facecolor()
    assert matplotlib.colors.to_hex(boxes["group:h"].get_facecolor()) == "#ffffff"
    # v at the bottom, h above it
    assert boxes["group:v"].get_y() < boxes["group:h"].get_y()
    edges = artists(fig, "edge:")
    assert list(edges) == ["edge:h--v"]
    assert isinstance(edges["edge:h--v"].get_arrowstyle(), ArrowStyle.Curve)  # no head
    assert not artists(fig, "loop:") and not artists(fig, "plate")


def test_dbm_chain_layers():
    fig = draw(dbm())
    boxes = artists(fig, "group:")
    ys = [boxes[f"group:{n}"].get_y() for n in ("v", "h1", "h2")]
    assert ys == sorted(ys) and len(set(ys)) == 3
    assert set(artists(fig, "edge:")) == {"edge:h1--v", "edge:h1--h2"}


def test_traced_sbn_arrows_and_plate(tmp_path):
    path = tmp_path / "sbn.png"
    fig = draw(sbn_graph(), path=path)
    edges = artists(fig, "edge:")
    assert set(edges) == {"edge:h2->h1", "edge:h1->v"}
    assert all(isinstance(e, FancyArrowPatch) for e in edges.values())
    assert all(isinstance(e.get_arrowstyle(), ArrowStyle.CurveFilledB) for e in edges.values())
    plates = artists(fig, "plate")
    assert isinstance(plates["plate:batch"], Rectangle)
    assert plates["plate-label:batch"].get_text() == "batch = 2"
    # the plate rectangle encloses every member box
    rect = plates["plate:batch"]
    for box in artists(fig, "group:").values():
        assert rect.get_x() < box.get_x() and box.get_x() + box.get_width() < rect.get_x() + rect.get_width()
        assert rect.get_y() < box.get_y() and box.get_y() + box.get_height() < rect.get_y() + rect.get_height()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 1000


def test_self_coupled_group():
    g = Graph([V("v", 5, observed=True), V("h", 3)], [Edge("v", "v"), Edge("v", "h")])
    fig = draw(g)
    loops = artists(fig, "loop:")
    assert list(loops) == ["loop:v"] and isinstance(loops["loop:v"], Arc)
    assert set(artists(fig, "edge:")) == {"edge:h--v"}


def test_plate_that_cannot_be_drawn_becomes_a_note():
    # a and c share a plate but b sits between them in the same chain
    g = Graph([V("a", 1, observed=True), V("b", 1), V("c", 1)], [Edge("a", "b"), Edge("b", "c")],
              [Plate("P", ("a", "c"), 4)])
    fig = draw(g)
    assert "plate:P" not in artists(fig, "plate")
    assert artists(fig, "plate-note:")["plate-note:P"].get_text() == "plate P = 4: a, c"


def test_nested_plates_outer_is_larger():
    g = Graph([V("x", 1, observed=True), V("z", 1)], [Edge("z", "x", True)],
              [Plate("outer", ("x", "z"), 3, -2), Plate("inner", ("x",), 5, -1)])
    plates = artists(draw(g), "plate:")
    outer, inner = plates["plate:outer"], plates["plate:inner"]
    assert outer.get_x() < inner.get_x() and outer.get_width() > inner.get_width()


@pytest.mark.parametrize("ext, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")])
def test_save_formats(tmp_path, ext, magic):
    path = tmp_path / f"g{ext}"
    draw(rbm(), path=str(path))
    assert path.read_bytes().startswith(magic)


def test_save_creates_folder(tmp_path):
    path = tmp_path / "new" / "dir" / "g.png"
    draw(rbm(), path=path)
    assert path.stat().st_size > 1000


def test_into_given_axes():
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    out = draw(dbm(), ax=ax2, title="DBM")
    assert out is fig
    assert not ax1.patches and len(ax2.patches) == 3 + 2
    assert ax2.get_title() == "DBM"


def test_empty_graph():
    fig = draw(Graph([]))
    assert [t.get_text() for t in fig.axes[0].texts] == ["(empty graph)"]


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="graph must be a pgm.Graph, got dict"):
        draw({"v": 1})
    with pytest.raises(ValueError, match=r"\.png, \.pdf, \.svg.*g\.jpg"):
        draw(rbm(), path=tmp_path / "g.jpg")
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        draw(rbm(), ax="axes")
    with pytest.raises(TypeError, match="title"):
        draw(rbm(), title=3)
