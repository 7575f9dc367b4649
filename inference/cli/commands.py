"""The ``pgm`` commands: demo, fit, eval, sample, graph."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch

from models.directed import DBN, VAE, DirectedModel
from models.energy import Hopfield
from pgm import REAL_KINDS, SPIN_KINDS

from .. import registry
from ..pictures import image_shape, plot_filters, visible_weights
from ..variational.train import METHODS
from .data import _check_data_kind, _check_exact, _has_splits, load_data
from .options import UsageError
from .outputs import _cleaned_up, _KEEP, _make_folder, _out_file, _out_folder, _PICTURES

# -- commands ---------------------------------------------------------------------------

def _model_name(model) -> str:
    entry = registry.entry_for(model)
    return entry.name if entry is not None else type(model).__name__


def _default_data(model) -> str:
    entry = registry.entry_for(model)
    return entry.default_data if entry is not None else "digits"


def _visible(model):
    return model.graph[model.visible_name]


def _demo_parts(text):
    from ..demo import PARTS

    parts = tuple(p.strip() for p in text.split(","))
    bad = [p for p in parts if p not in PARTS]
    if bad:
        raise argparse.ArgumentTypeError(f"expected comma-separated parts from {', '.join(PARTS)}, got {text!r}")
    return parts


def _cmd_demo(args):
    from ..demo import check_demo_options, run_demo

    out = _out_folder(args.out)
    try:
        check_demo_options(n_hidden=args.hidden, epochs=args.epochs, seed=args.seed, parts=args.parts)
    except (TypeError, ValueError) as err:
        raise UsageError(str(err).replace("n_hidden", "--hidden").replace("run_demo: ", "")) from None
    with _cleaned_up(out, args.notes, _KEEP):
        run_demo(out, quick=args.quick, seed=args.seed, n_hidden=args.hidden, epochs=args.epochs,
                 progress=not args.no_progress, parts=args.parts)


def _cmd_fit(args):
    from ..checkpoint import save_model
    from ..learning import fit

    entry = registry.lookup(args.model)
    out = _out_folder(args.out)
    resumable = "checkpoint.layer1.pt" if entry.cls is DBN else "checkpoint.pt"  # a DBN: one file per layer
    if args.resume and not (out / resumable).is_file():
        raise UsageError(f"--resume: there is no {out / resumable} to continue (run without --resume)")
    spec = args.data or entry.default_data
    data = load_data(spec, "train")
    _check_data_kind(entry.name, entry.visible_kind, spec, data, exact=False)
    evaluate = None if args.evaluate == "none" else args.evaluate
    if evaluate is not None:
        _check_data_kind(entry.name, entry.visible_kind, spec, data, exact=True, option=f"--evaluate {evaluate}: ")
    eval_data = load_data(spec, "test") if evaluate is not None and _has_splits(spec) else data
    model = entry.build(data, args)
    directed = isinstance(model, DirectedModel) and not isinstance(model, DBN)
    evaluations, methods = (("importance",), METHODS) if directed \
        else (("exact", "ais"), ("cd", "pcd", "pt", "sml", "mp"))
    up_down = isinstance(model, DBN) and args.method == "up_down"  # greedy (CD), then up-down fine-tuning
    if up_down:
        args.method = None
    if isinstance(model, DBN) and not up_down and args.up_down_epochs is not None:
        raise UsageError("--up-down-epochs applies with --method up_down (greedy layers, then up-down fine-tuning)")
    if isinstance(model, DBN):  # greedy: each RBM by --method (cd by default)
        methods = ("cd", "pcd", "pt", "sml")
    if entry.methods is not None and args.method not in (None, *entry.methods):
        raise UsageError(f"--method {args.method} does not apply to the {entry.name} model (it is trained by --method "
                         f"{'|'.join(entry.methods)})")
    if evaluate not in (None, *evaluations) or args.method not in (None, *methods):
        what = f"--evaluate {evaluate}" if evaluate not in (None, *evaluations) else f"--method {args.method}"
        raise UsageError(f"{what} does not apply to the {entry.name} model (directed models: --method "
                         f"{'|'.join(METHODS)}, --evaluate importance; energy models: --method "
                         "cd|pcd|pt|sml (mp: dbm), "
                         "--evaluate exact|ais)")
    if args.method == "mp" and entry.name != "dbm":
        raise UsageError(f"--method mp (multi-prediction) trains a dbm, not the {entry.name} model")
    if evaluate == "exact":
        for layer in ([model.layer_rbm(l) for l in range(1, model.n_layers + 1)] if isinstance(model, DBN) else [model]):
            _check_exact(layer, "--evaluate exact", "--evaluate ais or a smaller layer")
    if directed:
        options = {"n_particles": args.particles, **({"lr": args.lr} if args.lr is not None else {})}
    else:
        options = {"k": args.k, "n_temperatures": args.temperatures, "lr": args.lr,
                   "momentum": "hinton" if args.momentum is None else args.momentum,
                   "average": None if args.average == "none" else args.average}
    if isinstance(model, DBN):
        options = {**options, "layer_method": args.method or "cd", "propagate": args.propagate,
                   "n_samples": args.samples}
        args.method = "greedy"
    if entry.train is not None:  # a family learned otherwise (a Hopfield net stores patterns)
        with _cleaned_up(out, args.notes):
            _make_folder(out)
            summary = entry.train(model, data, args)
            save_model(out / "model.pt", model)
            (out / "history.json").write_text(json.dumps(summary, indent=2, default=float))
        print(f"{entry.name} on {spec}: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
        print(f"wrote {out / 'model.pt'} and {out / 'history.json'}")
        return
    with _cleaned_up(out, args.notes, (*_KEEP, resumable), " (add --resume to continue from its checkpoint)"):
        _make_folder(out)
        history = fit(model, data, method=args.method, epochs=args.epochs, batch_size=args.batch_size,
                      seed=args.seed, checkpoint=out / "checkpoint.pt", resume=args.resume,
                      evaluate=evaluate, eval_data=eval_data, progress=not args.no_progress, **options)
        record = history.as_dict()
        if up_down:  # --up-down-epochs of fine-tuning after the greedy layers (not checkpointed)
            history = fit(model, data, method="up_down", epochs=args.up_down_epochs or 10, batch_size=args.batch_size,
                          k=10, seed=args.seed, evaluate=evaluate, eval_data=eval_data, n_samples=args.samples,
                          progress=not args.no_progress)
            record["up_down"] = history.as_dict()
        save_model(out / "model.pt", model)
        (out / "history.json").write_text(json.dumps(record, indent=2, default=float))
    last = {k: v for k, v in history.last().items() if isinstance(v, (int, float)) and k != "epoch"}
    print(f"{entry.name} on {spec}, epoch {history.epoch[-1]}: " + ", ".join(f"{k} {v:.4g}" for k, v in last.items()))
    print(f"wrote {out / 'model.pt'} and {out / 'history.json'}")


def _cmd_eval(args):
    from ..checkpoint import load_model
    from ..partition import ais_log_partition, default_schedule, exact_log_partition

    model = load_model(args.model)
    spec = args.data or _default_data(model)
    data = load_data(spec, args.split)
    vis = _visible(model)
    groups = getattr(model, "data_groups", (vis.name,))  # several observed groups: pixels and a label
    if len(groups) > 1 and data.shape[1] != model.data_width:
        raise UsageError(f"--data {spec} has {data.shape[1]} columns, but {args.model} takes {model.data_width} "
                         f"({' + '.join(groups)})")
    if len(groups) == 1 and data.shape[1] != vis.n_units:
        raise UsageError(f"--data {spec} has {data.shape[1]} columns, but {args.model} has {vis.n_units} visible units")
    _check_data_kind(_model_name(model), vis.kind, spec, data, exact=True)
    if isinstance(model, DBN):
        return _eval_dbn(model, data, spec, args)
    if isinstance(model, DirectedModel) or args.method == "importance":
        return _eval_importance(model, data, spec, args)
    if args.method == "exact":
        _check_exact(model, "--method exact", "--method ais")
        log_z = exact_log_partition(model)
    else:
        betas = default_schedule() if args.betas is None else torch.linspace(0, 1, args.betas, dtype=torch.float64)
        base_data = load_data(spec, "train") if args.base == "data" else None
        log_z = ais_log_partition(model, n_chains=args.chains, betas=betas, base=args.base, data=base_data,
                                  seed=args.seed, progress=not args.no_progress)
    density = vis.kind in REAL_KINDS
    result = {"model": _model_name(model), "log_z": log_z._asdict(), "log_likelihood": _log_likelihood(model, data, log_z),
              "units": "nats per example, log-density on the data's scale" if density else "nats per example",
              "split": args.split, "data": spec}
    bound = _bound(model, data, log_z)
    if bound is not None:
        result["variational_bound"] = bound
    if hasattr(model, "split_labels"):  # a classifier: accuracy of argmax_y p(y | v) on the same rows
        v, labels = model.split_labels(data)
        result["accuracy"] = model.score(v, labels)
    print(json.dumps(result, indent=2, default=float))


def _log_likelihood(model, data, log_z):
    """log p(v) as a dict, or ``None`` where F(v) has no closed form and too many units to sum."""
    from ..evaluation import log_likelihood
    from ..evaluation.visible import free_energy_plan

    try:
        free_energy_plan(model, "pgm eval")
    except TypeError:
        return None
    return log_likelihood(model, data, log_z)._asdict()


def _bound(model, data, log_z):
    """The mean-field bound as a dict for models without a free energy whose latents suit it (DBM)."""
    from models.energy import has_free_energy

    from ..evaluation import variational_bound
    from ..variational.mean_field import latent_groups

    if has_free_energy(model) or len(model.graph.groups) == 1:  # nothing latent: log p(v) itself is exact
        return None
    try:
        latent_groups(model, "pgm eval")
    except TypeError:
        return None
    return {k: v for k, v in variational_bound(model, data, log_z)._asdict().items() if k != "per_example"}


def _eval_importance(model, data, spec, args):
    """``pgm eval`` of a directed model: the K-sample importance estimate and the ELBO."""
    from ..evaluation import importance_log_likelihood

    if not isinstance(model, DirectedModel):
        raise UsageError(f"--method importance needs a directed model (sbn, vae), not {_model_name(model)}; "
                         "use --method exact or ais")
    if args.method not in (None, "importance"):
        raise UsageError(f"--method {args.method} applies to energy models; {_model_name(model)} is evaluated "
                         "with --method importance")
    est = importance_log_likelihood(model, data, n_samples=args.samples, seed=args.seed,
                                    progress=not args.no_progress)
    result = {"model": _model_name(model), "method": "importance", "n_samples": est.n_samples,
              "log_likelihood": {"mean": est.mean, "sem": est.sem, "n": est.n},
              "elbo": {"mean": est.elbo, "sem": est.elbo_sem},
              "note": "the K-sample estimate is a stochastic lower bound of the log-likelihood in expectation",
              "units": "nats per example", "split": args.split, "data": spec}
    print(json.dumps(result, indent=2, default=float))


def _eval_dbn(model, data, spec, args):
    """``pgm eval`` of a DBN: the importance estimate and the bound, the top RBM's log Z exact
    or by AIS (the default when it is too large to enumerate), with its bracket carried."""
    from ..partition import default_schedule
    from ..partition.exact import MAX_EXACT_UNITS, enumeration_set
    from ..programs import dbn_log_likelihood

    if args.method == "importance":
        raise UsageError("--method picks the top RBM's log Z for a dbn: exact or ais (the likelihood is "
                         "always the importance estimate)")
    method = args.method or ("exact" if enumeration_set(model.top)[1] <= MAX_EXACT_UNITS else "ais")
    if method == "exact":
        _check_exact(model.top, "--method exact", "--method ais")
    betas = default_schedule() if args.betas is None else torch.linspace(0, 1, args.betas, dtype=torch.float64)
    ais = {"n_chains": args.chains, "betas": betas, "base": args.base, "progress": not args.no_progress}
    train = load_data(spec, "train") if args.base == "data" else None
    est = dbn_log_likelihood(model, data, method, n_samples=args.samples, seed=args.seed, train_data=train,
                             ais_options=ais, progress=not args.no_progress)
    result = {"model": "dbn", "method": "importance", "n_samples": args.samples, "log_z": est.log_z._asdict(),
              "log_likelihood": {"mean": est.mean, "lower": est.lower, "upper": est.upper, "sem": est.sem,
                                 "n": est.importance.n},
              "elbo": {"mean": est.elbo, "lower": est.elbo_lower, "upper": est.elbo_upper, "sem": est.elbo_sem},
              "note": "the K-sample estimate is a stochastic lower bound of the log-likelihood in expectation; "
                      "lower/upper carry the top RBM's log Z bracket",
              "units": "nats per example", "split": args.split, "data": spec}
    print(json.dumps(result, indent=2, default=float))


def _cmd_sample(args):
    from pgm.plots import image_grid

    from ..checkpoint import atomic_save, load_model
    from ..mcmc import gibbs, make_generator
    from ..mcmc.single_site import self_coupled

    out = _out_file(args.out, (".pt", *_PICTURES))
    model = load_model(args.model)
    recall = isinstance(model, Hopfield)
    if not recall and (args.flip is not None or args.data is not None):
        raise UsageError(f"{'--flip' if args.flip is not None else '--data'} applies to Hopfield nets (a recall "
                         f"from corrupted patterns); {args.model} holds a {type(model).__name__}")
    vis = _visible(model)
    shape = image_shape(vis)
    if out.suffix.lower() != ".pt" and shape is None:
        out = out.with_suffix(".pt")
        print(f"the {vis.n_units} visible units are not a square image: writing a tensor instead")
    gen = make_generator(args.seed, model.device)
    if recall:
        return _sample_recall(model, args, out, shape, gen)
    args.n = 64 if args.n is None else args.n
    if isinstance(model, DBN):  # --steps Gibbs sweeps in the top RBM, then one ancestral pass
        from ..programs import set_dbn_prior

        set_dbn_prior(model, None, n_gibbs=args.steps, generator=gen)
    clamp = None if isinstance(model, DirectedModel) else _label_clamp(model, args)
    if isinstance(model, DirectedModel):  # ancestral samples (the VAE's: decoder means)
        means = model.sample(args.n, gen, mean=True) if isinstance(model, VAE) else model.sample(args.n, gen)
    else:
        state = gibbs.run(model, gibbs.init(model, args.n, gen, clamp=clamp), args.steps, gen, clamp=clamp)
        with torch.no_grad():
            if vis.name in self_coupled(model.graph):  # coupled units: the samples themselves, as {0, 1}
                x = state.values[vis.name]
                means = ((x + 1) / 2 if vis.kind in SPIN_KINDS else x).reshape(args.n, vis.n_units)
            else:
                means = model.conditional(vis.name, state.values).mean.reshape(args.n, vis.n_units)
    with _cleaned_up(out.parent, args.notes):
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".pt":
            atomic_save(means, out)
        else:
            image_grid(means, shape, out, normalize=None if vis.kind == "bernoulli" else "global")
    print(f"wrote {out}")


def _sample_recall(model, args, out, shape, gen):
    """``pgm sample`` of a Hopfield net: recalls from the first stored rows of ``--data``
    with a fraction ``--flip`` of their bits flipped, as frames (pattern, probe, one
    column per asynchronous sweep in random order) or, for ``.pt``, the tensor
    (sweeps + 1, probes, n) of :meth:`~models.energy.Hopfield.recall_frames`."""
    from pgm.plots import recall_strip

    from ..checkpoint import atomic_save

    if args.steps == 0:
        raise UsageError("--steps: a Hopfield recall needs at least one sweep, got 0")
    if model.n_patterns == 0:
        raise UsageError(f"{args.model} holds a Hopfield net with no stored patterns; store some with pgm fit hopfield")
    spec = args.data or _default_data(model)
    data = load_data(spec, "train")
    entry = registry.entry_for(model)
    if entry is not None:  # the kind of data the family is fitted on
        _check_data_kind(entry.name, entry.visible_kind, spec, data, exact=False)
    if data.shape[1] != model.n:
        raise UsageError(f"--data {spec} has {data.shape[1]} columns, but {args.model} is a Hopfield net of "
                         f"{model.n} units; pass the data it was fitted on")
    stored = min(model.n_patterns, data.shape[0])
    n = stored if args.n is None else args.n
    if n > stored:
        raise UsageError(f"--n {n}: the net stores {stored} patterns (the first rows of --data, as pgm fit "
                         f"hopfield stored them); use --n {stored} or less")
    flip = 0.1 if args.flip is None else args.flip
    patterns = (data[:n] > 0.5).to(model.W) * 2 - 1
    k = round(flip * model.n)  # exactly k bits of every probe, chosen at random
    idx = torch.rand(patterns.shape, generator=gen, device=patterns.device).argsort(1)[:, :k]
    probes = patterns.clone()
    probes.scatter_(1, idx, -probes.gather(1, idx))
    frames = model.recall_frames(probes, gen, max_sweeps=args.steps)
    hits = int((frames[-1] == patterns).all(1).sum())
    with _cleaned_up(out.parent, args.notes):
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".pt":
            atomic_save(frames, out)
        else:
            recall_strip(patterns.cpu(), frames.cpu(), shape, path=out,
                         title=f"{_model_name(model)} recall, {k} of {model.n} bits flipped")
    print(f"recalled {hits} of {n} stored patterns exactly from probes with {k} of {model.n} bits flipped, "
          f"{frames.shape[0] - 1} sweeps")
    print(f"wrote {out}" + ("" if out.suffix.lower() == ".pt" else
                            " (a row per probe: the stored pattern, the probe, then the state after each sweep)"))


def _label_clamp(model, args):
    """Class-conditional sampling: the observed softmax groups (a label) clamped to class
    ``--label``, or the n samples to the K classes in order, sample i to class ⌊i K / n⌋;
    ``None`` for a model without a label."""
    from pgm import ONEHOT_KINDS

    labels = [g for g in model.graph.groups if g.observed and g.kind in ONEHOT_KINDS and g.name != model.visible_name]
    if not labels:
        if args.label is not None:
            raise UsageError(f"--label: {_model_name(model)} has no label group to clamp")
        return None
    clamp = {}
    for grp in labels:
        k = grp.n_units
        if args.label is not None and args.label >= k:
            raise UsageError(f"--label {args.label}: {_model_name(model)} has {k} classes, 0 to {k - 1}")
        idx = torch.full((args.n,), args.label) if args.label is not None else torch.arange(args.n) * k // args.n
        clamp[grp.name] = torch.nn.functional.one_hot(idx, k).to(dtype=model.dtype, device=model.device)
    return clamp


def _graph_model(spec: str):
    """A model from a file, or from a size spec such as ``rbm:64x16`` (``64x16`` alone: an RBM)."""
    from ..checkpoint import load_model

    if Path(spec).exists() or Path(spec).suffix.lower() == ".pt":
        return load_model(spec)
    usage = f"{spec!r} is neither a model file nor a size like rbm:64x16 (models: {', '.join(registry.names())})"
    match = re.fullmatch(r"(?:([^:]*):)?(\d+(?:x\d+)*)", spec.strip().lower())
    if match is None:
        raise UsageError(usage)
    name = match.group(1) or "rbm"
    if name not in registry.names():
        raise UsageError(f"{usage}: unknown model {name!r}")
    try:
        return registry.lookup(name).from_sizes(tuple(int(s) for s in match.group(2).split("x")))
    except (TypeError, ValueError) as err:
        raise UsageError(f"{usage}: {err}") from None


def _cmd_graph(args):
    import pgm

    out = _out_file(args.out, _PICTURES)
    model = _graph_model(args.model)
    print(model.graph.describe())
    with _cleaned_up(out.parent, args.notes):
        pgm.draw(model.graph, path=out, title=_model_name(model))
    print(f"wrote {out}")


def _cmd_filters(args):
    from ..checkpoint import load_model

    out = _out_file(args.out, _PICTURES)
    model = load_model(args.model)
    weights = visible_weights(model)
    if weights is None:
        raise UsageError(f"{args.model} holds a {type(model).__name__}, which has no matrix of weights from its "
                         "visible units to a hidden layer (filters exist for rbm, grbm, ssrbm, crbm, dbm)")
    shape = image_shape(model.graph[model.visible_name])
    if shape is None:
        raise UsageError(f"{args.model}: the {weights.shape[0]} visible units are not a square image")
    n = weights.shape[1] if args.n is None else min(args.n, weights.shape[1])
    with _cleaned_up(out.parent, args.notes):
        out.parent.mkdir(parents=True, exist_ok=True)
        plot_filters(model, n=n, image_shape=shape, path=out, title=f"{_model_name(model)}: weights of each hidden unit")
    print(f"wrote {out} ({n} filters)")
