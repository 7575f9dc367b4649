"""Bad input to the sequence RBMs' entry points: refused with the argument named, before
anything changes. Every row of :data:`ROWS` runs on every subject."""

from __future__ import annotations

import pytest
import torch

from inference import fit
from inference.sequences import frame_log_likelihood, next_frame_prediction, sampling, sequence_log_likelihood
from models.energy import RNNRBM, ConditionalRBM
from tests.bad_inputs.common import INF, NAN, QUIET, assert_refused


def _sequences(n, T=5, width=4, seed=0):
    return (torch.rand(n, T, width, generator=torch.Generator().manual_seed(seed)) < 0.5).float()


SUBJECTS = {
    "condrbm": lambda: ConditionalRBM(4, 3, order=2, seed=0),
    "rnnrbm": lambda: RNNRBM(4, 3, 2, seed=0),
}

ROWS = [
    ("fit: rows, not sequences", lambda m: fit(m, _sequences(3).reshape(-1, 4), epochs=1, **QUIET), ValueError,
     "(n_sequences, length, 4)"),
    ("fit: frames of 5", lambda m: fit(m, _sequences(3, width=5), epochs=1, **QUIET), ValueError, "4"),
    ("fit: too short", lambda m: fit(m, _sequences(3, T=m.n_given), epochs=1, **QUIET), ValueError, "data"),
    ("fit: NaN data", lambda m: fit(m, _sequences(3).fill_(NAN), epochs=1, **QUIET), ValueError, "NaN"),
    ("fit: infinite data", lambda m: fit(m, _sequences(3).fill_(INF), epochs=1, **QUIET), ValueError, "infinite"),
    ("fit: k 0", lambda m: fit(m, _sequences(3), k=0, epochs=1, **QUIET), ValueError, "k must be"),
    ("fit: method pcd", lambda m: fit(m, _sequences(3), method="pcd", epochs=1, **QUIET), ValueError, "method"),
    ("fit: evaluate bound", lambda m: fit(m, _sequences(3), evaluate="bound", epochs=1, **QUIET), ValueError,
     "evaluate"),
    ("fit: lr 0", lambda m: fit(m, _sequences(3), lr=0.0, epochs=1, **QUIET), ValueError, "lr"),
    ("fit: eval_data of 5 columns", lambda m: fit(m, _sequences(3), evaluate="exact", eval_data=_sequences(2, width=5),
                                                  epochs=1, **QUIET), ValueError, "eval_data"),
    ("fit: an RBM option", lambda m: fit(m, _sequences(3), n_temperatures=3, epochs=1, **QUIET), TypeError,
     "n_temperatures is not an option"),
    ("log-likelihood: grey frames", lambda m: sequence_log_likelihood(m, _sequences(2) * 0.5), ValueError, "binary"),
    ("log-likelihood: method mean-field", lambda m: sequence_log_likelihood(m, _sequences(2), "mean-field"),
     ValueError, "method"),
    ("frame_log_likelihood: method bogus", lambda m: frame_log_likelihood(m.W, _sequences(2), m.b, m.c, "bogus"),
     ValueError, "method"),
    ("prediction: burn_in = sweeps", lambda m: next_frame_prediction(m, _sequences(2), sweeps=3, burn_in=3),
     ValueError, "burn_in"),
    ("prediction: sweeps 0", lambda m: next_frame_prediction(m, _sequences(2), sweeps=0), ValueError, "sweeps"),
    ("init: a 2-D prefix", lambda m: sampling.init(m, _sequences(2)[:, 0]), ValueError, "prefix"),
    ("generate: length shorter than the prefix", lambda m: sampling.generate(m, _sequences(2), 2, torch.Generator()),
     ValueError, "length"),
    ("step: sweeps 0", lambda m: sampling.step(m, sampling.init(m, _sequences(2)), torch.Generator(), sweeps=0),
     ValueError, "sweeps"),
    ("conditional: the context", lambda m: m.conditional(m.context_name, {}), ValueError, "always given"),
]


@pytest.mark.parametrize("subject", list(SUBJECTS))
@pytest.mark.parametrize("name, call, error, match", ROWS, ids=[r[0] for r in ROWS])
def test_bad_sequence_input_is_refused_cleanly(subject, name, call, error, match):
    model = SUBJECTS[subject]()
    assert_refused(lambda: call(model), error, match, model=model)


CONSTRUCTORS = [
    ("ConditionalRBM: order 0", lambda: ConditionalRBM(4, 3, order=0), ValueError, "order"),
    ("ConditionalRBM: n_hidden 0", lambda: ConditionalRBM(4, 0), ValueError, "n_hidden"),
    ("ConditionalRBM: seed -1", lambda: ConditionalRBM(4, 3, seed=-1), ValueError, "seed"),
    ("ConditionalRBM.from_data: rows", lambda: ConditionalRBM.from_data(torch.zeros(3, 4), 2), ValueError, "x must"),
    ("RNNRBM: n_recurrent 0", lambda: RNNRBM(4, 3, n_recurrent=0), ValueError, "n_recurrent"),
    ("RNNRBM: recurrent_std nan", lambda: RNNRBM(4, 3, recurrent_std=NAN), ValueError, "recurrent_std"),
    ("RNNRBM.from_data: a list", lambda: RNNRBM.from_data([[0.0]], 2), ValueError, "x must"),
]


@pytest.mark.parametrize("name, call, error, match", CONSTRUCTORS, ids=[r[0] for r in CONSTRUCTORS])
def test_bad_sequence_constructor_arguments_are_named(name, call, error, match):
    with pytest.raises(error, match=match):
        call()
