"""One table across the families on the binarized digits: the test log-likelihood with its
kind where one exists, the Fréchet distance of the samples for all, parameters, time.

Every model of ``benchmarks/sample_quality.py`` (50 epochs each by default) is trained on
the 1,438 training digits and scored on the 359 test digits by what its family's
``evaluation`` says it has:

- ``exact``: an RBM's log p(v) with log Z by enumeration;
- ``bound``: a DBM's variational bound with exact log Z;
- ``importance``: the K-sample importance estimate (K = 1,000; a DBN's with its top RBM's
  exact log Z), a stochastic lower bound;
- ``autoregressive``: the exact log p(x) of FVSBN, NADE and MADE;
- ``decoder AIS``: the VAE again, by decoder AIS (K = 16 chains, 500 HMC steps), a
  stochastic lower bound;
- ``decoder AIS, σ``: the generators (GAN, DCGAN, GMMN), which define no likelihood, by
  decoder AIS under a Gaussian observation model N(x; G(z), σ² I), σ chosen from
  0.05, 0.1, 0.2, 0.3, 0.5 by the same estimate on validation rows, the last 10 % of the
  training digits or the last ``--valid-rows`` of them
  (:func:`~inference.evaluation.decoder_ais.choose_sigma`, every σ or with
  ``--sigma-search climb`` only those a climb from the middle σ visits; the models saw
  these rows in training, the test rows only are held out). The VAE gets the same row for
  its decoder means, N(x; E[x | z], σ² I) at its own validated σ: its Bernoulli row is a
  probability of binary digits, these are densities on the real line, so only the
  Gaussian rows compare with one another (Wu et al. 2017 compare GANs and VAEs so);
- ``samples``: no likelihood (autoencoders, GSNs): only the sample scores.

Each test log-likelihood is the mean over the test rows ± its standard error over them.
Decoder AIS costs (K + 4 pilot chains) × steps × 11 gradient evaluations of the decoder per
row, once per σ scored on the validation rows and once on the test rows: on 28×28 MNIST the
σ grid dominates, which ``--valid-rows``, ``--sigma-search climb`` and ``--test-rows``
shrink. ``--check-rows N`` scores the first N test rows of each Gaussian row again with
twice the steps and notes the mean change, the bias left by ``--ais-steps``. On a machine
whose cores other jobs share, keep ``--threads 1``: two threads that wait on each other
made decoder AIS many times slower there.

Then the samples' Fréchet distance (FD) and kernel distance (KD: the unbiased MMD² with
Gaussian kernels ± its jackknife standard error, as in ``benchmarks/sample_quality.py``,
where both are calibrated against a deliberately bad model) to the training digits on our
feature network (the held-out digits score the floor); the class coverage, KL(classes), the
KL divergence of the classifier's histogram of the samples' classes from uniform with the
number of classes never produced; and the nearest-neighbour ratio, the median distance
from a sample to its nearest training row over the same median for the held-out rows (1
for a model that generalises like the data, 0 for one that copies its training rows: the
"training digits" row). Rows for families still to come are added by them.

Usage::

    python benchmarks/leaderboard.py [--epochs 50] [--seed 0]
    python benchmarks/leaderboard.py --mnist FOLDER --rows 10000 --test-rows 1000   # 28x28 MNIST files
    python benchmarks/leaderboard.py --no-likelihood    # the sample scores only, in minutes
    python benchmarks/leaderboard.py --only VAE,GAN    # the rows whose names begin so
    python benchmarks/leaderboard.py --mnist FOLDER --only VAE,GAN,GMMN,DCGAN --test-rows 100 \
        --valid-rows 40 --sigma-search climb --ais-steps 100 --check-rows 5   # the generators on MNIST
"""

from __future__ import annotations

import argparse
import math
from typing import NamedTuple

import torch

from _common import format_table, machine_line, set_threads
from sample_quality import add_data_arguments, coverage_columns, format_kd, kd_reference, load
from sample_quality import models as trained_models

from inference import exact_log_partition, importance_log_likelihood, log_likelihood, variational_bound
from inference.dbn import dbn_log_likelihood
from inference.evaluation.decoder_ais import choose_sigma, decoder_ais
from inference.evaluation.quality import fit_features, frechet_distance, kernel_distance
from inference.families import family_of
from inference.mcmc.sampling import make_generator
from models import FeatureNet
from models.adversarial.generator import GeneratorProgram

#: The σ grid of the Gaussian observation model of the decoder-AIS rows.
SIGMAS = (0.05, 0.1, 0.2, 0.3, 0.5)


class SigmaOptions(NamedTuple):
    """How the generators' σ is validated and their test estimate checked.

    Attributes
    ----------
    valid_rows : int or None
        The last this many training rows validate σ (None: the last 10 %).
    search : str
        ``"grid"`` or ``"climb"`` (:func:`~inference.evaluation.decoder_ais.choose_sigma`).
    check_rows : int
        The first this many test rows are scored again at twice the AIS steps, and the
        mean change goes to the notes (0: no check).
    """

    valid_rows: int | None = None
    search: str = "grid"
    check_rows: int = 0


def validation_rows(train, valid_rows=None):
    """The rows that validate σ: the last ``valid_rows`` training rows (default the last 10 %)."""
    n = max(1, train.shape[0] // 10) if valid_rows is None else valid_rows
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= train.shape[0]:
        raise ValueError(f"valid_rows must be an int from 1 to the {train.shape[0]} training rows, got {valid_rows!r}")
    return train[-n:]


def mean_and_se(est):
    """(mean, its standard error over the test rows, or None for one row) of an estimate:
    its ``sem`` where that is a number, else from its per-row ``log_likelihood`` (decoder
    AIS, whose ``sem`` is each row's Monte Carlo error)."""
    sem = getattr(est, "sem", None)
    if isinstance(sem, float):
        return est.mean, sem if math.isfinite(sem) else None
    rows = getattr(est, "log_likelihood", None)
    if not isinstance(rows, torch.Tensor) or rows.numel() < 2:
        return est.mean, None
    return est.mean, float(rows.double().std() / rows.numel() ** 0.5)


def step_check(log_lik, n_latent, test, seed, ais_steps, check_rows, est):
    """The note on how much the first ``check_rows`` test rows' estimate moves from
    ``ais_steps`` to twice as many: the mean paired change ± its standard error."""
    rows = min(check_rows, test.shape[0])
    longer = decoder_ais(log_lik, n_latent, test[:rows], n_chains=16, n_steps=2 * ais_steps, seed=seed)
    change = longer.log_likelihood - est.log_likelihood[:rows]
    se = float(change.std() / rows ** 0.5) if rows > 1 else float("nan")
    return (f"{2 * ais_steps} steps against {ais_steps} on the first {rows} test rows: "
            f"{float(change.mean()):+.2f} ± {se:.2f} nats per row")


def gaussian_ais(log_lik_of_sigma, n_latent, train, test, seed, ais_steps, notes, name, options=SigmaOptions()):
    """A (kind, value) row: decoder AIS of the test rows under N(x; g(z), σ² I), σ chosen on
    validation rows (``options``); the validation scores go to ``notes``."""
    valid = validation_rows(train, options.valid_rows)
    choice = choose_sigma(log_lik_of_sigma, n_latent, valid, SIGMAS, n_chains=16, n_steps=ais_steps, seed=seed,
                          search=options.search)
    note = (f"{name}: σ = {choice.sigma} of validation log-likelihoods (last {valid.shape[0]} training rows, "
            f"{options.search}) " + ", ".join(f"{s}: {v:.2f}" for s, v in choice.scores.items()))
    est = decoder_ais(log_lik_of_sigma(choice.sigma), n_latent, test, n_chains=16, n_steps=ais_steps, seed=seed)
    if options.check_rows:
        note += "; " + step_check(log_lik_of_sigma(choice.sigma), n_latent, test, seed, ais_steps,
                                  options.check_rows, est)
    notes.append(note)
    return (f"decoder AIS, Gaussian σ = {choice.sigma} (validated), K = 16, {ais_steps} steps", est)


def _gaussian_of_means(decode):
    """σ → log N(x; decode(z), σ² I) summed over the columns."""
    return lambda s: (lambda z, x: torch.distributions.Normal(decode(z), s).log_prob(x).sum(-1))


def likelihood(model, family, train, test, seed, K=1000, ais_steps=500, notes=None, name="",
               options=SigmaOptions()):
    """(kind, estimate) rows of the test log-likelihood per image the family allows, each
    estimate with ``.mean`` and, where per row, ``.log_likelihood`` (the σ validation of the
    Gaussian rows appended to ``notes``, chosen as ``options`` says)."""
    notes = [] if notes is None else notes
    kind = family.evaluation
    if isinstance(model, GeneratorProgram):
        return [gaussian_ais(lambda s: model.decoder(s)[0], model.n_latent, train, test, seed, ais_steps, notes,
                             name, options)]
    if kind in ("exact", "ais"):
        return [("exact", log_likelihood(model, test, exact_log_partition(model)))]
    if kind == "autoregressive":
        with torch.no_grad():
            return [("exact (autoregressive)", _PerRow(model.log_prob(test).double()))]
    if kind == "bound":
        return [("bound (exact log Z)", variational_bound(model, test, exact_log_partition(model)))]
    if kind == "importance":
        if family.name == "dbn":
            return [(f"importance, K={K}", dbn_log_likelihood(model, test, "exact", n_samples=K, seed=seed))]
        rows = [(f"importance, K={K}", importance_log_likelihood(model, test, K, seed=seed, progress=False))]
        decoder = family.decoder(model)
        if decoder is not None:
            rows.append((f"decoder AIS, K=16, {ais_steps} steps", decoder_ais(*decoder, test, n_chains=16,
                                                                              n_steps=ais_steps, seed=seed)))
            if hasattr(model, "decode"):  # the decoder means under the generators' Gaussian observation model
                rows.append(gaussian_ais(_gaussian_of_means(model.decode), model.n_latent, train, test, seed,
                                         ais_steps, notes, name, options))
        return rows
    return [("none (samples only)", None)]


class _PerRow(NamedTuple):
    """Per-row log-likelihoods as an estimate (``.mean``, ``.log_likelihood``)."""

    log_likelihood: torch.Tensor

    @property
    def mean(self):
        return float(self.log_likelihood.mean())


def format_estimate(est):
    """The table cell of an estimate: its mean over the test rows ± the standard error."""
    if est is None:
        return ""
    mean, se = mean_and_se(est)
    return f"{mean:.2f}" if se is None else f"{mean:.2f} ± {se:.2f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--n", type=int, default=359, help="samples per model, and the held-out test digits they "
                        "are compared with (default 359, at most all test digits)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-rows", type=int, default=359,
                        help="the first test digits whose log-likelihood is scored (default all 359); the sample "
                             "scores compare with the first --n test digits")
    parser.add_argument("--samples", type=int, default=1000, help="K of the importance estimates")
    parser.add_argument("--ais-steps", type=int, default=500, help="steps of decoder AIS")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", default=None, metavar="NAMES",
                        help="comma-separated beginnings of the rows' names to train and score (default all), "
                             "e.g. --only VAE,GAN,GMMN,DCGAN")
    parser.add_argument("--no-likelihood", action="store_true",
                        help="the sample scores only (FD, KD, classes, NN ratio): no likelihood estimates")
    parser.add_argument("--valid-rows", type=int, default=None, metavar="N",
                        help="the last N training rows validate the generators' σ (default the last 10 %%)")
    parser.add_argument("--sigma-search", choices=("grid", "climb"), default="grid",
                        help="score every σ of the grid, or climb from its middle to the best (fewer AIS runs)")
    parser.add_argument("--check-rows", type=int, default=0, metavar="N",
                        help="score the first N test rows of each Gaussian row again at twice --ais-steps and "
                             "note the change (default 0: no check)")
    add_data_arguments(parser)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    train, labels, test, _, what = load(args)
    held = test[: args.n]  # the held-out rows the sample scores compare with
    test = test[: args.test_rows]  # the rows whose log-likelihood is scored
    options = SigmaOptions(args.valid_rows, args.sigma_search, args.check_rows)
    validation_rows(train, options.valid_rows)  # a bad --valid-rows fails before any training
    if args.check_rows < 0:
        parser.error(f"--check-rows must be 0 or more, got {args.check_rows}")
    args.n = held.shape[0]
    net = FeatureNet(train.shape[1], seed=args.seed)
    fit_features(net, train, labels, epochs=30, seed=args.seed)
    f_train = net.features(train).detach()
    f_kd = kd_reference(f_train, args.seed)
    print(f"{what}: train {tuple(train.shape)}, test {tuple(test.shape)} scored, {args.n} held-out rows and samples "
          f"for the sample scores; {args.epochs} epochs per model")
    print(machine_line(), flush=True)
    f_held = net.features(held).detach()
    copies = train[torch.randperm(train.shape[0], generator=make_generator(args.seed))[: args.n]]
    rows = [["held-out test digits", "", "", "", f"{frechet_distance(f_train, f_held):.2f}",
             format_kd(kernel_distance(f_kd, f_held)), coverage_columns(net, held, train, held)[0],
             "", "", ""],
            ["training digits (a copying model)", "", "", "", "", "",
             *coverage_columns(net, copies, train, held), "", ""]]
    notes = []
    only = [p.strip() for p in args.only.split(",")] if args.only else None
    keep = (lambda name: any(name.startswith(p) for p in only)) if only else (lambda name: True)
    for name, model, steps, seconds in trained_models(train, args.epochs, args.seed, keep):
        family = family_of(model)
        samples = family.sample(model, args.n, make_generator(args.seed), steps).detach().float()
        f_samples = net.features(samples.reshape(args.n, -1)).detach()
        fd, kd = frechet_distance(f_train, f_samples), format_kd(kernel_distance(f_kd, f_samples))
        classes, nn_ratio = coverage_columns(net, samples.reshape(args.n, -1), train, held)
        params = getattr(model, "n_parameters", None) or sum(p.numel() for p in model.parameters())  # free ones
        lls = ([("not estimated (--no-likelihood)", None)] if args.no_likelihood else
               likelihood(model, family, train, test, args.seed, args.samples, args.ais_steps, notes, name,
                          options))
        for i, (kind, value) in enumerate(lls):
            rows.append([name if i == 0 else "", family.label(model), kind, format_estimate(value),
                         f"{fd:.2f}" if i == 0 else "", kd if i == 0 else "", classes if i == 0 else "",
                         nn_ratio if i == 0 else "", f"{params:,}" if i == 0 else "",
                         f"{seconds:.1f}" if i == 0 else ""])
    print(format_table(["model", "family", "log-likelihood kind", "test LL (nats)", "FD", "KD", "KL(classes)",
                        "NN ratio", "parameters", "s to train"], rows, align="<<<>>>>>>>"))
    for line in notes:
        print(line)


if __name__ == "__main__":
    main()
