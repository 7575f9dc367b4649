"""Convolutional RBM and DBN on the binarized digits beside the dense RBM and DBN, and the speed
of one Gibbs sweep against a plain PyTorch conv RBM.

Data: ``pgm.load_digits(binarize=True)``, 1438 training and 359 test images of 8x8 binary
pixels. Scores are test log-likelihoods in nats per image (higher is better).

Every model is trained by the library's default recipe (CD-1, batch 20, momentum 0.5 then
0.9, learning rate decayed linearly to 0) for ``--epochs`` epochs (per layer for the DBNs):

- conv RBMs (``models.ConvRBM``, probabilistic max-pooling) and dense RBMs: −F(v) − log Z,
  log Z by AIS (``--ais-chains`` chains, ``--ais-steps`` linear βs, base fitted to the
  training data) with its ±3 standard-error bracket, exact where the model enumerates;
- the conv DBN (``models.ConvDBN``) and the dense DBN: the K-sample importance estimate
  (K = ``--samples``) with the first layer's posterior as proposal and the variational
  bound from the same draws, the top layer's log Z exact where it enumerates, else AIS
  (bracket carried).

The speed check times ``--sweeps`` Gibbs sweeps of ``inference.mcmc.gibbs.run`` on a
``ConvRBM`` of MNIST's shape (28x28, ``--speed-filters`` filters of 5x5, pooling 2x2,
``--speed-chains`` chains) against the same sweeps written plainly with ``conv2d`` and
``conv_transpose2d`` and the same probabilistic max-pooling, interleaved, single-threaded,
and prints the ratio (target <= 1.2).

Usage::

    python benchmarks/conv_rbm_digits.py            # about 3 minutes on one busy core
    python benchmarks/conv_rbm_digits.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

try:  # run as a script (benchmarks/ on sys.path) or imported as benchmarks.conv_rbm_digits
    from _common import interleaved_epochs, machine_line, report, set_threads
except ImportError:
    from benchmarks._common import interleaved_epochs, machine_line, report, set_threads

from inference import ais_log_partition, dbn_log_likelihood, exact_log_partition, fit, log_likelihood
from inference.convdbn import conv_dbn_log_likelihood
from inference.mcmc import gibbs, make_generator
from inference.partition.exact import enumeration_set
from models import DBN, RBM, ConvDBN, ConvRBM
from pgm.datasets import load_digits


def _n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _log_z(model, train, args):
    if enumeration_set(model)[1] <= 20:
        return exact_log_partition(model)
    return ais_log_partition(model, n_chains=args.ais_chains, betas=torch.linspace(0, 1, args.ais_steps),
                             data=train, seed=args.seed, progress=False)


def _energy_row(name, model, train, test, args):
    t0 = time.perf_counter()
    fit(model, train, epochs=args.epochs, seed=args.seed, monitor=0, progress=False)
    seconds = time.perf_counter() - t0
    lz = _log_z(model, train, args)
    ll = log_likelihood(model, test, lz)
    bracket = "exact log Z" if lz.lower == lz.upper else f"[{ll.lower:.2f}, {ll.upper:.2f}]"
    return [name, str(_n_params(model)), f"{ll.mean:.2f}", "", bracket, f"{seconds:.0f}"]


def _dbn_row(name, model, train, test, args, conv):
    t0 = time.perf_counter()
    fit(model, train, method="greedy", epochs=args.epochs, seed=args.seed, monitor=0, progress=False)
    seconds = time.perf_counter() - t0
    ais = {"n_chains": args.ais_chains, "betas": torch.linspace(0, 1, args.ais_steps)}
    if conv:
        est = conv_dbn_log_likelihood(model, test, "auto", n_samples=args.samples, seed=args.seed, train_data=train,
                                      ais_options=ais)
    else:
        mode = "exact" if enumeration_set(model.top)[1] <= 20 else "ais"
        est = dbn_log_likelihood(model, test, mode, n_samples=args.samples, seed=args.seed, train_data=train,
                                 ais_options=ais)
    bracket = "exact log Z" if est.lower == est.upper else f"[{est.lower:.2f}, {est.upper:.2f}]"
    return [name, str(_n_params(model)), f"{est.mean:.2f}", f"{est.elbo:.2f}", bracket, f"{seconds:.0f}"]


# -- the speed check: the same sweep written plainly ------------------------------------------------
def plain_sweeps(W, b, c, v, h, pool, n_sweeps, gen):
    """``n_sweeps`` block Gibbs sweeps (v given h, then h given v) of a conv RBM with
    probabilistic max-pooling, in plain PyTorch; v (B, 1, H, W), h (B, K, N, N)."""
    B, K, N, _ = h.shape
    P = N // pool
    for _ in range(n_sweeps):
        pv = torch.sigmoid(F.conv_transpose2d(h, W) + c.view(1, -1, 1, 1))
        v = torch.rand(pv.shape, generator=gen).lt_(pv).to(pv.dtype)
        x = F.conv2d(v, W, b).view(B, K, P, pool, P, pool).permute(0, 1, 2, 4, 3, 5).reshape(B, K, P, P, pool * pool)
        m = x.amax(-1, keepdim=True).clamp(min=0)
        e = torch.exp(x - m)
        p = e / (torch.exp(-m) + e.sum(-1, keepdim=True))
        u = torch.rand((B, K, P, P, 1), generator=gen)
        k = (p.cumsum(-1) <= u).sum(-1, keepdim=True)
        onehot = torch.zeros(B, K, P, P, pool * pool + 1).scatter_(-1, k, 1.0)[..., :-1]
        h = onehot.reshape(B, K, P, P, pool, pool).permute(0, 1, 2, 4, 3, 5).reshape(B, K, N, N)
    return v, h


def speed_check(args):
    model = ConvRBM(28, args.speed_filters, 5, 2, seed=0)
    with torch.no_grad():
        model.b.fill_(-2.0)
    gen = make_generator(0)
    state = gibbs.init(model, args.speed_chains, gen)
    W, b, c = (t.detach() for t in (model.W, model.b, model.c))
    v0 = state.values["v"].reshape(-1, 1, 28, 28).clone()
    h0 = state.values["h"].reshape(-1, *model.hidden_shape).clone()
    g1, g2 = make_generator(1), make_generator(1)

    def ours():
        gibbs.run(model, state, args.sweeps, g1)

    def plain():
        with torch.no_grad():
            plain_sweeps(W, b, c, v0, h0, 2, args.sweeps, g2)

    title = (f"{args.sweeps} Gibbs sweeps of a 28x28 conv RBM, {args.speed_filters} filters 5x5, pooling 2x2, "
             f"{args.speed_chains} chains: gibbs.run against plain conv2d/conv_transpose2d")
    return interleaved_epochs(ours, plain, args.repeats, title, target=1.2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="CD-1 epochs (per layer for the DBNs)")
    parser.add_argument("--samples", type=int, default=200, help="K, importance draws per test image")
    parser.add_argument("--ais-chains", type=int, default=100)
    parser.add_argument("--ais-steps", type=int, default=5000, help="linear schedule of this many betas")
    parser.add_argument("--sweeps", type=int, default=20, help="Gibbs sweeps per timed call")
    parser.add_argument("--speed-filters", type=int, default=16)
    parser.add_argument("--speed-chains", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-quality", action="store_true", help="only the speed check")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 epoch, K=5, short AIS, 2 sweeps")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.samples, args.ais_chains, args.ais_steps = 1, 5, 10, 100
        args.sweeps, args.repeats, args.speed_chains = 2, 2, 8
    set_threads(args.threads)
    print(machine_line(), flush=True)
    ratio = speed_check(args)
    results = {"sweep_ratio": ratio}
    if args.skip_quality:
        return
    train, test = load_digits(binarize=True, split="train"), load_digits(binarize=True, split="test")
    print(f"\nbinarized digits: train {tuple(train.shape)}, test {tuple(test.shape)}; CD-1, {args.epochs} epochs "
          f"(per layer), batch 20; AIS {args.ais_chains} chains x {args.ais_steps} betas; K = {args.samples}; "
          f"seed {args.seed}", flush=True)
    rows = []
    makers = [
        ("conv RBM 8 filters 5x5, pool 2", lambda: ConvRBM.from_data(train, 8, 5, 2, seed=args.seed), None),
        ("conv RBM 16 filters 3x3, pool 2", lambda: ConvRBM.from_data(train, 16, 3, 2, seed=args.seed), None),
        ("RBM 64x4", lambda: RBM.from_data(train, 4, seed=args.seed), None),
        ("RBM 64x16", lambda: RBM.from_data(train, 16, seed=args.seed), None),
        ("conv DBN 8 x 3x3 pool 2, 16 x 2x2 pool 2", lambda: ConvDBN(8, (8, 16), (3, 2), (2, 2), seed=args.seed),
         True),
        ("conv DBN 8 x 5x5 pool 2, 16 x 2x2 pool 1", lambda: ConvDBN(8, (8, 16), (5, 2), (2, 1), seed=args.seed),
         True),
        ("DBN 64-16-16", lambda: DBN([64, 16, 16], seed=args.seed), False),
    ]
    for name, make, conv in makers:
        model = make()
        rows.append(_energy_row(name, model, train, test, args) if conv is None
                    else _dbn_row(name, model, train, test, args, conv))
        print("  " + " | ".join(rows[-1]), flush=True)
    header = ["model", "parameters", "test log p(v) (estimate for DBNs)", "test bound (DBNs)", "bracket",
              "training s"]
    results["rows"] = rows
    report(header, rows, args, results)


if __name__ == "__main__":
    main()
