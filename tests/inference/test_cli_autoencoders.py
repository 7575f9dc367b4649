"""pgm fit / eval / sample / filters / graph for the autoencoder families."""

import json

import pytest
import torch

from inference.checkpoint import load_model
from inference.cli import main
from models import Autoencoder, StackedAutoencoder
from tests.inference.cli_run import run_ok as _ok


def test_dae_fit_eval_sample_filters_graph(tmp_path, capsys, one_thread):
    out = tmp_path / "dae"
    _ok(["fit", "dae", "--hidden", "16", "--noise", "salt_pepper", "--level", "0.2", "--epochs", "2",
         "--evaluate", "reconstruction", "--no-progress", "--out", str(out)])
    model = load_model(out / "model.pt")
    assert isinstance(model, Autoencoder) and model.corruption.kind == "salt_pepper" and model.n_hidden == 16
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"] == [1, 2] and history["eval_denoise_error"][-1] > 0
    _ok(["fit", "dae", "--hidden", "16", "--noise", "salt_pepper", "--level", "0.2", "--epochs", "3",
         "--no-progress", "--out", str(out), "--resume"])
    assert json.loads((out / "history.json").read_text())["epoch"] == [1, 2, 3]
    capsys.readouterr()
    _ok(["eval", str(out / "model.pt")])
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "dae" and result["n"] == 359 and result["denoise_error"] > 0
    _ok(["sample", str(out / "model.pt"), "--n", "4", "--steps", "5", "--out", str(tmp_path / "s.pt")])
    samples = torch.load(tmp_path / "s.pt", weights_only=True)
    assert samples.shape == (4, 64) and bool(((samples >= 0) & (samples <= 1)).all())
    _ok(["filters", str(out / "model.pt"), "--n", "8", "--out", str(tmp_path / "f.png")])
    _ok(["graph", "dae:64x16", "--out", str(tmp_path / "g.png")])
    assert "x_tilde -> h" in capsys.readouterr().out


def test_sae_cae_and_the_stack(tmp_path, capsys, one_thread):
    _ok(["fit", "sae", "--hidden", "8", "--sparsity", "0.1", "--beta", "2", "--epochs", "1", "--no-progress",
         "--out", str(tmp_path / "s")])
    assert load_model(tmp_path / "s" / "model.pt").sparsity == 0.1
    _ok(["fit", "cae", "--hidden", "8", "--contraction", "0.5", "--epochs", "1", "--no-progress",
         "--out", str(tmp_path / "c")])
    assert load_model(tmp_path / "c" / "model.pt").contraction == 0.5
    _ok(["fit", "stacked", "--sizes", "64,8,4", "--method", "finetune", "--epochs", "1", "--finetune-epochs", "2",
         "--no-progress", "--out", str(tmp_path / "st")])
    stack = load_model(tmp_path / "st" / "model.pt")
    assert isinstance(stack, StackedAutoencoder) and stack.sizes == [64, 8, 4]
    history = json.loads((tmp_path / "st" / "history.json").read_text())
    assert len(history["layers"]) == 2 and history["finetune"]["epoch"] == [1, 2]
    capsys.readouterr()
    _ok(["eval", str(tmp_path / "st" / "model.pt")])
    assert json.loads(capsys.readouterr().out)["recon_error"] > 0


@pytest.mark.parametrize("argv, message", [
    (["fit", "ae", "--walkback", "3"], "--walkback is an option of dae, gsn, not of ae"),
    (["fit", "dae", "--sparsity", "0.1"], "--sparsity is an option of sae, convrbm, convdbn, not of dae"),
    (["fit", "ae", "--method", "walkback"], "needs a corruption"),
    (["fit", "dae", "--level", "1.5"], "noise_level"),
    (["fit", "ae", "--evaluate", "exact"], "--evaluate exact does not apply to the ae model"),
    (["fit", "stacked", "--sizes", "60,8"], "must match the data's 64 columns"),
    (["graph", "ae:64"], "expected two positive sizes"),
])
def test_autoencoder_usage_errors(argv, message, tmp_path, capsys):
    code = main([*argv, *(["--out", str(tmp_path / "o")] if argv[0] == "fit" else [])])
    err = capsys.readouterr().err
    assert code in (1, 2) and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_only_a_denoising_autoencoder_samples(tmp_path, capsys, one_thread):
    _ok(["fit", "ae", "--hidden", "4", "--epochs", "1", "--no-progress", "--out", str(tmp_path / "a")])
    assert main(["sample", str(tmp_path / "a" / "model.pt"), "--out", str(tmp_path / "s.png")]) == 2
    assert "only a denoising autoencoder (pgm fit dae) samples" in capsys.readouterr().err
