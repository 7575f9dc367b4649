# %% [markdown]
# # Directed models on digits: a sigmoid belief net and a VAE
#
# This walk-through trains a sigmoid belief net (a Helmholtz machine) by reweighted
# wake-sleep and a variational autoencoder by the ELBO on the bundled binarized digits,
# scores both by importance sampling with their recognition networks, draws ancestral
# samples, and pictures the VAE's two-dimensional latent space. Run it as a script:
#
#     python tutorials/directed_digits.py [output-folder]
#
# It takes a few seconds on a laptop CPU (short runs: see `benchmarks/directed_digits.py`
# for trained numbers) and writes its pictures to `runs/tutorial-directed/`.

# %%
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import torch

import pgm
from inference import fit, importance_log_likelihood
from models import VAE, SigmoidBeliefNet

out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/tutorial-directed")
out.mkdir(parents=True, exist_ok=True)
train, test = pgm.load_digits(split="train"), pgm.load_digits(split="test")
_, labels = pgm.load_digits(split="test", return_labels=True)

# %% [markdown]
# ## A sigmoid belief net, 64-16
# p(h) = ∏ Bernoulli(σ(a)), p(v | h) = ∏ Bernoulli(σ(Wh + b)); the guide q(h | v) is a
# bottom-up sigmoid layer. The graph is traced from the Pyro program itself.

# %%
sbn = SigmoidBeliefNet.from_data(train, [64, 16], seed=0)
print(sbn.graph.describe())
pgm.draw(sbn.graph, path=out / "sbn_graph.png", title="SBN 64-16")

# %% [markdown]
# Reweighted wake-sleep with K = 5 particles: weights normalised within each example, so
# minibatches of 20 are fine. The importance estimate with K = 200 is a stochastic lower
# bound of the test log-likelihood in expectation; the ELBO sits below it.

# %%
history = fit(sbn, train, method="rws", n_particles=5, epochs=8, batch_size=20, lr=3e-3, progress=False)
est = importance_log_likelihood(sbn, test, n_samples=200)
print(f"SBN: test log-likelihood ≥ {est.mean:.2f} ± {est.sem:.2f} (K = 200), ELBO {est.elbo:.2f}")
pgm.image_grid(sbn.sample(36, torch.Generator().manual_seed(0)), (8, 8), out / "sbn_samples.png", normalize=None)

# %% [markdown]
# ## A VAE with a two-dimensional latent space
# z ~ N(0, I), p(v | z) Bernoulli with logits from a softplus MLP, q(z | v) Gaussian.
# Trained by Pyro's `Trace_ELBO` (method "elbo"); "iwae" would train the K-sample bound.

# %%
vae = VAE(64, 200, 2, seed=0)
history = fit(vae, train, method="elbo", epochs=8, batch_size=20, lr=3e-3, progress=False)
est = importance_log_likelihood(vae, test, n_samples=200)
print(f"VAE: test log-likelihood ≥ {est.mean:.2f} ± {est.sem:.2f} (K = 200), ELBO {est.elbo:.2f}")
pgm.image_grid(vae.sample(36, torch.Generator().manual_seed(0), mean=True), (8, 8), out / "vae_samples.png",
               normalize=None)

# %% [markdown]
# The encoder's means of the test digits, coloured by their class: the digits sort
# themselves in the latent plane without ever seeing a label.

# %%
with torch.no_grad():
    loc, _ = vae.encode(test)
fig, ax = plt.subplots(figsize=(5, 5))
points = ax.scatter(loc[:, 0], loc[:, 1], c=labels.numpy(), cmap="tab10", s=8)
fig.colorbar(points, ax=ax, label="digit")
ax.set(xlabel="z₁", ylabel="z₂", title="VAE latent means of the test digits")
fig.savefig(out / "vae_latent.png", dpi=100)
plt.close(fig)
