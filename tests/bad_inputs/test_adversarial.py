"""Bad input to the GAN's entry points: refused with the argument named, before anything
changes. Every row of :data:`ROWS` runs on every subject."""

from __future__ import annotations

import pytest
import torch

from inference.adversarial import fit_gan
from models.adversarial import GAN
from models.features import FeatureNet
from tests.bad_inputs.common import INF, NAN, QUIET, assert_refused


def _units(n, width=4):
    return torch.rand(n, width, generator=torch.Generator().manual_seed(0))


SUBJECTS = {
    "gan": (lambda: GAN(4, 2, (8,), seed=0), None),
    "linear gan": (lambda: GAN(4, 2, (8,), output="linear", seed=0), None),
    "conditional gan": (lambda: GAN(4, 2, (8,), n_classes=3, seed=0), torch.arange(10) % 3),
}


def _fit(m, y, **kw):
    return fit_gan(m, kw.pop("data", _units(10)), labels=kw.pop("labels", y), epochs=1, **{**QUIET, **kw})


ROWS = [
    ("fit: NaN data", lambda m, y: _fit(m, y, data=_units(10).fill_(NAN)), ValueError, "NaN"),
    ("fit: infinite data", lambda m, y: _fit(m, y, data=_units(10).fill_(INF)), ValueError, "infinite"),
    ("fit: 5 columns", lambda m, y: _fit(m, y, data=torch.zeros(10, 5)), ValueError, "4 columns"),
    ("fit: no rows", lambda m, y: _fit(m, y, data=_units(0), labels=None if y is None else y[:0]), ValueError,
     "no rows"),
    ("fit: integer data", lambda m, y: _fit(m, y, data=_units(10).long()), TypeError, "floating"),
    ("fit: method wgan", lambda m, y: _fit(m, y, method="wgan"), ValueError, "method"),
    ("fit: d_steps 0", lambda m, y: _fit(m, y, d_steps=0), ValueError, "d_steps"),
    ("fit: lr 0", lambda m, y: _fit(m, y, lr=0.0), ValueError, "lr"),
    ("fit: batch_size 0", lambda m, y: _fit(m, y, batch_size=0), ValueError, "batch_size"),
    ("fit: betas (0.5,)", lambda m, y: _fit(m, y, betas=(0.5,)), TypeError, "betas"),
    ("fit: betas (0.5, 1.0)", lambda m, y: _fit(m, y, betas=(0.5, 1.0)), ValueError, "betas"),
    ("fit: optimizer 'adam'", lambda m, y: _fit(m, y, optimizer="adam"), TypeError, "optimizer"),
    ("fit: coverage_every 0", lambda m, y: _fit(m, y, coverage_every=0), ValueError, "coverage_every"),
    ("fit: min_classes 0", lambda m, y: _fit(m, y, min_classes=0), ValueError, "min_classes"),
    ("fit: coverage not a classifier", lambda m, y: _fit(m, y, coverage=torch.nn.Linear(4, 2)), TypeError,
     "coverage"),
    ("fit: coverage of 5 inputs", lambda m, y: _fit(m, y, coverage=FeatureNet(5, 3, (4,))), ValueError, "coverage"),
    ("fit: min_classes above the classifier's", lambda m, y: _fit(m, y, coverage=FeatureNet(4, 3, (4,)),
                                                                  min_classes=8), ValueError, "min_classes"),
    ("fit: resume without checkpoint", lambda m, y: _fit(m, y, resume=True), ValueError, "resume"),
    ("fit: callbacks 5", lambda m, y: _fit(m, y, callbacks=5), TypeError, "callbacks"),
    ("fit: labels of 9 rows", lambda m, y: _fit(m, y, labels=torch.arange(9) % 2), ValueError, "labels"),
    ("sample: n -1", lambda m, y: m.sample(-1), ValueError, "n"),
    ("sample: generator 5", lambda m, y: m.sample(2, generator=5), TypeError, "generator"),
    ("sample: z of 3 columns", lambda m, y: m.sample(2, z=torch.zeros(2, 3)), ValueError, "z"),
    ("sample: y floats", lambda m, y: m.sample(2, y=torch.zeros(2)), (TypeError, ValueError), "y"),
    ("decoder: sigma 0", lambda m, y: m.decoder(0.0, None if y is None else y[:2]), ValueError, "sigma"),
    ("model: observation 'poisson'", lambda m, y: m.model(n=2, observation="poisson"), ValueError, "observation"),
    ("model: gaussian without sigma", lambda m, y: m.model(n=2, observation="gaussian"), (TypeError, ValueError),
     "sigma"),
]


@pytest.mark.parametrize("subject", list(SUBJECTS))
@pytest.mark.parametrize("name, call, error, match", ROWS, ids=[r[0] for r in ROWS])
def test_bad_adversarial_input_is_refused_cleanly(subject, name, call, error, match, one_thread):
    build, labels = SUBJECTS[subject]
    model = build()
    assert_refused(lambda: call(model, labels), error, match, model=model)


def test_labels_are_refused_for_an_unconditional_gan_and_required_for_a_conditional_one():
    assert_refused(lambda: _fit(GAN(4, 2, (8,), seed=0), torch.arange(10) % 2), ValueError, "labels")
    model = GAN(4, 2, (8,), n_classes=3, seed=0)
    assert_refused(lambda: _fit(model, None), ValueError, "labels", model=model)
    assert_refused(lambda: _fit(model, torch.arange(10) % 4), ValueError, "labels", model=model)
    assert_refused(lambda: _fit(model, (torch.arange(10) % 3).float()), TypeError, "labels", model=model)


def test_a_model_without_the_players_is_refused():
    assert_refused(lambda: fit_gan(torch.nn.Linear(2, 2), torch.zeros(3, 2), **QUIET), TypeError, "discriminator")


def test_sigmoid_output_refuses_data_outside_the_unit_interval():
    model = GAN(4, 2, (8,), seed=0)
    assert_refused(lambda: _fit(model, None, data=_units(10) * 3), ValueError, "data", model=model)


CONSTRUCTORS = [
    ("GAN: n_visible 0", lambda: GAN(0), ValueError, "n_visible"),
    ("GAN: n_latent 0", lambda: GAN(4, 0), ValueError, "n_latent"),
    ("GAN: hidden 8", lambda: GAN(4, 2, 8), TypeError, "hidden"),
    ("GAN: hidden (0,)", lambda: GAN(4, 2, (0,)), ValueError, "hidden"),
    ("GAN: n_classes 1", lambda: GAN(4, 2, (8,), n_classes=1), ValueError, "n_classes"),
    ("GAN: output tanh", lambda: GAN(4, 2, (8,), output="tanh"), ValueError, "output"),
    ("GAN: seed -1", lambda: GAN(4, 2, (8,), seed=-1), ValueError, "seed"),
    ("GAN: 10**12 parameters", lambda: GAN(10**6, 2, (10**6,)), ValueError, "memory"),
]


@pytest.mark.parametrize("name, call, error, match", CONSTRUCTORS, ids=[r[0] for r in CONSTRUCTORS])
def test_bad_adversarial_constructors_are_refused(name, call, error, match):
    assert_refused(call, error, match)
