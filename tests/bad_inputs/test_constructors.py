"""Bad constructor arguments of every family (no model to guard)."""

from __future__ import annotations

import pytest

from models import DBN, VAE, SigmoidBeliefNet
from models.energy import RBM, ClassRBM, GaussianRBM, SpikeSlabRBM
from tests.bad_inputs.common import INF, NAN


# -- constructors --------------------------------------------------------------------------

CONSTRUCTORS = [
    *[pytest.param(cls, args, kwargs, error, match, id=f"{cls.__name__}{args}{kwargs or ''}")
      for cls in (RBM, GaussianRBM, SpikeSlabRBM)
      for args, kwargs, error, match in [
          ((0, 4), {}, ValueError, "n_visible"),
          ((6, 0), {}, ValueError, "n_hidden"),
          ((-1, 4), {}, ValueError, "n_visible"),
          ((1.5, 4), {}, TypeError, "n_visible"),
          (("6", 4), {}, TypeError, "n_visible"),
          ((6, None), {}, TypeError, "n_hidden"),
          ((6, 4), {"weight_std": NAN}, ValueError, "weight_std"),
          ((6, 4), {"weight_std": -1.0}, ValueError, "weight_std"),
          ((6, 4), {"seed": "x"}, TypeError, "seed"),
          ((10**12, 10**12), {}, ValueError, "memory"),
      ]],
    *[pytest.param(cls, (6, 4), kwargs, error, match, id=f"{cls.__name__}{kwargs}")
      for cls in (RBM, GaussianRBM)
      for kwargs, error, match in [
          ({"hidden": "relu"}, ValueError, "hidden"),
          ({"hidden": None}, ValueError, "hidden"),
          ({"hidden": "stepped", "n_steps": 0}, ValueError, "n_steps"),
          ({"hidden": "nrelu", "n_steps": 2.5}, TypeError, "n_steps"),
          ({"n_steps": 4}, ValueError, "n_steps"),
      ]],
    *[pytest.param(GaussianRBM, (6, 4), kwargs, error, match, id=f"GaussianRBM{kwargs}")
      for kwargs, error, match in [
          ({"min_sigma": 0.0}, ValueError, "min_sigma"),
          ({"min_sigma": NAN}, ValueError, "min_sigma"),
          ({"max_sigma": 0.001}, ValueError, "max_sigma"),
          ({"learn_sigma": "yes"}, TypeError, "learn_sigma"),
      ]],
    *[pytest.param(SpikeSlabRBM, (6, 4), kwargs, error, match, id=f"SpikeSlabRBM{kwargs}")
      for kwargs, error, match in [
          ({"min_precision": 0.0}, ValueError, "min_precision"),
          ({"min_precision": NAN}, ValueError, "min_precision"),
          ({"min_precision": 2.0}, ValueError, "min_precision"),
          ({"max_precision": 0.5}, ValueError, "max_precision"),
          ({"max_precision": INF}, ValueError, "max_precision"),
          ({"max_alpha": 0.5}, ValueError, "max_alpha"),
          ({"max_alpha": NAN}, ValueError, "max_alpha"),
      ]],
    *[pytest.param(cls, args, kwargs, error, match, id=f"{cls.__name__}{args}{kwargs or ''}")
      for cls, args, kwargs, error, match in [
          (SigmoidBeliefNet, ([6],), {}, ValueError, "sizes"),
          (SigmoidBeliefNet, ([6, 0],), {}, ValueError, r"sizes\[1\]"),
          (SigmoidBeliefNet, (6,), {}, TypeError, "sizes"),
          (SigmoidBeliefNet, ([6, 2.5],), {}, TypeError, r"sizes\[1\]"),
          (SigmoidBeliefNet, ([6, 3],), {"weight_std": -1.0}, ValueError, "weight_std"),
          (VAE, (6, 5, 2, "poisson"), {}, ValueError, "likelihood"),
          (VAE, (0, 5, 2), {}, ValueError, "n_visible"),
          (VAE, (6, 5, 2), {"seed": "x"}, TypeError, "seed"),
      ]],
    *[pytest.param(DBN, args, kwargs, error, match, id=f"DBN{args}{kwargs or ''}")
      for args, kwargs, error, match in [
          (([6, 4],), {}, ValueError, "sizes"),
          (([6, 0, 4],), {}, ValueError, r"sizes\[1\]"),
          (([6, 4.5, 4],), {}, TypeError, r"sizes\[1\]"),
          ((64,), {}, TypeError, "sizes"),
          (([6, 4, 3],), {"weight_std": NAN}, ValueError, "weight_std"),
          (([6, 4, 3],), {"seed": -1}, ValueError, "seed"),
          (([10**6, 10**6, 4],), {}, ValueError, "memory"),
      ]],
    *[pytest.param(ClassRBM, args, {}, error, match, id=f"ClassRBM{args}")
      for args, error, match in [
          ((6, 4, 1), ValueError, "n_classes"),
          ((6, 4, 2.5), TypeError, "n_classes"),
          ((6, 0, 3), ValueError, "n_hidden"),
          ((0, 4, 3), ValueError, "n_visible"),
          ((6, 4, 10**12), ValueError, "memory"),
      ]],
]


@pytest.mark.parametrize("cls, args, kwargs, error, match", CONSTRUCTORS)
def test_bad_constructor_arguments_are_refused(cls, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(*args, **kwargs)
