"""Pictures people would rather look at than read.

Each function returns a :class:`matplotlib.figure.Figure` (made without pyplot, so any
backend works), saves a PNG/PDF/SVG when given ``path``, and, when it draws one panel,
draws into a given ``ax``. They take tensors, arrays and plain data; the helpers of
:mod:`inference.pictures` compute those from a model or a sampler.

============================  ==========================================================
:func:`image_grid`            samples or data as a grid of image tiles
:func:`filter_grid`           each hidden unit's weights, a symmetric scale, a colour bar
:func:`reconstruction_grid`   rows of data over their reconstructions
:func:`plot_curves`           named series per epoch, with shaded bands
:func:`training_curves`       the likelihood and reconstruction curves of a history
:func:`ais_diagnostics`       final AIS log-weights and the ESS over β
:func:`swap_acceptance`       swap rates between neighbouring replicas of a PT ladder
:func:`recall_strip`          a Hopfield recall: pattern, probe, each sweep
:func:`sequence_strips`       real sequences over generated ones, frame by frame
============================  ==========================================================
"""

from .annealing import ais_diagnostics, effective_sample_size, swap_acceptance
from .curves import plot_curves, training_curves
from .images import filter_grid, image_grid, reconstruction_grid
from .recall import recall_strip
from .sequences import sequence_strips

__all__ = ["image_grid", "filter_grid", "reconstruction_grid", "plot_curves", "training_curves", "ais_diagnostics",
           "swap_acceptance", "effective_sample_size", "recall_strip",
           "sequence_strips"]
