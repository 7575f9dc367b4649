"""Exact test log-likelihoods of the autoregressive models on the binarized digits, beside
the RBM, DBM, DBN, SBN and VAE rows; RNADE on the dequantised digits beside the Gaussian RBM.

Each autoregressive model is trained by Adam on the first 90 % of the 1,438 training
digits, the exact log-likelihood of the other 10 % is recorded every epoch, and the
parameters of the best validation epoch are kept (early stopping); then the exact test
log-likelihood (359 digits) is reported with its standard error, per ordering and for
ensembles of orderings or mask sets (log (1/K) Σ_k p_k(x)). The other rows are the
leaderboard's (``benchmarks/leaderboard.py``: 50 epochs, their families' evaluations).

Usage::

    python benchmarks/autoregressive_digits.py [--epochs 200] [--seed 0] [--only nade,made]
    python benchmarks/autoregressive_digits.py --mnist FOLDER --rows 10000 --test-rows 1000
    python benchmarks/autoregressive_digits.py --quick      # a smoke run: 2 epochs, small models
"""

from __future__ import annotations

import argparse
import copy
import math
import time

import torch

from _common import format_table, machine_line, set_threads
from sample_quality import add_data_arguments, load

from inference.autoregressive import fit_autoregressive
from models.autoregressive import FVSBN, MADE, NADE


def recipes(n, quick):
    """(key, name, build, options, ensembles) of each autoregressive row."""
    big = 16 if quick else 500
    out = [("fvsbn", "FVSBN", lambda s: FVSBN(n, seed=s), {"lr": 3e-3}, (1,))]
    for h in ((4,) if quick else (16, 64, 256)):
        out.append((f"nade{h}", f"NADE {h} hidden", lambda s, h=h: NADE(n, h, seed=s), {}, (1,)))
    out.append(("made", f"MADE {big} hidden, 1 mask", lambda s: MADE(n, (big,), seed=s), {}, (1,)))
    masks = 2 if quick else 32
    out.append(("mades", f"MADE {big} hidden, {masks} mask sets (order-agnostic)",
                lambda s: MADE(n, (big,), n_masks=masks, order_agnostic=True, seed=s), {},
                (1, 2) if quick else (1, 2, 8, 32)))
    try:  # the order-agnostic deep NADE, where this version has it
        from models.autoregressive import OrderAgnosticNADE
    except ImportError:
        return out
    hidden = (8,) if quick else (500, 500)
    out.append(("oanade", f"order-agnostic NADE {'-'.join(map(str, hidden))}",
                lambda s: OrderAgnosticNADE(n, hidden, seed=s), {}, (1, 2) if quick else (1, 2, 8, 32)))
    return out


def train(model, data, valid, epochs, seed, **options):
    """Fit with the best validation epoch's parameters kept; (seconds, best epoch, history)."""
    best = {"nll": math.inf, "epoch": 0, "state": None}

    def keep_best(epoch, history, model):
        if history.eval_nll[-1] < best["nll"]:
            best.update(nll=history.eval_nll[-1], epoch=epoch, state=copy.deepcopy(model.state_dict()))

    t0 = time.perf_counter()
    history = fit_autoregressive(model, data, epochs=epochs, seed=seed, evaluate="exact", eval_data=valid, monitor=0,
                                 callbacks=keep_best, progress=False, **options)
    seconds = time.perf_counter() - t0
    model.load_state_dict(best["state"])
    return seconds, best["epoch"], history


@torch.no_grad()
def scores(model, test, ensembles, seed):
    """(K, mean, sem) of the exact test log-likelihood of each ensemble size K."""
    per = torch.stack([model.log_prob(test, m) for m in model.members(max(ensembles), seed=seed)]).double()
    out = []
    for k in ensembles:
        lp = torch.logsumexp(per[:k], 0) - math.log(k)
        out.append((k, float(lp.mean()), float(lp.std() / math.sqrt(lp.numel()))))
    return out


def other_rows(train, test, epochs, seed, samples):
    """The leaderboard's likelihood rows of the RBM, DBM, DBN, SBN and VAE."""
    from leaderboard import likelihood
    from sample_quality import models as trained_models

    from inference.families import family_of

    rows = []
    for name, model, _, seconds in trained_models(train, epochs, seed, keep=lambda name: name.split()[0] in
                                                  ("RBM", "DBM", "DBN", "SBN", "VAE")):
        family = family_of(model)
        for i, (kind, value) in enumerate(likelihood(model, family, train, test, seed, samples)):
            params = sum(p.numel() for p in model.parameters())
            rows.append([name if i == 0 else "", kind, f"{value:.2f}", "", f"{params:,}" if i == 0 else "",
                         f"{seconds:.1f}" if i == 0 else "", ""])
    return rows


def rnade_rows(epochs, seed, quick):
    """RNADE on the dequantised digits beside the Gaussian RBM (exact log Z)."""
    try:
        from models.autoregressive import RNADE
    except ImportError:
        return []
    from inference import exact_log_partition, fit, log_likelihood
    from models import GaussianRBM
    from pgm import load_digits

    train_all = load_digits(binarize=False, dequantize=True)
    test = load_digits(binarize=False, dequantize=True, split="test")
    cut = int(0.9 * train_all.shape[0])
    rows = []
    for components in ("gaussian", "laplace"):
        model = RNADE.from_data(train_all[:cut], 4 if quick else 64, components=components, seed=seed)
        seconds, best, _ = train(model, train_all[:cut], train_all[cut:], epochs, seed)
        (_, mean, sem), = scores(model, test, (1,), seed)
        rows.append([f"RNADE 64 hidden, 10 {components} components", "exact", f"{mean:.2f} ± {sem:.2f}", str(best),
                     f"{model.n_parameters:,}", f"{seconds:.1f}", ""])
    grbm = GaussianRBM.from_data(train_all, 4 if quick else 16, seed=seed)
    t0 = time.perf_counter()
    fit(grbm, train_all, epochs=2 if quick else 200, seed=seed, progress=False)
    seconds = time.perf_counter() - t0
    ll = log_likelihood(grbm, test, exact_log_partition(grbm))
    rows.append([f"Gaussian RBM 64-{grbm.n_hidden}", "exact", f"{ll.mean:.2f} ± {ll.sem:.2f}", "",
                 f"{sum(p.numel() for p in grbm.parameters()):,}", f"{seconds:.1f}", ""])
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200, help="most epochs per autoregressive model (default 200)")
    parser.add_argument("--other-epochs", type=int, default=50, help="epochs of the other families' rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-rows", type=int, default=None, help="test rows scored (default all)")
    parser.add_argument("--samples", type=int, default=1000, help="K of the other rows' importance estimates")
    parser.add_argument("--only", default=None, help="comma-separated row keys (fvsbn, nade16, made, mades, oanade, "
                                                     "others, rnade)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 epochs, small models")
    parser.add_argument("--threads", type=int, default=1)
    add_data_arguments(parser)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    if args.quick:
        args.epochs, args.other_epochs, args.samples = 2, 2, 10
    train_all, _, test, _, what = load(args)
    test = test[: args.test_rows] if args.test_rows else test
    cut = int(0.9 * train_all.shape[0])
    data, valid = train_all[:cut], train_all[cut:]
    only = None if args.only is None else set(args.only.split(","))
    print(f"{what}: train {tuple(data.shape)}, validation {tuple(valid.shape)}, test {tuple(test.shape)}; at most "
          f"{args.epochs} epochs, the best validation epoch kept")
    print(machine_line(), flush=True)
    rows = []
    for key, name, build, options, ensembles in recipes(train_all.shape[1], args.quick):
        if only is not None and key not in only:
            continue
        model = build(args.seed)
        seconds, best, _ = train(model, data, valid, args.epochs, args.seed, **options)
        for i, (k, mean, sem) in enumerate(scores(model, test, ensembles, args.seed)):
            kind = "exact" if k == 1 else f"exact, ensemble of {k}"
            rows.append([name if i == 0 else "", kind, f"{mean:.2f} ± {sem:.2f}", str(best) if i == 0 else "",
                         f"{model.n_parameters:,}" if i == 0 else "", f"{seconds:.1f}" if i == 0 else "", ""])
        print(format_table(["model", "log-likelihood kind", "test LL (nats)", "best epoch", "parameters", "s to train",
                            ""], rows[-len(ensembles):]), flush=True)
    if only is None or "others" in only:
        rows += other_rows(train_all, test, args.other_epochs, args.seed, args.samples)
    header = ["model", "log-likelihood kind", "test LL (nats)", "best epoch", "parameters", "s to train", ""]
    print(format_table(header[:-1], [r[:-1] for r in rows], align="<<>>>>"))
    if not args.mnist and (only is None or "rnade" in only):
        print("\ndequantised digits, (pixel + u) / 17: log-density on that scale")
        print(format_table(header[:-1], [r[:-1] for r in rnade_rows(args.epochs, args.seed, args.quick)],
                           align="<<>>>>"))


if __name__ == "__main__":
    main()
