"""Bad input to the picture functions."""

from __future__ import annotations

import pytest
import torch

from pgm import plots
from tests.bad_inputs.common import NAN, assert_refused


# -- pictures of plain data (pgm.plots) ---------------------------------------------------

def _history():
    from inference import History

    return History()


#: ``(name, call, error, match)``: the picture functions of :mod:`pgm.plots` on bad data.
PICTURE_ROWS = [
    ("image_grid: rows of another width", lambda: plots.image_grid(torch.rand(3, 5), (2, 2)), ValueError, "images"),
    ("image_grid: values above 1 unnormalized", lambda: plots.image_grid(torch.rand(3, 4) * 2, (2, 2),
                                                                         normalize=None), ValueError, "normalize"),
    ("image_grid: NaN", lambda: plots.image_grid(torch.full((2, 4), NAN), (2, 2)), ValueError, "images"),
    ("image_grid: unknown normalize", lambda: plots.image_grid(torch.rand(2, 4), (2, 2), normalize="max"),
     ValueError, "normalize"),
    ("image_grid: a .jpg path", lambda: plots.image_grid(torch.rand(2, 4), (2, 2), path="g.jpg"), ValueError, "path"),
    ("image_grid: ncols 0", lambda: plots.image_grid(torch.rand(2, 4), (2, 2), ncols=0), ValueError, "ncols"),
    ("image_grid: image_shape (0, 4)", lambda: plots.image_grid(torch.rand(2, 4), (0, 4)), ValueError, "image_shape"),
    ("image_grid: ax a string", lambda: plots.image_grid(torch.rand(2, 4), (2, 2), ax="ax"), TypeError, "ax"),
    ("image_grid: no images", lambda: plots.image_grid(torch.rand(0, 4), (2, 2)), ValueError, "images"),
    ("filter_grid: W transposed", lambda: plots.filter_grid(torch.rand(3, 4), (2, 2)), ValueError, "W.T"),
    ("filter_grid: 1-D weights", lambda: plots.filter_grid(torch.rand(4), (2, 2)), ValueError, "weights"),
    ("reconstruction_grid: fewer reconstructions",
     lambda: plots.reconstruction_grid(torch.rand(3, 4), torch.rand(2, 4), (2, 2)), ValueError, "reconstructions"),
    ("reconstruction_grid: normalize 'each'",
     lambda: plots.reconstruction_grid(torch.rand(3, 4), torch.rand(3, 4), (2, 2), normalize="each"), ValueError,
     "normalize"),
    ("plot_curves: a list of curves", lambda: plots.plot_curves([1.0, 2.0]), TypeError, "curves"),
    ("plot_curves: band of an unplotted curve", lambda: plots.plot_curves({"a": [1]}, bands={"b": ([0], [2])}),
     ValueError, "bands"),
    ("plot_curves: title 3", lambda: plots.plot_curves({"a": [1]}, title=3), TypeError, "title"),
    ("training_curves: no epoch yet", lambda: plots.training_curves(_history()), ValueError, "history"),
    ("training_curves: a number", lambda: plots.training_curves(3), TypeError, "history"),
    ("ais_diagnostics: log_w of other checkpoints", lambda: plots.ais_diagnostics([0.0, 1.0], torch.zeros(3, 5)),
     ValueError, "log_w"),
    ("ais_diagnostics: decreasing betas", lambda: plots.ais_diagnostics([1.0, 0.0], torch.zeros(2, 5)), ValueError,
     "betas"),
    ("ais_diagnostics: one chain", lambda: plots.ais_diagnostics([0.0, 1.0], torch.zeros(2, 1)), ValueError, "log_w"),
    ("ais_diagnostics: bins 0", lambda: plots.ais_diagnostics([0.0, 1.0], torch.zeros(2, 5), bins=0), ValueError,
     "bins"),
    ("swap_acceptance: rates of another length", lambda: plots.swap_acceptance([1.0, 0.5], [0.2, 0.3]), ValueError,
     "rates"),
    ("swap_acceptance: rate 1.5", lambda: plots.swap_acceptance([1.0, 0.5], [1.5]), ValueError, "rates"),
    ("swap_acceptance: one replica", lambda: plots.swap_acceptance([1.0], []), ValueError, "betas"),
    ("recall_strip: frames of other probes", lambda: plots.recall_strip(torch.ones(2, 4), torch.ones(3, 1, 4), (2, 2)),
     ValueError, "frames"),
    ("recall_strip: grey patterns", lambda: plots.recall_strip(torch.full((2, 4), 0.5), torch.ones(3, 2, 4), (2, 2)),
     ValueError, "patterns"),
    ("recall_strip: patterns of another size", lambda: plots.recall_strip(torch.ones(2, 6), torch.ones(3, 2, 6), (2, 2)),
     ValueError, "patterns"),
]


@pytest.mark.parametrize("name, call, error, match", PICTURE_ROWS, ids=[r[0] for r in PICTURE_ROWS])
def test_bad_input_to_a_picture_is_refused_cleanly(name, call, error, match):
    assert_refused(call, error, match)
