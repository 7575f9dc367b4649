"""Sample-quality scores of every sampling family on the binarized digits, calibrated.

A ``FeatureNet`` (64-128-64 MLP classifier) is trained on the 1,438 binarized training
digits with their labels; its last hidden layer gives the features. Every model below is
trained on the same digits and asked, through its family (``Family.sample``: Gibbs chains
for energy models, ancestral draws for directed ones, the chain of a denoising autoencoder
or a GSN), for ``--n`` samples (visible means or probabilities); each set is scored
against the training digits:

- ``FD``: the Fréchet distance of the feature Gaussians;
- ``KD``: the kernel distance (``kernel_distance``: the unbiased MMD² on all rows with a
  sum of Gaussian kernels, bandwidths the median distance between training-digit features
  and 1/2, 1/4, 1/8 of it) ± its jackknife standard error;
- ``KL(classes)``: KL of the predicted-class histogram to the uniform, and the number of
  classes never produced;
- ``NN ratio``: median distance of a sample to its nearest training digit over that of a
  held-out digit (well below 1: copies).

Two reference rows calibrate the scale: the held-out test digits (what a perfect model's
samples score) and a deliberately bad model, samples drawn uniformly from the 10 class-mean
images. A score that cannot tell these two apart is not one to trust: the last lines give,
for the kernel distance and for the cubic-kernel KID of Bińkowski et al. (2018), the bad
model's excess over the floor in standard errors (the cubic kernel's is not a column: on
the digits it does not separate the two).

Usage::

    python benchmarks/sample_quality.py [--n 359] [--epochs 50] [--seed 0]
    python benchmarks/sample_quality.py --mnist FOLDER --rows 10000 --n 1000
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from _common import format_table, machine_line, set_threads

from inference import fit
from inference.evaluation.quality import (class_coverage, fit_features, frechet_distance, kernel_distance,
                                         memorisation)
from inference.families import family_of
from inference.mcmc.sampling import make_generator
from models import DBM, DBN, FVSBN, GSN, MADE, NADE, RBM, VAE, Autoencoder, FeatureNet, SigmoidBeliefNet
from models.adversarial import DCGAN, GAN, GMMN
from pgm import load_digits


def models(train, epochs, seed, keep=lambda name: True):
    """(name, trained model, sampling steps, seconds of training) of each family that samples,
    sized for the data's ``n`` columns (those whose name ``keep`` accepts). The generators
    (GAN, DCGAN, GMMN) train for ``GENERATOR_EPOCHS`` times ``epochs``: their steps are
    small (Adam at 2·10⁻⁴ for the GANs) and 50 epochs leave them far from converged."""
    n = train.shape[1]
    side = math.isqrt(n)
    g_epochs = GENERATOR_EPOCHS * epochs
    recipes = [
        (f"RBM {n}-16 (CD-1)", lambda: RBM.from_data(train, 16, seed=seed), {}, 1000),
        (f"DBM {n}-16-16 (SML)", lambda: DBM.from_data(train, [16, 16], centered=True, seed=seed),
         {"method": "sml", "lr": 0.02}, 1000),
        (f"DBN {n}-32-16 (greedy)", lambda: DBN([n, 32, 16], seed=seed), {"method": "greedy"}, 1000),
        (f"SBN {n}-16 (RWS)", lambda: SigmoidBeliefNet.from_data(train, [n, 16], seed=seed), {}, 1),
        (f"VAE {n}-200-10 (ELBO)", lambda: VAE(n, 200, 10, seed=seed), {}, 1),
        (f"FVSBN {n}", lambda: FVSBN(n, seed=seed), {"lr": 3e-3}, 1),
        (f"NADE {n}-64", lambda: NADE(n, 64, seed=seed), {}, 1),
        (f"MADE {n}-500, 1 mask", lambda: MADE(n, (500,), seed=seed), {}, 1),
        (f"DAE {n}-64 (walk-back), chain", lambda: Autoencoder(n, 64, noise="masking", noise_level=0.25, seed=seed),
         {"method": "walkback"}, 500),
        (f"GSN {n}-128-128, chain", lambda: GSN([n, 128, 128], seed=seed), {}, 500),
        (f"GAN {n}-200-10 (non-saturating, {g_epochs} epochs)", lambda: GAN(n, 10, (200,), seed=seed),
         {"epochs": g_epochs}, 1),
        (f"GMMN {n}-200-10 (MMD, {g_epochs} epochs)", lambda: GMMN(n, 10, (200,), seed=seed),
         {"epochs": g_epochs}, 1),
    ]
    if side * side == n and side % 4 == 0:  # square images that halve twice: a DCGAN
        recipes.append((f"DCGAN {side}x{side}, 16 channels, latent 10 ({g_epochs} epochs)",
                        lambda: DCGAN(side, 10, 16, seed=seed), {"epochs": g_epochs}, 1))
    out = []
    for name, build, options, steps in recipes:
        if not keep(name):
            continue
        model = build()
        t0 = time.perf_counter()
        quiet = {} if name.startswith(("RBM", "GMMN")) else {"monitor": 0}  # fit_gmmn monitors nothing
        fit(model, train, seed=seed, progress=False, **{"epochs": epochs, **quiet, **options})
        out.append((name, model, steps, time.perf_counter() - t0))
    return out


#: How many times ``epochs`` the generators (GAN, DCGAN, GMMN) train.
GENERATOR_EPOCHS = 4


def load(args):
    """(train, labels, test, test_labels, what): the binarized digits, or with ``--mnist`` the
    binarized MNIST files of that folder, ``--rows`` training rows drawn at random."""
    if args.mnist:
        from pgm import load_mnist

        train, labels = load_mnist(args.mnist, "train", binarize=True)
        test, test_labels = load_mnist(args.mnist, "test", binarize=True)
        what = f"binarized MNIST from {args.mnist}"
    else:
        train, labels = load_digits(split="train", return_labels=True)
        test, test_labels = load_digits(split="test", return_labels=True)
        what = "binarized digits"
    if args.rows and args.rows < train.shape[0]:
        keep = torch.randperm(train.shape[0], generator=torch.Generator().manual_seed(args.seed))[: args.rows]
        train, labels = train[keep], labels[keep]
    return train, labels, test, test_labels, what


def add_data_arguments(parser):
    parser.add_argument("--mnist", metavar="FOLDER", default=None,
                        help="MNIST IDX files in FOLDER (28x28) instead of the bundled 8x8 digits")
    parser.add_argument("--rows", type=int, default=None, help="training rows drawn at random (default all)")


#: Training rows (at most; drawn at random beyond) whose features the kernel distance
#: compares samples with: its cost grows with the square of the rows.
KD_REAL_ROWS = 5000


def kd_reference(f_train, seed):
    """The training features the kernel distance scores against (at most ``KD_REAL_ROWS``)."""
    if f_train.shape[0] <= KD_REAL_ROWS:
        return f_train
    return f_train[torch.randperm(f_train.shape[0], generator=torch.Generator().manual_seed(seed))[:KD_REAL_ROWS]]


def format_kd(kd):
    return f"{kd.mean:.4f} ± {kd.sem:.4f}"


def coverage_columns(net, x, train, test):
    """The "KL(classes) (missing)" and "NN ratio" cells of samples ``x``: the classifier's
    class histogram against uniform, and the median nearest-neighbour distance to the
    training rows over the held-out rows' (below 1: training rows are being reproduced)."""
    with torch.no_grad():
        cov = class_coverage(net.predict(x.float().clamp(0, 1)), 10)
    mem = memorisation(x.double(), train.double(), test.double())
    return f"{cov.kl_to_uniform:.3f} ({len(cov.missing)} missing)", f"{mem['ratio']:.2f}"


def separation(name, floor, bad):
    """The bad model's excess over the floor, in standard errors combined as independent."""
    gap, se = bad.mean - floor.mean, (floor.sem ** 2 + bad.sem ** 2) ** 0.5
    return (f"{name}: floor {format_kd(floor)}, bad model {format_kd(bad)}: excess {gap:.4f} ± {se:.4f} "
            f"({gap / se:.1f} standard errors)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=359, help="samples per model (default: the test split's 359)")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    add_data_arguments(parser)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    train, labels, test, test_labels, what = load(args)
    args.n = min(args.n, test.shape[0])
    net = FeatureNet(train.shape[1], seed=args.seed)
    fit_features(net, train, labels, epochs=30, seed=args.seed)
    print(f"{what}; FeatureNet {train.shape[1]}-128-64, test accuracy "
          f"{float((net.predict(test) == test_labels).double().mean()):.3f}; "
          f"{args.n} samples per row, {args.epochs} training epochs per model")
    print(machine_line(), flush=True)
    feats = lambda x: net.features(x.float()).detach()  # noqa: E731
    f_train = feats(train)
    f_kd = kd_reference(f_train, args.seed)
    gen = make_generator(args.seed)
    means = torch.stack([train[labels == k].mean(0) for k in range(10)])
    rows = [("held-out test digits (the floor)", test[: args.n], 0.0),
            ("class means, uniformly (a bad model)", means[torch.randint(10, (args.n,), generator=gen)], 0.0)]
    for name, model, steps, _ in models(train, args.epochs, args.seed):
        t0 = time.perf_counter()
        x = family_of(model).sample(model, args.n, make_generator(args.seed), steps)
        rows.append((name, x.detach().float().reshape(args.n, -1), time.perf_counter() - t0))
    table, kds = [], []
    for name, x, seconds in rows:
        kd = kernel_distance(f_kd, feats(x))
        kds.append(kd)
        table.append([name, f"{frechet_distance(f_train, feats(x)):.2f}", format_kd(kd),
                      *coverage_columns(net, x, train, test), f"{seconds:.1f}"])
    print(f"KD: Gaussian kernels of bandwidths {', '.join(f'{b:.2f}' for b in kds[0].bandwidths)} against "
          f"{f_kd.shape[0]} training rows")
    print(format_table(["samples", "FD", "KD", "KL(classes)", "NN ratio", "s to sample"], table))
    print("calibration, " + separation("KD", kds[0], kds[1]))
    cubic = [kernel_distance(f_kd, feats(x), kernel="cubic") for _, x, _ in rows[:2]]
    print("calibration, " + separation("KID (cubic kernel; not a column)", *cubic))


if __name__ == "__main__":
    main()
