# %% [markdown]
# # Autoencoders on digits: four variants, the denoising chain, stacks, the score field
#
# An autoencoder maps x to a code h = f(Wx + b) and back to a reconstruction
# distribution P(x | h); its loss is −log P(x | h), so it is a conditional probabilistic
# program. Denoising (Vincent et al. 2008), sparse and contractive (Rifai et al. 2011)
# autoencoders are the same program with a corruption of the input or a penalty on the
# code. This walk-through trains the four on the binarized digits and compares them, runs
# the denoising autoencoder as a Markov chain (Bengio et al. 2013) with and without
# walk-back training, stacks autoencoders into a classifier, and reads the score of a 2-D
# density off a denoising autoencoder (Alain & Bengio 2014). Run it as a script:
#
#     python tutorials/autoencoders_digits.py [output-folder] [--full]
#
# The default (quick) mode takes a few seconds with short runs whose numbers mean little;
# `--full` trains for real (100 epochs per variant, 30 per stacked layer and 30 of
# fine-tuning, the toy as in `benchmarks/dae_toys.py`; about 4 minutes on 2 cores) and
# prints, for seed 0 on one machine (a single run; its numbers vary by machine as well as
# by seed, so read them as an example, not as targets): test reconstruction error per
# image 0.28 (ae), 1.33 (dae), 1.74 (sae), 0.56 (cae); of masked inputs 3.43, 2.80, 3.27,
# 3.25 (the denoising autoencoder best); mean activation 0.52, 0.55, 0.070 (target 0.05),
# 0.55; ‖∂h/∂x‖²_F 59.4, 36.4, 8.5, 17.3; in-painting error 4.09 against 4.42 for the mean
# digit; accuracy 92.8 % from the stacked denoising autoencoders against 91.1 % from
# random weights; 4 chains × 200 draws of each DAE visit all 10 classes, R-hat of the
# reconstruction error 1.01 (plain) and 1.00 (walk-back) with ESS 794 and 811 of 800,
# class indicators' R-hat at most 1.02; score cosine 0.919.
# Autoencoders have no tractable likelihood: what is reported is the reconstruction and
# denoising error of held-out digits, the code's statistics, samples, and a classifier's
# accuracy — no log-likelihood.

# %%
import sys
from pathlib import Path

import torch

import pgm
from inference import discriminative_finetune, fit, plot_filters
from inference.autoencoders import dae_chain, errors, fit_stacked, stacked_classifier
from inference.autoencoders.pictures import plot_chain, plot_denoising, plot_score_field, plot_sparsity
from inference.autoencoders.score import cosine, mixture_score, ring_mixture, score_field
from inference import DBNClassifier
from models import Autoencoder, StackedAutoencoder

FULL = "--full" in sys.argv[1:]
args = [a for a in sys.argv[1:] if not a.startswith("--")]
out = Path(args[0] if args else "runs/tutorials/autoencoders_digits")
out.mkdir(parents=True, exist_ok=True)
torch.set_num_threads(1)  # small layers: one thread is fastest

train, labels = pgm.load_digits(split="train", return_labels=True)
test, test_labels = pgm.load_digits(split="test", return_labels=True)
EPOCHS, LAYER, TUNE, TOY = (100, 30, 30, (60, 30)) if FULL else (3, 2, 2, (2, 1))
STEPS, TOY_POINTS = (500, 10000) if FULL else (20, 1000)
if not FULL:  # a few hundred digits are enough to run every cell
    train, labels = train[:300], labels[:300]

# %% [markdown]
# ## The program and its graph
# A denoising autoencoder draws the corruption as sample sites (`noise`, then the
# deterministic `x_tilde`), encodes it (`h`, deterministic) and observes the clean digit
# at `v`. `pgm.from_pyro` reads the graph off the program.

# %%
dae = Autoencoder(64, 64, noise="masking", noise_level=0.25, seed=0)
print(dae.graph.describe())
pgm.draw(dae.graph, path=out / "dae_graph.png", title="denoising autoencoder")

# %% [markdown]
# ## Four variants, one table
# Each is an `Autoencoder(64, 64)` with sigmoid units and a Bernoulli reconstruction
# (cross-entropy), trained by `inference.fit` (Adam, lr 1e-3, batch 20): plain; denoising
# with masking noise p = 0.25; sparse with target ρ = 0.05 and β = 3 (ρ̂ blends each
# minibatch with a running average); contractive with λ = 0.1. Scored on the test digits:
# squared reconstruction error per image of clean inputs and of corrupted ones (masking
# 0.25 for every model, so the columns compare), mean activation, and ‖∂h/∂x‖²_F.

# %%
variants = {
    "ae": {},
    "dae": {"noise": "masking", "noise_level": 0.25},
    "sae": {"sparsity": 0.05, "sparsity_weight": 3.0},
    "cae": {"contraction": 0.1},
}
models, rows = {}, []
probe = Autoencoder(64, 64, noise="masking", noise_level=0.25)  # the shared corruption of the second column
for name, kw in variants.items():
    model = Autoencoder(64, 64, seed=0, **kw)
    fit(model, train, epochs=EPOCHS, progress=False)
    models[name] = model
    own = errors(model, test)
    x_in = probe.corruption.sample(test, torch.Generator().manual_seed(1))
    with torch.no_grad():
        denoise = float((model.decode(model.encode(x_in)) - test).square().sum(1).mean())
    rows.append((name, own["recon_error"], denoise, own["mean_activation"], own["contraction"]))
print(f"{'variant':8} {'recon error':>12} {'denoise error':>14} {'mean act.':>10} {'‖J‖²_F':>8}")
for name, rec, den, act, jac in rows:
    print(f"{name:8} {rec:12.3f} {den:14.3f} {act:10.3f} {jac:8.2f}")

# %% [markdown]
# The filters of the denoising autoencoder (each hidden unit's weights from the pixels),
# its denoising strip (clean, corrupted, reconstructed), and how close the sparse
# autoencoder's mean activations came to their target.

# %%
plot_filters(models["dae"], n=64, path=out / "dae_filters.png")
plot_denoising(models["dae"], test[:12], path=out / "dae_denoising.png")
plot_sparsity(models["sae"], test, path=out / "sae_sparsity.png")
with torch.no_grad():
    rho_hat = models["sae"].encode(train).mean(0)
print(f"sparse autoencoder: target ρ = 0.05, training-set mean activation {float(rho_hat.mean()):.3f} "
      f"(units from {float(rho_hat.min()):.3f} to {float(rho_hat.max()):.3f})")

# %% [markdown]
# ## The denoising chain, with and without walk-back
# x → x̃ ~ C(x̃ | x) → x ~ P(x | f(x̃)), repeated: `inference.autoencoders.dae_chain`
# (`init` / `step` with an explicit generator). Walk-back training runs the chain from
# each training digit for k = 5 steps and trains every visited corrupted point to
# reconstruct the digit it started from, which removes spurious attractors the plain
# objective never sees. The chains start from uniform noise.

# %%
walk = Autoencoder(64, 64, noise="masking", noise_level=0.25, seed=0)
fit(walk, train, method="walkback", walkback=5, epochs=EPOCHS, progress=False)
plot_chain(models["dae"], n=10, steps=STEPS, path=out / "dae_chain.png",
           title=f"plain DAE: 10 chains from noise, a row every {STEPS // 10} steps")
plot_chain(walk, n=10, steps=STEPS, path=out / "dae_walkback_chain.png",
           title=f"walk-back DAE: 10 chains from noise, a row every {STEPS // 10} steps")

# %% [markdown]
# In-painting: the top half of each test digit is clamped, the bottom half resampled by
# the chain. The error of the chain's final means on the hidden half, against the mean
# training digit as a baseline:

# %%
gen = torch.Generator().manual_seed(0)
observed = torch.zeros_like(test, dtype=torch.bool)
observed[:, :32] = True
state = dae_chain.init(walk, test.shape[0], gen, observed=observed, values=test)
state = dae_chain.run(walk, state, 50, gen, observed=observed, values=test)
inpaint = float((state.mean[:, 32:] - test[:, 32:]).square().sum(1).mean())
baseline = float((train.mean(0)[32:] - test[:, 32:]).square().sum(1).mean())
print(f"in-painting the bottom half: squared error {inpaint:.2f} per image (the mean digit: {baseline:.2f})")

# %% [markdown]
# ## Stacked autoencoders as a classifier's initialisation
# A 64-32-16 stack of denoising autoencoders trained greedily, each layer on the codes of
# the one below, then its encoders under a softmax layer, every layer trained by
# cross-entropy (`discriminative_finetune`, SGD lr 0.1, momentum 0.9, batch 20) — the
# recipe of the DBN's discriminative fine-tuning, against the same network from random
# weights. `benchmarks/dbn_classify.py` runs the comparison over five seeds, with the DBN.

# %%
stack = StackedAutoencoder([64, 32, 16], noise="masking", noise_level=0.25, seed=0)
fit_stacked(stack, train, epochs=LAYER, progress=False)
scores, classifiers = {}, {}
for name, start in (("stacked-DAE init", stacked_classifier(stack, 10, seed=0)),
                    ("random init", DBNClassifier([64, 32, 16], 10, seed=0))):
    clf, _ = discriminative_finetune(start, train, labels, epochs=TUNE, progress=False)
    scores[name], classifiers[name] = clf.score(test, test_labels), clf
print("test accuracy: " + ", ".join(f"{k} {100 * v:.1f} %" for k, v in scores.items()))
tuned = fit_stacked(stack, train, method="finetune", epochs=TUNE, progress=False).finetune
print(f"unsupervised fine-tuning of the whole stack: training reconstruction error "
      f"{tuned.recon_error[0]:.2f} -> {tuned.recon_error[-1]:.2f} per image")

# %% [markdown]
# ## Do the chains mix? ArviZ on the denoising chain
# Four chains of each denoising autoencoder from noise, a draw every 5 steps after 100
# of burn-in; the fine-tuned classifier labels every draw. R-hat near 1 and a large
# effective sample size of the class indicators mean the chains move between digits;
# a chain stuck in one class shows as R-hat far above 1.

# %%
import arviz as az  # noqa: E402

from inference import to_inference_data  # noqa: E402

clf = classifiers["stacked-DAE init"]
for name, model in (("plain", models["dae"]), ("walk-back", walk)):
    record = dae_chain.record(model, 4, 200 if FULL else 20, torch.Generator().manual_seed(0), burn_in=100, thin=5,
                              classify=clf.predict, n_classes=10, units=0)
    idata = to_inference_data(record)
    rhat = az.rhat(idata, var_names=["recon_error"])
    ess = az.ess(idata, var_names=["recon_error"])
    counts = record.variables["class"].sum((0, 1))
    varying = [k for k in range(10) if 0 < counts[k] < counts.sum()]  # a constant indicator has no R-hat
    worst = (float(az.rhat(idata.posterior[["class"]].sel(class_unit=varying))["class"].max()) if varying
             else float("nan"))
    print(f"{name}: R-hat of the reconstruction error {float(rhat['recon_error']):.2f}, ESS "
          f"{float(ess['recon_error']):.0f} of {4 * record.variables['recon_error'].shape[1]}; class indicators' "
          f"R-hat at most {worst:.2f}; {int((counts > 0).sum())} of 10 classes visited")

# %% [markdown]
# ## The score field on a 2-D toy
# With Gaussian corruption σ and a Gaussian reconstruction, a denoising autoencoder
# learns r(x̃) = E[x | x̃] = x̃ + σ² ∇ log p_σ(x̃) (Tweedie's formula), so
# (r(x) − x)/σ² estimates the score of the data density smoothed by the corruption.
# On a ring of 8 Gaussians that score is known exactly.

# %%
x2, means = ring_mixture(TOY_POINTS, torch.Generator().manual_seed(0))
toy = Autoencoder(2, 512, likelihood="gaussian", noise="gaussian", noise_level=0.3, seed=0)
for lr, n in zip((3e-3, 3e-4), TOY):
    fit(toy, x2, epochs=n, batch_size=100, lr=lr, monitor=0, progress=False)
probe2, _ = ring_mixture(2000, torch.Generator().manual_seed(1))
near = (probe2[:, None].double() - means[None]).norm(dim=-1).min(1).values <= 2 * (0.2 ** 2 + 0.3 ** 2) ** 0.5
c = cosine(score_field(toy, probe2[near]), mixture_score(probe2[near], means, 0.2, 0.3))
print(f"score field: mean cosine {float(c.mean()):.3f} with the true smoothed score near the modes")
plot_score_field(toy, x2, true_score=lambda p: mixture_score(p, means, 0.2, 0.3), path=out / "dae_score_field.png")
print(f"pictures in {out}")
