"""Bad input to the directed models (SBN, Helmholtz machine, VAE)."""

from __future__ import annotations

import pytest
import torch

from inference import fit, guide_samples, importance_log_likelihood, mcmc_posterior, save_model
from models import VAE, SigmoidBeliefNet
from tests.bad_inputs.common import (assert_refused, NAN, Ctx, QUIET, Row, Subject, _binary, _real, on_meta,
                                     unwritable_checkpoint)


# -- directed models ---------------------------------------------------------------------

DIRECTED_SUBJECTS = [
    Subject("sbn", lambda: SigmoidBeliefNet([6, 3, 2], seed=0), _binary, lambda: SigmoidBeliefNet([6, 20], seed=0)),
    Subject("vae", lambda: VAE(6, 5, 2, seed=0), _binary, lambda: VAE(6, 5, 2, seed=0)),
    Subject("vae-gaussian", lambda: VAE(6, 5, 2, "gaussian", seed=0), _real, lambda: VAE(6, 5, 2, "gaussian", seed=0)),
]


def _directed_bad(data, kind):
    x = data.clone()
    if kind == "not binary":
        x[0, 0] = 0.5
    elif kind == "nan":
        x[1, 2] = NAN
    elif kind == "wide":
        x = torch.cat([x, x[:, :1]], 1)
    elif kind == "narrow":
        x = x[:, :-1]
    elif kind == "flat":
        x = x.reshape(-1)
    elif kind == "list":
        x = x.tolist()
    return x


def _is_sbn(subject):
    return subject.name == "sbn"


def _bernoulli(subject):
    return subject.name != "vae-gaussian"


#: (name, call(model, data, gen), error, match, when): data rows checked by every entry point
_DATA_ENTRY_POINTS = [
    ("fit", lambda m, x, g: fit(m, x, epochs=1, **QUIET), lambda s: True),
    ("importance_log_likelihood", lambda m, x, g: importance_log_likelihood(m, x, 5), lambda s: True),
    ("exact_log_likelihood", lambda m, x, g: m.exact_log_likelihood(x), _is_sbn),
]
DIRECTED_ROWS = [
    *[Row(f"{name}: data {kind}", (lambda call, kind: lambda c: call(c.model, _directed_bad(c.data, kind), c.gen))(
        call, kind), error, "data" if name != "exact_log_likelihood" else "x",
        (lambda when, kind: lambda s: when(s) and (kind != "not binary" or _bernoulli(s)))(when, kind))
      for name, call, when in _DATA_ENTRY_POINTS
      for kind, error in [("not binary", ValueError), ("nan", ValueError), ("wide", ValueError),
                          ("narrow", ValueError), ("flat", ValueError), ("list", TypeError)]],
    Row("fit: n_particles 0", lambda c: fit(c.model, c.data, epochs=1, n_particles=0, **QUIET), ValueError,
        "n_particles"),
    Row("fit: unknown method", lambda c: fit(c.model, c.data, epochs=1, method="cd", **QUIET), ValueError, "method"),
    Row("fit: iwae on discrete latents", lambda c: fit(c.model, c.data, epochs=1, method="iwae", **QUIET),
        ValueError, "reparameterisable", _is_sbn),
    Row("fit: an energy model's option", lambda c: fit(c.model, c.data, epochs=1, k=3, **QUIET), TypeError,
        "k is not an option of the"),
    Row("fit: unknown backend", lambda c: fit(c.model, c.data, epochs=1, backend="gpu", **QUIET), ValueError,
        "backend"),
    Row("fit: lr -1", lambda c: fit(c.model, c.data, epochs=1, lr=-1.0, **QUIET), ValueError, "lr"),
    Row("fit: exact evaluation", lambda c: fit(c.model, c.data, epochs=1, evaluate="exact", **QUIET), ValueError,
        "evaluate"),
    Row("importance_log_likelihood: n_samples 0", lambda c: importance_log_likelihood(c.model, c.data, 0),
        ValueError, "n_samples"),
    Row("importance_log_likelihood: batch 0", lambda c: importance_log_likelihood(c.model, c.data, 5, batch=0),
        ValueError, "batch"),
    Row("importance_log_likelihood: unknown backend",
        lambda c: importance_log_likelihood(c.model, c.data, 5, backend="gpu"), ValueError, "backend"),
    Row("importance_log_likelihood: seed 'x'", lambda c: importance_log_likelihood(c.model, c.data, 5, seed="x"),
        TypeError, "seed"),
    Row("sample: n -1", lambda c: c.model.sample(-1, c.gen), ValueError, "n must"),
    Row("sample: n 1.5", lambda c: c.model.sample(1.5, c.gen), TypeError, "n must"),
    Row("sample: a seed for a generator", lambda c: c.model.sample(3, 0), TypeError, "generator"),
    Row("exact_log_likelihood: too many latent units",
        lambda c: c.subject.large().exact_log_likelihood(c.data), ValueError, "importance_log_likelihood", _is_sbn),
    # -- a model or data on the meta device; checks before the model changes ---------------
    Row("fit: a model on meta", lambda c: fit(on_meta(c.model), c.data, epochs=1, **QUIET), ValueError,
        "'meta' device"),
    Row("fit: data on meta", lambda c: fit(c.model, c.data.to("meta"), epochs=1, **QUIET), ValueError,
        "'meta' device"),
    Row("importance_log_likelihood: a model on meta", lambda c: importance_log_likelihood(on_meta(c.model), c.data, 5),
        ValueError, "'meta' device"),
    Row("importance_log_likelihood: data on meta", lambda c: importance_log_likelihood(c.model, c.data.to("meta"), 5),
        ValueError, "'meta' device"),
    Row("exact_log_likelihood: a model on meta", lambda c: on_meta(c.model).exact_log_likelihood(c.data), ValueError,
        "'meta' device", _is_sbn),
    Row("save_model: a model on meta", lambda c: save_model(c.tmp / "m.pt", on_meta(c.model)), ValueError,
        "'meta' device"),
    Row("fit: lr 1e308 diverges: the parameters are put back", lambda c: fit(c.model, c.data, epochs=1, lr=1e308,
                                                                          **QUIET),
        FloatingPointError, "became NaN or infinite during epoch 1"),
    Row("fit: seed 2**64", lambda c: fit(c.model, c.data, epochs=1, seed=2**64, **QUIET), ValueError, "seed"),
    Row("fit: callbacks 5", lambda c: fit(c.model, c.data, epochs=1, callbacks=5, **QUIET), TypeError, "callbacks"),
    Row("fit: checkpoint ''", lambda c: fit(c.model, c.data, epochs=1, checkpoint="", **QUIET), ValueError,
        "checkpoint"),
    Row("fit: checkpoint in a folder that is a file",
        lambda c: fit(c.model, c.data, epochs=1, checkpoint=unwritable_checkpoint(c.tmp), **QUIET), ValueError,
        "checkpoint"),
    Row("importance_log_likelihood: seed 2**64", lambda c: importance_log_likelihood(c.model, c.data, 5, seed=2**64),
        ValueError, "seed"),
    Row("guide_samples: no rows", lambda c: guide_samples(c.model.guide, c.data[:0], num_samples=3), ValueError,
        "args[0] has no rows"),
    Row("guide_samples: a model on meta", lambda c: guide_samples(on_meta(c.model).guide, c.data, num_samples=3),
        ValueError, "'meta' device"),
    Row("mcmc_posterior: no rows", lambda c: mcmc_posterior(c.model, c.data[:0]), ValueError, "x has no rows",
        lambda s: s.name.startswith("vae")),
    Row("mcmc_posterior: a model on meta", lambda c: mcmc_posterior(on_meta(c.model), c.data[:2]), ValueError,
        "'meta' device", lambda s: s.name.startswith("vae")),
    Row("mcmc_posterior: seed 2**32", lambda c: mcmc_posterior(c.model, c.data[:2], seed=2**32), ValueError,
        "seed", lambda s: s.name.startswith("vae")),
]
DIRECTED_PARAMS = [pytest.param(s, row, id=f"{s.name}: {row.name}") for s in DIRECTED_SUBJECTS
                   for row in DIRECTED_ROWS if row.when(s)]


@pytest.mark.parametrize("subject, row", DIRECTED_PARAMS)
def test_bad_input_to_a_directed_model_is_refused_cleanly(subject, row, tmp_path):
    torch.set_num_threads(1)
    model = subject.build()
    gen = torch.Generator().manual_seed(0)
    ctx = Ctx(model, subject.data(30), gen, None, tmp_path, subject)
    assert_refused(lambda: row.call(ctx), row.error, row.match, model, gen)
