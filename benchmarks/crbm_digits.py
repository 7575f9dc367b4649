"""Test accuracy of the classification RBM on the binarized digits, against scikit-learn.

Data: ``pgm.load_digits(return_labels=True)``, the 8x8 digits binarized at half intensity,
1438 training and 359 test images (the library's fixed split), 10 classes. Every row sees
the same binary pixels. Each row is trained once per seed and scored by its test
accuracy (mean ± standard deviation over the seeds).

Rows:

- ``ClassRBM, generative``: ``ClassRBM.from_data(x, n_hidden, 10, seed=seed)`` on rows
  x = [v, onehot(y)] trained by ``inference.fit(model, x, epochs=E, seed=seed)`` with fit's
  defaults (CD-1 with sampled reconstructions, lr 0.1 decayed linearly, momentum 0.5 then
  0.9, batch 20): the objective is the joint log-likelihood log p(v, y). Classified by
  the exact p(y | v) (``predict``). Up to 20 hidden units the row also gives the mean
  test log p(v, y) in nats per image, with log Z exact; with ``--ais`` larger models get
  it with log Z by AIS (100 chains, the default 14,501-step schedule, base fitted to the
  training rows; the mean ±3σ bracket over the seeds is shown).
- ``ClassRBM, discriminative``: the same model trained on −log p(y | v) alone
  (Larochelle & Bengio's DRBM objective; exact gradient by autograd through
  ``predict_log_proba``) in a plain torch loop: Adam, lr 0.01, batch 20, E epochs. This
  objective is not a contrastive rule, so it does not go through ``fit``.
- ``ClassRBM, hybrid``: Larochelle & Bengio's hybrid objective −log p(y | v) − α log p(v, y)
  with α = 0.01: each step adds α times the CD-1 estimate of the generative gradient
  (``inference.CD``, sampled reconstructions) to the exact discriminative gradient, then
  takes an Adam step (lr 0.01, batch 20, E epochs): a plain torch loop too.
- ``LogisticRegression, raw pixels``: scikit-learn's ``LogisticRegression(max_iter=2000)``
  (C = 1) on the binary pixels.
- ``BernoulliRBM + LogisticRegression``: the pipeline of scikit-learn's documentation
  example "Restricted Boltzmann Machine features for digit classification":
  ``BernoulliRBM(n_components=100, learning_rate=0.06, n_iter=10, random_state=seed)``
  then ``LogisticRegression(C=6000, max_iter=2000)``, on the same binary pixels (the
  example uses grey levels and a 5x nudged training set).

scikit-learn is an optional dependency: without it those rows are skipped with a message.

Usage::

    python benchmarks/crbm_digits.py                    # 3 seeds, 16, 64 and 256 hidden, 50 epochs
    python benchmarks/crbm_digits.py --quick            # smoke run: seed 0, 2 epochs, 16 hidden
    python benchmarks/crbm_digits.py --hidden 16 --seeds 0 1 2 --epochs 100
    python benchmarks/crbm_digits.py --rows hybrid --no-sklearn   # one kind of row

Seconds per run are the wall time of training alone, on whatever else the machine is
doing (the load average is printed).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from inference import CD, ais_log_partition, exact_log_partition, fit, log_likelihood, make_generator
from models.energy import ClassRBM
from pgm.datasets import load_digits

try:  # run as a script (benchmarks/ on sys.path) or imported as benchmarks.crbm_digits
    from _common import machine_line, peer_installed, set_threads
except ImportError:
    from benchmarks._common import machine_line, peer_installed, set_threads

_EXACT_HIDDEN = 20


def _generative(n_hidden, epochs, seed, train, test, ais=False):
    (v, y), (vt, yt) = train, test
    x = ClassRBM.join_labels(v, y, 10)
    model = ClassRBM.from_data(x, n_hidden, 10, seed=seed)
    t0 = time.perf_counter()
    fit(model, x, epochs=epochs, seed=seed, progress=False, monitor=0)
    seconds = time.perf_counter() - t0
    if n_hidden <= _EXACT_HIDDEN:
        log_z = exact_log_partition(model)
    elif ais:
        log_z = ais_log_partition(model, n_chains=100, data=x, seed=seed, progress=False)
    else:
        return model.score(vt, yt), seconds, None
    ll = log_likelihood(model, ClassRBM.join_labels(vt, yt, 10), log_z)
    return model.score(vt, yt), seconds, ll


def _discriminative(n_hidden, epochs, seed, train, test, ais=False):
    (v, y), (vt, yt) = train, test
    model = ClassRBM.from_data(ClassRBM.join_labels(v, y, 10), n_hidden, 10, seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for _ in range(epochs):
        for idx in torch.randperm(v.shape[0], generator=gen).split(20):
            loss = -model.predict_log_proba(v[idx]).gather(1, y[idx, None]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.score(vt, yt), time.perf_counter() - t0, None


def _hybrid(n_hidden, epochs, seed, train, test, ais=False, alpha=0.01):
    (v, y), (vt, yt) = train, test
    x = ClassRBM.join_labels(v, y, 10)
    model = ClassRBM.from_data(x, n_hidden, 10, seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    gen = torch.Generator().manual_seed(seed)
    cd = CD(1, sample_visible=True, generator=make_generator(seed))
    t0 = time.perf_counter()
    for _ in range(epochs):
        for idx in torch.randperm(v.shape[0], generator=gen).split(20):
            cd.grad(model, x[idx], track_error=False)       # the CD-1 estimate of ∇(−log p(v, y))
            for p in model.parameters():
                p.grad.mul_(alpha)
            loss = -model.predict_log_proba(v[idx]).gather(1, y[idx, None]).mean()
            loss.backward()                                   # accumulates ∇(−log p(y | v))
            opt.step()
    return model.score(vt, yt), time.perf_counter() - t0, None


def _sklearn_rows(seeds, train, test):
    if not peer_installed("sklearn.neural_network"):
        return []
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import BernoulliRBM
    from sklearn.pipeline import Pipeline

    (v, y), (vt, yt) = train, test
    X, Xt, Y, Yt = v.numpy(), vt.numpy(), y.numpy(), yt.numpy()
    rows = []
    t0 = time.perf_counter()
    lr = LogisticRegression(max_iter=2000).fit(X, Y)
    rows.append(("LogisticRegression, raw pixels", "-", [float((lr.predict(Xt) == Yt).mean())],
                 time.perf_counter() - t0, None))
    accs, secs = [], 0.0
    for seed in seeds:
        t0 = time.perf_counter()
        pipe = Pipeline([("rbm", BernoulliRBM(n_components=100, learning_rate=0.06, n_iter=10, random_state=seed)),
                         ("logistic", LogisticRegression(C=6000, max_iter=2000))]).fit(X, Y)
        secs += time.perf_counter() - t0
        accs.append(float((pipe.predict(Xt) == Yt).mean()))
    rows.append(("BernoulliRBM(100) + LogisticRegression", 100, accs, secs / len(seeds), None))
    return rows


_ROWS = {"generative": ("ClassRBM, generative (fit, CD-1)", _generative),
         "discriminative": ("ClassRBM, discriminative (Adam on -log p(y|v))", _discriminative),
         "hybrid": ("ClassRBM, hybrid (Adam on -log p(y|v) + 0.01 CD-1)", _hybrid)}


def _fmt(values):
    if len(values) == 1:
        return f"{100 * values[0]:.1f}"
    return f"{100 * statistics.mean(values):.1f} ± {100 * statistics.stdev(values):.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--ais", action="store_true", help="test log p(v, y) by AIS above 20 hidden units")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-sklearn", action="store_true", help="skip the scikit-learn rows")
    parser.add_argument("--rows", nargs="+", choices=list(_ROWS), default=list(_ROWS),
                        help="which ClassRBM rows to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="seed 0, 2 epochs, 16 hidden units")
    args = parser.parse_args(argv)
    if args.quick:
        args.hidden, args.seeds, args.epochs = [16], [0], 2
    set_threads(args.threads)
    train = load_digits(split="train", return_labels=True)
    test = load_digits(split="test", return_labels=True)
    print(machine_line())
    print(f"binarized digits: {train[0].shape[0]} train / {test[0].shape[0]} test, seeds {args.seeds}, "
          f"{args.epochs} epochs\n")
    print("| model | hidden | test accuracy (%) | test log p(v, y) (nats) | seconds per run |")
    print("|---|---|---|---|---|")
    rows = []
    for n_hidden in args.hidden:
        for key in args.rows:
            name, run = _ROWS[key]
            results = [run(n_hidden, args.epochs, seed, train, test, args.ais) for seed in args.seeds]
            lls = [r[2] for r in results if r[2] is not None]
            rows.append((name, n_hidden, [r[0] for r in results], statistics.mean(r[1] for r in results),
                         lls or None))
            _print_row(*rows[-1])
    if not args.no_sklearn:
        for row in _sklearn_rows(args.seeds, train, test):
            rows.append(row)
            _print_row(*row)
    return rows


def _print_row(name, hidden, accs, secs, lls):
    ll_text = "-"
    if lls:
        mean = statistics.mean(ll.mean for ll in lls)
        lo, hi = statistics.mean(ll.lower for ll in lls), statistics.mean(ll.upper for ll in lls)
        spread = f" ± {statistics.stdev(ll.mean for ll in lls):.2f}" if len(lls) > 1 else ""
        bracket = "" if lo == hi else f" [{lo:.2f}, {hi:.2f}]"
        ll_text = f"{mean:.2f}{spread}{bracket}"
    print(f"| {name} | {hidden} | {_fmt(accs)} | {ll_text} | {secs:.1f} |", flush=True)


if __name__ == "__main__":
    main()
