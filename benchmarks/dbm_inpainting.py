"""Inpainting binarized digits with a multi-prediction DBM against an SML-trained DBM.

Data: ``pgm.load_digits(binarize=True)``, 1438 training and 359 test images of 8x8
binary pixels. Both models are ``DBM.from_data(train, sizes[1:], seed=seed)``:

- ``SML``: ``fit(dbm, train, method="sml", epochs=--sml-epochs, lr=--lr)`` (fit's
  default recipe for the DBM: 10 mean-field passes, 1 Gibbs sweep of 20 persistent
  chains, SGD with momentum, linear decay);
- ``MP``: ``fit(dbm, train, method="mp", epochs=--mp-epochs, lr=--lr,
  multi_prediction=MultiPrediction(n_iter=--mp-iter, mask_prob=--mask-prob))``.

Each test image is inpainted by ``inference.inpaint`` (mean-field with the observed
pixels clamped) under two masks: 25 % of the pixels missing at random (a fixed draw)
and the bottom half missing. Scores over the missing pixels: accuracy (the inferred
q(v_i = 1) thresholded at 1/2 against the true pixel) and mean cross-entropy in nats
per missing pixel, after ``--mp-iter`` passes (what MP is trained for) and after up to
50 passes (tol 1e-5). The reference row predicts every missing pixel by its training
frequency. The variational bound on the test images (``inference.variational_bound``)
uses exact log Z where the odd layers' states can be enumerated, else AIS
(``--ais-chains`` chains on the default schedule). With several ``--seeds`` each number
is the mean ± standard deviation over the seeds (one model pair per seed, the masks
fixed).

Usage::

    python benchmarks/dbm_inpainting.py --plot inpainting.png     # about 2 minutes on 2 busy cores
    python benchmarks/dbm_inpainting.py --seeds 0 1 2
    python benchmarks/dbm_inpainting.py --quick
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from inference import MultiPrediction, ais_log_partition, exact_log_partition, fit, inpaint, variational_bound
from inference.partition.exact import MAX_EXACT_UNITS, enumeration_set
from models import DBM
from pgm.datasets import load_digits

try:  # run as a script (benchmarks/ on sys.path) or imported as benchmarks.dbm_inpainting
    from _common import load_average, machine_line, markdown_table, set_threads, write_json
except ImportError:
    from benchmarks._common import load_average, machine_line, markdown_table, set_threads, write_json

_EPS = 1e-7


def masks(test: torch.Tensor, seed: int = 1234) -> dict:
    """The two masks (True = missing): 25 % at random (a fixed draw) and the bottom half."""
    rand = torch.rand(test.shape, generator=torch.Generator().manual_seed(seed)) < 0.25
    bottom = torch.zeros_like(test, dtype=torch.bool)
    bottom[:, test.shape[1] // 2:] = True
    return {"random 25 %": rand, "bottom half": bottom}


def scores(probs: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> tuple[float, float]:
    """(accuracy at threshold 1/2, mean cross-entropy in nats) over the masked pixels."""
    p = probs[mask].double().clamp(_EPS, 1 - _EPS)
    t = target[mask].double()
    acc = float(((p > 0.5).double() == t).double().mean())
    ce = float(-(t * p.log() + (1 - t) * (1 - p).log()).mean())
    return acc, ce


def _log_z(model, train, args, seed):
    _, n = enumeration_set(model)
    if n <= MAX_EXACT_UNITS:
        return exact_log_partition(model)
    return ais_log_partition(model, n_chains=args.ais_chains, data=train, seed=seed, progress=False)


def train_pair(sizes, train, args, seed) -> dict:
    """The SML- and the MP-trained DBM of one seed, with their training times."""
    out = {}
    for name in ("SML", "MP"):
        dbm = DBM.from_data(train, sizes[1:], seed=seed)
        t0 = time.perf_counter()
        if name == "SML":
            fit(dbm, train, method="sml", epochs=args.sml_epochs, lr=args.lr, seed=seed, monitor=0, progress=False)
        else:
            fit(dbm, train, method="mp", epochs=args.mp_epochs, lr=args.lr, seed=seed, monitor=0, progress=False,
                multi_prediction=MultiPrediction(n_iter=args.mp_iter, mask_prob=args.mask_prob))
        out[name] = (dbm, time.perf_counter() - t0)
    return out


def evaluate(dbm, train, test, mask_set, args, seed) -> dict:
    res = {}
    for mname, mask in mask_set.items():
        for label, n_iter, tol in ((f"{args.mp_iter} passes", args.mp_iter, 0.0), ("converged", 50, 1e-5)):
            acc, ce = scores(inpaint(dbm, test, mask, n_iter=n_iter, tol=tol).probs, test, mask)
            res[f"{mname}, {label}"] = {"accuracy": acc, "cross_entropy": ce}
    log_z = _log_z(dbm, train, args, seed)
    bound = variational_bound(dbm, test, log_z)
    res["bound"], res["log_z_method"] = bound.mean, log_z.method
    return res


def picture(path, models: dict, test, mask_set, n_iter, n=8):
    """Rows of ``n`` test digits: original, then per mask the masked input and each
    model's inpainting (q(v_i = 1) in grey under the mask)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = test[:: max(1, test.shape[0] // n)][:n]
    rows = [("original", x)]
    for mname, mask in mask_set.items():
        m = mask[:: max(1, test.shape[0] // n)][:n]
        rows.append((f"{mname}\nmissing", torch.where(m, torch.full_like(x, 0.5), x)))
        for name, dbm in models.items():
            rows.append((f"{name}", inpaint(dbm, x, m, n_iter=n_iter, tol=0).probs))
    fig, axes = plt.subplots(len(rows), n, figsize=(n * 0.9 + 1.2, len(rows) * 0.95))
    for r, (label, imgs) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(imgs[c].reshape(8, 8).numpy(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(f"DBM inpainting of test digits ({n_iter} mean-field passes; grey: missing)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fmt(values, digits):
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,32,16", help="DBM layer sizes (default 64,32,16)")
    parser.add_argument("--sml-epochs", type=int, default=50)
    parser.add_argument("--mp-epochs", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--mp-iter", type=int, default=10, help="mean-field passes MP is trained (and scored) with")
    parser.add_argument("--mask-prob", type=float, default=0.5, help="MP's probability of hiding a pixel")
    parser.add_argument("--ais-chains", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--plot", metavar="PATH", help="write a picture of inpainted test digits (first seed)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 64,8,4, 1 epoch each")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.sml_epochs, args.mp_epochs, args.mp_iter, args.ais_chains = "64,8,4", 1, 1, 3, 10
    set_threads(args.threads)
    sizes = [int(s) for s in args.sizes.split(",")]
    train, test = load_digits(binarize=True, split="train"), load_digits(binarize=True, split="test")
    mask_set = masks(test)
    print(f"binarized digits: train {tuple(train.shape)}, test {tuple(test.shape)}; DBM {args.sizes}; SML "
          f"{args.sml_epochs} epochs, MP {args.mp_epochs} epochs ({args.mp_iter} passes, mask prob "
          f"{args.mask_prob}), lr {args.lr}, batch 20; seeds {args.seeds}")
    print(machine_line(), flush=True)
    per_seed = {"SML": [], "MP": []}
    seconds = {"SML": [], "MP": []}
    for seed in args.seeds:
        pair = train_pair(sizes, train, args, seed)
        for name, (dbm, sec) in pair.items():
            per_seed[name].append(evaluate(dbm, train, test, mask_set, args, seed))
            seconds[name].append(sec)
        print(f"  seed {seed}: " + "; ".join(
            f"{name} bound {per_seed[name][-1]['bound']:.2f}, bottom half acc "
            f"{per_seed[name][-1][f'bottom half, {args.mp_iter} passes']['accuracy']:.4f}" for name in pair),
            flush=True)
        if args.plot and seed == args.seeds[0]:
            picture(args.plot, {name: dbm for name, (dbm, _) in pair.items()}, test, mask_set, args.mp_iter)
    marg = train.double().mean(0).expand_as(test)
    keys = [k for k in per_seed["SML"][0] if k not in ("bound", "log_z_method")]
    header = ["mask, passes", "frequencies", "SML accuracy", "MP accuracy", "frequencies CE", "SML CE", "MP CE"]
    rows = []
    for key in keys:
        ref = scores(marg, test, mask_set[key.split(",")[0]])
        cells = [key, f"{ref[0]:.4f}"]
        cells += [_fmt([r[key]["accuracy"] for r in per_seed[n]], 4) for n in ("SML", "MP")]
        cells += [f"{ref[1]:.3f}"] + [_fmt([r[key]["cross_entropy"] for r in per_seed[n]], 3) for n in ("SML", "MP")]
        rows.append(cells)
    print("\n" + markdown_table(header, rows))
    for name in ("SML", "MP"):
        method = per_seed[name][0]["log_z_method"]
        print(f"{name}: test variational bound {_fmt([r['bound'] for r in per_seed[name]], 2)} nats (log Z "
              f"{method}); training {_fmt(seconds[name], 0)} s")
    if args.plot:
        print(f"wrote {args.plot}")
    print(f"\n{load_average()} after the run")
    if args.json:
        write_json(args.json, {"args": vars(args), "results": per_seed, "seconds": seconds})


if __name__ == "__main__":
    main()
