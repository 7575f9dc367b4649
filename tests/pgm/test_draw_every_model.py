"""pgm.draw on the graph of every model the command line can build, at small sizes.

The models come from :mod:`inference.families`, so a newly registered family is drawn
here without a new test: it only has to accept one of :data:`SIZES`.
"""

import matplotlib
import pytest
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from inference import families as registry
from pgm import draw

matplotlib.use("Agg")

#: Layer sizes tried in order; each family is drawn at the first one it accepts (the
#: deepest first, so that stacks show more than one hidden layer).
SIZES = ((16, 8, 4), (16, 8), (16,), (8, 2, 3, 2), (8, 2, 3, 2, 2, 2, 2))  # the last two: a conv RBM and a conv DBN


def small_model(entry):
    for sizes in SIZES:
        try:
            return entry.from_sizes(sizes), sizes
        except (TypeError, ValueError):
            continue
    raise AssertionError(f"registry entry {entry.name!r} accepts none of the sizes {SIZES}; make from_sizes accept "
                         "one of them or add a size to SIZES")


@pytest.mark.parametrize("name", registry.names())
def test_every_registered_model_draws_to_a_png(name, tmp_path):
    model, sizes = small_model(registry.lookup(name))
    graph = model.graph
    path = tmp_path / f"{name}.png"
    fig = draw(graph, path=path, title=f"{name} {'x'.join(map(str, sizes))}")
    ax = fig.axes[0]
    boxes = {p.get_gid() for p in ax.patches if isinstance(p, FancyBboxPatch)}
    assert boxes == {f"group:{g.name}" for g in graph.groups}
    between = [e for e in graph.edges if e.src != e.dst]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == len(between)
    assert {t.get_text().split("\n")[0] for t in ax.texts if (t.get_gid() or "").startswith("label:")} == \
        {g.name for g in graph.groups}
    plate_labels = [t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("plate-label:")]
    assert not any(label.endswith("= 1") for label in plate_labels)  # the traced batch, not the data size
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 2000
