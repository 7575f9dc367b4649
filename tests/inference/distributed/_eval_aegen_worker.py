"""One rank of the two-process evaluations that
``test_split_evaluation_autoencoders_generators.py`` checks.

Started twice with RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set, as ``torchrun``
would: ``python -m tests.inference.distributed._eval_aegen_worker DIR``. Inside one gloo
group it opens, it runs ``pgm eval`` (the command's ``main``, as ``python -m inference.cli``
runs it, its standard output kept) on each model file of DIR, recording the rows that the
autoencoders' deterministic scores were computed on, then the decoder AIS estimators
called from Python. Each rank saves what it saw to DIR/rank<r>.pt.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys

import torch
import torch.distributed as dist

from inference.checkpoint import load_model
from inference.cli import main as pgm
from inference.evaluation.decoder_ais import decoder_ais, reverse_decoder_ais
from models import Autoencoder
from models.autoencoders import StackedAutoencoder

#: The seed of the autoencoders' evaluations (corruptions, walk-back noise).
SEED = 3
#: Decoder AIS on the command line and from Python: σ, K chains, evenly spaced βs, seed.
SIGMA, CHAINS, BETAS, AIS_SEED = 0.5, 3, 6, 4
AIS_ARGS = ["--method", "ais", "--sigma", str(SIGMA), "--chains", str(CHAINS), "--betas", str(BETAS), "--seed",
            str(AIS_SEED)]
#: Which data file each model is evaluated on.
DATA = {"ae": "data.pt", "dae": "data.pt", "stacked": "data.pt", "gsn": "data.pt", "gan": "data.pt",
        "cgan": "labelled.pt", "dcgan": "images.pt", "gmmn": "data.pt"}
GENERATORS = ("gan", "cgan", "dcgan", "gmmn")


def data(n: int = 7, width: int = 6, seed: int = 5) -> torch.Tensor:
    """Odd rows: two ranks pad one."""
    return torch.bernoulli(torch.full((n, width), 0.4), generator=torch.Generator().manual_seed(seed))


def labels(n: int = 7) -> torch.Tensor:
    """The class (of 3) of each row of the conditional GAN's data."""
    return torch.arange(n) % 3


def betas() -> torch.Tensor:
    return torch.linspace(0, 1, BETAS, dtype=torch.float64)


def argv(name: str, folder) -> list:
    """``pgm eval`` of the model ``name`` in ``folder``."""
    extra = AIS_ARGS if name in GENERATORS else ["--seed", str(SEED)]
    return ["eval", os.path.join(folder, f"{name}.pt"), "--data", os.path.join(folder, DATA[name]), *extra]


def posterior(n: int = 7) -> torch.Tensor:
    """Stand-in posterior draws (n, K, 2) for the reverse AIS."""
    return torch.randn(n, CHAINS, 2, generator=torch.Generator().manual_seed(9))


def _recording(seen: list):
    """Wrap the deterministic per-row scores of the autoencoders so that they note their rows."""
    for cls, name in ((Autoencoder, "log_prob"), (Autoencoder, "contraction_norm"), (StackedAutoencoder, "log_prob")):
        def noted(self, x, *rest, _method=getattr(cls, name), **options):
            seen.append(x.detach().clone())
            return _method(self, x, *rest, **options)
        setattr(cls, name, noted)


def main(folder: str) -> None:
    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])
    seen, got = [], {}
    _recording(seen)
    dist.init_process_group("gloo")
    try:
        for name in DATA:
            seen.clear()
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = pgm(argv(name, folder))
            got[name] = {"code": code, "printed": out.getvalue(), "rows": list(seen)}
        gan, x = load_model(os.path.join(folder, "gan.pt")), data()
        log_lik, n_latent = gan.decoder(SIGMA)
        est = decoder_ais(log_lik, n_latent, x, n_chains=CHAINS, betas=betas(), checkpoints=2, seed=AIS_SEED)
        got["forward"] = est._asdict()
        got["reverse"] = reverse_decoder_ais(log_lik, posterior(), x, betas=betas(), seed=AIS_SEED,
                                             distributed=True)._asdict()
        cgan = load_model(os.path.join(folder, "cgan.pt"))  # labels bound for all rows: refused, not misaligned
        bound, n_latent = cgan.decoder(SIGMA, labels(6))
        try:
            decoder_ais(bound, n_latent, data(6), n_chains=CHAINS, betas=betas(), seed=AIS_SEED)
            got["bound_labels"] = None
        except ValueError as err:
            got["bound_labels"] = str(err)
    finally:
        dist.destroy_process_group()
    torch.save(got, os.path.join(folder, f"rank{rank}.pt"))


if __name__ == "__main__":
    main(sys.argv[1])
