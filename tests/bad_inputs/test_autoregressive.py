"""Bad input to the autoregressive families' entry points: refused with the argument named,
before anything changes. Every row of :data:`ROWS` runs on every subject."""

from __future__ import annotations

import pytest
import torch

from inference import fit
from inference.autoregressive.pictures import inpaint, observed_half, plot_conditional_log_likelihood, plot_inpainting
from models.autoregressive import FVSBN, MADE, NADE, RNADE, OrderAgnosticNADE
from tests.bad_inputs.common import INF, NAN, QUIET, _binary, _real, assert_refused

SUBJECTS = {
    "fvsbn": (lambda: FVSBN(4, seed=0), lambda n: _binary(n, 4)),
    "nade": (lambda: NADE(4, 3, seed=0), lambda n: _binary(n, 4)),
    "made": (lambda: MADE(4, (8,), n_masks=2, seed=0), lambda n: _binary(n, 4)),
    "oanade": (lambda: OrderAgnosticNADE(4, (8,), seed=0), lambda n: _binary(n, 4)),
    "rnade": (lambda: RNADE(4, 3, n_components=2, seed=0), lambda n: _real(n, 4)),
}
FIRST = torch.tensor([True, True, False, False])

ROWS = [
    ("fit: NaN data", lambda m, x: fit(m, x(10).fill_(NAN), epochs=1, **QUIET), ValueError, "NaN"),
    ("fit: infinite data", lambda m, x: fit(m, x(10).fill_(INF), epochs=1, **QUIET), ValueError, "infinite"),
    ("fit: 5 columns", lambda m, x: fit(m, torch.zeros(10, 5), epochs=1, **QUIET), ValueError, "4 columns"),
    ("fit: no rows", lambda m, x: fit(m, x(10)[:0], epochs=1, **QUIET), ValueError, "no rows"),
    ("fit: integer data", lambda m, x: fit(m, x(10).long(), epochs=1, **QUIET), TypeError, "floating"),
    ("fit: method cd", lambda m, x: fit(m, x(10), method="cd", epochs=1, **QUIET), ValueError, "method"),
    ("fit: lr 0", lambda m, x: fit(m, x(10), lr=0.0, epochs=1, **QUIET), ValueError, "lr"),
    ("fit: batch_size 0", lambda m, x: fit(m, x(10), batch_size=0, epochs=1, **QUIET), ValueError, "batch_size"),
    ("fit: evaluate ais", lambda m, x: fit(m, x(10), evaluate="ais", epochs=1, **QUIET), ValueError, "evaluate"),
    ("fit: an energy model's option", lambda m, x: fit(m, x(10), n_chains=4, epochs=1, **QUIET), TypeError,
     "n_chains is not an option of the"),
    ("fit: eval_data of 3 columns", lambda m, x: fit(m, x(10), evaluate="exact", eval_data=torch.zeros(2, 3),
                                                     epochs=1, **QUIET), ValueError, "eval_data"),
    ("log_prob: 3 columns", lambda m, x: m.log_prob(torch.zeros(2, 3)), ValueError, "4 columns"),
    ("log_prob: a 1-D tensor", lambda m, x: m.log_prob(torch.zeros(4)), ValueError, "x"),
    ("log_prob: member of 3", lambda m, x: m.log_prob(x(2), member=[0, 1, 2]), (TypeError, ValueError), "member"),
    ("ensemble_log_prob: no members", lambda m, x: m.ensemble_log_prob(x(2), []), ValueError, "members"),
    ("members: k 0", lambda m, x: m.members(0), ValueError, "k"),
    ("sample: n -1", lambda m, x: m.sample(-1), ValueError, "n"),
    ("sample: generator 5", lambda m, x: m.sample(2, generator=5), TypeError, "generator"),
    ("sample: observed without values", lambda m, x: m.sample(2, observed=FIRST), ValueError, "values"),
    ("sample: observed of 3", lambda m, x: m.sample(2, observed=FIRST[:3], values=x(2)), ValueError, "observed"),
    ("sample: observed as floats", lambda m, x: m.sample(2, observed=FIRST.float(), values=x(2)), ValueError,
     "bool"),
    ("sample: values of 3 rows", lambda m, x: m.sample(2, observed=FIRST, values=x(3)), ValueError, "values"),
    ("sample: NaN values", lambda m, x: m.sample(2, observed=FIRST, values=x(2).fill_(NAN)), ValueError, "NaN"),
    ("inpaint: n_draws 0", lambda m, x: inpaint(m, x(2), FIRST, 0), ValueError, "n_draws"),
    ("observed_half: middle", lambda m, x: observed_half((2, 2), "middle"), ValueError, "half"),
    ("observed_half: image_shape 3", lambda m, x: observed_half(3, "top"), ValueError, "image_shape"),
    ("plot_inpainting: image_shape (3, 3)", lambda m, x: plot_inpainting(m, x(2), FIRST, (3, 3)), ValueError,
     "image_shape"),
    ("plot_conditional_log_likelihood: image_shape (1, 3)",
     lambda m, x: plot_conditional_log_likelihood(m, x(2), (1, 3)), ValueError, "image_shape"),
]


@pytest.mark.parametrize("subject", list(SUBJECTS))
@pytest.mark.parametrize("name, call, error, match", ROWS, ids=[r[0] for r in ROWS])
def test_bad_autoregressive_input_is_refused_cleanly(subject, name, call, error, match):
    build, data = SUBJECTS[subject]
    model = build()
    assert_refused(lambda: call(model, data), error, match, model=model)


CONSTRUCTORS = [
    ("FVSBN: n_visible 0", lambda: FVSBN(0), ValueError, "n_visible"),
    ("FVSBN: ordering not a permutation", lambda: FVSBN(3, ordering=[0, 0, 1]), ValueError, "ordering"),
    ("NADE: n_hidden 0", lambda: NADE(4, 0), ValueError, "n_hidden"),
    ("NADE: ordering of floats", lambda: NADE(3, 2, ordering=[0.0, 1.0, 2.0]), ValueError, "ordering"),
    ("NADE: ordering 'abc'", lambda: NADE(3, 2, ordering="abc"), (TypeError, ValueError), "ordering"),
    ("NADE: seed -1", lambda: NADE(3, 2, seed=-1), ValueError, "seed"),
    ("MADE: hidden 0", lambda: MADE(4, (0,)), ValueError, "hidden"),
    ("MADE: n_masks 0", lambda: MADE(4, (8,), n_masks=0), ValueError, "n_masks"),
    ("MADE: activation tanh", lambda: MADE(4, (8,), activation="tanh"), ValueError, "activation"),
    ("OrderAgnosticNADE: hidden ()", lambda: OrderAgnosticNADE(4, ()), ValueError, "hidden"),
    ("RNADE: n_components 0", lambda: RNADE(4, 3, n_components=0), ValueError, "n_components"),
    ("RNADE: components cauchy", lambda: RNADE(4, 3, components="cauchy"), ValueError, "components"),
    ("RNADE.from_data: NaN data", lambda: RNADE.from_data(torch.full((5, 4), NAN), 3), ValueError, "NaN"),
    ("NADE: 10**12 hidden units", lambda: NADE(10**6, 10**6), ValueError, "memory"),
]


@pytest.mark.parametrize("name, call, error, match", CONSTRUCTORS, ids=[r[0] for r in CONSTRUCTORS])
def test_bad_autoregressive_constructors_are_refused(name, call, error, match):
    assert_refused(call, error, match)
