"""Every public entry point against a table of bad inputs.

Each row calls one entry point with one thing wrong and states the exception it must
raise and a pattern its message must contain (the argument's name, and where useful the
bad value). After every call the model's ``state_dict`` is bit-for-bit what it was, and
nothing but the expected exception escapes.

The table is built from three lists, so a new model or entry point is one more entry:

* :data:`SUBJECTS` — a model family (a small seeded model and valid data for it); every
  row of :data:`ROWS` runs once per subject;
* :data:`ROWS` — ``Row(name, call, error, match)`` where ``call(ctx)`` performs the call on
  the subject's context :class:`Ctx`;
* :data:`CONSTRUCTORS` — rows for a family's constructor (which has no model to guard).

Directed models (SBN, VAE) have their own pair, :data:`DIRECTED_SUBJECTS` and
:data:`DIRECTED_ROWS`, with the same checks (they have no Gibbs state).

Files (corrupted, truncated, malicious) are in :data:`FILE_ROWS`; the command line has its
own table in ``tests/inference/test_cli_errors.py``.
"""

from __future__ import annotations

import math
import os
import pickle
from dataclasses import dataclass
from typing import Callable, NamedTuple

import pytest
import torch

from pgm import plots

from inference import (MultiPrediction, ais_log_partition, exact_log_partition, fit, gibbs, importance_log_likelihood,
                       inpaint, load_model, log_likelihood, pseudo_log_likelihood, reconstruction_error,
                       reverse_ais_log_partition, save_model)
from inference import EnergyDistribution, LogZEstimate, dbn_log_likelihood, set_dbn_prior
from inference import DBNClassifier, discriminative_finetune
from inference import ais_trace, plot_ais, plot_filters, plot_reconstructions, reconstruct
from inference.checkpoint import load_checkpoint, write_payload
from inference.partition import ais_log_weight_path
from inference.mcmc import GibbsState
from models import DBN, VAE, SigmoidBeliefNet
from models.energy import RBM, ClassRBM, GaussianRBM, SpikeSlabRBM
from tests.models.test_class_rbm import random_class_rbm
from tests.models.test_spike_slab_rbm import random_spike_slab_rbm
from tests.oracles import random_gaussian_rbm, random_rbm

QUIET = dict(progress=False, monitor=0)
_LOG_Z = LogZEstimate(0.0, 0.0, 0.0, math.inf, 0, "exact")  # a well-formed estimate: the rows test other arguments
INF, NAN = float("inf"), float("nan")


class Subject(NamedTuple):
    """A model family under test: ``build()`` a small seeded model, ``data(n)`` valid rows."""

    name: str
    build: Callable[[], torch.nn.Module]
    data: Callable[[int], torch.Tensor]
    large: Callable[[], torch.nn.Module]  # one too large to enumerate


def _binary(n, width=6, seed=0):
    return (torch.rand(n, width, generator=torch.Generator().manual_seed(seed)) < 0.5).float()


def _real(n, width=6, seed=0):
    return torch.randn(n, width, generator=torch.Generator().manual_seed(seed))


SUBJECTS = [
    Subject("rbm", lambda: random_rbm(6, 4, seed=0, dtype=torch.float32), _binary, lambda: RBM(40, 40, seed=0)),
    Subject("grbm", lambda: random_gaussian_rbm(6, 4, seed=0, dtype=torch.float32), _real,
            lambda: GaussianRBM(40, 40, seed=0)),
    Subject("ssrbm", lambda: random_spike_slab_rbm(6, 4, seed=0, dtype=torch.float32), _real,
            lambda: SpikeSlabRBM(40, 40, seed=0)),
    Subject("rbm-stepped", lambda: random_rbm(6, 4, seed=0, dtype=torch.float32, hidden="stepped", n_steps=3),
            _binary, lambda: RBM(40, 40, seed=0, hidden="stepped")),
    Subject("grbm-nrelu", lambda: random_gaussian_rbm(6, 4, seed=0, dtype=torch.float32, hidden="nrelu", n_steps=3),
            _real, lambda: GaussianRBM(40, 40, seed=0, hidden="nrelu")),
]


@dataclass
class Ctx:
    """What a row's ``call`` gets: the model under test, valid data, a generator, a Gibbs
    state, a scratch folder and the model's groups."""

    model: torch.nn.Module
    data: torch.Tensor
    gen: torch.Generator
    state: GibbsState
    tmp: object
    subject: Subject

    @property
    def v(self):
        return self.model.visible_name

    def groups(self):
        return [grp.name for grp in self.model.graph.groups]

    def hidden(self):
        return next(name for name in self.groups() if name != self.v)

    def with_values(self, **values):
        return self.state._replace(values={**self.state.values, **values})

    def with_beta(self, beta):
        return self.state._replace(beta=torch.full_like(self.state.beta, beta))

    def poisoned(self, group, value=NAN):
        x = self.state.values[group].clone()
        x[0, 0] = value
        return self.with_values(**{group: x})

    def widened(self, group):
        x = self.state.values[group]
        return self.with_values(**{group: torch.cat([x, x[:, :1]], 1)})

    def bad_data(self, kind):
        x = self.data.clone()
        if kind == "nan":
            x[1, 2] = NAN
        elif kind == "inf":
            x[0, 0] = INF
        elif kind == "wide":
            x = torch.cat([x, x[:, :1]], 1)
        elif kind == "flat":
            x = x.reshape(-1)
        elif kind == "empty":
            x = x[:0]
        elif kind == "list":
            x = x.tolist()
        elif kind == "complex":
            x = x.to(torch.complex64)
        return x

    def checkpoint_of(self, model, **options):
        path = self.tmp / f"ckpt-{len(os.listdir(self.tmp))}.pt"
        fit(model, self.data, epochs=1, batch_size=10, checkpoint=path, **QUIET, **options)
        return path

    def corrupted_checkpoint(self, entry, change):
        """A training checkpoint of a copy of the model whose ``entry`` is replaced by
        ``change(old)``, rewritten with a valid checksum (the entry checks, not the
        checksum, must catch it)."""
        path = self.checkpoint_of(self.subject.build(), method="pcd")
        payload = load_checkpoint(path)
        del payload["format"], payload["checksum"]
        payload[entry] = change(payload[entry])
        write_payload(path, payload)
        return path


class Row(NamedTuple):
    name: str
    call: Callable[[Ctx], object]
    error: type
    match: str
    when: Callable[[Subject], bool] = lambda subject: True  # the subjects it applies to


def _binary_visible(subject):
    return subject.build().graph[subject.build().visible_name].kind == "bernoulli"


def _binary_latents(subject):
    """Mean-field (inpaint) needs every latent group binary."""
    model = subject.build()
    return all(g.kind == "bernoulli" for g in model.graph.groups if g.name != model.visible_name)


def _hidden_kind(subject):
    return subject.build().graph["h"].kind


def _optim(kind, value):
    return lambda c: fit(c.model, c.data, epochs=1, **{kind: value}, **QUIET)


def _resized_state(payload):
    return {k: torch.cat([v, v[..., :1]], -1) if k.startswith("W") else v for k, v in payload.items()}


ROWS = [
    # -- gibbs.init ---------------------------------------------------------------------
    Row("init: n_chains 0", lambda c: gibbs.init(c.model, 0, c.gen), ValueError, "n_chains"),
    Row("init: n_chains 2.5", lambda c: gibbs.init(c.model, 2.5, c.gen), TypeError, "n_chains"),
    Row("init: n_chains '4'", lambda c: gibbs.init(c.model, "4", c.gen), TypeError, "n_chains"),
    Row("init: no generator", lambda c: gibbs.init(c.model, 4, None), TypeError, "generator"),
    Row("init: a seed for a generator", lambda c: gibbs.init(c.model, 4, 0), TypeError, "generator"),
    Row("init: clamp of an unknown group", lambda c: gibbs.init(c.model, 4, c.gen, clamp={"x": c.data[:4]}),
        ValueError, "clamp"),
    Row("init: clamp of the wrong width", lambda c: gibbs.init(c.model, 4, c.gen, clamp={c.v: c.data[:4, :3]}),
        ValueError, "clamp"),
    Row("init: clamp with NaN", lambda c: gibbs.init(c.model, 5, c.gen, clamp={c.v: c.bad_data("nan")[:5]}),
        ValueError, "clamp"),
    # -- gibbs.step ---------------------------------------------------------------------
    Row("step: a dict for the state", lambda c: gibbs.step(c.model, dict(c.state.values), c.gen), TypeError,
        "state"),
    Row("step: NaN visible", lambda c: gibbs.step(c.model, c.poisoned(c.v), c.gen), ValueError, "state"),
    Row("step: NaN hidden", lambda c: gibbs.step(c.model, c.poisoned(c.hidden()), c.gen), ValueError, "state"),
    Row("step: inf hidden", lambda c: gibbs.step(c.model, c.poisoned(c.hidden(), INF), c.gen), ValueError,
        "state"),
    Row("step: hidden 2.0", lambda c: gibbs.step(c.model, c.poisoned(c.hidden(), 2.0), c.gen), ValueError,
        "state", lambda s: _hidden_kind(s) != "count"),
    Row("step: hidden count above N", lambda c: gibbs.step(c.model, c.poisoned(c.hidden(), c.model.n_steps + 1.0),
                                                           c.gen), ValueError, "state", lambda s: _hidden_kind(s) == "count"),
    Row("step: negative hidden count", lambda c: gibbs.step(c.model, c.poisoned(c.hidden(), -1.0), c.gen),
        ValueError, "state", lambda s: _hidden_kind(s) == "count"),
    Row("step: visible too wide", lambda c: gibbs.step(c.model, c.widened(c.v), c.gen), ValueError, "state"),
    Row("step: hidden too wide", lambda c: gibbs.step(c.model, c.widened(c.hidden()), c.gen), ValueError, "state"),
    Row("step: a group missing", lambda c: gibbs.step(c.model, c.state._replace(values={c.v: c.state.values[c.v]}),
                                                      c.gen), ValueError, "state"),
    Row("step: an extra group", lambda c: gibbs.step(c.model, c.with_values(x=c.state.values[c.v]), c.gen),
        ValueError, "state"),
    Row("step: integer values", lambda c: gibbs.step(c.model, c.with_values(**{c.v: c.state.values[c.v].long()}),
                                                     c.gen), TypeError, "state"),
    Row("step: beta NaN", lambda c: gibbs.step(c.model, c.with_beta(NAN), c.gen), ValueError, "beta"),
    Row("step: beta 2", lambda c: gibbs.step(c.model, c.with_beta(2.0), c.gen), ValueError, "beta"),
    Row("step: beta -3", lambda c: gibbs.step(c.model, c.with_beta(-3.0), c.gen), ValueError, "beta"),
    Row("step: beta of another length", lambda c: gibbs.step(c.model, c.state._replace(beta=c.state.beta[:2]), c.gen),
        ValueError, "one row per chain (2)"),
    Row("step: no generator", lambda c: gibbs.step(c.model, c.state, None), TypeError, "generator"),
    Row("step: clamp of an unknown group", lambda c: gibbs.step(c.model, c.state, c.gen, clamp={"x": c.data[:4]}),
        ValueError, "clamp"),
    # -- gibbs.run ----------------------------------------------------------------------
    Row("run: -1 steps", lambda c: gibbs.run(c.model, c.state, -1, c.gen), ValueError, "n_steps"),
    Row("run: 1.5 steps", lambda c: gibbs.run(c.model, c.state, 1.5, c.gen), TypeError, "n_steps"),
    Row("run: progress 'yes'", lambda c: gibbs.run(c.model, c.state, 1, c.gen, progress="yes"), TypeError,
        "progress"),
    Row("run: NaN state", lambda c: gibbs.run(c.model, c.poisoned(c.v), 2, c.gen), ValueError, "state"),
    # -- the model's own methods -------------------------------------------------------
    Row("energy: a group missing", lambda c: c.model.energy({c.v: c.data}), ValueError, "state"),
    Row("energy: too wide", lambda c: c.model.energy({**c.state.values, c.v: c.widened(c.v).values[c.v]}),
        ValueError, "state"),
    Row("conditional: unknown group", lambda c: c.model.conditional("x", c.state.values), ValueError, "group"),
    Row("free_energy: too wide", lambda c: c.model.free_energy(c.bad_data("wide")), ValueError, "v"),
    Row("free_energy: NaN", lambda c: c.model.free_energy(c.bad_data("nan")), ValueError, "v"),
    Row("free_energy: beta 2", lambda c: c.model.free_energy(c.data, beta=2.0), ValueError, "beta"),
    Row("from_data: NaN data", lambda c: type(c.model).from_data(c.bad_data("nan"), 4), ValueError, "data"),
    Row("from_data: 0 hidden", lambda c: type(c.model).from_data(c.data, 0), ValueError, "n_hidden"),
    # -- fit: data ----------------------------------------------------------------------
    *[Row(f"fit: data {kind}", (lambda kind: lambda c: fit(c.model, c.bad_data(kind), epochs=1, **QUIET))(kind),
          error, "data")
      for kind, error in [("nan", ValueError), ("inf", ValueError), ("wide", ValueError), ("flat", ValueError),
                          ("empty", ValueError), ("list", TypeError), ("complex", TypeError)]],
    # -- fit: hyperparameters ----------------------------------------------------------
    Row("fit: epochs 0", lambda c: fit(c.model, c.data, epochs=0, **QUIET), ValueError, "epochs"),
    Row("fit: epochs 1.5", lambda c: fit(c.model, c.data, epochs=1.5, **QUIET), TypeError, "epochs"),
    Row("fit: batch_size 0", lambda c: fit(c.model, c.data, epochs=1, batch_size=0, **QUIET), ValueError,
        "batch_size"),
    Row("fit: k 0", lambda c: fit(c.model, c.data, epochs=1, k=0, **QUIET), ValueError, "k"),
    Row("fit: n_chains 0", lambda c: fit(c.model, c.data, epochs=1, method="pcd", n_chains=0, **QUIET), ValueError,
        "n_chains"),
    Row("fit: unknown method", lambda c: fit(c.model, c.data, epochs=1, method="xyz", **QUIET), ValueError, "method"),
    Row("fit: unknown option", lambda c: fit(c.model, c.data, epochs=1, learning_rate=0.1, **QUIET), TypeError,
        "learning_rate"),
    Row("fit: seed 'x'", lambda c: fit(c.model, c.data, epochs=1, seed="x", **QUIET), TypeError, "seed"),
    Row("fit: progress 'yes'", lambda c: fit(c.model, c.data, epochs=1, progress="yes", monitor=0), TypeError,
        "progress"),
    Row("fit: unknown evaluation", lambda c: fit(c.model, c.data, epochs=1, evaluate="nope", **QUIET), ValueError,
        "evaluate"),
    Row("fit: exact evaluation too large", lambda c: fit(c.subject.large(), c.subject.data(20, 40), epochs=1,
                                                         evaluate="exact", **QUIET), ValueError, "exact"),
    Row("fit: a model that is not one", lambda c: fit("rbm", c.data, epochs=1, **QUIET), TypeError, "model"),
    *[Row(f"fit: {kind} {value}", _optim(kind, value), ValueError, kind)
      for kind in ("lr", "weight_decay") for value in (INF, NAN, -1.0)],
    Row("fit: lr 'fast'", _optim("lr", "fast"), TypeError, "lr"),
    Row("fit: momentum 2", _optim("momentum", 2.0), ValueError, "momentum"),
    # -- fit: checkpoints and resuming --------------------------------------------------
    Row("fit: checkpoint is a folder", lambda c: fit(c.model, c.data, epochs=1, checkpoint=c.tmp, **QUIET),
        ValueError, "checkpoint"),
    Row("fit: resume from nothing", lambda c: fit(c.model, c.data, epochs=1, checkpoint=c.tmp / "none.pt",
                                                  resume=True, **QUIET), FileNotFoundError, "none.pt"),
    Row("fit: resume 'yes'", lambda c: fit(c.model, c.data, epochs=1, checkpoint=c.tmp / "r.pt", resume="yes",
                                           **QUIET), ValueError, "resume"),
    Row("fit: resume a checkpoint of another size",
        lambda c: fit(c.model, c.data, epochs=2, checkpoint=c.checkpoint_of(type(c.model)(6, 3, seed=1)),
                      resume=True, **QUIET), ValueError, "size mismatch"),
    Row("fit: resume with other settings",
        lambda c: fit(c.model, c.data, epochs=2, batch_size=5, checkpoint=c.checkpoint_of(c.subject.build()),
                      resume=True, **QUIET), ValueError, "batch_size"),
    Row("fit: resume, epoch -1", lambda c: fit(c.model, c.data, epochs=2, batch_size=10, method="pcd",
                                                checkpoint=c.corrupted_checkpoint("epoch", lambda e: -1),
                                                resume=True, **QUIET), ValueError, "'epoch' entry"),
    Row("fit: resume, optimizer state of the wrong shape",
        lambda c: fit(c.model, c.data, epochs=2, batch_size=10, method="pcd", resume=True, **QUIET,
                      checkpoint=c.corrupted_checkpoint("optimizer", lambda o: {
                          **o, "state": {j: {k: torch.cat([t, t]) if torch.is_tensor(t) and t.dim() else t
                                             for k, t in s.items()} for j, s in o["state"].items()}})),
        ValueError, "'optimizer' entry"),
    Row("fit: resume, chains of the wrong width",
        lambda c: fit(c.model, c.data, epochs=2, batch_size=10, method="pcd", resume=True, **QUIET,
                      checkpoint=c.corrupted_checkpoint("estimator", lambda e: {"chains": {
                          "beta": e["chains"]["beta"], "values": {k: v[:, :-1] for k, v in
                                                                  e["chains"]["values"].items()}}})),
        ValueError, "'estimator' entry"),
    Row("fit: resume, generator state garbage",
        lambda c: fit(c.model, c.data, epochs=2, batch_size=10, method="pcd", resume=True, **QUIET,
                      checkpoint=c.corrupted_checkpoint("generator", lambda g: g[:10])),
        ValueError, "'generator' entry"),
    Row("fit: resume, a checkpoint with NaN weights",
        lambda c: fit(c.model, c.data, epochs=2, batch_size=10, method="pcd", resume=True, **QUIET,
                      checkpoint=c.corrupted_checkpoint("model", lambda m: {k: v * NAN for k, v in m.items()})),
        ValueError, "non-finite"),
    Row("fit: method mp on a model that is not a DBM", lambda c: fit(c.model, c.data, epochs=1, method="mp", **QUIET),
        TypeError, "needs a DBM"),
    Row("fit: multi_prediction without method mp",
        lambda c: fit(c.model, c.data, epochs=1, method="pcd", multi_prediction=MultiPrediction(), **QUIET),
        TypeError, "multi_prediction"),
    # -- inpainting ---------------------------------------------------------------------
    Row("inpaint: a mask of ints", lambda c: inpaint(c.model, c.data, torch.ones(c.data.shape, dtype=torch.int64)),
        TypeError, "inpaint: mask must be a bool", when=_binary_latents),
    Row("inpaint: a model with non-binary latents",
        lambda c: inpaint(c.model, c.data, torch.ones(c.data.shape, dtype=torch.bool)), TypeError,
        "inpaint: mean-field needs binary", when=lambda s: not _binary_latents(s)),
    Row("inpaint: a mask of the wrong shape",
        lambda c: inpaint(c.model, c.data, torch.ones(c.data.shape[1] + 1, dtype=torch.bool)), ValueError,
        "inpaint: mask must have shape", when=lambda s: _binary_visible(s) and _binary_latents(s)),
    Row("inpaint: a model that is not one", lambda c: inpaint("rbm", c.data, torch.ones(c.data.shape, dtype=torch.bool)),
        TypeError, "inpaint: model"),
    # -- partition functions ------------------------------------------------------------
    Row("exact: too many units", lambda c: exact_log_partition(c.subject.large()), ValueError, "exact_log_partition"),
    Row("exact: chunk_size 0", lambda c: exact_log_partition(c.model, chunk_size=0), ValueError, "chunk_size"),
    Row("ais: n_chains 0", lambda c: ais_log_partition(c.model, data=c.data, n_chains=0, progress=False),
        ValueError, "n_chains"),
    Row("ais: betas decreasing", lambda c: ais_log_partition(c.model, data=c.data, progress=False,
                                                             betas=torch.tensor([0.0, 0.6, 0.3, 1.0])),
        ValueError, "betas"),
    Row("ais: betas NaN", lambda c: ais_log_partition(c.model, data=c.data, progress=False,
                                                      betas=torch.tensor([0.0, NAN, 1.0])), ValueError, "betas"),
    Row("ais: betas not ending at 1", lambda c: ais_log_partition(c.model, data=c.data, progress=False,
                                                                  betas=torch.linspace(0, 0.5, 10)),
        ValueError, "betas"),
    Row("ais: unknown base", lambda c: ais_log_partition(c.model, data=c.data, base="xyz", progress=False),
        ValueError, "base"),
    Row("ais: NaN base data", lambda c: ais_log_partition(c.model, data=c.bad_data("nan"), progress=False),
        ValueError, "data"),
    Row("ais: seed 'x'", lambda c: ais_log_partition(c.model, data=c.data, seed="x", progress=False),
        TypeError, "seed"),
    Row("reverse ais: burn_in -1", lambda c: reverse_ais_log_partition(c.model, data=c.data, n_chains=4,
                                                                       burn_in=-1, progress=False),
        ValueError, "burn_in"),
    Row("reverse ais: init of the wrong width",
        lambda c: reverse_ais_log_partition(c.model, data=c.data, init=c.bad_data("wide"), progress=False),
        ValueError, "init"),
    # -- evaluation ---------------------------------------------------------------------
    Row("log_likelihood: NaN data", lambda c: log_likelihood(c.model, c.bad_data("nan"), 0.0), ValueError, "data"),
    Row("log_likelihood: too wide", lambda c: log_likelihood(c.model, c.bad_data("wide"), 0.0), ValueError, "data"),
    Row("log_likelihood: log_z NaN", lambda c: log_likelihood(c.model, c.data, NAN), ValueError, "log_z"),
    Row("log_likelihood: log_z 'x'", lambda c: log_likelihood(c.model, c.data, "x"), TypeError, "log_z"),
    Row("pseudo_log_likelihood: NaN data", lambda c: pseudo_log_likelihood(c.model, c.bad_data("nan"), c.gen),
        ValueError, "data", _binary_visible),
    Row("pseudo_log_likelihood: n_units 0", lambda c: pseudo_log_likelihood(c.model, c.data, c.gen, n_units=0),
        ValueError, "n_units", _binary_visible),
    Row("pseudo_log_likelihood: real-valued units", lambda c: pseudo_log_likelihood(c.model, c.data, c.gen),
        TypeError, "binary visible units", lambda subject: not _binary_visible(subject)),
    Row("reconstruction_error: NaN data", lambda c: reconstruction_error(c.model, c.bad_data("nan")), ValueError,
        "data"),
    Row("reconstruction_error: flat data", lambda c: reconstruction_error(c.model, c.bad_data("flat")), ValueError,
        "data"),
    # -- an energy model as a Pyro distribution ------------------------------------------
    Row("EnergyDistribution: log_z a float", lambda c: EnergyDistribution(c.model, 3.0), TypeError, "log_z"),
    Row("EnergyDistribution: n_gibbs -1", lambda c: EnergyDistribution(c.model, n_gibbs=-1), ValueError, "n_gibbs"),
    Row("EnergyDistribution: thin 0", lambda c: EnergyDistribution(c.model, thin=0), ValueError, "thin"),
    Row("EnergyDistribution: generator 'x'", lambda c: EnergyDistribution(c.model, generator="x"), TypeError,
        "generator"),
    Row("EnergyDistribution.log_prob: too wide",
        lambda c: EnergyDistribution(c.model, _LOG_Z, validate_args=True).log_prob(c.bad_data("wide")),
        ValueError, "shape"),
    Row("EnergyDistribution.log_prob: no log_z", lambda c: EnergyDistribution(c.model).log_prob(c.data),
        ValueError, "log_z"),
    # -- pictures and recorded AIS ------------------------------------------------------
    Row("ais_trace: checkpoints 1", lambda c: ais_trace(c.model, 4, checkpoints=1, base="uniform", progress=False),
        ValueError, "checkpoints"),
    Row("ais_trace: n_chains 1", lambda c: ais_trace(c.model, 1, base="uniform", progress=False), ValueError,
        "n_chains"),
    Row("ais_log_weight_path: checkpoints '5'",
        lambda c: ais_log_weight_path(c.model, c.data[:4], [0.0, 1.0], "uniform", c.gen, checkpoints="5"),
        ValueError, "checkpoints"),
    Row("ais_log_weight_path: a seed for a generator",
        lambda c: ais_log_weight_path(c.model, c.data[:4], [0.0, 1.0], "uniform", 0), TypeError, "generator"),
    Row("reconstruct: NaN", lambda c: reconstruct(c.model, c.bad_data("nan")), ValueError, "x"),
    Row("reconstruct: too wide", lambda c: reconstruct(c.model, c.bad_data("wide")), ValueError, "x"),
    Row("plot_reconstructions: image_shape of 4 units",
        lambda c: plot_reconstructions(c.model, c.data[:3], image_shape=(2, 2)), ValueError, "image_shape"),
    Row("plot_reconstructions: not a square image", lambda c: plot_reconstructions(c.model, c.data[:3]), ValueError,
        "image_shape"),
    Row("plot_filters: image_shape of 4 units", lambda c: plot_filters(c.model, image_shape=(2, 2)), ValueError,
        "weights"),
    Row("plot_filters: n 0", lambda c: plot_filters(c.model, n=0, image_shape=(2, 3)), ValueError, "n must"),
    Row("plot_ais: n_chains 1", lambda c: plot_ais(c.model, 1, base="uniform"), ValueError, "n_chains"),
    # -- saving ---------------------------------------------------------------------------
    Row("save_model: not a model", lambda c: save_model(c.tmp / "m.pt", c.model.state_dict()), TypeError, "model"),
    Row("save_model: onto a folder", lambda c: save_model(c.tmp, c.model), IsADirectoryError, str(os.sep)),
]

SUBJECT_ROWS = [pytest.param(s, row, id=f"{s.name}: {row.name}") for s in SUBJECTS for row in ROWS if row.when(s)]


def _snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) or (a[k].isnan() == b[k].isnan()).all()
                                        and torch.equal(a[k].nan_to_num(), b[k].nan_to_num()) for k in a)


def _labelled(n=30, seed=0):
    """Valid rows [v, onehot(y)] for a ClassRBM of 6 pixels and 3 classes."""
    gen = torch.Generator().manual_seed(seed)
    return ClassRBM.join_labels(_binary(n, 6, seed), torch.randint(0, 3, (n,), generator=gen), 3)


def _two_hot(x):
    x = x.clone()
    x[0, 6:] = 1.0
    return x


#: Entry points of the classification RBM, and the generic ones on its [pixels, label] rows:
#: ``call(model, data)`` with data = :func:`_labelled`.
CRBM_ROWS = [
    ("join_labels: float labels", lambda m, x: ClassRBM.join_labels(x[:, :6], torch.zeros(30), 3), TypeError,
     "labels"),
    ("join_labels: label 3 of 3 classes", lambda m, x: ClassRBM.join_labels(x[:, :6], torch.full((30,), 3), 3),
     ValueError, "labels"),
    ("join_labels: too few labels", lambda m, x: ClassRBM.join_labels(x[:, :6], torch.zeros(5, dtype=torch.long), 3),
     ValueError, "labels"),
    ("join_labels: 1 class", lambda m, x: ClassRBM.join_labels(x[:, :6], torch.zeros(30, dtype=torch.long), 1),
     ValueError, "n_classes"),
    ("from_data: labels not one-hot", lambda m, x: ClassRBM.from_data(_two_hot(x), 4, 3), ValueError, "one-hot"),
    ("from_data: no pixel columns", lambda m, x: ClassRBM.from_data(x[:, 6:], 4, 3), ValueError, "data"),
    ("predict: rows with the label", lambda m, x: m.predict(x), ValueError, "v"),
    ("predict_proba: NaN", lambda m, x: m.predict_proba(x[:, :6] * NAN), ValueError, "v"),
    ("score: labels of another length", lambda m, x: m.score(x[:, :6], torch.zeros(3, dtype=torch.long)),
     ValueError, "labels"),
    ("split_labels: too narrow", lambda m, x: m.split_labels(x[:, :6]), ValueError, "x"),
    ("free_energy: labels not one-hot", lambda m, x: m.free_energy(_two_hot(x)), ValueError, "label columns"),
    ("free_energy: pixels only", lambda m, x: m.free_energy(x[:, :6]), ValueError, "x"),
    ("conditional: label 2-hot", lambda m, x: m.conditional("h", {"v": x[:, :6], "y": _two_hot(x)[:, 6:]}),
     ValueError, "state['y']"),
    ("gibbs.init: clamp label 2-hot", lambda m, x: gibbs.init(m, 30, torch.Generator(), clamp={"y": _two_hot(x)[:, 6:]}),
     ValueError, "clamp['y']"),
    ("fit: labels not one-hot", lambda m, x: fit(m, _two_hot(x), epochs=1, **QUIET), ValueError, "one-hot"),
    ("fit: pixels only", lambda m, x: fit(m, x[:, :6], epochs=1, **QUIET), ValueError, "data"),
    ("fit: pixels 2.0", lambda m, x: fit(m, x * 2, epochs=1, **QUIET), ValueError, "data"),
    ("log_likelihood: soft labels", lambda m, x: log_likelihood(m, torch.cat([x[:, :6], x[:, 6:] * 0 + 1 / 3], 1), 0.0),
     ValueError, "one-hot"),
    ("ais: base data without labels", lambda m, x: ais_log_partition(m, data=x[:, :6], progress=False), ValueError,
     "data"),
    ("pseudo_log_likelihood: pixels and label", lambda m, x: pseudo_log_likelihood(m, x), TypeError, "one visible group"),
]


@pytest.mark.parametrize("name, call, error, match", CRBM_ROWS, ids=[f"crbm: {r[0]}" for r in CRBM_ROWS])
def test_bad_input_to_the_classification_rbm_is_refused_cleanly(name, call, error, match):
    torch.set_num_threads(1)
    model = random_class_rbm(6, 4, 3, seed=0, dtype=torch.float32)
    before = _snapshot(model)
    with pytest.raises(error) as caught:
        call(model, _labelled())
    assert match in str(caught.value), f"the message does not name {match!r}: {caught.value}"
    assert _same(_snapshot(model), before), "the model changed"


@pytest.mark.parametrize("subject, row", SUBJECT_ROWS)
def test_bad_input_is_refused_cleanly(subject, row, tmp_path):
    torch.set_num_threads(1)
    model = subject.build()
    gen = torch.Generator().manual_seed(0)
    ctx = Ctx(model, subject.data(30), gen, gibbs.init(model, 4, torch.Generator().manual_seed(1)), tmp_path,
              subject)
    before, gen_before = _snapshot(model), gen.get_state()
    with pytest.raises(row.error) as caught:
        row.call(ctx)
    assert row.match in str(caught.value), f"the message does not name {row.match!r}: {caught.value}"
    assert _same(_snapshot(model), before), "the model changed"
    assert torch.equal(gen.get_state(), gen_before), "the generator was drawn from"


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
    Row("fit: an energy model's option", lambda c: fit(c.model, c.data, epochs=1, k=3, **QUIET), TypeError, "k=3"),
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
]
DIRECTED_PARAMS = [pytest.param(s, row, id=f"{s.name}: {row.name}") for s in DIRECTED_SUBJECTS
                   for row in DIRECTED_ROWS if row.when(s)]


@pytest.mark.parametrize("subject, row", DIRECTED_PARAMS)
def test_bad_input_to_a_directed_model_is_refused_cleanly(subject, row, tmp_path):
    torch.set_num_threads(1)
    model = subject.build()
    gen = torch.Generator().manual_seed(0)
    ctx = Ctx(model, subject.data(30), gen, None, tmp_path, subject)
    before, gen_before = _snapshot(model), gen.get_state()
    with pytest.raises(row.error) as caught:
        row.call(ctx)
    assert row.match in str(caught.value), f"the message does not name {row.match!r}: {caught.value}"
    assert _same(_snapshot(model), before), "the model changed"
    assert torch.equal(gen.get_state(), gen_before), "the generator was drawn from"


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


# -- the deep belief net's entry points ----------------------------------------------------

def _dbn_data(width=6):
    return _binary(20, width)


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
    ("DBNClassifier.from_dbn: an RBM", lambda d: DBNClassifier.from_dbn(d.top, 4), TypeError, "dbn"),
    ("DBNClassifier.from_dbn: n_classes 1", lambda d: DBNClassifier.from_dbn(d, 1), ValueError, "n_classes"),
]


@pytest.mark.parametrize("call, error, match", [pytest.param(*row[1:], id=row[0]) for row in DBN_ROWS])
def test_bad_dbn_input_is_refused_cleanly(call, error, match):
    dbn = DBN([6, 4, 3], seed=0)
    before = _snapshot(dbn)
    with pytest.raises(error) as caught:
        call(dbn)
    assert match in str(caught.value), f"the message does not name {match!r}: {caught.value}"
    assert _same(_snapshot(dbn), before), "the model changed"


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
    before = _snapshot(clf)
    with pytest.raises(error) as caught:
        call(clf)
    assert match in str(caught.value), f"the message does not name {match!r}: {caught.value}"
    assert _same(_snapshot(clf), before), "the model changed"


# -- ArviZ export ----------------------------------------------------------------------------

def _export_rows():
    from inference import mcmc_posterior, sample_chains, to_inference_data

    g = torch.Generator().manual_seed(0)
    gibbs_rows = [
        ("sample_chains: n_chains 0", lambda m: sample_chains(m, 0, 5, generator=g), ValueError, "n_chains"),
        ("sample_chains: n_draws 0", lambda m: sample_chains(m, 2, 0, generator=g), ValueError, "n_draws"),
        ("sample_chains: thin 0", lambda m: sample_chains(m, 2, 5, generator=g, thin=0), ValueError, "thin"),
        ("sample_chains: burn_in -1", lambda m: sample_chains(m, 2, 5, generator=g, burn_in=-1), ValueError,
         "burn_in"),
        ("sample_chains: no generator", lambda m: sample_chains(m, 2, 5, generator=None), TypeError, "generator"),
        ("sample_chains: unknown group", lambda m: sample_chains(m, 2, 5, generator=g, units={"x": [0]}), ValueError,
         "units"),
        ("sample_chains: unit 9 of 6", lambda m: sample_chains(m, 2, 5, generator=g, units={"v": [9]}), ValueError,
         "units['v']"),
        ("sample_chains: unit 0.5", lambda m: sample_chains(m, 2, 5, generator=g, units={"v": [0.5]}), TypeError,
         "units['v']"),
        ("sample_chains: betas not decreasing", lambda m: sample_chains(m, 2, 5, generator=g, betas=[1.0, 1.0]),
         ValueError, "betas"),
        ("sample_chains: replicas 'some'", lambda m: sample_chains(m, 2, 5, generator=g, betas=[1.0, 0.5],
                                                                   replicas="some"), ValueError, "replicas"),
        ("to_inference_data: an int", lambda m: to_inference_data(42), TypeError, "source"),
        ("to_inference_data: 5 draws in 2 chains", lambda m: to_inference_data({"z": torch.zeros(5, 2)}, n_chains=2),
         ValueError, "n_chains"),
    ]
    vae_rows = [
        ("mcmc_posterior: an SBN", lambda m: mcmc_posterior(SigmoidBeliefNet([6, 3], seed=0), _binary(2)),
         ValueError, "'h1'"),
        ("mcmc_posterior: num_samples 1", lambda m: mcmc_posterior(m, _binary(2), num_samples=1), ValueError,
         "num_samples"),
        ("mcmc_posterior: grey data", lambda m: mcmc_posterior(m, _binary(2) / 2), ValueError, "x"),
    ]
    return ([pytest.param(lambda: random_rbm(6, 4, seed=0, dtype=torch.float32), *r[1:], id=r[0]) for r in gibbs_rows]
            + [pytest.param(lambda: VAE(6, 5, 2, seed=0), *r[1:], id=r[0]) for r in vae_rows])


@pytest.mark.parametrize("build, call, error, match", _export_rows())
def test_bad_export_input_is_refused_cleanly(build, call, error, match):
    model = build()
    before = _snapshot(model)
    with pytest.raises(error) as caught:
        call(model)
    assert match in str(caught.value), f"the message does not name {match!r}: {caught.value}"
    assert _same(_snapshot(model), before), "the model changed"


# -- files ---------------------------------------------------------------------------------

class _Marker:
    """A pickle that, if unpickled unsafely, creates the file ``path``."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _file(kind, tmp):
    """A bad file of ``kind`` in ``tmp``: ``(path, exception, pattern)``."""
    good = tmp / "good.pt"
    save_model(good, random_rbm(6, 4, seed=0, dtype=torch.float32))
    raw, path = good.read_bytes(), tmp / f"{kind}.pt"
    invalid = "is not a valid pgm file"
    if kind == "missing":
        return path, FileNotFoundError, "does not exist"
    if kind == "folder":
        path.mkdir()
        return path, ValueError, "directory"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not a checkpoint\n")
    elif kind.startswith("truncated"):
        path.write_bytes(raw[: len(raw) * int(kind[-2:]) // 100])
    elif kind == "tensor":
        torch.save(torch.zeros(3), path)
    elif kind == "malicious":
        with open(path, "wb") as f:
            pickle.dump({"format": "pgm/2", "config": _Marker(str(tmp / "pwned"))}, f)
    elif kind == "malicious-torch":
        torch.save({"format": "pgm/2", "model": _Marker(str(tmp / "pwned"))}, path)
    else:
        payload = load_checkpoint(good)
        del payload["format"], payload["checksum"]
        change = {
            "nan": lambda p: p["model"]["W"].fill_(NAN),
            "no-config": lambda p: p.pop("config"),
            "bad-json": lambda p: p.__setitem__("config", "{not json"),
            "unknown-class": lambda p: p.__setitem__("config", p["config"].replace('"RBM"', '"Nope"')),
            "extra-key": lambda p: p.__setitem__("config", p["config"].replace('"seed"', '"colour": 1, "seed"')),
            "huge-config": lambda p: p.__setitem__("config", p["config"].replace('"n_visible": 6',
                                                                                 '"n_visible": 1000000')),
            "missing-tensor": lambda p: p["model"].pop("b"),
            "int-weights": lambda p: p["model"].__setitem__("W", p["model"]["W"].long()),
        }[kind]
        change(payload)
        write_payload(path, payload)
        if kind == "nan":
            return path, ValueError, "non-finite"
    return path, ValueError, invalid


FILE_KINDS = ["missing", "folder", "empty", "text", "truncated-10", "truncated-50", "truncated-90", "tensor",
              "malicious", "malicious-torch", "nan", "no-config", "bad-json", "unknown-class", "extra-key",
              "huge-config", "missing-tensor", "int-weights"]


def _load_via_resume(path):
    return fit(RBM(6, 4, seed=0), _binary(20), epochs=1, checkpoint=path, resume=True, **QUIET)


FILE_ROWS = [pytest.param(kind, reader, id=f"{name}: {kind}") for kind in FILE_KINDS
             for name, reader in [("load_model", load_model), ("load_checkpoint", load_checkpoint),
                                  ("fit(resume=True)", _load_via_resume)]]


@pytest.mark.parametrize("kind, reader", FILE_ROWS)
def test_bad_files_are_refused_cleanly(kind, reader, tmp_path):
    path, error, match = _file(kind, tmp_path)
    with pytest.raises(error) as caught:
        reader(path)
    message = str(caught.value)
    assert match in message and (kind == "missing" or os.fspath(path) in message), message
    assert not (tmp_path / "pwned").exists(), "unpickling ran code"


def test_every_flipped_byte_is_caught_or_harmless(tmp_path):
    """Flip each of 200 bytes spread over a saved model: the load either fails with the
    file's error or gives back exactly the saved tensors (a byte the format ignores)."""
    model = random_rbm(8, 5, seed=3, dtype=torch.float32)
    path = tmp_path / "m.pt"
    save_model(path, model)
    raw = bytearray(path.read_bytes())
    positions = sorted({round(i * (len(raw) - 1) / 199) for i in range(200)})
    caught = harmless = 0
    for i in positions:
        flipped = bytearray(raw)
        flipped[i] ^= 0xFF
        bad = tmp_path / "flipped.pt"
        bad.write_bytes(bytes(flipped))
        try:
            loaded = load_model(bad)
        except ValueError as err:
            assert "is not a valid pgm file" in str(err)
            caught += 1
            continue
        assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))
        harmless += 1
    assert caught + harmless == len(positions) and caught >= math.ceil(0.5 * len(positions))


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
    with pytest.raises(error) as caught:
        call()
    assert match in str(caught.value), f"the message does not name {match!r}: {caught.value}"
