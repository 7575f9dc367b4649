"""Bad input to the deep belief net's entry points and its classifier."""

from __future__ import annotations

import pytest
import torch

from inference import fit, save_model
from inference import dbn_log_likelihood, set_dbn_prior
from inference import DBNClassifier, discriminative_finetune
from models import DBN
from models.energy import RBM
from tests.bad_inputs.common import (assert_refused, HUGE, NAN, QUIET, _LOG_Z, _binary, on_meta,
                                     unwritable_checkpoint)


# -- the deep belief net's entry points ----------------------------------------------------

def _dbn_data(width=6):
    return _binary(20, width)


_SCRATCH = {}


@pytest.fixture(autouse=True)
def _scratch(tmp_path):
    _SCRATCH["dir"] = tmp_path


def _unwritable():
    """A checkpoint path in the test's scratch folder whose "folder" is a file."""
    return unwritable_checkpoint(_SCRATCH["dir"])


_LABELS = torch.arange(20) % 4  # 20 class indices in {0, …, 3}


def _finetune(model, data=None, labels=_LABELS, **kw):
    data = _dbn_data() if data is None else data
    return discriminative_finetune(model, data, labels, **{"epochs": 1, "progress": False, **kw})


DBN_ROWS = [
    ("fit greedy: method cd", lambda d: fit(d, _dbn_data(), method="cd", epochs=1, **QUIET), ValueError, "method"),
    ("fit greedy: NaN data", lambda d: fit(d, _dbn_data().fill_(NAN), epochs=1, **QUIET), ValueError, "data"),
    ("fit greedy: too wide", lambda d: fit(d, _dbn_data(7), epochs=1, **QUIET), ValueError, "data"),
    ("fit greedy: propagate", lambda d: fit(d, _dbn_data(), propagate="x", epochs=1, **QUIET), ValueError,
     "propagate"),
    ("fit greedy: epochs 0", lambda d: fit(d, _dbn_data(), epochs=0, **QUIET), ValueError, "epochs"),
    ("fit greedy: a directed model's option", lambda d: fit(d, _dbn_data(), n_particles=5, **QUIET), TypeError,
     "n_particles is not an option of the dbn family with method 'greedy'"),
    ("fit up_down: a greedy option",
     lambda d: fit(d, _dbn_data(), method="up_down", layer_method="cd", progress=False), TypeError, "layer_method is not an option of the dbn family with method 'up_down'"),
    ("fit up_down: momentum", lambda d: fit(d, _dbn_data(), method="up_down", momentum=0.5, progress=False),
     TypeError, "momentum is not an option of the dbn family with method 'up_down'"),
    ("fit up_down: resume without a checkpoint", lambda d: fit(d, _dbn_data(), method="up_down", resume=True,
                                                               progress=False), ValueError, "resume needs checkpoint"),
    ("fit up_down: checkpoint_every 0", lambda d: fit(d, _dbn_data(), method="up_down", checkpoint="c.pt",
                                                      checkpoint_every=0, progress=False), ValueError, "checkpoint_every"),
    ("model without prior", lambda d: d.model(_dbn_data()), ValueError, "dbn.prior"),
    ("sample without prior", lambda d: d.sample(3), ValueError, "dbn.prior"),
    ("sample: n -1", lambda d: d.sample(-1), ValueError, "n"),
    ("dbn_log_likelihood: grey data", lambda d: dbn_log_likelihood(d, _dbn_data() / 2), ValueError, "data"),
    ("dbn_log_likelihood: log_z 'x'", lambda d: dbn_log_likelihood(d, _dbn_data(), "x"), ValueError, "log_z"),
    ("dbn_log_likelihood: n_samples 0", lambda d: dbn_log_likelihood(d, _dbn_data(), n_samples=0), ValueError,
     "n_samples"),
    ("set_dbn_prior: not a DBN", lambda d: set_dbn_prior(d.top), TypeError, "dbn"),
    ("set_dbn_prior: n_gibbs -1", lambda d: set_dbn_prior(d, n_gibbs=-1), ValueError, "n_gibbs"),
    ("layer_rbm: l 4", lambda d: d.layer_rbm(4), ValueError, "l"),
    ("set_layer: wrong size", lambda d: d.set_layer(1, RBM(5, 4)), ValueError, "rbm"),
    *[(f"discriminative_finetune: {name}", lambda d, kw=kw: _finetune(d, **kw), error, match)
      for name, kw, error, match in [
        ("labels (20, 1)", dict(labels=_LABELS[:, None]), ValueError, "labels"),
        ("labels float", dict(labels=_LABELS.float()), TypeError, "labels"),
        ("labels 19 rows", dict(labels=_LABELS[:19]), ValueError, "labels"),
        ("label 3 of 3 classes", dict(n_classes=3), ValueError, "labels"),
        ("label -1", dict(labels=_LABELS - 1), ValueError, "labels"),
        ("n_classes 1", dict(n_classes=1), ValueError, "n_classes"),
        ("data above 1", dict(data=_dbn_data() * 2), ValueError, "data"),
        ("NaN data", dict(data=_dbn_data().fill_(NAN)), ValueError, "data"),
        ("no rows", dict(data=_dbn_data()[:0], labels=_LABELS[:0]), ValueError, "data"),
        ("eval_data alone", dict(eval_data=_dbn_data()), ValueError, "eval_labels"),
        ("eval_labels out of range", dict(eval_data=_dbn_data(), eval_labels=_LABELS + 4), ValueError, "eval_labels"),
        ("lr 0", dict(lr=0.0), ValueError, "lr"),
        ("momentum 1", dict(momentum=1.0), ValueError, "momentum"),
        ("batch_size 0", dict(batch_size=0), ValueError, "batch_size"),
        ("callbacks [3]", dict(callbacks=[3]), TypeError, "callbacks"),
    ]],
    ("discriminative_finetune: an RBM", lambda d: discriminative_finetune(d.top, _dbn_data(), _LABELS), TypeError,
     "model"),
    # -- checked before the first layer trains --------------------------------------------
    ("fit greedy: checkpoint 5", lambda d: fit(d, _dbn_data(), epochs=1, checkpoint=5, **QUIET), TypeError,
     "checkpoint"),
    ("fit greedy: checkpoint ''", lambda d: fit(d, _dbn_data(), epochs=1, checkpoint="", **QUIET), ValueError,
     "checkpoint"),
    ("fit greedy: checkpoint in a folder that is a file",
     lambda d: fit(d, _dbn_data(), epochs=1, checkpoint=_unwritable(), **QUIET), ValueError, "checkpoint"),
    ("fit greedy: eval_every 0", lambda d: fit(d, _dbn_data(), epochs=1, evaluate="exact", eval_every=0, **QUIET),
     ValueError, "eval_every"),
    ("fit greedy: lr -1", lambda d: fit(d, _dbn_data(), epochs=1, lr=-1.0, **QUIET), ValueError, "lr"),
    ("fit greedy: seed 2**64", lambda d: fit(d, _dbn_data(), epochs=1, seed=2**64, **QUIET), ValueError, "seed"),
    ("fit greedy: callbacks 5", lambda d: fit(d, _dbn_data(), epochs=1, callbacks=5, **QUIET), TypeError,
     "callbacks"),
    ("fit greedy: pcd n_chains 10**12", lambda d: fit(d, _dbn_data(), epochs=1, layer_method="pcd", n_chains=HUGE,
                                                      **QUIET), ValueError, "chains"),
    ("dbn_log_likelihood: an inverted log_z bracket",
     lambda d: dbn_log_likelihood(d, _dbn_data(), _LOG_Z._replace(lower=1.0, upper=-1.0)), ValueError,
     "inverted bracket"),
    # -- a DBN on the meta device ----------------------------------------------------------
    *[(f"{name}: a DBN on meta", call, ValueError, "'meta' device") for name, call in [
        ("fit greedy", lambda d: fit(on_meta(d), _dbn_data(), epochs=1, **QUIET)),
        ("fit up_down", lambda d: fit(on_meta(d), _dbn_data(), method="up_down", epochs=1, progress=False)),
        ("dbn_log_likelihood", lambda d: dbn_log_likelihood(on_meta(d), _dbn_data(), _LOG_Z)),
        ("set_dbn_prior", lambda d: set_dbn_prior(on_meta(d))),
        ("discriminative_finetune", lambda d: _finetune(on_meta(d))),
        ("DBNClassifier.from_dbn", lambda d: DBNClassifier.from_dbn(on_meta(d), 4)),
        ("save_model", lambda d: save_model(_SCRATCH["dir"] / "m.pt", on_meta(d))),
    ]],
    ("DBNClassifier.from_dbn: an RBM", lambda d: DBNClassifier.from_dbn(d.top, 4), TypeError, "dbn"),
    ("DBNClassifier.from_dbn: n_classes 1", lambda d: DBNClassifier.from_dbn(d, 1), ValueError, "n_classes"),
]


@pytest.mark.parametrize("call, error, match", [pytest.param(*row[1:], id=row[0]) for row in DBN_ROWS])
def test_bad_dbn_input_is_refused_cleanly(call, error, match):
    dbn = DBN([6, 4, 3], seed=0)
    assert_refused(lambda: call(dbn), error, match, dbn)


CLASSIFIER_ROWS = [
    ("predict: wide", lambda c: c.predict(_dbn_data(7)), ValueError, "x"),
    ("predict_proba: grey above 1", lambda c: c.predict_proba(_dbn_data() + 1), ValueError, "x"),
    ("score: labels 19 rows", lambda c: c.score(_dbn_data(), _LABELS[:19]), ValueError, "labels"),
    ("loss: label 4", lambda c: c.loss(_dbn_data(), _LABELS + 1), ValueError, "labels"),
    ("finetune: n_classes 5", lambda c: discriminative_finetune(c, _dbn_data(), _LABELS, n_classes=5), ValueError,
     "n_classes"),
    ("finetune: label 4", lambda c: discriminative_finetune(c, _dbn_data(), _LABELS + 1, progress=False), ValueError,
     "labels"),
    ("constructor: n_classes 1", lambda c: DBNClassifier([6, 4], 1), ValueError, "n_classes"),
    ("constructor: sizes [6]", lambda c: DBNClassifier([6], 4), ValueError, "sizes"),
    ("constructor: seed -1", lambda c: DBNClassifier([6, 4], 4, seed=-1), ValueError, "seed"),
]


@pytest.mark.parametrize("call, error, match", [pytest.param(*row[1:], id=row[0]) for row in CLASSIFIER_ROWS])
def test_bad_classifier_input_is_refused_cleanly(call, error, match):
    clf = DBNClassifier([6, 4, 3], 4, seed=0)
    assert_refused(lambda: call(clf), error, match, clf)
