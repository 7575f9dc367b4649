"""The ``pgm`` command line: demo, fit, eval, sample, graph.

It drives the whole library, so it sits at the top of the dependency order.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

__all__ = ["main", "build_parser", "load_data"]


def load_data(spec: str, split: str = "train") -> torch.Tensor:
    """Data named on the command line, as a float32 tensor (n, n_visible).

    ``digits`` (binarized bundled digits), ``digits-grey`` (scaled to [0, 1]),
    ``mnist:FOLDER`` (IDX files, binarized at 128), or a ``.pt``/``.npy`` file holding a
    2-D array.
    """
    from pgm import datasets

    if spec == "digits":
        return datasets.load_digits(binarize=True, split=split)
    if spec == "digits-grey":
        return datasets.load_digits(binarize=False, split=split)
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
        f"pgm: --data {spec!r} not understood: use 'digits', 'digits-grey', 'mnist:FOLDER' "
        "or an existing .pt/.npy file with a 2-D array"
    )


def _cmd_demo(args):
    from .demo import run_demo

    run_demo(args.out, quick=args.quick, seed=args.seed, n_hidden=args.hidden, epochs=args.epochs,
             progress=not args.no_progress)


def _cmd_fit(args):
    from models.energy import RBM

    from .checkpoint import save_model
    from .learning import fit

    data = load_data(args.data, "train")
    eval_data = load_data(args.data, "test") if args.evaluate != "none" and args.data.startswith(("digits", "mnist:")) else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = RBM.from_data(data, args.hidden, seed=args.seed)
    history = fit(model, data, method=args.method, k=args.k, epochs=args.epochs, batch_size=args.batch_size,
                  lr=args.lr, momentum="hinton" if args.momentum is None else args.momentum,
                  average=None if args.average == "none" else args.average,
                  seed=args.seed, checkpoint=out / "checkpoint.pt", resume=args.resume,
                  evaluate=None if args.evaluate == "none" else args.evaluate,
                  eval_data=eval_data if eval_data is not None else data, progress=not args.no_progress)
    save_model(out / "model.pt", model)
    (out / "history.json").write_text(json.dumps(history.as_dict(), indent=2, default=float))
    last = {k: v for k, v in history.last().items() if isinstance(v, (int, float)) and k != "epoch"}
    print(f"epoch {history.epoch[-1]}: " + ", ".join(f"{k} {v:.4g}" for k, v in last.items()))
    print(f"wrote {out / 'model.pt'} and {out / 'history.json'}")


def _cmd_eval(args):
    from .partition import ais_log_partition, default_schedule
    from .checkpoint import load_model
    from .evaluation import log_likelihood
    from .partition import exact_log_partition

    model = load_model(args.model)
    data = load_data(args.data, args.split)
    if args.method == "exact":
        log_z = exact_log_partition(model)
    else:
        betas = default_schedule() if args.betas is None else torch.linspace(0, 1, args.betas, dtype=torch.float64)
        base_data = load_data(args.data, "train") if args.base == "data" else None
        log_z = ais_log_partition(model, n_chains=args.chains, betas=betas, base=args.base, data=base_data,
                                  seed=args.seed, progress=not args.no_progress)
    ll = log_likelihood(model, data, log_z)
    result = {"log_z": log_z._asdict(), "log_likelihood": ll._asdict(), "split": args.split, "data": args.data}
    print(json.dumps(result, indent=2, default=float))


def _cmd_sample(args):
    from pgm.plots import image_grid

    from .checkpoint import load_model
    from .demo import sample_images

    model = load_model(args.model)
    probs = sample_images(model, args.n, args.steps, args.seed)
    side = int(round(model.n_visible ** 0.5))
    if side * side != model.n_visible:
        raise SystemExit(f"pgm sample: {model.n_visible} visible units are not a square image; use --out x.pt")
    if str(args.out).endswith(".pt"):
        torch.save(probs, args.out)
    else:
        image_grid(probs, (side, side), args.out, normalize=None)
    print(f"wrote {args.out}")


def _cmd_graph(args):
    import pgm

    from .checkpoint import load_model

    if Path(args.model).exists():
        model = load_model(args.model)
    else:
        from models.energy import RBM

        try:
            nv, nh = (int(s) for s in args.model.lower().removeprefix("rbm:").split("x"))
        except ValueError:
            raise SystemExit(f"pgm graph: {args.model!r} is neither a model file nor a size like rbm:64x16") from None
        model = RBM(nv, nh)
    print(model.graph.describe())
    pgm.draw(model.graph, path=args.out)
    print(f"wrote {args.out}")


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

    f = sub.add_parser("fit", help="train a model")
    f.add_argument("kind", choices=["rbm"], help="model family")
    f.add_argument("--data", default="digits", help="digits | digits-grey | mnist:FOLDER | file.pt | file.npy")
    f.add_argument("--hidden", type=int, default=16)
    f.add_argument("--method", choices=["cd", "pcd"], default="cd")
    f.add_argument("--k", type=int, default=1, help="Gibbs sweeps per update")
    f.add_argument("--epochs", type=int, default=50)
    f.add_argument("--batch-size", type=int, default=20)
    f.add_argument("--momentum", type=float, default=None, help="constant momentum (default: 0.5, then 0.9 after 5 epochs)")
    f.add_argument("--average", choices=["none", "polyak"], default="none",
                   help="average the parameters over the second half of training (useful with PCD)")
    f.add_argument("--lr", type=float, default=None, help="learning rate (default: the recipe's)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--evaluate", choices=["none", "exact", "ais"], default="none",
                   help="log-likelihood per epoch on the test split (exact needs a small layer ≤ 25 units)")
    f.add_argument("--out", default="runs/fit")
    f.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    f.add_argument("--no-progress", action="store_true")
    f.set_defaults(func=_cmd_fit)

    e = sub.add_parser("eval", help="log-likelihood of data under a saved model")
    e.add_argument("model", help="a model file written by `pgm fit` or `pgm demo` (model.pt)")
    e.add_argument("--data", default="digits")
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
    s.add_argument("--out", default="samples.png", help=".png/.pdf picture or .pt tensor")
    s.set_defaults(func=_cmd_sample)

    g = sub.add_parser("graph", help="draw a model's graph")
    g.add_argument("model", help="a model file, or a size such as rbm:64x16")
    g.add_argument("--out", default="graph.png")
    g.set_defaults(func=_cmd_graph)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
