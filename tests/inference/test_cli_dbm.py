"""``pgm`` with deep Boltzmann machines: fit (with pre-training and centering), eval, sample, graph."""

import json

import pytest

from inference.checkpoint import load_model
from inference.cli import main
from models import DBM


def test_fit_eval_sample_graph(tmp_path, capsys, one_thread):
    run = tmp_path / "run"
    assert main(["fit", "dbm", "--sizes", "64,4,3", "--centered", "--pretrain", "1", "--epochs", "2",
                 "--out", str(run), "--no-progress"]) == 0
    model = load_model(run / "model.pt")
    assert isinstance(model, DBM) and model.sizes == [64, 4, 3] and model.centered
    assert json.loads((run / "history.json").read_text())["epoch"] == [1, 2]
    capsys.readouterr()
    assert main(["eval", str(run / "model.pt"), "--method", "exact"]) == 0
    exact = json.loads(capsys.readouterr().out)
    assert exact["variational_bound"]["mean"] <= exact["log_likelihood"]["mean"] < 0
    assert main(["eval", str(run / "model.pt"), "--chains", "20", "--betas", "300", "--no-progress"]) == 0
    ais = json.loads(capsys.readouterr().out)
    assert ais["log_z"]["method"] == "ais"
    assert ais["log_z"]["log_z"] == pytest.approx(exact["log_z"]["log_z"], abs=0.5)
    assert main(["sample", str(run / "model.pt"), "--n", "4", "--steps", "5", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").stat().st_size > 0
    capsys.readouterr()
    assert main(["graph", "dbm:6x4x3", "--out", str(tmp_path / "g.png")]) == 0
    assert "h1 -- h2" in capsys.readouterr().out


def test_fit_refuses_sizes_that_do_not_match_the_data(tmp_path, capsys):
    assert main(["fit", "dbm", "--sizes", "10,4", "--out", str(tmp_path / "r"), "--no-progress"]) == 2
    assert "--sizes 10,4: the visible layer must match the data's 64 columns" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_fit_by_multi_prediction(tmp_path, capsys, one_thread):
    run = tmp_path / "run"
    assert main(["fit", "dbm", "--sizes", "64,4,3", "--method", "mp", "--epochs", "2", "--out", str(run),
                 "--no-progress"]) == 0
    assert "train_recon_error" in capsys.readouterr().out
    history = json.loads((run / "history.json").read_text())
    assert len(history["train_recon_error"]) == 2 and all(x > 0 for x in history["train_recon_error"])
    assert isinstance(load_model(run / "model.pt"), DBM)
