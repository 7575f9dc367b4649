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
- ``samples``: no likelihood (autoencoders, GSNs): only the sample scores.

Then the samples' Fréchet distance (FD) and kernel distance (KD: the unbiased MMD² with
Gaussian kernels ± its jackknife standard error, as in ``benchmarks/sample_quality.py``,
where both are calibrated against a deliberately bad model) to the training digits on our
feature network (the held-out digits score the floor). Rows for families still to come
are added by them.

Usage::

    python benchmarks/leaderboard.py [--epochs 50] [--seed 0]
    python benchmarks/leaderboard.py --mnist FOLDER --rows 10000 --test-rows 1000   # 28x28 MNIST files
"""

from __future__ import annotations

import argparse

import torch

from _common import format_table, machine_line, set_threads
from sample_quality import add_data_arguments, format_kd, kd_reference, load
from sample_quality import models as trained_models

from inference import exact_log_partition, importance_log_likelihood, log_likelihood, variational_bound
from inference.dbn import dbn_log_likelihood
from inference.evaluation.decoder_ais import decoder_ais
from inference.evaluation.quality import fit_features, frechet_distance, kernel_distance
from inference.families import family_of
from inference.mcmc.sampling import make_generator
from models import FeatureNet


def likelihood(model, family, train, test, seed, K=1000, ais_steps=500):
    """(kind, value) rows of the test log-likelihood per image the family allows."""
    kind = family.evaluation
    if kind in ("exact", "ais"):
        return [("exact", log_likelihood(model, test, exact_log_partition(model)).mean)]
    if kind == "autoregressive":
        with torch.no_grad():
            return [("exact (autoregressive)", float(model.log_prob(test).double().mean()))]
    if kind == "bound":
        return [("bound (exact log Z)", variational_bound(model, test, exact_log_partition(model)).mean)]
    if kind == "importance":
        if family.name == "dbn":
            return [(f"importance, K={K}", dbn_log_likelihood(model, test, "exact", n_samples=K, seed=seed).mean)]
        rows = [(f"importance, K={K}", importance_log_likelihood(model, test, K, seed=seed, progress=False).mean)]
        decoder = family.decoder(model)
        if decoder is not None:
            rows.append((f"decoder AIS, K=16, {ais_steps} steps", decoder_ais(*decoder, test, n_chains=16,
                                                                              n_steps=ais_steps, seed=seed).mean))
        return rows
    return [("none (samples only)", None)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--n", type=int, default=359)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-rows", type=int, default=359, help="test digits scored (default all 359)")
    parser.add_argument("--samples", type=int, default=1000, help="K of the importance estimates")
    parser.add_argument("--ais-steps", type=int, default=500, help="steps of decoder AIS")
    parser.add_argument("--threads", type=int, default=1)
    add_data_arguments(parser)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    train, labels, test, _, what = load(args)
    test = test[: args.test_rows]
    args.n = min(args.n, test.shape[0])
    net = FeatureNet(train.shape[1], seed=args.seed)
    fit_features(net, train, labels, epochs=30, seed=args.seed)
    f_train = net.features(train).detach()
    f_kd = kd_reference(f_train, args.seed)
    print(f"{what}: train {tuple(train.shape)}, test {tuple(test.shape)}; {args.epochs} epochs per model")
    print(machine_line(), flush=True)
    f_test = net.features(test).detach()
    rows = [["held-out test digits", "", "", "", f"{frechet_distance(f_train, f_test):.2f}",
             format_kd(kernel_distance(f_kd, f_test)), "", ""]]
    for name, model, steps, seconds in trained_models(train, args.epochs, args.seed):
        family = family_of(model)
        samples = family.sample(model, args.n, make_generator(args.seed), steps).detach().float()
        f_samples = net.features(samples.reshape(args.n, -1)).detach()
        fd, kd = frechet_distance(f_train, f_samples), format_kd(kernel_distance(f_kd, f_samples))
        params = getattr(model, "n_parameters", None) or sum(p.numel() for p in model.parameters())  # free ones
        for i, (kind, value) in enumerate(likelihood(model, family, train, test, args.seed, args.samples,
                                                     args.ais_steps)):
            rows.append([name if i == 0 else "", family.label(model), kind, "" if value is None else f"{value:.2f}",
                         f"{fd:.2f}" if i == 0 else "", kd if i == 0 else "", f"{params:,}" if i == 0 else "",
                         f"{seconds:.1f}" if i == 0 else ""])
    print(format_table(["model", "family", "log-likelihood kind", "test LL (nats)", "FD", "KD", "parameters",
                        "s to train"], rows, align="<<<>>>>>"))


if __name__ == "__main__":
    main()
