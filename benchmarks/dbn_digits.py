"""Deep belief nets trained greedily on the binarized digits: the test bound after each layer.

Data: ``pgm.load_digits(binarize=True)``, 1438 training and 359 test images of 8x8
binary pixels. Scores are in nats per test image (higher is better).

For each ``--sizes`` a ``models.DBN`` is trained by ``fit(dbn, train, method="greedy",
epochs, propagate)``: each RBM by fit's default recipe (CD-1, lr 0.1 decayed linearly,
momentum 0.5 then 0.9, batch 20) on the layer below, the upper RBMs on the up-pass
probabilities (``propagate="mean"``) or on one binary draw of them (``"sample"``). After
each layer the model of the first l layers is scored on the test set
(``evaluate="auto"``):

- layer 1 (an RBM 64xH): its log-likelihood −F(v) − log Z, log Z exact where the RBM
  enumerates at most 20 units, else AIS (``--ais-chains`` chains on the default
  14,501-step schedule, base fitted to the training data), with the ±3 standard-error
  bracket;
- layer l ≥ 2 (a DBN): the K-sample importance estimate with the up-pass recognition net
  as proposal (K = ``--samples``) and the variational bound (the ELBO) from the same
  draws, with the top RBM's log Z exact or by AIS likewise and its bracket carried.

With ``--up-down EPOCHS`` (default 10) the greedy DBN is then fine-tuned by the up-down
algorithm (``fit(dbn, train, method="up_down", k=10, lr=0.01)``) and scored again (row
"up-down").

Usage::

    python benchmarks/dbn_digits.py            # about 2 minutes on 2 busy cores
    python benchmarks/dbn_digits.py --quick    # smoke run
    python benchmarks/dbn_digits.py --sizes 64,32,16 --propagate mean sample
"""

from __future__ import annotations

import argparse
import time

try:  # run as a script (benchmarks/ on sys.path) or imported as benchmarks.dbn_digits
    from _common import machine_line, report, set_threads
except ImportError:
    from benchmarks._common import machine_line, report, set_threads

from inference import fit
from models import DBN
from pgm.datasets import load_digits


def run(sizes, propagate, train, test, args):
    dbn = DBN(sizes, seed=args.seed)
    ais = {"n_chains": args.ais_chains}
    if args.ais_steps is not None:
        import torch

        ais["betas"] = torch.linspace(0, 1, args.ais_steps, dtype=torch.float64)
    t0 = time.perf_counter()
    hist = fit(dbn, train, method="greedy", epochs=args.epochs, propagate=propagate, seed=args.seed,
               evaluate="auto", eval_data=test, n_samples=args.samples, ais_options=ais, monitor=0, progress=False)
    out = {"bounds": hist.bounds, "seconds": time.perf_counter() - t0}
    if args.up_down:
        from inference import dbn_log_likelihood

        t0 = time.perf_counter()
        fit(dbn, train, method="up_down", epochs=args.up_down, k=10, lr=0.01, seed=args.seed, progress=False)
        seconds = time.perf_counter() - t0
        mode = "exact" if hist.bounds[-1]["log_z_lower"] == hist.bounds[-1]["log_z_upper"] else "ais"
        est = dbn_log_likelihood(dbn, test, mode, n_samples=args.samples, seed=args.seed, train_data=train,
                                 ais_options=ais)
        out["up_down"] = {"layer": "up-down", "estimate": est.mean, "bound": est.elbo, "bound_lower": est.elbo_lower,
                          "bound_upper": est.elbo_upper, "log_z": est.log_z.log_z, "seconds": seconds}
    return out


def _bracket(row, key):
    lo, hi = row[f"{key}_lower"], row[f"{key}_upper"]
    return "exact log Z" if lo == hi else f"[{lo:.2f}, {hi:.2f}]"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["64,32,16", "64,64,32"], help="DBN layer sizes")
    parser.add_argument("--propagate", nargs="+", default=["mean"], choices=["mean", "sample"])
    parser.add_argument("--epochs", type=int, default=50, help="CD-1 epochs per layer")
    parser.add_argument("--samples", type=int, default=1000, help="K, importance draws per test image")
    parser.add_argument("--ais-chains", type=int, default=100)
    parser.add_argument("--ais-steps", type=int, default=None,
                        help="linear schedule of this many betas (default: the 14,501-step schedule)")
    parser.add_argument("--up-down", type=int, default=10, metavar="EPOCHS",
                        help="up-down fine-tuning epochs after greedy training (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="smoke run: 64,8,4, 2 epochs, K=20, short AIS")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.epochs, args.samples, args.ais_chains, args.ais_steps = ["64,8,4"], 2, 20, 10, 100
        args.up_down = 1
    set_threads(args.threads)
    train, test = load_digits(binarize=True, split="train"), load_digits(binarize=True, split="test")
    print(f"binarized digits: train {tuple(train.shape)}, test {tuple(test.shape)}; greedy CD-1, {args.epochs} "
          f"epochs per layer, batch 20; K = {args.samples}; seed {args.seed}")
    print(machine_line(), flush=True)
    rows, results = [], {}
    for spec in args.sizes:
        sizes = [int(s) for s in spec.split(",")]
        for propagate in args.propagate:
            res = run(sizes, propagate, train, test, args)
            name = f"DBN {'-'.join(map(str, sizes))}, propagate {propagate}"
            results[name] = res
            for row in res["bounds"] + ([res["up_down"]] if "up_down" in res else []):
                l = row["layer"]
                if l == "up-down":
                    model = "DBN " + "-".join(map(str, sizes)) + f", then {args.up_down} epochs up-down"
                else:
                    model = f"RBM {sizes[0]}x{sizes[1]}" if l == 1 else "DBN " + "-".join(map(str, sizes[:l + 1]))
                rows.append([name, str(l), model, f"{row['estimate']:.2f}", f"{row['bound']:.2f}",
                             _bracket(row, "bound"), f"{row['log_z']:.2f}"])
                print("  " + " | ".join(rows[-1]), flush=True)
            print(f"  ({res['seconds']:.0f} s with evaluation)", flush=True)
    header = ["run", "layers", "model", "test log p(v) estimate", "test bound", "bound bracket", "log Z (top RBM)"]
    report(header, rows, args, results)


if __name__ == "__main__":
    main()
