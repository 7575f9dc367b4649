"""Classic wake-sleep on a net whose exact posterior the recognition net can represent."""

import math

import torch
from scipy import stats

from inference.directed import fit_directed, wake_sleep_loss
from inference.directed.wake_sleep import dream
from models import VAE, SigmoidBeliefNet

ALPHA = 1e-4  # failure rate of the statistical test (Bonferroni-split over parameters)
F = torch.nn.functional


def _net(seed=0):
    return SigmoidBeliefNet([6, 1], weight_std=1.5, seed=seed)


def _posterior_logit(net):
    """One latent unit: log p(h=1|x)/p(h=0|x) = c + R x with R = W and
    c = a − Σ_i softplus(W_i + b_i) − softplus(b_i): the recognition net's exact target."""
    w, b = net.generative.layers[0].weight.detach()[:, 0], net.generative.layers[0].bias.detach()
    return w, net.generative.top.detach()[0] - (F.softplus(w + b) - F.softplus(b)).sum()


def test_dreams_are_samples_of_the_generative_program():
    net = _net()
    trace = dream(net, torch.zeros(4000, 6))
    v, h = trace.nodes["v"]["value"], trace.nodes["h1"]["value"]
    assert v.shape == (4000, 6) and h.shape == (4000, 1)
    p_h = float(torch.sigmoid(net.generative.top.detach()))
    assert abs(float(h.mean()) - p_h) <= 4 * math.sqrt(p_h * (1 - p_h) / 4000)


def test_sleep_phase_learns_the_exact_posterior(one_thread):
    """Generative weights fixed: the sleep phase fits q to p(h | x) over dreams, whose
    minimiser is the closed form above (the known answer)."""
    net = _net()
    for p in net.generative.parameters():
        p.requires_grad_(False)
    data = net.sample(1000, torch.Generator().manual_seed(0))
    before = _mean_kl(net, data)
    fit_directed(net, data, method="wake_sleep", epochs=12, batch_size=100, lr=0.05, monitor=0, progress=False)
    after = _mean_kl(net, data)
    # measured: 0.29 nats before, 0.002 after 10 epochs; the minimum is 0 (q can equal p(h|x))
    assert after < 0.01 and after < 0.05 * before, (before, after)
    w, c = _posterior_logit(net)
    r = net.recognition.layers[0]
    assert float((r.weight.detach()[0] - w).abs().max()) < 0.5 and abs(float(r.bias.detach()[0] - c)) < 0.5


def _mean_kl(net, x):
    """(1/n) Σ_n KL(p(h | x_n) ‖ q(h | x_n)), exact by enumeration."""
    states, log_post = net.exact_log_posterior(x)
    log_q = net.guide_log_prob(x[:, None, :], {k: s[None] for k, s in states.items()}).detach().double()
    return float((log_post.exp() * (log_post - log_q)).sum(1).mean())


def test_wake_phase_is_unbiased_for_the_likelihood_gradient_at_the_exact_posterior(one_thread):
    """With q = p(h | x) the wake gradient E_q[∇θ log p(x, h)] is ∇θ log p(x) (Fisher)."""
    net = _net()
    w, c = _posterior_logit(net)
    with torch.no_grad():
        net.recognition.layers[0].weight.copy_(w[None])
        net.recognition.layers[0].bias.fill_(c)
    x = net.sample(3, torch.Generator().manual_seed(1))
    gen = list(net.generative.parameters())
    states = net.all_latent_states()
    exact = torch.autograd.grad(-torch.logsumexp(net.log_joint(x[:, None], {"h1": states["h1"][None]}), 1).mean(), gen)
    exact = torch.cat([g.flatten() for g in exact]).double()
    samples = []
    for g in range(25):
        torch.manual_seed(g)
        loss, _ = wake_sleep_loss(net, x.repeat(200, 1))  # its sleep term has no θ-gradient
        grads = torch.autograd.grad(loss, gen)
        samples.append(torch.cat([gr.flatten() for gr in grads]).double())
    samples = torch.stack(samples)
    mean, se = samples.mean(0), samples.std(0) / math.sqrt(len(samples))
    z = stats.norm.isf(ALPHA / (2 * exact.numel()))
    assert bool(((mean - exact).abs() <= z * se + 1e-6).all()), mean - exact


def test_the_sleep_term_trains_only_the_recognition_net():
    net = _net()
    x = net.sample(50, torch.Generator().manual_seed(0))
    loss, elbo = wake_sleep_loss(net, x)
    gen = list(net.generative.parameters())
    grads = torch.autograd.grad(loss, list(net.recognition.parameters()))
    assert all(bool(g.abs().sum() > 0) for g in grads)
    assert not elbo.requires_grad and elbo.shape == ()
    assert all(p.grad is None for p in gen)


def test_wake_sleep_runs_on_a_vae():
    vae = VAE(6, 8, 2, seed=0)
    x = torch.bernoulli(torch.full((20, 6), 0.3), generator=torch.Generator().manual_seed(0))
    loss, _ = wake_sleep_loss(vae, x)
    loss.backward()
    assert all(p.grad is not None for p in vae.parameters())
