"""``pgm eval`` of the autoencoders and the generators split across two gloo processes.

One module fixture starts the two ranks of ``_eval_aegen_worker.py`` once (as ``torchrun``
would) and the tests read what each rank saved. Rank r of 2 takes the rows r, r + 2, ...
of the 7 (rank 1 also row 0 again, the sampler's padding): the autoencoders' deterministic
scores are the one-process numbers, computed by each rank on its rows only; what draws
noise (corruptions, walk-back noise, decoder AIS) is what one process computes on each
rank's rows with seed + r, the rows then put back in order without the padding.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from models import Autoencoder
from models.adversarial import DCGAN, GAN, GMMN
from models.autoencoders import GSN, StackedAutoencoder

from inference.checkpoint import load_model, save_model
from inference.cli import main as pgm
from inference.evaluation.decoder_ais import decoder_ais, reverse_decoder_ais
from inference.mcmc import make_generator

from . import _eval_aegen_worker as worker
from ._launch import run_ranks

#: Each rank's rows of 7 on 2 ranks; the last of rank 1's is the padding (row 0 again).
SHARDS = [torch.tensor([0, 2, 4, 6]), torch.tensor([1, 3, 5, 0])]
KEPT = [4, 3]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Tiny models of each family as model files, and 7 rows of data for them."""
    out = tmp_path_factory.mktemp("split_eval_aegen")
    models = {"ae": Autoencoder(6, 3, seed=0), "dae": Autoencoder(6, 3, noise="masking", noise_level=0.3, seed=0),
              "stacked": StackedAutoencoder([6, 4, 3], seed=0), "gsn": GSN([6, 4, 3], walkback=2, seed=0),
              "gan": GAN(6, 2, (5,), seed=0), "cgan": GAN(6, 2, (5,), n_classes=3, seed=0),
              "dcgan": DCGAN(4, 2, 2, seed=0), "gmmn": GMMN(6, 2, (5,), seed=0)}
    for name, model in models.items():
        save_model(out / f"{name}.pt", model)
    torch.save(worker.data(), out / "data.pt")
    torch.save(torch.cat([worker.data(), torch.eye(3)[worker.labels()]], 1), out / "labelled.pt")
    torch.save(worker.data(width=16, seed=6), out / "images.pt")
    return out


@pytest.fixture(scope="module")
def ranks(files):
    """What ranks 0 and 1 saved."""
    run_ranks("tests.inference.distributed._eval_aegen_worker", files)
    return [torch.load(files / f"rank{r}.pt", weights_only=True) for r in range(2)]


def _alone(name, files, capsys) -> dict:
    """What ``pgm eval`` prints on one process."""
    capsys.readouterr()
    assert pgm(worker.argv(name, str(files))) == 0
    return json.loads(capsys.readouterr().out)


def _split(ranks, name) -> dict:
    """Rank 0's printed result; rank 1 printed nothing."""
    r0, r1 = ranks[0][name], ranks[1][name]
    assert r0["code"] == r1["code"] == 0 and r1["printed"] == ""
    return json.loads(r0["printed"])


def _gathered(per_rank) -> torch.Tensor:
    """One process's per-row values of each rank's rows, ``per_rank(rows, r)``, in the rows' order."""
    out = torch.empty(7, dtype=torch.float64)
    for r, rows in enumerate(SHARDS):
        out[rows[:KEPT[r]]] = per_rank(rows, r)[:KEPT[r]]
    return out


def _summary(per_row: torch.Tensor) -> dict:
    return {"mean": float(per_row.mean()), "sem": float(per_row.std() / math.sqrt(per_row.numel())), "n": 7}


def _same(got: dict, want: dict, skip=(), rel=0.0) -> None:
    assert set(got) == set(want)
    for key, value in want.items():
        if key not in skip:
            assert got[key] == (pytest.approx(value, rel=rel, abs=1e-12) if isinstance(value, float) else value), key


# the autoencoder's rows: its contraction and its log P(x | h); the stack's log P(x | h) and its first
# layer's. The stack's float32 layers round a row differently in a batch of 4 than of 7 (about 1e-8).
@pytest.mark.parametrize("name, calls, rel", [("ae", 2, 0.0), ("stacked", 2, 1e-6)])
def test_deterministic_scores_are_the_one_process_numbers_from_each_rank_s_rows(ranks, files, one_process, capsys,
                                                                                name, calls, rel):
    _same(_split(ranks, name), _alone(name, files, capsys), rel=rel)
    x = worker.data()
    for r in range(2):
        seen = ranks[r][name]["rows"]
        assert len(seen) == calls and all(torch.equal(rows, x[SHARDS[r]]) for rows in seen)


def test_denoising_error_is_each_rank_s_corruptions_from_seed_plus_rank(ranks, files, one_process, capsys):
    model, x = load_model(files / "dae.pt"), worker.data()
    got = _split(ranks, "dae")
    _same(got, _alone("dae", files, capsys), skip=("denoise_error",))
    assert all(torch.equal(rows, x[SHARDS[r]]) for r in range(2) for rows in ranks[r]["dae"]["rows"])

    def denoise(rows, r):
        with torch.no_grad():
            x_in = model.corruption.sample(x[rows], make_generator(worker.SEED + r))
            return (model.decode(model.encode(x_in)) - x[rows]).double().square().sum(-1)

    want = _gathered(denoise)
    assert got["denoise_error"] == pytest.approx(float(want.mean()), rel=0, abs=1e-12)
    whole = float(denoise(torch.arange(7), 0).mean())  # one process's draws differ
    assert got["denoise_error"] != pytest.approx(whole, rel=0, abs=1e-12)


def test_gsn_walkback_is_each_rank_s_noise_from_seed_plus_rank(ranks, files, one_process, capsys):
    model, x = load_model(files / "gsn.pt"), worker.data()
    got = _split(ranks, "gsn")
    per = {}

    def walk(rows, r):
        with torch.no_grad():
            last = model.reconstructions(x[rows], torch.Generator().manual_seed(worker.SEED + r))[-1]
            per.setdefault("nll", []).append(-model.log_prob(x[rows], last).double())
            return (last - x[rows]).double().square().sum(-1)

    err = _gathered(walk)
    nll = _gathered(lambda rows, r: per["nll"][r])
    _same(got, _alone("gsn", files, capsys), skip=("walkback_recon_error", "walkback_nll"))
    assert got["walkback_recon_error"] == pytest.approx(float(err.mean()), rel=0, abs=1e-12)
    assert got["walkback_nll"] == pytest.approx(float(nll.mean()), rel=0, abs=1e-12)


@pytest.mark.parametrize("name", worker.GENERATORS)
def test_decoder_ais_of_a_generator_is_each_rank_s_rows_from_seed_plus_rank(ranks, files, one_process, capsys,
                                                                           name):
    """Rank r anneals its rows with seed + r; a conditional GAN's labels go with their rows."""
    model = load_model(files / f"{name}.pt")
    x = torch.load(files / worker.DATA[name], weights_only=True)[:, :model.n_visible]
    y = worker.labels() if name == "cgan" else None

    def ais(rows, r):
        log_lik, n_latent = model.decoder(worker.SIGMA, None if y is None else y[rows])
        return decoder_ais(log_lik, n_latent, x[rows], n_chains=worker.CHAINS, betas=worker.betas(),
                           seed=worker.AIS_SEED + r, distributed=False).log_likelihood

    got = _split(ranks, name)
    _same(got, _alone(name, files, capsys), skip=("log_likelihood",))
    want = _summary(_gathered(ais))
    assert got["log_likelihood"]["n"] == 7
    for key in ("mean", "sem"):
        assert got["log_likelihood"][key] == pytest.approx(want[key], rel=1e-9, abs=1e-9)


def test_decoder_ais_from_python_gathers_the_rows_and_their_trace(ranks, files, one_process):
    r0, r1 = ranks[0]["forward"], ranks[1]["forward"]
    model, x = load_model(files / "gan.pt"), worker.data()
    log_lik, n_latent = model.decoder(worker.SIGMA)
    own = [decoder_ais(log_lik, n_latent, x[rows], n_chains=worker.CHAINS, betas=worker.betas(), checkpoints=2,
                       seed=worker.AIS_SEED + r, distributed=False) for r, rows in enumerate(SHARDS)]
    for key in ("log_likelihood", "sem", "ess"):
        assert torch.equal(r0[key], r1[key])  # every rank returns the whole data set's estimate
        want = _gathered(lambda rows, r: getattr(own[r], key))
        torch.testing.assert_close(r0[key], want, rtol=1e-9, atol=1e-9)
    assert r0["accept"] == r1["accept"] == pytest.approx((own[0].accept + own[1].accept) / 2, rel=1e-9)
    trace, K, C = r0["trace"], worker.CHAINS, len(own[0].trace["betas"])
    assert torch.equal(trace["betas"], own[0].trace["betas"]) and trace["log_w"].shape == (C, 7 * K)
    for r, rows in enumerate(SHARDS):  # chains example-major: row i's K chains at i K, ..., i K + K - 1
        chains = own[r].trace["log_w"].view(C, 4, K)[:, :KEPT[r]]
        torch.testing.assert_close(trace["log_w"].view(C, 7, K)[:, rows[:KEPT[r]]], chains, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(trace["accept"], (own[0].trace["accept"] + own[1].trace["accept"]) / 2)


def test_reverse_decoder_ais_takes_each_row_s_posterior_draws_to_its_rank(ranks, files, one_process):
    r0, r1 = ranks[0]["reverse"], ranks[1]["reverse"]
    model, x, z = load_model(files / "gan.pt"), worker.data(), worker.posterior()
    log_lik, _ = model.decoder(worker.SIGMA)
    assert torch.equal(r0["log_likelihood"], r1["log_likelihood"]) and r0["direction"] == "reverse"
    want = _gathered(lambda rows, r: reverse_decoder_ais(log_lik, z[rows], x[rows], betas=worker.betas(),
                                                         seed=worker.AIS_SEED + r,
                                                         distributed=False).log_likelihood)
    torch.testing.assert_close(r0["log_likelihood"], want, rtol=1e-9, atol=1e-9)


def test_one_process_decoder_ais_of_a_conditional_gan_reads_the_labels_from_the_rows(files, one_process):
    """The label columns that ``pgm eval`` passes give the estimate of the labels bound in."""
    import argparse

    from inference.families import lookup

    model, rows = load_model(files / "cgan.pt"), torch.load(files / "labelled.pt", weights_only=True)
    args = argparse.Namespace(method="ais", sigma=worker.SIGMA, chains=worker.CHAINS, betas=worker.BETAS,
                              seed=worker.AIS_SEED)
    got = lookup("cgan").evaluate(model, rows, args, None)["log_likelihood"]
    log_lik, n_latent = model.decoder(worker.SIGMA, worker.labels())
    want = decoder_ais(log_lik, n_latent, rows[:, :6], n_chains=worker.CHAINS, betas=worker.betas(),
                       seed=worker.AIS_SEED).log_likelihood
    assert got["mean"] == float(want.mean()) and got["sem"] == float(want.std() / math.sqrt(7))


def test_decoder_ais_refuses_to_split_rows_whose_labels_are_bound_in_log_lik(ranks):
    """6 rows × 3 chains on a rank is a multiple of the 6 bound labels: splitting would
    silently misalign them, so it is refused with the way out."""
    for r in ranks:
        assert r["bound_labels"] is not None and "labels of 6 rows bound in" in r["bound_labels"]
        assert "distributed=False" in r["bound_labels"]
