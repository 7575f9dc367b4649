# %% [markdown]
# # Covariance units on natural-image patches: the mcRBM and the mPoT
#
# A Gaussian RBM's hidden units move the *mean* of its visible units; the variance stays
# fixed. Natural images are not like that: a smooth patch has strongly correlated
# neighbouring pixels, an edge breaks the correlation. The mean-covariance RBM (Ranzato &
# Hinton 2010) adds *covariance units* that read squared factor outputs (Cᵀv)² and, when
# they switch off, relax the precision along their factors; the mean product of
# Student-t experts (mPoT, Ranzato, Mnih & Hinton 2010) does the same with Gamma units. Both
# are trained here on whitened 8×8 patches by a persistent Hamiltonian Monte Carlo
# negative phase, scored by AIS with HMC transitions, and compared with a
# full-covariance Gaussian. Run it as a script:
#
#     python tutorials/covariance_patches.py [output-folder] [--full]
#
# From the command line: `pgm fit mcrbm` (its default data are `--data patches`).

# %%
import sys
from pathlib import Path

import torch

import pgm
from inference import fit, gibbs, log_likelihood, make_generator
from inference.learning import PersistentHMC
from inference.partition import exact_log_partition, hmc_ais_log_partition
from models import MeanCovarianceRBM, MPoT

FULL = "--full" in sys.argv[1:]
args = [a for a in sys.argv[1:] if not a.startswith("--")]
out = Path(args[0] if args else "runs/tutorials/covariance_patches")
out.mkdir(parents=True, exist_ok=True)
torch.set_num_threads(1)

# %% [markdown]
# ## Data
# `pgm.load_patches` cuts patches out of the two photographs scikit-learn ships, training
# patches from the left three quarters of each photograph and test patches from the right
# quarter, removes each patch's mean and PCA-whitens them with the training patches'
# covariance. The DC direction has no variance left, so an 8×8 patch becomes 63 whitened
# coordinates; the returned transform maps them back to pixels for pictures.

# %%
train, transform = pgm.load_patches(n=10000 if FULL else 600, return_transform=True)
test = pgm.load_patches(n=2000 if FULL else 500, split="test")
print(train.shape, test.shape, f"variance per coordinate {float(train.var(0).mean()):.3f}")
pgm.image_grid(transform.dewhiten(train[:36]), (8, 8), out / "data.png", normalize="global", title="patches")

# %% [markdown]
# ## The model
# E(v, h^c, h^m) = ½vᵀv − bᵀv + Σ_k h^c_k(½ Σ_f P_fk (C_fᵀv)² − b^c_k) − Σ_j h^m_j(W_jᵀv + c_j):
# given the hidden units v is Gaussian with mean Λ⁻¹(b + W h^m) and the *full*
# covariance Λ⁻¹, Λ = I + C diag(P h^c) Cᵀ. The hidden units sum out in closed form
# (the free energy F(v)), and so does v given them: for a tiny model log Z is exact by
# enumerating the hidden units.

# %%
tiny = MeanCovarianceRBM(3, 4, n_mean=2, seed=0)
print(tiny.graph.describe())
print(f"a tiny mcRBM's exact log Z: {exact_log_partition(tiny).log_z:.4f}")
mcrbm = MeanCovarianceRBM.from_data(train, 64 if FULL else 32, n_mean=16 if FULL else 8, seed=0,
                                    pixel_map=transform.dewhiten_matrix)
pgm.draw(mcrbm.graph, path=out / "mcrbm_graph.png", title="mcRBM")

# %% [markdown]
# ## Training by HMC on the free energy
# `fit(..., method="hmc")` (the model's default) runs persistent HMC chains on −F(v):
# every update advances them by one transition of 20 leapfrog steps, each chain's step
# size adapting toward a 90 % acceptance rate, and writes ⟨∂F/∂θ⟩_data − ⟨∂F/∂θ⟩_chains
# into `.grad` for SGD. After every step P is projected back onto its constraint set
# (non-negative, columns summing to one: `project_parameters`).

# %%
opts = dict(epochs=10 if FULL else 2, batch_size=100, seed=0, progress=False, monitor=0)
history = fit(mcrbm, train, hmc=PersistentHMC(), **opts)
print("HMC acceptance per epoch:", [round(a, 3) for a in history.hmc_accept])
print(f"P ≥ 0: {bool((mcrbm.P >= 0).all())}, column sums {float(mcrbm.P.detach().sum(0).min()):.3f}")
mpot = MPoT.from_data(train, 64 if FULL else 32, n_mean=16 if FULL else 8, seed=0, pixel_map=transform.dewhiten_matrix)
fit(mpot, train, hmc=PersistentHMC(), **opts)

# %% [markdown]
# ## Test log-density
# AIS anneals (1 − β) log N(v) − β F(v) from the maximum-likelihood Gaussian of the
# training patches, with HMC transitions whose step sizes a pilot run learns; the bracket
# is ±3 standard errors of Ẑ. The Gaussian itself is the baseline, exactly.

# %%
x = train.double()
mu = x.mean(0)
gauss = torch.distributions.MultivariateNormal(mu, (x - mu).T @ (x - mu) / x.shape[0])
print(f"full-covariance Gaussian: {float(gauss.log_prob(test.double()).mean()):.2f} nats per patch")
for name, model in (("mcRBM", mcrbm), ("mPoT", mpot)):
    est = hmc_ais_log_partition(model, n_chains=100 if FULL else 16, n_steps=1000 if FULL else 30, data=train)
    ll = log_likelihood(model, test, est)
    print(f"{name}: {ll.mean:.2f} [{ll.lower:.2f}, {ll.upper:.2f}] nats per patch (AIS ESS {est.ess:.0f})")

# %% [markdown]
# ## Filters and samples
# The factor filters C, drawn as pixels through the dewhitening, and block Gibbs samples
# (v given the hidden units is a full-covariance Gaussian; the pictures show its mean).

# %%
pgm.filter_grid(mcrbm.to_pixels(mcrbm.C.detach().t()).t(), (8, 8), out / "filters.png", n=32,
                title="mcRBM factor filters C (as pixels)")
gen = make_generator(0)
state = gibbs.run(mcrbm, gibbs.init(mcrbm, 36, gen), 200 if FULL else 20, gen)
with torch.no_grad():
    means = mcrbm.conditional("v", state.values).mean
pgm.image_grid(mcrbm.to_pixels(means), (8, 8), out / "samples.png", normalize="global",
               title="mcRBM Gibbs samples (E[v | h], as pixels)")
print(f"wrote the pictures to {out}/")
