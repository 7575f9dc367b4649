"""The ``pgm`` command line: demo, fit, eval, sample, graph.

``pgm fit MODEL`` has one sub-command per family of :mod:`inference.registry`, each
with the family's own options; ``eval``, ``sample`` and ``graph`` work for any saved
model. It drives the whole library, so it sits at the top of the dependency order.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from pgm import REAL_KINDS

from . import registry

__all__ = ["main", "build_parser", "load_data", "data_kind", "DATA_SPECS"]

#: Named data specs: name → (kind of its values, description).
DATA_SPECS = {
    "digits": ("binary", "bundled 8x8 digits binarized at half intensity"),
    "digits-grey": ("grey", "bundled digits scaled to [0, 1] (pixel / 16)"),
    "digits-real": ("real", "bundled digits dequantised, (pixel + u) / 17, for densities"),
    "mnist:FOLDER": ("binary", "MNIST IDX files in FOLDER, binarized at 128"),
}

#: Data kinds each visible kind accepts for training (grey levels are probabilities for
#: binary units) and, in ``_EXACT``, for a likelihood (outcomes only).
_ACCEPTS = {
    "bernoulli": ("binary", "grey"),
    "binary_pm1": ("spin",),
    "spin": ("spin",),
    "gaussian": ("real", "grey"),
    "real": ("real", "grey"),
}
_EXACT = {**_ACCEPTS, "bernoulli": ("binary",)}
_KIND_WORDS = {"binary": "binary {0, 1} data", "grey": "grey levels in [0, 1]", "spin": "{-1, +1} data",
               "real": "real-valued data"}


def load_data(spec: str, split: str = "train") -> torch.Tensor:
    """Data named on the command line, as a float32 tensor (n, n_visible).

    ``digits`` (binarized bundled digits), ``digits-grey`` (scaled to [0, 1]),
    ``digits-real`` (dequantised, ``load_digits(binarize=False, dequantize=True)``),
    ``mnist:FOLDER`` (IDX files, binarized at 128), or a ``.pt``/``.npy`` file holding a
    2-D array (``split`` is then ignored).
    """
    from pgm import datasets

    if spec == "digits":
        return datasets.load_digits(binarize=True, split=split)
    if spec == "digits-grey":
        return datasets.load_digits(binarize=False, split=split)
    if spec == "digits-real":
        return datasets.load_digits(binarize=False, dequantize=True, split=split)
    if spec.startswith("mnist:"):
        images, _ = datasets.load_mnist(spec[len("mnist:"):], split=split, binarize=True)
        return images
    path = Path(spec)
    if path.suffix in (".pt", ".npy") and path.exists():
        if path.suffix == ".pt":
            x = torch.load(path, weights_only=True)
        else:
            import numpy as np

            x = torch.from_numpy(np.load(path))
        return torch.as_tensor(x, dtype=torch.float32)
    raise SystemExit(
        f"pgm: --data {spec!r} not understood: use 'digits', 'digits-grey', 'digits-real', 'mnist:FOLDER' "
        "or an existing .pt/.npy file with a 2-D array"
    )


def _has_splits(spec: str) -> bool:
    return spec in DATA_SPECS or spec.startswith("mnist:")


def data_kind(spec: str, data: torch.Tensor) -> str:
    """``"binary"``, ``"grey"``, ``"spin"`` or ``"real"``: the kind of the data ``spec``
    names (declared for named specs, read from the values of a file)."""
    if spec.startswith("mnist:"):
        return "binary"
    if spec in DATA_SPECS:
        return DATA_SPECS[spec][0]
    if bool(((data == 0) | (data == 1)).all()):
        return "binary"
    if bool(((data == -1) | (data == 1)).all()):
        return "spin"
    if bool(((data >= 0) & (data <= 1)).all()):
        return "grey"
    return "real"


def _check_data_kind(command: str, model_name: str, visible_kind: str, spec: str, data, exact: bool) -> None:
    """Refuse data whose kind the model's visible units do not take (SystemExit)."""
    accepts = (_EXACT if exact else _ACCEPTS).get(visible_kind)
    if accepts is None:  # a user model of a kind this table does not know: the library checks
        return
    kind = data_kind(spec, data)
    if kind in accepts:
        return
    fits = [name for name, (k, _) in DATA_SPECS.items() if k in accepts]
    table = _EXACT if exact else _ACCEPTS
    others = [e.name for e in registry.entries() if e.name != model_name and kind in table.get(e.visible_kind, ())]
    hint = f"use --data {' or '.join(fits)}" if fits else "use data of that kind"
    if others:
        hint += f", or a model for {_KIND_WORDS[kind]}: {', '.join(others)}"
    wants = " or ".join(_KIND_WORDS[k] for k in accepts)
    raise SystemExit(f"pgm {command}: --data {spec} holds {_KIND_WORDS[kind]}, but the {model_name} model has "
                     f"{visible_kind} visible units, which need {wants}; {hint}")


def _model_name(model) -> str:
    entry = registry.entry_for(model)
    return entry.name if entry is not None else type(model).__name__


def _default_data(model) -> str:
    entry = registry.entry_for(model)
    return entry.default_data if entry is not None else "digits"


def _visible(model):
    return model.graph[model.visible_name]


def _cmd_demo(args):
    from .demo import run_demo

    run_demo(args.out, quick=args.quick, seed=args.seed, n_hidden=args.hidden, epochs=args.epochs,
             progress=not args.no_progress)


def _cmd_fit(args):
    from .checkpoint import save_model
    from .learning import fit

    entry = registry.lookup(args.model)
    spec = args.data or entry.default_data
    data = load_data(spec, "train")
    _check_data_kind(f"fit {entry.name}", entry.name, entry.visible_kind, spec, data, exact=False)
    evaluate = None if args.evaluate == "none" else args.evaluate
    if evaluate is not None:
        _check_data_kind(f"fit {entry.name} --evaluate {evaluate}", entry.name, entry.visible_kind, spec, data,
                         exact=True)
    eval_data = load_data(spec, "test") if evaluate is not None and _has_splits(spec) else data
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = entry.build(data, args)
    history = fit(model, data, method=args.method, k=args.k, epochs=args.epochs, batch_size=args.batch_size,
                  lr=args.lr, momentum="hinton" if args.momentum is None else args.momentum,
                  average=None if args.average == "none" else args.average,
                  seed=args.seed, checkpoint=out / "checkpoint.pt", resume=args.resume,
                  evaluate=evaluate, eval_data=eval_data, progress=not args.no_progress)
    save_model(out / "model.pt", model)
    (out / "history.json").write_text(json.dumps(history.as_dict(), indent=2, default=float))
    last = {k: v for k, v in history.last().items() if isinstance(v, (int, float)) and k != "epoch"}
    print(f"{entry.name} on {spec}, epoch {history.epoch[-1]}: " + ", ".join(f"{k} {v:.4g}" for k, v in last.items()))
    print(f"wrote {out / 'model.pt'} and {out / 'history.json'}")


def _cmd_eval(args):
    from .checkpoint import load_model
    from .evaluation import log_likelihood
    from .partition import ais_log_partition, default_schedule, exact_log_partition

    model = load_model(args.model)
    spec = args.data or _default_data(model)
    data = load_data(spec, args.split)
    vis = _visible(model)
    _check_data_kind("eval", _model_name(model), vis.kind, spec, data, exact=True)
    try:
        if args.method == "exact":
            log_z = exact_log_partition(model)
        else:
            betas = default_schedule() if args.betas is None else torch.linspace(0, 1, args.betas, dtype=torch.float64)
            base_data = load_data(spec, "train") if args.base == "data" else None
            log_z = ais_log_partition(model, n_chains=args.chains, betas=betas, base=args.base, data=base_data,
                                      seed=args.seed, progress=not args.no_progress)
    except (TypeError, ValueError) as err:
        raise SystemExit(f"pgm eval: {err}") from None
    ll = log_likelihood(model, data, log_z)
    density = vis.kind in REAL_KINDS
    result = {"model": _model_name(model), "log_z": log_z._asdict(), "log_likelihood": ll._asdict(),
              "units": "nats per example, log-density on the data's scale" if density else "nats per example",
              "split": args.split, "data": spec}
    print(json.dumps(result, indent=2, default=float))


def _image_shape(group):
    """(height, width) of a visible group that is a picture, else ``None``."""
    if len(group.size) == 2:
        return group.size
    side = math.isqrt(group.n_units)
    return (side, side) if side * side == group.n_units else None


def _cmd_sample(args):
    from pgm.plots import image_grid

    from .checkpoint import load_model
    from .mcmc import gibbs, make_generator

    model = load_model(args.model)
    vis = _visible(model)
    gen = make_generator(args.seed, model.device)
    state = gibbs.run(model, gibbs.init(model, args.n, gen), args.steps, gen)
    with torch.no_grad():
        means = model.conditional(vis.name, state.values).mean.reshape(args.n, vis.n_units)
    out = Path(args.out)
    shape = _image_shape(vis)
    if out.suffix != ".pt" and shape is None:
        out = out.with_suffix(".pt")
        print(f"the {vis.n_units} visible units are not a square image: writing a tensor instead")
    if out.suffix == ".pt":
        torch.save(means, out)
    else:
        binary = vis.kind in ("bernoulli",)
        image_grid(means, shape, out, normalize=None if binary else "global")
    print(f"wrote {out}")


def _graph_model(spec: str):
    """A model from a size spec such as ``rbm:64x16`` (``64x16`` alone: an RBM)."""
    name, _, sizes = spec.rpartition(":")
    name = name.lower() or "rbm"
    usage = f"pgm graph: {spec!r} is neither a model file nor a size like rbm:64x16 (models: {registry.names()})"
    if name not in registry.names():
        raise SystemExit(usage)
    try:
        dims = tuple(int(s) for s in sizes.lower().split("x"))
        return registry.lookup(name).from_sizes(dims)
    except ValueError as err:
        raise SystemExit(f"{usage}: {err}") from None


def _cmd_graph(args):
    import pgm

    from .checkpoint import load_model

    model = load_model(args.model) if Path(args.model).exists() else _graph_model(args.model)
    print(model.graph.describe())
    pgm.draw(model.graph, path=args.out, title=_model_name(model))
    print(f"wrote {args.out}")


def _fit_options() -> argparse.ArgumentParser:
    """Options every ``pgm fit MODEL`` shares (those of :func:`inference.fit`)."""
    f = argparse.ArgumentParser(add_help=False)
    specs = " | ".join(list(DATA_SPECS) + ["file.pt", "file.npy"])
    f.add_argument("--data", default=None, help=f"{specs} (default: the model's)")
    f.add_argument("--method", choices=["cd", "pcd"], default=None,
                   help="learning rule (default: the model's recipe: cd for rbm, pcd for grbm)")
    f.add_argument("--k", type=int, default=1, help="Gibbs sweeps per update")
    f.add_argument("--epochs", type=int, default=50)
    f.add_argument("--batch-size", type=int, default=20)
    f.add_argument("--momentum", type=float, default=None, help="constant momentum (default: 0.5, then 0.9 after 5 epochs)")
    f.add_argument("--average", choices=["none", "polyak"], default="none",
                   help="average the parameters over the second half of training (useful with PCD)")
    f.add_argument("--lr", type=float, default=None, help="learning rate (default: the model's)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--evaluate", choices=["none", "exact", "ais"], default="none",
                   help="log-likelihood per epoch on the test split (exact needs a small layer ≤ 25 units)")
    f.add_argument("--out", default="runs/fit")
    f.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    f.add_argument("--no-progress", action="store_true")
    return f


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pgm", description="Deep generative models as probabilistic programs.")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="train an RBM on the bundled digits, evaluate it exactly and by AIS")
    d.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    d.add_argument("--quick", action="store_true", help="a few epochs and a short AIS schedule")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--hidden", type=int, default=16, help="hidden units (default 16, exact log Z stays cheap)")
    d.add_argument("--epochs", type=int, default=None, help="default 50 (3 with --quick)")
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=_cmd_demo)

    listing = "; ".join(f"{e.name}: {e.help}" for e in registry.entries())
    f = sub.add_parser("fit", help=f"train a model ({', '.join(registry.names())})",
                       description=f"Train a model. Registered models: {listing}.")
    models = f.add_subparsers(dest="model", required=True, metavar="MODEL",
                              title="models", description="run `pgm fit MODEL --help` for a model's options")
    common = _fit_options()
    for entry in registry.entries():
        m = models.add_parser(entry.name, parents=[common], help=entry.help,
                              description=f"Train a {entry.help} (default data: {entry.default_data}).")
        entry.add_arguments(m.add_argument_group(f"{entry.name} options"))
        m.set_defaults(func=_cmd_fit)

    e = sub.add_parser("eval", help="log-likelihood of data under a saved model")
    e.add_argument("model", help="a model file written by `pgm fit` or `pgm demo` (model.pt)")
    e.add_argument("--data", default=None, help="data spec, as for fit (default: the model's)")
    e.add_argument("--split", choices=["train", "test", "all"], default="test")
    e.add_argument("--method", choices=["exact", "ais"], default="ais")
    e.add_argument("--chains", type=int, default=100)
    e.add_argument("--betas", type=int, default=None, help="number of evenly spaced βs (default: the 14,500-step schedule)")
    e.add_argument("--base", choices=["data", "uniform"], default="data")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--no-progress", action="store_true")
    e.set_defaults(func=_cmd_eval)

    s = sub.add_parser("sample", help="Gibbs samples from a saved model")
    s.add_argument("model")
    s.add_argument("--n", type=int, default=64)
    s.add_argument("--steps", type=int, default=1000, help="Gibbs sweeps from uniform noise")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", default="samples.png",
                   help=".png/.pdf picture (square images) or .pt tensor of the visible conditional means")
    s.set_defaults(func=_cmd_sample)

    g = sub.add_parser("graph", help="draw a model's graph")
    g.add_argument("model", help=f"a model file, or a size such as rbm:64x16 ({', '.join(registry.names())})")
    g.add_argument("--out", default="graph.png")
    g.set_defaults(func=_cmd_graph)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
