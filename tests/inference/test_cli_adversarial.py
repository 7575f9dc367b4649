"""pgm fit / eval / sample / graph for the generator families: gan, cgan, dcgan, gmmn."""

import json

import torch

from inference.checkpoint import load_model
from inference.cli import main
from models.adversarial import DCGAN, GAN, GMMN
from tests.inference.cli_run import run_ok as _ok


def test_gan_fit_resume_sample_walk_eval_graph(tmp_path, capsys, one_thread):
    out = tmp_path / "gan"
    _ok(["fit", "gan", "--latent", "4", "--hidden", "16", "--method", "minimax", "--d-steps", "2", "--epochs", "2",
         "--no-progress", "--out", str(out)])
    model = load_model(out / "model.pt")
    assert isinstance(model, GAN) and model.n_latent == 4 and model.hidden == [16]
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"] == [1, 2] and 0 < history["d_real"][-1] < 1
    _ok(["fit", "gan", "--latent", "4", "--hidden", "16", "--method", "minimax", "--d-steps", "2", "--epochs", "3",
         "--no-progress", "--out", str(out), "--resume"])
    assert json.loads((out / "history.json").read_text())["epoch"] == [1, 2, 3]
    _ok(["sample", str(out / "model.pt"), "--n", "5", "--out", str(tmp_path / "s.pt")])
    samples = torch.load(tmp_path / "s.pt", weights_only=True)
    assert samples.shape == (5, 64) and bool(((samples >= 0) & (samples <= 1)).all())
    _ok(["sample", str(out / "model.pt"), "--walk", "linear", "--n", "3", "--out", str(tmp_path / "w.png")])
    capsys.readouterr()
    _ok(["eval", str(out / "model.pt"), "--method", "ais", "--sigma", "0.3", "--chains", "2", "--betas", "21",
         "--data", str(_rows(tmp_path, 3))])
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "decoder AIS" and result["sigma"] == 0.3 and result["log_likelihood"]["n"] == 3
    assert result["n_steps"] == 20
    _ok(["graph", "gan:64x32x4", "--out", str(tmp_path / "g.png")])
    assert "z -> v" in capsys.readouterr().out


def _rows(tmp_path, n):
    from pgm import load_digits

    path = tmp_path / "rows.pt"
    torch.save(load_digits(split="test")[:n], path)
    return path


def test_cgan_dcgan_gmmn(tmp_path, capsys, one_thread):
    _ok(["fit", "cgan", "--latent", "4", "--hidden", "16", "--epochs", "1", "--no-progress", "--out",
         str(tmp_path / "c")])
    cgan = load_model(tmp_path / "c" / "model.pt")
    assert isinstance(cgan, GAN) and cgan.n_classes == 10 and cgan.n_visible == 64
    _ok(["sample", str(tmp_path / "c" / "model.pt"), "--label", "3", "--n", "4", "--out", str(tmp_path / "c3.pt")])
    _ok(["fit", "dcgan", "--channels", "4", "--epochs", "1", "--no-progress", "--out", str(tmp_path / "d")])
    assert isinstance(load_model(tmp_path / "d" / "model.pt"), DCGAN)
    _ok(["sample", str(tmp_path / "d" / "model.pt"), "--n", "4", "--out", str(tmp_path / "d.png")])
    _ok(["fit", "gmmn", "--hidden", "16", "--bandwidths", "1,4", "--epochs", "1", "--no-progress", "--out",
         str(tmp_path / "m")])
    gmmn = load_model(tmp_path / "m" / "model.pt")
    assert isinstance(gmmn, GMMN) and gmmn.bandwidths == (1.0, 4.0)
    _ok(["sample", str(tmp_path / "m" / "model.pt"), "--walk", "spherical", "--out", str(tmp_path / "mw.png")])


def test_eval_of_a_conditional_generator_is_decoder_ais_given_each_rows_label(one_thread):
    import argparse

    from inference.families import lookup
    model = GAN(4, 2, (4,), n_classes=2, seed=0)
    rows = torch.cat([model.sample(2, y=torch.tensor([0, 1])), torch.eye(2)], 1)
    args = argparse.Namespace(method="ais", sigma=0.3, chains=2, betas=21, seed=0)
    result = lookup("cgan").evaluate(model, rows, args, None)
    assert result["method"] == "decoder AIS" and result["log_likelihood"]["n"] == 2 and result["n_steps"] == 20


def test_pgm_eval_of_a_conditional_gan_reads_rows_of_pixels_and_one_hot_labels(tmp_path, capsys, one_thread):
    from inference.checkpoint import save_model

    save_model(tmp_path / "cgan.pt", GAN(4, 2, (4,), n_classes=2, seed=0))
    rows = torch.cat([torch.bernoulli(torch.full((3, 4), 0.5), generator=torch.Generator().manual_seed(0)),
                      torch.eye(2)[[0, 1, 1]]], 1)
    torch.save(rows, tmp_path / "labelled.pt")
    torch.save(rows[:, :4].clone(), tmp_path / "pixels.pt")
    ais = ["--method", "ais", "--sigma", "0.3", "--chains", "2", "--betas", "6"]
    capsys.readouterr()
    _ok(["eval", str(tmp_path / "cgan.pt"), "--data", str(tmp_path / "labelled.pt"), *ais])
    assert json.loads(capsys.readouterr().out)["log_likelihood"]["n"] == 3
    assert main(["eval", str(tmp_path / "cgan.pt"), "--data", str(tmp_path / "pixels.pt"), *ais]) == 2
    err = capsys.readouterr().err
    assert "pixels.pt has 4 columns, but" in err and "takes 6 (v + y)" in err
