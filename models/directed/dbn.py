r"""The deep belief net: an RBM over the top two layers, sigmoid layers below, one Pyro program."""

from __future__ import annotations

import pyro
import pyro.distributions as dist
import torch
from torch import nn

import pgm

from ..energy import RBM
from pgm.checks import check_init, check_int, check_memory, check_sizes, validation_disabled
from .base import DirectedModel

__all__ = ["DBN"]


class DBN(DirectedModel):
    r"""A deep belief net (Hinton, Osindero & Teh 2006) written as one Pyro program.

    With layers h_0 = v, h_1, …, h_L (``sizes = [n_0, …, n_L]``, L ≥ 2), the top two
    layers form an RBM and the layers below are directed sigmoid layers:

    .. math::

        p(h_{L-1}, h_L) = \frac{e^{-E(h_{L-1}, h_L)}}{Z}, \quad
        p(h_{L-1}) = \frac{e^{-F(h_{L-1})}}{Z}, \quad
        p(h_{l-1} \mid h_l) = \prod_i \sigma(W_l h_l + b_{l-1})_i^{h_{l-1,i}}
            (1 - \sigma(W_l h_l + b_{l-1})_i)^{1 - h_{l-1,i}},

    for l = 1, …, L − 1, with E the RBM energy of :attr:`top` and F its free energy (h_L
    summed out). The recognition net (the up-pass) is
    q(h_l | h_{l-1}) = Bernoulli(σ(R_l h_{l-1} + c_l)) for l = 1, …, L − 1; after greedy
    training R_l = W_lᵀ, the transposed generative weights.

    The program samples h_{L-1} from :attr:`prior`, a distribution over the top RBM's
    visible layer that the inference side supplies (``inference.EnergyDistribution``: Gibbs
    sampling and −F − log Z with an estimated log Z; ``models`` does not import
    ``inference``), then each layer given the one above, with ``obs=`` on v.

    Parameters
    ----------
    sizes : sequence of int
        Layer sizes from the visible layer up, at least three (two make an RBM).
    weight_std : float, default 0.01
        Standard deviation of the initial Gaussian weights (biases start at zero); the
        recognition weights start as the transposed generative ones.
    seed : int, optional
        Seed of the initialisation; ``None`` draws from torch's global generator.

    Attributes
    ----------
    top : models.RBM
        The RBM over (h_{L−1}, h_L): its ``v`` is h_{L−1}, its ``h`` is h_L.
    generative : nn.ModuleList
        ``generative[l - 1]`` maps h_l to the logits of h_{l−1} (W_l, b_{l−1}), l < L.
    recognition : nn.ModuleList
        ``recognition[l - 1]`` maps h_{l−1} to the logits of h_l (R_l, c_l), l < L.
    prior : Distribution or None
        The distribution of h_{L−1} the program samples from; set by the caller, e.g.
        ``dbn.prior = inference.EnergyDistribution(dbn.top, log_z=...)``. It is not
        saved with the model (its log Z belongs to the current parameters).
    graph : pgm.Graph
        The directed part traced from the program with :func:`pgm.from_pyro`
        (``h{L-1}`` → … → ``v``), joined with the top RBM's undirected edge
        ``h{L-1}`` — ``h{L}``.

    Notes
    -----
    Sample sites are ``"h{L-1}"``, …, ``"h1"`` and ``"v"``, each (batch, units) inside
    ``pyro.plate("data")``; h_L is summed out of the program (it appears in the graph).

    References
    ----------
    G. Hinton, S. Osindero, Y. Teh, "A fast learning algorithm for deep belief nets",
    Neural Computation, 2006.

    Examples
    --------
    >>> dbn = DBN([6, 4, 3], seed=0)
    >>> sorted(dbn.graph.parents("v")), sorted(dbn.graph.neighbours("h1"))
    (['h1'], ['h2'])
    """

    #: The training method :func:`inference.fit` uses when none is given.
    default_method = "greedy"

    def __init__(self, sizes, *, weight_std: float = 0.01, seed: int | None = None):
        super().__init__()
        sizes = check_sizes(sizes, "DBN", 3, "visible, and the top RBM's two",
                            "; a two-layer model is an RBM (models.RBM)")
        weight_std, seed = check_init("DBN", weight_std, seed)
        check_memory("DBN", 2 * sum(a * b for a, b in zip(sizes, sizes[1:])))
        self.sizes, self.weight_std, self.seed = list(sizes), float(weight_std), seed
        self.n_visible, self.n_layers = sizes[0], len(sizes) - 1
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        self.generative = nn.ModuleList(nn.Linear(sizes[l], sizes[l - 1]) for l in range(1, self.n_layers))
        self.recognition = nn.ModuleList(nn.Linear(sizes[l - 1], sizes[l]) for l in range(1, self.n_layers))
        with torch.no_grad():
            for down, up in zip(self.generative, self.recognition):
                down.weight.copy_(torch.randn(down.weight.shape, generator=gen) * weight_std)
                up.weight.copy_(down.weight.t())
                down.bias.zero_()
                up.bias.zero_()
        top_seed = None if gen is None else int(torch.randint(0, 2**62, (), generator=gen, device="cpu"))
        self.top = RBM(sizes[-2], sizes[-1], weight_std=weight_std, seed=top_seed)
        self.prior = None
        self.graph = self._build_graph()

    def config(self) -> dict:
        return {"sizes": list(self.sizes), "weight_std": self.weight_std, "seed": self.seed}

    @property
    def latent_names(self) -> list[str]:
        """The program's latent sites ``["h1", …, "h{L-1}"]``, bottom-up (h_L is summed out)."""
        return [f"h{l}" for l in range(1, self.n_layers)]

    # -- the graph ---------------------------------------------------------------------
    def _build_graph(self) -> pgm.Graph:
        """The directed layers traced from the program, plus the top RBM's undirected pair.

        Tracing reads only the program's structure (sites, shapes, plates, dependencies),
        so the top site is traced with a factorial Bernoulli of the same shape standing in
        for :attr:`prior`; its kind comes from the top RBM's graph.
        """
        below, top_name = f"h{self.n_layers - 1}", f"h{self.n_layers}"
        stand_in = dist.Bernoulli(logits=torch.zeros(self.sizes[-2]), validate_args=False).to_event(1)
        with torch.no_grad(), validation_disabled():  # no values to check (and none on the meta device)
            x = torch.zeros(1, self.n_visible, dtype=self.dtype, device=self.device)
            traced = pgm.from_pyro(self._program, x, stand_in)
        rbm = self.top.graph
        rename = {"v": below, "h": top_name}
        groups = [pgm.VariableGroup(g.name, g.size, rbm["v"].kind if g.name == below else g.kind, g.observed)
                  for g in traced.groups]
        groups.append(pgm.VariableGroup(top_name, rbm["h"].size, rbm["h"].kind))
        edges = [*traced.edges, *(pgm.Edge(rename[e.src], rename[e.dst], e.directed) for e in rbm.edges)]
        plates = [pgm.Plate(p.name, (*p.members, top_name), p.size, p.dim) for p in traced.plates]
        return pgm.Graph(groups, edges, plates)

    # -- the Pyro programs -------------------------------------------------------------
    def _program(self, x: torch.Tensor, prior) -> None:
        L = self.n_layers
        with pyro.plate("data", x.shape[0]):
            h = pyro.sample(f"h{L - 1}", prior)
            for l in range(L - 1, 0, -1):
                site = "v" if l == 1 else f"h{l - 1}"
                h = pyro.sample(site, dist.Bernoulli(logits=self.generative[l - 1](h)).to_event(1),
                                obs=x if l == 1 else None)

    def check_prior(self, where: str = "DBN.model"):
        """:attr:`prior`, checked: a distribution over h_{L−1} made for :attr:`top`."""
        prior = self.prior
        if prior is None:
            raise ValueError(f"{where}: the top RBM enters the program through dbn.prior, which is not set; set "
                             "dbn.prior = inference.EnergyDistribution(dbn.top, log_z=...) "
                             "(inference.set_dbn_prior(dbn) does it with an exact or AIS log Z)")
        if getattr(prior, "energy_model", None) is not self.top:
            raise ValueError(f"{where}: dbn.prior must be a distribution over the visible layer of dbn.top "
                             f"(an EnergyDistribution made for dbn.top), got {prior!r}")
        if tuple(prior.event_shape) != (self.sizes[-2],):
            raise ValueError(f"{where}: dbn.prior must have event shape ({self.sizes[-2]},), got "
                             f"{tuple(prior.event_shape)}")
        return prior

    def model(self, x: torch.Tensor) -> None:
        """The generative program p(h_{L−1}) ∏_{l<L} p(h_{l−1} | h_l), ``v`` observed as ``x``
        (shape (batch, n_visible), binary); h_{L−1} is drawn from :attr:`prior`."""
        x = self.check_data(x)
        self._program(x, self.check_prior())

    def guide(self, x: torch.Tensor) -> None:
        """The up-pass ∏_{l<L} q(h_l | h_{l−1}) from h_0 = ``x``."""
        x = self.check_data(x)
        with pyro.plate("data", x.shape[0]):
            h = x
            for l in range(1, self.n_layers):
                h = pyro.sample(f"h{l}", dist.Bernoulli(logits=self.recognition[l - 1](h)).to_event(1))

    # -- plain tensor code -------------------------------------------------------------
    @torch.no_grad()
    def up_pass(self, x: torch.Tensor, generator: torch.Generator | None = None, mean: bool = True) -> list:
        """The recognition net's layers ``[q(h_1), …, q(h_{L−1})]`` from ``x`` (batch, n_visible):
        probabilities propagated as they are (``mean=True``), or binary draws layer by
        layer from ``generator``."""
        out, h = [], x.to(dtype=self.dtype, device=self.device)
        for up in self.recognition:
            h = torch.sigmoid(up(h))
            if not mean:
                h = torch.bernoulli(h, generator=generator)
            out.append(h)
        return out

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        r"""The up-pass means to the top layer the recognition net reaches, then the
        generative net's means down to the visible units, shape (n, n_visible)."""
        h = self.up_pass(self.check_data(x, "x"))[-1]
        for down in reversed(self.generative):
            h = torch.sigmoid(down(h))
        return h

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, latents: bool = False):
        """``n`` draws: h_{L−1} from :attr:`prior` (Gibbs chains in the top RBM), then one
        ancestral pass down the sigmoid layers.

        Returns the visible samples, shape (n, n_visible), or with ``latents=True`` a dict
        of every sampled layer (``"v"``, ``"h1"``, …, ``"h{L-1}"``).
        """
        n = check_int(n, "n", 0, where="DBN.sample")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"DBN.sample: generator must be a torch.Generator or None, got {type(generator).__name__}")
        prior = self.check_prior("DBN.sample")
        L = self.n_layers
        h = prior.sample((n,), generator=generator).to(self.dtype)
        out = {f"h{L - 1}": h}
        for l in range(L - 1, 0, -1):
            h = torch.bernoulli(torch.sigmoid(self.generative[l - 1](h)), generator=generator)
            out["v" if l == 1 else f"h{l - 1}"] = h
        return out if latents else out["v"]

    def layer_rbm(self, l: int) -> RBM:
        """The RBM of layer pair (h_{l−1}, h_l) that greedy training fits: for l < L a new
        RBM with W = W_l, b = b_{l−1} (generative bias) and c = c_l (recognition bias);
        for l = L, :attr:`top` itself."""
        l = check_int(l, "l", 1, where="DBN.layer_rbm")
        if l > self.n_layers:
            raise ValueError(f"DBN.layer_rbm: l must be in 1..{self.n_layers}, got {l}")
        if l == self.n_layers:
            return self.top
        rbm = RBM(self.sizes[l - 1], self.sizes[l], weight_std=self.weight_std).to(self.dtype).to(self.device)
        with torch.no_grad():
            rbm.W.copy_(self.generative[l - 1].weight)
            rbm.b.copy_(self.generative[l - 1].bias)
            rbm.c.copy_(self.recognition[l - 1].bias)
        return rbm

    @torch.no_grad()
    def set_layer(self, l: int, rbm: RBM) -> None:
        """Tie layer l < L to a trained RBM: W_l = R_lᵀ = rbm.W (n_{l−1} × n_l), b_{l−1} = rbm.b,
        c_l = rbm.c."""
        l = check_int(l, "l", 1, where="DBN.set_layer")
        if l >= self.n_layers:
            raise ValueError(f"DBN.set_layer: l must be in 1..{self.n_layers - 1} (the top RBM is dbn.top), got {l}")
        if not isinstance(rbm, RBM) or (rbm.n_visible, rbm.n_hidden) != (self.sizes[l - 1], self.sizes[l]):
            raise ValueError(f"DBN.set_layer: rbm must be an RBM({self.sizes[l - 1]}, {self.sizes[l]}), got {rbm!r}")
        self.generative[l - 1].weight.copy_(rbm.W)
        self.generative[l - 1].bias.copy_(rbm.b)
        self.recognition[l - 1].weight.copy_(rbm.W.t())
        self.recognition[l - 1].bias.copy_(rbm.c)
