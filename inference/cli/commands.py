"""The ``pgm`` commands: demo, fit, eval, sample, graph."""

from __future__ import annotations

import argparse
import re
from contextlib import nullcontext
from pathlib import Path

import torch

from .. import families
from ..checkpoint import json_text
from ..pictures import image_shape, plot_filters, visible_weights
from .data import _check_data_kind, _has_splits, check_data_shape, load_data
from .options import UsageError
from .outputs import (FIT_OUTPUTS, _cleaned_up, _existing_file, _KEEP, _make_folder, _no_overwrite, _out_file,
                      _out_folder, _PICTURES)

#: Gibbs sweeps of ``pgm sample`` without ``--steps`` (Hopfield: the most recall sweeps).
SAMPLE_STEPS = 1000

# -- commands ---------------------------------------------------------------------------

def _family(model):
    family = families.family_of(model)
    if family is None:
        raise UsageError(f"{type(model).__name__} belongs to no registered family")
    return family


def _model_name(model) -> str:
    family = families.family_of(model)
    return family.label(model) if family is not None else type(model).__name__


def _visible(model):
    return _family(model).visible(model)


def _demo_parts(text):
    from ..demo import PARTS

    parts = tuple(p.strip() for p in text.split(","))
    bad = [p for p in parts if p not in PARTS]
    if bad:
        raise argparse.ArgumentTypeError(f"expected comma-separated parts from {', '.join(PARTS)}, got {text!r}")
    return parts


def _cmd_demo(args):
    from ..demo import check_demo_options, demo_outputs, run_demo

    out = _out_folder(args.out)
    try:
        check_demo_options(n_hidden=args.hidden, epochs=args.epochs, seed=args.seed, parts=args.parts)
    except (TypeError, ValueError) as err:
        raise UsageError(str(err).replace("n_hidden", "--hidden").replace("run_demo: ", "")) from None
    _no_overwrite(out, demo_outputs(args.parts), args.force, "an earlier demo")
    with _cleaned_up(out, args.notes, _KEEP):
        run_demo(out, quick=args.quick, seed=args.seed, n_hidden=args.hidden, epochs=args.epochs,
                 progress=not args.no_progress, parts=args.parts)


def _cmd_fit(args):
    family = families.lookup(args.model)
    out = _out_folder(args.out)
    _check_choices(family, args)
    resumable = family.resumable
    resume = getattr(args, "resume", False)
    if resume and args.force:
        raise UsageError("--force starts the run in --out afresh and --resume continues it; give one of them")
    if resume and not (out / resumable).is_file():
        raise UsageError(f"--resume: there is no {out / resumable} to continue (run without --resume)")
    replaced = ()
    if not resume:
        instead = (", --resume to continue it" if family.epoch_trained and (out / resumable).is_file() else "")
        replaced = _no_overwrite(out, FIT_OUTPUTS, args.force, "another run", instead)
    spec = args.data or family.default_data
    data = load_data(spec, "train")
    check_data_shape(family, spec, data)
    _check_data_kind(family.name, family.visible_kind, spec, data, exact=False)
    evaluate = None if getattr(args, "evaluate", "none") == "none" else args.evaluate
    args.evaluate = evaluate
    if evaluate is not None:
        _check_data_kind(family.name, family.visible_kind, spec, data, exact=True, option=f"--evaluate {evaluate}: ")
    rank = _launched_rank(family, args)
    from ..distributed import joined

    # under torchrun one process group from the build (a DBM's pre-training) to the end of training
    with joined(None, "cpu", "pgm fit"):
        _fit(family, data, spec, args, out, rank, resume, replaced, evaluate)


def _fit(family, data, spec, args, out, rank, resume, replaced, evaluate):
    """``pgm fit`` from the model's build on, on every rank of a launched run."""
    from ..checkpoint import save_model

    model = family.build(data, args)
    family.check_cli_fit(model, args)
    common = {"seed": args.seed, "progress": not args.no_progress}
    if family.epoch_trained:
        common.update({"method": args.method, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                       "evaluate": evaluate, "checkpoint": out / "checkpoint.pt", "resume": args.resume})
        if evaluate is not None:
            common["eval_data"] = load_data(spec, "test") if _has_splits(spec) else data
    common = {k: v for k, v in common.items() if v is not None}
    keep = (*_KEEP, family.resumable) if family.epoch_trained else _KEEP
    # under torchrun every process trains its replica; rank 0 alone writes, cleans up and prints
    with _cleaned_up(out, args.notes, keep, _fit_hint(family, model, args)) if rank == 0 else nullcontext():
        _make_folder(out)
        if not resume and rank == 0:
            for name in replaced:  # --force: the old run goes, so that no file of it mixes with the new one's
                (out / name).unlink(missing_ok=True)
        record, summary = family.cli_fit(model, data, args, common)
        if rank > 0:
            return
        save_model(out / "model.pt", model)
        (out / "history.json").write_text(json_text(record))
    if family.epoch_trained:
        epoch = summary.pop("epoch")
        print(f"{family.name} on {spec}, epoch {epoch}: " + ", ".join(f"{k} {v:.4g}" for k, v in summary.items()))
    else:
        print(f"{family.name} on {spec}: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    print(f"wrote {out / 'model.pt'} and {out / 'history.json'}")


def _launched_rank(family, args) -> int:
    """This process's rank under a launcher such as ``torchrun`` (0 otherwise); a usage
    error for a family or method that does not train data-parallel."""
    from ..distributed import launch_rank, launched

    if launched() and "distributed" not in family.options(args.method or family.cli_default_method()):
        raise UsageError(f"the {family.name} model does not train data-parallel (it is not trained by gradient "
                         f"steps); run `pgm fit {family.name}` without torchrun")
    return launch_rank()


def _fit_hint(family, model, args):
    """What a failed ``pgm fit`` says after keeping its folder: a diverged run (resuming
    would diverge again, and a changed --lr cannot resume) runs again with a lower --lr
    and --force; another failure continues with --resume from a kept checkpoint."""
    def hint(err, kept):
        if isinstance(err, FloatingPointError) and family.epoch_trained:
            lr = args.lr
            if lr is None:  # the family's default, else the model's
                lr = family.options(args.method or family.cli_default_method()).get("lr")
                lr = getattr(model, "default_lr", None) if lr is None else lr
            was = f" than this run's {lr:g}" if isinstance(lr, float) else ""
            return f"; run again with a lower --lr{was} and --force (resuming would diverge again)"
        if family.epoch_trained and family.resumable in kept:
            return " (add --resume to continue from its checkpoint)"
        return ""
    return hint


def _check_choices(family, args) -> None:
    """``--method`` and ``--evaluate`` among the family's own; another family's is a usage
    error naming the families it belongs to."""
    if not family.epoch_trained:
        return
    for option, value, own, of in (
            ("--method", args.method, family.cli_methods or family.methods, lambda f: f.cli_methods or f.methods),
            ("--evaluate", args.evaluate, ("none", *family.fit_evaluations), lambda f: f.fit_evaluations)):
        if value is None or value in own:
            continue
        owners = [f.name for f in families.families() if f.epoch_trained and value in of(f)]
        where = f"; {option} {value} applies to {', '.join(owners)}" if owners else ""
        raise UsageError(f"{option} {value} does not apply to the {family.name} model (it takes {option} "
                         f"{'|'.join(own)}){where}")


def _cmd_eval(args):
    from ..checkpoint import load_model

    model = load_model(args.model)
    family = _family(model)
    spec = args.data or family.default_data
    data = load_data(spec, args.split)
    vis = _visible(model)
    check_data_shape(family, spec, data)
    groups = getattr(model, "data_groups", (vis.name,))  # several observed groups: pixels and a label
    if family.sequences:
        if data.shape[-1] != vis.n_units:
            raise UsageError(f"--data {spec} has frames of {data.shape[-1]} pixels, but {args.model} has "
                             f"{vis.n_units} visible units per frame")
    elif len(groups) > 1 and data.shape[1] != model.data_width:
        raise UsageError(f"--data {spec} has {data.shape[1]} columns, but {args.model} takes {model.data_width} "
                         f"({' + '.join(groups)})")
    if len(groups) == 1 and data.shape[1] != vis.n_units:
        raise UsageError(f"--data {spec} has {data.shape[1]} columns, but {args.model} has {vis.n_units} visible units")
    _check_data_kind(_model_name(model), vis.kind, spec, data, exact=True)
    if args.ensemble != 1 and family.evaluation != "autoregressive":
        raise UsageError(f"--ensemble applies to autoregressive models trained over orderings or masks (oanade, "
                         f"made); {args.model} holds a {_model_name(model)} model")
    rank = _launched_eval_rank(family, model, args)
    from ..distributed import joined

    # under torchrun: the process group that the family's estimators split their work across
    with joined(None, getattr(model, "device", "cpu"), "pgm eval"):
        result = family.evaluate(model, data, args, lambda: load_data(spec, "train"))
    if rank > 0:
        return
    result.update(split=args.split, data=spec)
    print(json_text(result))


def _launched_eval_rank(family, model, args) -> int:
    """This process's rank under a launcher such as ``torchrun`` (0 otherwise); a usage
    error for a model whose evaluation is not split across processes
    (:meth:`~inference.families.Family.split_evaluation`)."""
    from ..distributed import launch_rank, launched

    if launched():
        why = family.split_evaluation(model, args)
        if why is not None:
            label = _model_name(model)
            raise UsageError(f"the {label} model does not evaluate across processes ({why}); run `pgm eval` on "
                             f"{args.model} without torchrun")
    return launch_rank()


def _cmd_sample(args):
    from pgm.plots import image_grid

    from ..checkpoint import atomic_save, load_model
    from ..mcmc import make_generator

    out = _out_file(args.out, (".pt", *_PICTURES), args.force)
    model = load_model(args.model)
    family = _family(model)
    recall = "recall" in family.pictures
    if args.inpaint is not None:
        return _sample_inpainting(model, family, args, out)
    if args.walk is not None:
        return _sample_walks(model, args, out)
    if family.sequences:
        return _sample_sequences(model, family, args, out)
    if not recall and (args.flip is not None or args.data is not None):
        raise UsageError(f"{'--flip' if args.flip is not None else '--data'} applies to Hopfield nets (a recall "
                         f"from corrupted patterns); {args.model} holds a {type(model).__name__}")
    if args.steps is not None and not family.sample_steps:
        raise UsageError(f"--steps: {args.model} holds a {_model_name(model)} model, which samples ancestrally (one "
                         "pass down its layers, no Gibbs sweeps); leave --steps out")
    args.steps = SAMPLE_STEPS if args.steps is None else args.steps
    vis = _visible(model)
    shape = image_shape(family.picture_group(model))
    if out.suffix.lower() != ".pt" and shape is None:
        given, out = out, out.with_suffix(".pt")
        _existing_file(out, args.force, f"{given}: the {vis.n_units} visible units are not a square image, so the "
                                        f"samples would go to a tensor, {out}, which")
        print(f"the {vis.n_units} visible units are not a square image: writing a tensor instead")
    gen = make_generator(args.seed, model.device)
    if recall:
        return _sample_recall(model, args, out, shape, gen)
    args.n = 64 if args.n is None else args.n
    means = family.sample(model, args.n, gen, args.steps, clamp=_label_clamp(model, args))
    with _cleaned_up(out.parent, args.notes):
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".pt":
            atomic_save(means, out)
        else:
            image_grid(family.to_pixels(model, means), shape, out,
                       normalize=None if vis.kind == "bernoulli" else "global")
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
    family = _family(model)
    spec = args.data or family.default_data
    data = load_data(spec, "train")
    check_data_shape(family, spec, data)
    _check_data_kind(_model_name(model), family.visible_kind, spec, data, exact=False)
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


def _sample_inpainting(model, family, args, out):
    """``pgm sample --inpaint HALF``: the other half of the first ``--n`` test rows of
    ``--data`` drawn from the exact conditional, pictured as truth, observed and
    completions (a ``.pt`` output holds the completions, (n, D))."""
    from ..autoregressive.pictures import inpaint, observed_half, plot_inpainting
    from ..checkpoint import atomic_save
    from ..mcmc import make_generator

    if family.evaluation != "autoregressive":
        raise UsageError(f"--inpaint applies to autoregressive models (fvsbn, nade, oanade, made, rnade); "
                         f"{args.model} holds a {_model_name(model)} model")
    vis = _visible(model)
    shape = image_shape(vis)
    if shape is None:
        raise UsageError(f"--inpaint: the {vis.n_units} visible units are not a square image")
    spec = args.data or family.default_data
    data = load_data(spec, "test")
    check_data_shape(family, spec, data)
    if data.shape[1] != vis.n_units:
        raise UsageError(f"--data {spec} has {data.shape[1]} columns, but {args.model} has {vis.n_units} visible units")
    _check_data_kind(_model_name(model), vis.kind, spec, data, exact=True)
    n = min(8 if args.n is None else args.n, data.shape[0])
    observed = observed_half(shape, args.inpaint)
    gen = make_generator(args.seed, model.device)
    try:
        model.inpainting_member(observed)
    except ValueError as err:
        raise UsageError(f"--inpaint {args.inpaint}: {err}") from None
    with _cleaned_up(out.parent, args.notes):
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".pt":
            atomic_save(inpaint(model, data[:n], observed, 1, gen)[0], out)
        else:
            plot_inpainting(model, data[:n], observed, shape, generator=gen, path=out)
    print(f"wrote {out} (the {args.inpaint} half of {n} test images observed, the rest drawn exactly)")


def _sample_sequences(model, family, args, out):
    """``pgm sample`` of a sequence model: the first ``--n`` test sequences of ``--data``
    continued from a seed prefix (the frames the model is given, at least 2) to their
    length, ``--steps`` Gibbs sweeps per frame (default 25); pictured as frame strips, a
    real sequence above each generated one (a ``.pt`` output holds the generated means,
    (n, length, frame))."""
    from pgm.plots import sequence_strips

    from ..checkpoint import atomic_save
    from ..mcmc import make_generator

    if args.flip is not None or args.label is not None or args.inpaint is not None:
        raise UsageError(f"{'--flip' if args.flip is not None else '--label' if args.label is not None else '--inpaint'}"
                         f" does not apply to {args.model}, a {_model_name(model)} sequence model")
    spec = args.data or family.default_data
    data = load_data(spec, "test")
    check_data_shape(family, spec, data)
    vis = _visible(model)
    if data.shape[-1] != vis.n_units:
        raise UsageError(f"--data {spec} has frames of {data.shape[-1]} pixels, but {args.model} has {vis.n_units} "
                         "visible units per frame")
    _check_data_kind(_model_name(model), vis.kind, spec, data, exact=False)
    n = min(8 if args.n is None else args.n, data.shape[0])
    given = max(2, model.n_given)
    if data.shape[1] <= given:
        raise UsageError(f"--data {spec}: sequences of {data.shape[1]} frames leave nothing to generate after the "
                         f"{given}-frame prefix")
    steps = 25 if args.steps is None else max(1, args.steps)
    real = data[:n].to(dtype=model.dtype, device=model.device)
    means = family.sample(model, n, make_generator(args.seed, model.device), steps, prefix=real[:, :given],
                          length=data.shape[1])
    shape = image_shape(vis) or (1, vis.n_units)
    with _cleaned_up(out.parent, args.notes):
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".pt":
            atomic_save(means, out)
        else:
            sequence_strips(real.cpu(), means.cpu(), shape, given=given, path=out,
                            title=f"{_model_name(model)}: real (upper) and generated (lower) sequences")
    print(f"wrote {out} ({n} sequences continued from their first {given} frames, {steps} Gibbs sweeps per frame)")


def _sample_walks(model, args, out):
    """``pgm sample --walk``: rows of decoded latent walks of a generator, as a picture."""
    from ..adversarial.walks import DECODER, plot_latent_walks
    from ..mcmc import make_generator

    if not all(hasattr(model, attr) for attr in DECODER):
        raise UsageError(f"--walk applies to generators with a latent space (gan, cgan, dcgan, gmmn); {args.model} "
                         f"holds a {_model_name(model)} model")
    shape = image_shape(_visible(model))
    if shape is None or out.suffix.lower() == ".pt":
        raise UsageError("--walk draws a picture of square images: give --out a .png, .pdf or .svg")
    rows = 6 if args.n is None else args.n
    labels = _label_clamp(model, argparse.Namespace(**{**vars(args), "n": rows}))
    with _cleaned_up(out.parent, args.notes):
        out.parent.mkdir(parents=True, exist_ok=True)
        plot_latent_walks(model, shape, n_rows=rows, generator=make_generator(args.seed), kind=args.walk,
                          y=None if not labels else labels["y"], path=out)
    print(f"wrote {out} ({rows} {args.walk} walks between random latent points)")


def _classes(model, k: int, args):
    """The class of each of the ``--n`` samples: ``--label``, or the K classes in order."""
    if args.label is not None and args.label >= k:
        raise UsageError(f"--label {args.label}: {_model_name(model)} has {k} classes, 0 to {k - 1}")
    return torch.full((args.n,), args.label) if args.label is not None else torch.arange(args.n) * k // args.n


def _label_clamp(model, args):
    """Class-conditional sampling: the observed softmax groups (a label) clamped to class
    ``--label``, or the n samples to the K classes in order, sample i to class ⌊i K / n⌋;
    ``None`` for a model without a label."""
    from pgm import ONEHOT_KINDS

    if getattr(model, "n_classes", 0) and hasattr(model, "n_latent"):  # a conditional generator: labels y
        return {"y": _classes(model, model.n_classes, args)}
    if not hasattr(model, "visible_name"):  # one group of data, no label
        if args.label is not None:
            raise UsageError(f"--label: {_model_name(model)} has no label group to clamp")
        return None
    labels = [g for g in model.graph.groups if g.observed and g.kind in ONEHOT_KINDS and g.name != model.visible_name]
    if not labels:
        if args.label is not None:
            raise UsageError(f"--label: {_model_name(model)} has no label group to clamp")
        return None
    clamp = {}
    for grp in labels:
        k = grp.n_units
        idx = _classes(model, k, args)
        clamp[grp.name] = torch.nn.functional.one_hot(idx, k).to(dtype=model.dtype, device=model.device)
    return clamp


def _graph_model(spec: str):
    """A model from a file, or from a size spec such as ``rbm:64x16`` (``64x16`` alone: an RBM)."""
    from ..checkpoint import load_model

    if Path(spec).exists() or Path(spec).suffix.lower() == ".pt":
        return load_model(spec)
    usage = f"{spec!r} is neither a model file nor a size like rbm:64x16 (models: {', '.join(families.names())})"
    match = re.fullmatch(r"(?:([^:]*):)?(\d+(?:x\d+)*)", spec.strip().lower())
    if match is None:
        raise UsageError(usage)
    name = match.group(1) or "rbm"
    if name not in families.names():
        raise UsageError(f"{usage}: unknown model {name!r}")
    try:
        return families.lookup(name).from_sizes(tuple(int(s) for s in match.group(2).split("x")))
    except (TypeError, ValueError) as err:
        raise UsageError(f"{usage}: {err}") from None


def _cmd_graph(args):
    import pgm

    out = _out_file(args.out, _PICTURES, args.force)
    model = _graph_model(args.model)
    print(model.graph.describe())
    with _cleaned_up(out.parent, args.notes):
        pgm.draw(model.graph, path=out, title=_model_name(model), reduce=_family(model).graph_reduced)
    print(f"wrote {out}")


def _cmd_filters(args):
    from ..checkpoint import load_model

    out = _out_file(args.out, _PICTURES, args.force)
    model = load_model(args.model)
    own = _family(model).filters(model)  # filters of their own shape (convolutional families)
    if own is not None:
        from pgm.plots import filter_grid

        weights, shape, title = own
        n = weights.shape[1] if args.n is None else min(args.n, weights.shape[1])
        with _cleaned_up(out.parent, args.notes):
            out.parent.mkdir(parents=True, exist_ok=True)
            filter_grid(weights, shape, path=out, n=n, title=title)
        print(f"wrote {out} ({n} filters)")
        return
    weights = visible_weights(model)
    if weights is None:
        raise UsageError(f"{args.model} holds a {type(model).__name__}, which has no matrix of weights from its "
                         "visible units to a hidden layer (filters exist for rbm, grbm, ssrbm, crbm, dbm, convrbm, "
                         "convdbn, mcrbm, mpot)")
    shape = image_shape(_family(model).picture_group(model))
    if shape is None:
        raise UsageError(f"{args.model}: the {weights.shape[0]} visible units are not a square image")
    n = weights.shape[1] if args.n is None else min(args.n, weights.shape[1])
    with _cleaned_up(out.parent, args.notes):
        out.parent.mkdir(parents=True, exist_ok=True)
        plot_filters(model, n=n, image_shape=shape, path=out, title=f"{_model_name(model)}: weights of each hidden unit")
    print(f"wrote {out} ({n} filters)")
