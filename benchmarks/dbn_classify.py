"""Digit classification by a DBN-initialised MLP, a stacked-autoencoder-initialised one, a randomly initialised one, and scikit-learn.

Data: ``pgm.load_digits(split=..., return_labels=True)`` binarized, 1438 training and 359
test images of 8x8 pixels with their classes 0-9. Every model is fitted on the training
split and scored by its accuracy on the test split; mean ± std over ``--seeds``.

- ``DBN-initialised MLP``: a ``models.DBN`` (``--sizes``, default 64-32-16) trained by
  ``fit(dbn, train, method="greedy", epochs=--pretrain-epochs, seed=s)`` (CD-1 per layer,
  fit's default recipe), then ``inference.discriminative_finetune(dbn, train, labels,
  epochs=--epochs, lr=--lr, momentum 0.9, batch 20, seed=s)``: its up-pass with a softmax
  output layer, every layer trained by cross-entropy.
- ``stacked-DAE-initialised MLP``: a ``models.StackedAutoencoder(sizes, noise="masking",
  noise_level=0.25, seed=s)`` trained greedily (``fit_stacked``, Adam lr 1e-3, batch 20,
  ``--pretrain-epochs`` per layer), its encoders under a softmax layer
  (``stacked_classifier``), then the same fine-tuning call.
- ``random MLP``: ``DBNClassifier(sizes, 10, seed=s)`` (every layer uniform in
  ±1/√fan_in, the same output layer as the DBN's for the same seed) trained by the same
  call, same epochs.
- ``BernoulliRBM + LogisticRegression``: scikit-learn's pipeline of its documentation
  example "Restricted Boltzmann Machine features for digit classification"
  (``BernoulliRBM(n_components, learning_rate=0.06, n_iter=10, random_state=s)`` then
  ``LogisticRegression(C=6000, max_iter=2000)``), with 100 components as there and with as
  many as the DBN's first hidden layer; skipped without scikit-learn.

Usage::

    python benchmarks/dbn_classify.py            # about a minute on 2 cores
    python benchmarks/dbn_classify.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import statistics
import time

try:  # run as a script (benchmarks/ on sys.path) or imported as benchmarks.dbn_classify
    from _common import machine_line, peer_installed, report, set_threads
except ImportError:
    from benchmarks._common import machine_line, peer_installed, report, set_threads

from inference import DBNClassifier, discriminative_finetune, fit
from inference.autoencoders import fit_stacked, stacked_classifier
from models import DBN, StackedAutoencoder
from pgm.datasets import load_digits


def _ours(sizes, seed, data, args):
    (x, y), (xt, yt) = data
    t0 = time.perf_counter()
    dbn = DBN(sizes, seed=seed)
    fit(dbn, x, method="greedy", epochs=args.pretrain_epochs, seed=seed, monitor=0, progress=False)
    pretrain = time.perf_counter() - t0
    t0 = time.perf_counter()
    stack = StackedAutoencoder(sizes, noise="masking", noise_level=0.25, seed=seed)
    fit_stacked(stack, x, epochs=args.pretrain_epochs, seed=seed, monitor=0, progress=False)
    stacked_pretrain = time.perf_counter() - t0
    recipe = dict(epochs=args.epochs, lr=args.lr, seed=seed, progress=False)
    out = {}
    for name, start, extra in (("DBN-initialised MLP", dbn, pretrain),
                               ("stacked-DAE-initialised MLP", stacked_classifier(stack, 10, seed=seed),
                                stacked_pretrain),
                               ("random MLP", DBNClassifier(sizes, 10, seed=seed), 0.0)):
        t0 = time.perf_counter()
        clf, hist = discriminative_finetune(start, x, y, **recipe)
        out[name] = {"accuracy": clf.score(xt, yt), "train_loss": hist.loss[-1],
                     "seconds": time.perf_counter() - t0 + extra}
    return out


def _sklearn(n_components, seed, data):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import BernoulliRBM
    from sklearn.pipeline import Pipeline

    (x, y), (xt, yt) = data
    t0 = time.perf_counter()
    pipe = Pipeline([("rbm", BernoulliRBM(n_components=n_components, learning_rate=0.06, n_iter=10,
                                          random_state=seed)),
                     ("logistic", LogisticRegression(C=6000, max_iter=2000))]).fit(x.numpy(), y.numpy())
    return {"accuracy": float((pipe.predict(xt.numpy()) == yt.numpy()).mean()), "seconds": time.perf_counter() - t0}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,32,16", help="DBN layer sizes")
    parser.add_argument("--pretrain-epochs", type=int, default=50, help="CD-1 epochs per greedy layer")
    parser.add_argument("--epochs", type=int, default=30, help="fine-tuning epochs (both MLPs)")
    parser.add_argument("--lr", type=float, default=0.1, help="fine-tuning SGD step (momentum 0.9, batch 20)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 seeds, 2 + 2 epochs")
    parser.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn's rows")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.pretrain_epochs, args.epochs = args.seeds[:2], 2, 2
    set_threads(args.threads)
    sizes = [int(s) for s in args.sizes.split(",")]
    x, y = load_digits(split="train", return_labels=True)
    xt, yt = load_digits(split="test", return_labels=True)
    data = ((x, y), (xt, yt))
    print(f"binarized digits: train {tuple(x.shape)}, test {tuple(xt.shape)}; DBN {'-'.join(map(str, sizes))}, "
          f"greedy CD-1 {args.pretrain_epochs} epochs per layer; fine-tuning {args.epochs} epochs, SGD lr {args.lr}, "
          f"momentum 0.9, batch 20; seeds {args.seeds}")
    print(machine_line(), flush=True)
    results = {}
    for seed in args.seeds:
        for name, res in _ours(sizes, seed, data, args).items():
            results.setdefault(name, []).append(res)
        print(f"  seed {seed}: " + ", ".join(f"{k} {v[-1]['accuracy']:.4f}" for k, v in results.items()), flush=True)
    if not args.no_sklearn and peer_installed("sklearn.neural_network"):
        for n in sorted({100, sizes[1]}):
            results[f"BernoulliRBM({n}) + LogisticRegression"] = [_sklearn(n, seed, data) for seed in args.seeds]
    mlp = "-".join(map(str, sizes)) + "-10"
    rows = []
    for name, runs in results.items():
        acc = [100 * r["accuracy"] for r in runs]
        std = statistics.stdev(acc) if len(acc) > 1 else 0.0
        shape = name.split("(")[1].split(")")[0] + " hidden" if "(" in name else mlp
        rows.append([name, shape,
                     f"{statistics.mean(acc):.1f} ± {std:.1f}", f"{min(acc):.1f}", f"{max(acc):.1f}",
                     f"{statistics.mean(r['seconds'] for r in runs):.1f}"])
    header = ["model", "shape", "test accuracy (%) mean ± std", "min", "max", "s/run"]
    report(header, rows, args, results)


if __name__ == "__main__":
    main()
