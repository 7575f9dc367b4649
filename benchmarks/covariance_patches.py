"""The mcRBM and the mPoT on whitened 8x8 natural-image patches: test log-density against a
Gaussian RBM and a full-covariance Gaussian, the HMC negative phase's acceptance and
effective sample size per second, and one HMC step against a plain torch loop.

* Data: ``pgm.load_patches`` (scikit-learn's two photographs, DC removed, PCA-whitened to
  63 coordinates), ``--train`` training and ``--test`` test patches (disjoint regions).
* Models: the full-covariance Gaussian fitted by maximum likelihood (exact test
  log-density), ``GaussianRBM`` (PCD-1, its default recipe; AIS with Gibbs transitions),
  ``MeanCovarianceRBM`` and ``MPoT`` (the persistent HMC negative phase, ``--epochs``,
  SGD at the models' default learning rate; AIS with HMC transitions on the annealed free
  energy from the Gaussian base, ``--ais-steps``; for the mcRBM also the generic AIS, Gibbs
  with its full-covariance conditional, as a cross-check). The AIS rows print their ±3
  s.e. bracket.
* HMC negative phase: persistent chains on −F(v) of each trained model, the step size
  adapted toward 0.9 for a burn-in, then held; acceptance rate, and the ESS of F(v) over
  the chains (ArviZ's rank-normalised bulk ESS) per second of sampling.
* Speed: one HMC step (``inference.mcmc.hmc.step``, 20 leapfrog steps, 100 chains) on the
  mcRBM's −F(v) against the same arithmetic as a plain loop, best of ``--repeats``,
  interleaved: target ratio <= 1.2.

Single-threaded. Usage::

    python benchmarks/covariance_patches.py [--epochs 10] [--quick]
"""

from __future__ import annotations

import argparse
import time

import torch

from _common import machine_line, plain_hmc_step, set_threads

import pgm
from inference import ais_log_partition, fit, log_likelihood
from inference.learning import PersistentHMC
from inference.mcmc import hmc
from inference.partition import hmc_ais_log_partition
from models import GaussianRBM, MeanCovarianceRBM, MPoT


def gaussian_log_density(train, test):
    x = train.double()
    mean = x.mean(0)
    cov = (x - mean).T @ (x - mean) / x.shape[0]
    dist = torch.distributions.MultivariateNormal(mean, cov)
    return float(dist.log_prob(test.double()).mean())


def hmc_mixing(model, start, steps, burn, gen):
    """Acceptance and ESS of F(v) per second of persistent HMC chains on −F(v)."""
    rule = PersistentHMC(n_leapfrog=20, generator=gen)
    target = rule.target(model)
    model.requires_grad_(False)
    state = hmc.init(target, start.clone(), 0.05)
    for _ in range(burn):
        state = hmc.step(target, state, gen, n_leapfrog=20, adapt=True, target_accept=0.9)
        state = state._replace(step_size=state.step_size.clamp(1e-3, 0.25))
    trace, accept = [], []
    t0 = time.perf_counter()
    for _ in range(steps):
        state = hmc.step(target, state, gen, n_leapfrog=20)
        trace.append(-state.log_prob)
        accept.append(float(state.accept.mean()))
    seconds = time.perf_counter() - t0
    model.requires_grad_(True)
    import arviz

    ess = float(arviz.ess(torch.stack(trace, 1).double().numpy()))
    return sum(accept) / len(accept), ess, ess / seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=10000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--mean", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=64, help="hidden units of the Gaussian RBM")
    parser.add_argument("--ais-steps", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lr", type=float, default=None, help="SGD learning rate (default: the models' default_lr)")
    parser.add_argument("--pictures", metavar="DIR", help="write the filters and Gibbs samples of both models here")
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny sizes")
    args = parser.parse_args(argv)
    if args.quick:
        args.train, args.test, args.epochs, args.factors, args.mean, args.hidden = 400, 200, 1, 8, 4, 8
        args.ais_steps, args.chains, args.repeats = 20, 10, 2
    set_threads(args.threads)
    train, transform = pgm.load_patches(n=args.train, return_transform=True)
    test = pgm.load_patches(n=args.test, split="test")
    print(f"whitened 8x8 patches: {tuple(train.shape)} train, {tuple(test.shape)} test; {args.epochs} epochs")
    print(machine_line())
    rows = [("full-covariance Gaussian (ML)", gaussian_log_density(train, test), None, None, "exact")]
    opts = dict(epochs=args.epochs, batch_size=100, progress=False, seed=0, monitor=0)

    t0 = time.perf_counter()
    grbm = GaussianRBM.from_data(train, args.hidden, seed=0)
    fit(grbm, train, **opts)
    fit_s = time.perf_counter() - t0
    est = ais_log_partition(grbm, n_chains=args.chains, betas=torch.linspace(0, 1, 10 * args.ais_steps + 1,
                                                                            dtype=torch.float64),
                            data=train, progress=False)
    ll = log_likelihood(grbm, test, est)
    rows.append((f"GaussianRBM 63x{args.hidden} (PCD-1)", ll.mean, (ll.lower, ll.upper), fit_s, "AIS (Gibbs)"))

    trained = {}
    for name, cls in (("mcRBM", MeanCovarianceRBM), ("mPoT", MPoT)):
        t0 = time.perf_counter()
        model = cls.from_data(train, args.factors, n_mean=args.mean, seed=0, pixel_map=transform.dewhiten_matrix)
        history = fit(model, train, hmc=PersistentHMC(), lr=args.lr, **opts)
        fit_s = time.perf_counter() - t0
        est = hmc_ais_log_partition(model, n_chains=args.chains, n_steps=args.ais_steps, data=train)
        ll = log_likelihood(model, test, est)
        rows.append((f"{name} 63-{args.factors}-{args.mean} (HMC, accept {history.hmc_accept[-1]:.2f})", ll.mean,
                     (ll.lower, ll.upper), fit_s, f"AIS (HMC), ESS {est.ess:.0f}"))
        trained[name] = model
        if cls is MeanCovarianceRBM:  # the generic AIS, Gibbs with the full-covariance conditional, as a cross-check
            est = ais_log_partition(model, n_chains=args.chains, data=train, progress=False,
                                    betas=torch.linspace(0, 1, args.ais_steps + 1, dtype=torch.float64))
            ll = log_likelihood(model, test, est)
            rows.append((f"  the same mcRBM", ll.mean, (ll.lower, ll.upper), None, f"AIS (Gibbs), ESS {est.ess:.0f}"))

    print(f"\n{'model':<48} {'test log p(v)':>13} {'bracket':>19} {'fit s':>7}  log Z by")
    for name, mean, bracket, seconds, how in rows:
        br = "" if bracket is None else f"[{bracket[0]:.2f}, {bracket[1]:.2f}]"
        print(f"{name:<48} {mean:>13.2f} {br:>19} {'' if seconds is None else f'{seconds:.0f}':>7}  {how}")

    print("\nHMC negative phase on the trained models (100 chains, 20 leapfrog steps, step size adapted to 0.9):")
    gen = torch.Generator().manual_seed(1)
    steps = 20 if args.quick else 200
    for name, model in trained.items():
        accept, ess, per_s = hmc_mixing(model, test[:100], steps, 10 if args.quick else 100, gen)
        print(f"  {name}: acceptance {accept:.3f}, ESS of F(v) {ess:.0f} of {100 * steps} draws, {per_s:.1f} per s")

    if args.pictures:
        from pathlib import Path

        from inference.mcmc import gibbs

        folder = Path(args.pictures)
        folder.mkdir(parents=True, exist_ok=True)
        for name, model in trained.items():
            pgm.filter_grid(model.to_pixels(model.C.detach().t()).t(), (8, 8), folder / f"{name}_filters.png", n=48,
                            title=f"{name}: factor filters C (as pixels)")
            g = torch.Generator().manual_seed(0)
            with torch.no_grad():
                state = gibbs.run(model, gibbs.init(model, 36, g), 200, g)
                means = model.conditional("v", state.values).mean
            pgm.image_grid(model.to_pixels(means), (8, 8), folder / f"{name}_samples.png", normalize="global",
                           title=f"{name}: Gibbs samples (E[v | h], as pixels)")
        pgm.image_grid(transform.dewhiten(test[:36]), (8, 8), folder / "test_patches.png", normalize="global",
                       title="test patches")
        print(f"wrote the pictures to {folder}/")

    model = trained["mcRBM"]
    model.requires_grad_(False)
    target = PersistentHMC.target(model)
    z0 = test[:100].clone()
    state = hmc.init(target, z0, 0.05)
    ours, plain = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        hmc.step(target, state, gen, n_leapfrog=20)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        plain_hmc_step(target, z0, state.step_size, 20, gen, lp0=state.log_prob, g=state.grad)
        plain.append(time.perf_counter() - t0)
    print(f"\nHMC step, 100 chains, 20 leapfrog, mcRBM -F(v): ours {min(ours) * 1e3:.1f} ms, plain loop "
          f"{min(plain) * 1e3:.1f} ms, ratio {min(ours) / min(plain):.2f} (target <= 1.2)")


if __name__ == "__main__":
    main()
