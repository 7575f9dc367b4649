"""Bad input to the autoencoder families' entry points: refused with the argument named,
before anything changes."""

from __future__ import annotations

import pytest
import torch

from inference import fit, reconstruct
from inference.autoencoders import dae_chain, fit_stacked, stacked_classifier
from inference.autoencoders.pictures import plot_chain, plot_denoising, plot_score_field, plot_sparsity
from inference.autoencoders.score import score_field
from models import Autoencoder, StackedAutoencoder
from tests.bad_inputs.common import NAN, QUIET, _binary, assert_refused


def _dae():
    return Autoencoder(6, 3, noise="masking", noise_level=0.2, seed=0)


ROWS = [
    ("fit: NaN data", lambda m, g: fit(m, _binary(10).fill_(NAN), epochs=1, **QUIET), ValueError, "NaN"),
    ("fit: 5 columns", lambda m, g: fit(m, _binary(10, 5), epochs=1, **QUIET), ValueError, "6 columns"),
    ("fit: data above 1", lambda m, g: fit(m, _binary(10) * 2, epochs=1, **QUIET), ValueError, "[0, 1]"),
    ("fit: no rows", lambda m, g: fit(m, _binary(10)[:0], epochs=1, **QUIET), ValueError, "no rows"),
    ("fit: integer data", lambda m, g: fit(m, _binary(10).long(), epochs=1, **QUIET), TypeError, "floating"),
    ("fit: method cd", lambda m, g: fit(m, _binary(10), method="cd", epochs=1, **QUIET), ValueError, "method"),
    ("fit: walkback 0", lambda m, g: fit(m, _binary(10), method="walkback", walkback=0, epochs=1, **QUIET),
     ValueError, "walkback"),
    ("fit: lr 0", lambda m, g: fit(m, _binary(10), lr=0.0, epochs=1, **QUIET), ValueError, "lr"),
    ("fit: batch_size 0", lambda m, g: fit(m, _binary(10), batch_size=0, epochs=1, **QUIET), ValueError,
     "batch_size"),
    ("fit: sparsity_decay 1", lambda m, g: fit(m, _binary(10), sparsity_decay=1.0, epochs=1, **QUIET), ValueError,
     "sparsity_decay"),
    ("fit: an energy model's option", lambda m, g: fit(m, _binary(10), n_chains=4, epochs=1, **QUIET), TypeError,
     "n_chains is not an option of the ae family"),
    ("fit: callbacks 5", lambda m, g: fit(m, _binary(10), callbacks=5, epochs=1, **QUIET), TypeError, "callbacks"),
    ("fit: resume without a checkpoint", lambda m, g: fit(m, _binary(10), resume=True, epochs=1, **QUIET),
     ValueError, "resume needs checkpoint"),
    ("reconstruct: 7 columns", lambda m, g: reconstruct(m, _binary(3, 7)), ValueError, "6 columns"),
    ("chain.init: n 0", lambda m, g: dae_chain.init(m, 0, g), ValueError, "n must be"),
    ("chain.init: x0 of 5 columns", lambda m, g: dae_chain.init(m, 2, g, x0=_binary(2, 5)), ValueError, "6 columns"),
    ("chain.step: values NaN", lambda m, g: dae_chain.step(m, dae_chain.ChainState(_binary(2), _binary(2), 0), g,
                                                           observed=torch.ones(2, 6, dtype=torch.bool),
                                                           values=_binary(2).fill_(NAN)), ValueError, "NaN"),
    ("chain.run: n_steps -1", lambda m, g: dae_chain.run(m, dae_chain.init(m, 2, torch.Generator()), -1, g),
     ValueError, "n_steps"),
    ("plot_denoising: 7 columns", lambda m, g: plot_denoising(m, _binary(2, 7)), ValueError, "6 columns"),
    ("plot_chain: not a square image", lambda m, g: plot_chain(m, n=2, steps=2), ValueError, "square image"),
    ("plot_chain: n 0", lambda m, g: plot_chain(m, n=0), ValueError, "n must be"),
    ("plot_sparsity: path .txt", lambda m, g: plot_sparsity(m, _binary(4), path="x.txt"), ValueError, "path"),
    ("plot_score_field: 6-D model", lambda m, g: plot_score_field(m, _binary(4)), ValueError, "2-D model"),
    ("score_field: masking noise", lambda m, g: score_field(m, _binary(4)), ValueError, "Gaussian corruption"),
    ("stacked_classifier: a single autoencoder", lambda m, g: stacked_classifier(m, 10), AttributeError, "layers"),
    ("fit_stacked: an autoencoder", lambda m, g: fit_stacked(m, _binary(10)), TypeError, "StackedAutoencoder"),
]


@pytest.mark.parametrize("name, call, error, match", ROWS, ids=[r[0] for r in ROWS])
def test_bad_autoencoder_input_is_refused_cleanly(name, call, error, match):
    model, gen = _dae(), torch.Generator().manual_seed(0)
    assert_refused(lambda: call(model, gen), error, match, model=model, generator=gen)


STACK_ROWS = [
    ("fit finetune: layer option", lambda s: fit_stacked(s, _binary(10), method="finetune", walkback=3),
     TypeError, "does not take ['walkback']"),
    ("fit: method up_down", lambda s: fit(s, _binary(10), method="up_down", **QUIET), ValueError, "method"),
    ("fit: 5 columns", lambda s: fit(s, _binary(10, 5), epochs=1, **QUIET), ValueError, "6 columns"),
    ("stacked_classifier: relu layers", lambda s: stacked_classifier(StackedAutoencoder([6, 3], activation="relu"),
                                                                     4), ValueError, "sigmoid"),
    ("StackedAutoencoder: one size", lambda s: StackedAutoencoder([6]), ValueError, "at least two"),
    ("StackedAutoencoder: n_hidden", lambda s: StackedAutoencoder([6, 3], n_hidden=2), TypeError, "per layer"),
]


@pytest.mark.parametrize("name, call, error, match", STACK_ROWS, ids=[r[0] for r in STACK_ROWS])
def test_bad_stack_input_is_refused_cleanly(name, call, error, match):
    stack = StackedAutoencoder([6, 4, 3], seed=0)
    assert_refused(lambda: call(stack), error, match, model=stack)
