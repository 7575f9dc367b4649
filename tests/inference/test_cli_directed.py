"""pgm fit / eval / sample / graph for the directed models (sbn, helmholtz, vae)."""

import json

import pytest
import torch

from inference.checkpoint import load_model
from inference.cli import main
from models import VAE, HelmholtzMachine, SigmoidBeliefNet
from tests.inference.cli_run import run_ok as _ok



def test_sbn_fit_eval_sample_graph(tmp_path, capsys, one_thread):
    out = tmp_path / "sbn"
    _ok(["fit", "sbn", "--layers", "6", "--epochs", "1", "--batch-size", "100", "--method", "rws",
         "--particles", "3", "--no-progress", "--out", str(out)])
    model = load_model(out / "model.pt")
    assert isinstance(model, SigmoidBeliefNet) and model.sizes == [64, 6]
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"] == [1] and history["elbo"][0] < 0
    capsys.readouterr()
    _ok(["eval", str(out / "model.pt"), "--samples", "20", "--no-progress"])
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "importance" and result["n_samples"] == 20 and result["log_likelihood"]["n"] == 359
    assert result["elbo"]["mean"] <= result["log_likelihood"]["mean"]
    _ok(["sample", str(out / "model.pt"), "--n", "4", "--out", str(tmp_path / "s.pt")])
    samples = torch.load(tmp_path / "s.pt", weights_only=True)
    assert samples.shape == (4, 64) and set(samples.unique().tolist()) <= {0.0, 1.0}
    _ok(["graph", "sbn:64x32x16", "--out", str(tmp_path / "g.png")])
    assert "h2 -> h1" in capsys.readouterr().out and (tmp_path / "g.png").stat().st_size > 0


@pytest.mark.parametrize("method", [None, "wake_sleep"])
def test_helmholtz_is_the_sbn_trained_by_wake_sleep_or_rws(method, tmp_path, one_thread):
    out = tmp_path / "hm"
    _ok(["fit", "helmholtz", "--layers", "5", "3", "--epochs", "1", "--batch-size", "200", "--no-progress",
         "--out", str(out), *(["--method", method] if method else ["--particles", "2"])])  # wake-sleep: no particles
    model = load_model(out / "model.pt")
    assert isinstance(model, HelmholtzMachine) and model.sizes == [64, 5, 3]
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"] == [1] and history["elbo"][0] < 0
    # the default is RWS, whose reported bound is the K-sample bound; wake-sleep reports the ELBO
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert json.loads(ckpt["fit"])["method"] == (method or "rws")


def test_vae_fit_and_sample(tmp_path, one_thread):
    out = tmp_path / "vae"
    _ok(["fit", "vae", "--hidden", "8", "--latent", "2", "--epochs", "1", "--batch-size", "200", "--no-progress",
         "--out", str(out)])
    model = load_model(out / "model.pt")
    assert isinstance(model, VAE) and model.config()["n_latent"] == 2
    _ok(["sample", str(out / "model.pt"), "--n", "4", "--out", str(tmp_path / "v.png")])
    assert (tmp_path / "v.png").stat().st_size > 0


@pytest.mark.parametrize("argv, message", [
    (["fit", "sbn", "--method", "cd"], "--method cd does not apply to the sbn model"),
    (["fit", "vae", "--evaluate", "exact"], "--evaluate exact does not apply to the vae model"),
    (["fit", "rbm", "--method", "rws"], "--method rws does not apply to the rbm model"),
    (["fit", "helmholtz", "--method", "nvil"], "--method nvil does not apply to the helmholtz model (it takes "
                                               "--method rws|wake_sleep); --method nvil applies to sbn, vae"),
    (["graph", "sbn:64"], "expected at least two sizes"),
    (["graph", "vae:64x10"], "expected three sizes"),
])
def test_directed_usage_errors(argv, message, tmp_path, capsys):
    assert main([*argv, *(["--out", str(tmp_path / "o")] if argv[0] == "fit" else [])]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_eval_refuses_ais_for_a_directed_model(tmp_path, capsys):
    from inference.checkpoint import save_model

    save_model(tmp_path / "m.pt", SigmoidBeliefNet([64, 4], seed=0))
    assert main(["eval", str(tmp_path / "m.pt"), "--method", "ais"]) == 2
    assert "is evaluated with --method importance" in capsys.readouterr().err
