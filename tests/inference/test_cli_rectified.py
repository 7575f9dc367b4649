"""``pgm fit rbm --units stepped`` and ``pgm fit grbm --units nrelu``: the hidden unit type
reaches the model, survives the checkpoint, and evaluation is the stepped model's."""

import json

import pytest

from inference import exact_log_partition, log_likelihood
from inference.checkpoint import load_model
from inference.cli import load_data, main
from models.energy import GaussianRBM


def test_fit_rbm_with_stepped_units_round_trips(tmp_path, capsys):
    run = tmp_path / "rbm"
    assert main(["fit", "rbm", "--units", "stepped", "--copies", "3", "--hidden", "4", "--epochs", "1",
                 "--out", str(run), "--no-progress", "--evaluate", "exact"]) == 0
    model = load_model(run / "model.pt")
    assert (model.hidden, model.n_steps, model.n_hidden) == ("stepped", 3, 4)
    history = json.loads((run / "history.json").read_text())
    test = load_data("digits", "test")
    want = log_likelihood(model, test, exact_log_partition(model)).mean
    assert history["log_likelihood"][-1] == pytest.approx(want, abs=1e-6)


def test_fit_grbm_with_nrelu_units(tmp_path, capsys):
    run = tmp_path / "grbm"
    assert main(["fit", "grbm", "--units", "nrelu", "--copies", "2", "--hidden", "3", "--epochs", "1",
                 "--out", str(run), "--no-progress", "--evaluate", "exact"]) == 0
    model = load_model(run / "model.pt")
    assert (model.hidden, model.n_steps) == ("nrelu", 2)
    assert model.graph["h"].kind == "count"
    stepped = model.with_hidden("stepped")
    # rectified units train at their own default rate: 0.003, the binary units', diverges with them
    history = json.loads((run / "history.json").read_text())
    assert model.default_lr == stepped.default_lr == GaussianRBM.rectified_lr == 0.0005 < GaussianRBM.default_lr
    assert history["lr"][0] <= 0.0005 and GaussianRBM(4, 2).default_lr == GaussianRBM.default_lr
    assert GaussianRBM(4, 2, hidden="nrelu", n_steps=20).default_lr == 0.00025  # 0.0005 diverges at 64 hidden units
    assert GaussianRBM(4, 2, hidden="stepped", n_steps=20).default_lr == 0.0005
    test = load_data("digits-real", "test")
    assert log_likelihood(model, test, exact_log_partition(model)).mean == pytest.approx(
        log_likelihood(stepped, test, exact_log_partition(stepped)).mean, abs=1e-9)


def test_copies_without_rectified_units_is_a_usage_error(tmp_path, capsys):
    code = main(["fit", "rbm", "--copies", "3", "--epochs", "1", "--out", str(tmp_path / "x"), "--no-progress"])
    assert code == 2
    assert "--copies" in capsys.readouterr().err
