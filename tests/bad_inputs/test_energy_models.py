"""Bad input to the energy models' entry points: the ROWS table, run for every SUBJECT, and the
classification RBM's own table."""

from __future__ import annotations

import os

import pytest
import torch

from inference import (MultiPrediction, ais_log_partition, anneal, exact_log_partition, fit, gibbs, inpaint,
                       log_likelihood, pseudo_log_likelihood, reconstruction_error, reverse_ais_log_partition,
                       sample_chains, save_model, tempering)
from inference import EnergyDistribution
from inference import ais_trace, plot_ais, plot_filters, plot_reconstructions, reconstruct
from inference.learning import fit as fit_energy
from inference.partition import ais_log_weight_path
from models.energy import ClassRBM, Hopfield
from tests.models.test_class_rbm import random_class_rbm
from tests.bad_inputs.common import (assert_refused, HUGE, INVERTED, NAN, INF, Ctx, QUIET, Row, SUBJECTS, _LOG_Z, _binary,
                                     _binary_latents, _binary_visible, _dense, _hidden_kind, _optim,
                                     on_meta,
                                     unwritable_checkpoint)


def _any(subject):
    return True


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
    Row("from_data: NaN data", lambda c: type(c.model).from_data(c.bad_data("nan"), 4), ValueError, "data", _dense),
    Row("from_data: 0 hidden", lambda c: type(c.model).from_data(c.data, 0), ValueError, "n_hidden", _dense),
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
    Row("fit: a directed model's option", lambda c: fit(c.model, c.data, epochs=1, n_particles=5, **QUIET),
        TypeError, "families that take it: n_particles: sbn, helmholtz, vae"),
    Row("fit: the DBN's option", lambda c: fit(c.model, c.data, epochs=1, propagate="mean", **QUIET), TypeError,
        "families that take it: propagate: dbn"),
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
                      resume=True, **QUIET), ValueError, "size mismatch", _dense),
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
    Row("pseudo_log_likelihood: distributed 'yes'",
        lambda c: pseudo_log_likelihood(c.model, c.data, c.gen, distributed="yes"), TypeError, "distributed",
        _binary_visible),
    Row("reconstruction_error: NaN data", lambda c: reconstruction_error(c.model, c.bad_data("nan")), ValueError,
        "data"),
    Row("reconstruction_error: distributed 1", lambda c: reconstruction_error(c.model, c.data, distributed=1),
        TypeError, "distributed"),
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
        "weights", _dense),
    Row("plot_filters: n 0", lambda c: plot_filters(c.model, n=0, image_shape=(2, 3)), ValueError, "n must", _dense),
    Row("plot_ais: n_chains 1", lambda c: plot_ais(c.model, 1, base="uniform"), ValueError, "n_chains"),
    # -- saving ---------------------------------------------------------------------------
    Row("save_model: not a model", lambda c: save_model(c.tmp / "m.pt", c.model.state_dict()), TypeError, "model"),
    Row("save_model: onto a folder", lambda c: save_model(c.tmp, c.model), IsADirectoryError, str(os.sep)),
    # -- a model or data on the meta device (shapes without values) ----------------------
    *[Row(f"{name}: a model on meta", call, ValueError, "'meta' device", when)
      for name, call, when in [
          ("gibbs.init", lambda c: gibbs.init(on_meta(c.model), 4, c.gen), _any),
          ("gibbs.step", lambda c: gibbs.step(on_meta(c.model), c.state, c.gen), _any),
          ("tempering.init", lambda c: tempering.init(on_meta(c.model), 2, [1.0, 0.5], c.gen), _any),
          ("anneal", lambda c: anneal(on_meta(c.model), 2, [0.5, 1.0], c.gen), _any),
          ("fit", lambda c: fit(on_meta(c.model), c.data, epochs=1, **QUIET), _any),
          ("exact_log_partition", lambda c: exact_log_partition(on_meta(c.model)), _any),
          ("ais_log_partition", lambda c: ais_log_partition(on_meta(c.model), n_chains=4, base="uniform",
                                                            progress=False), _any),
          ("reverse_ais_log_partition", lambda c: reverse_ais_log_partition(on_meta(c.model), data=c.data,
                                                                            n_chains=4, progress=False), _any),
          ("log_likelihood", lambda c: log_likelihood(on_meta(c.model), c.data, 0.0), _any),
          ("pseudo_log_likelihood", lambda c: pseudo_log_likelihood(on_meta(c.model), c.data, c.gen), _any),
          ("reconstruction_error", lambda c: reconstruction_error(on_meta(c.model), c.data), _any),
          ("inpaint", lambda c: inpaint(on_meta(c.model), c.data, torch.ones(c.data.shape, dtype=torch.bool)),
           _binary_latents),
          ("EnergyDistribution", lambda c: EnergyDistribution(on_meta(c.model), _LOG_Z), _any),
          ("sample_chains", lambda c: sample_chains(on_meta(c.model), 2, 3, generator=c.gen), _any),
          ("reconstruct", lambda c: reconstruct(on_meta(c.model), c.data), _any),
          ("plot_filters", lambda c: plot_filters(on_meta(c.model), image_shape=(2, 3)), _any),
          ("save_model", lambda c: save_model(c.tmp / "m.pt", on_meta(c.model)), _any),
      ]],
    *[Row(f"{name}: data on meta", call, ValueError, "'meta' device")
      for name, call in [
          ("fit", lambda c: fit(c.model, c.data.to("meta"), epochs=1, **QUIET)),
          ("log_likelihood", lambda c: log_likelihood(c.model, c.data.to("meta"), 0.0)),
          ("free_energy", lambda c: c.model.free_energy(c.data.to("meta"))),
          ("gibbs.init clamp", lambda c: gibbs.init(c.model, 30, c.gen, clamp={c.v: c.data.to("meta")})),
          ("EnergyDistribution.log_prob", lambda c: EnergyDistribution(c.model, _LOG_Z).log_prob(c.data.to("meta"))),
      ]],
    # -- sizes no memory holds: refused with the figure, before allocating ---------------
    Row("init: 10**12 chains", lambda c: gibbs.init(c.model, HUGE, c.gen), ValueError, "gibbs.init: 1000000000000 "
        "chains of"),
    Row("tempering.init: 10**4 temperatures × 10**12 chains",
        lambda c: tempering.init(c.model, HUGE, torch.linspace(1, 0, 10**4), c.gen), ValueError, "need"),
    Row("anneal: 10**12 chains", lambda c: anneal(c.model, HUGE, [0.5, 1.0], c.gen), ValueError, "anneal"),
    Row("anneal: the trace of 10**6 sweeps × 10**7 chains", lambda c: anneal(c.model, 10**7, torch.ones(10**6), c.gen),
        ValueError, "energy trace"),
    Row("ais: n_chains 10**12", lambda c: ais_log_partition(c.model, n_chains=HUGE, base="uniform", progress=False),
        ValueError, "ais_log_partition"),
    Row("reverse ais: n_chains 10**12", lambda c: reverse_ais_log_partition(c.model, n_chains=HUGE, data=c.data,
                                                                            progress=False), ValueError, "need"),
    Row("fit: pcd n_chains 10**12", lambda c: fit(c.model, c.data, epochs=1, method="pcd", n_chains=HUGE, **QUIET),
        ValueError, "fit: 1000000000000 chains"),
    Row("fit: pt n_temperatures 10**9", lambda c: fit(c.model, c.data, epochs=1, method="pt", n_temperatures=10**9,
                                                      **QUIET), ValueError, "1000000000 temperatures"),
    Row("EnergyDistribution.sample: 10**10 draws",
        lambda c: EnergyDistribution(c.model, _LOG_Z, generator=c.gen).sample((10**10,)), ValueError, "draws"),
    Row("sample_chains: 10**10 draws", lambda c: sample_chains(c.model, 2, 10**10, generator=c.gen), ValueError,
        "record fewer draws"),
    # -- values checked before the model changes ---------------------------------------
    Row("fit: checkpoint ''", lambda c: fit(c.model, c.data, epochs=1, checkpoint="", **QUIET), ValueError,
        "checkpoint"),
    Row("fit: checkpoint in a folder that is a file", lambda c: fit(c.model, c.data, epochs=1,
                                                                    checkpoint=unwritable_checkpoint(c.tmp), **QUIET),
        ValueError, "checkpoint"),
    Row("fit: checkpoint 5", lambda c: fit(c.model, c.data, epochs=1, checkpoint=5, **QUIET), TypeError, "checkpoint"),
    Row("fit: seed 2**64", lambda c: fit(c.model, c.data, epochs=1, seed=2**64, **QUIET), ValueError, "seed"),
    Row("fit: callbacks 5", lambda c: fit(c.model, c.data, epochs=1, callbacks=5, **QUIET), TypeError, "callbacks"),
    Row("fit: eval_every 0 without evaluate", lambda c: fit(c.model, c.data, epochs=1, eval_every=0, **QUIET),
        ValueError, "eval_every"),
    Row("ais: seed 2**64", lambda c: ais_log_partition(c.model, data=c.data, seed=2**64, progress=False),
        ValueError, "seed"),
    # -- accepted before, but wrong -------------------------------------------------------
    Row("tempering.init: beta 1.5", lambda c: tempering.init(c.model, 2, torch.tensor([1.5, 0.5]), c.gen),
        ValueError, "betas must lie in [0, 1]"),
    Row("log_likelihood: an inverted log_z bracket", lambda c: log_likelihood(c.model, c.data, INVERTED), ValueError,
        "inverted bracket"),
    Row("EnergyDistribution: an inverted log_z bracket", lambda c: EnergyDistribution(c.model, INVERTED), ValueError,
        "inverted bracket"),
    Row("EnergyDistribution.log_prob: complex values",
        lambda c: EnergyDistribution(c.model, _LOG_Z).log_prob(c.data.to(torch.complex64)), TypeError, "value"),
]

#: The conv RBM's own rows where the dense models' rows assume ``cls(n_visible, n_hidden)``.
CONV_ROWS = [
    Row("from_data: NaN data", lambda c: type(c.model).from_data(c.bad_data("nan"), 2, 2, 1, image_shape=(2, 3)),
        ValueError, "data"),
    Row("from_data: 0 filters", lambda c: type(c.model).from_data(c.data, 0, 2, 1, image_shape=(2, 3)), ValueError,
        "n_filters"),
    Row("from_data: data of no square image", lambda c: type(c.model).from_data(c.data, 2, 2), ValueError,
        "image_shape"),
    Row("fit: resume a checkpoint of another size",
        lambda c: fit(c.model, c.data, epochs=2, checkpoint=c.checkpoint_of(type(c.model)((2, 3), 3, 2, 1, seed=1)),
                      resume=True, **QUIET), ValueError, "size mismatch"),
    Row("plot_filters: no weight matrix", lambda c: plot_filters(c.model), TypeError, "weights from its visible"),
    Row("conditional: h of another width", lambda c: c.model.conditional("v", {"h": torch.zeros(2, 5)}), ValueError,
        "state['h']"),
]
ROWS += [row._replace(when=lambda s: s.name == "convrbm") for row in CONV_ROWS]

SUBJECT_ROWS = [pytest.param(s, row, id=f"{s.name}: {row.name}") for s in SUBJECTS for row in ROWS if row.when(s)]

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
    assert_refused(lambda: call(model, _labelled()), error, match, model)


@pytest.mark.parametrize("subject, row", SUBJECT_ROWS)
def test_bad_input_is_refused_cleanly(subject, row, tmp_path):
    torch.set_num_threads(1)
    model = subject.build()
    gen = torch.Generator().manual_seed(0)
    ctx = Ctx(model, subject.data(30), gen, gibbs.init(model, 4, torch.Generator().manual_seed(1)), tmp_path,
              subject)
    assert_refused(lambda: row.call(ctx), row.error, row.match, model, gen)


def _spins(n=20, seed=0):
    return (torch.rand(n, 9, generator=torch.Generator().manual_seed(seed)) < 0.5).float() * 2 - 1


#: A Hopfield net of ±1 spins: ``call(net, generator)``.
HOPFIELD_ROWS = [
    ("gibbs.init: clamp 3.0", lambda h, g: gibbs.init(h, 2, g, clamp={"v": torch.full((2, 9), 3.0)}), ValueError,
     "clamp['v'] must lie in [-1, 1]"),
    ("gibbs.init: values -2", lambda h, g: gibbs.init(h, 2, g, values={"v": torch.full((2, 9), -2.0)}), ValueError,
     "values['v']"),
    ("gibbs.step: a state of 2.0",
     lambda h, g: gibbs.step(h, gibbs.GibbsState({"v": torch.full((2, 9), 2.0)}, torch.ones(2)), g), ValueError,
     "state"),
    ("anneal: clamp 3.0", lambda h, g: anneal(h, 2, [1.0], g, clamp={"v": torch.full((2, 9), 3.0)}), ValueError,
     "clamp['v']"),
    ("fit pcd: {0, 1} data", lambda h, g: fit(h, (_spins() + 1) / 2, method="pcd", epochs=1, **QUIET), ValueError,
     "±1 spins"),
    ("fit pcd: data 3", lambda h, g: fit(h, _spins() * 3, method="pcd", epochs=1, **QUIET), ValueError, "data"),
    ("fit pcd: a net on meta", lambda h, g: fit(on_meta(h), _spins(), method="pcd", epochs=1, **QUIET), ValueError,
     "'meta' device"),
    ("gibbs.init: a net on meta", lambda h, g: gibbs.init(on_meta(h), 2, g), ValueError, "'meta' device"),
    ("the energy trainer itself: parameters without grad",
     lambda h, g: fit_energy(h, _spins(), method="pcd", epochs=1, **QUIET), ValueError, "requires grad"),
]


@pytest.mark.parametrize("call, error, match", [pytest.param(*row[1:], id=f"hopfield: {row[0]}")
                                                for row in HOPFIELD_ROWS])
def test_bad_input_to_a_hopfield_net_is_refused_cleanly(call, error, match):
    net = Hopfield(9).store(_spins(3, seed=1))
    gen = torch.Generator().manual_seed(0)
    assert_refused(lambda: call(net, gen), error, match, net, gen)
