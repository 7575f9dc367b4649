"""The ``pgm`` command line, run in-process (and once as the installed script)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from inference.checkpoint import load_model
from inference.cli import build_parser, load_data, main
from models.energy import RBM


def test_demo_quick_writes_every_artifact(tmp_path, capsys):
    out = tmp_path / "demo"
    main(["demo", "--quick", "--out", str(out), "--no-progress"])
    for name in ("samples.png", "filters.png", "graph.png", "curve.png", "metrics.json", "checkpoint.pt",
                 "model.pt"):
        assert (out / name).stat().st_size > 0, name
    printed = capsys.readouterr().out
    assert "test LL, AIS log Z" in printed and "log Z exact" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    log_z = metrics["log_z"]
    # the AIS bracket printed in the table holds the exact value for this small model
    assert log_z["ais_lower"] <= log_z["exact"] <= log_z["ais_upper"]
    ll = metrics["log_likelihood"]
    assert ll["test_exact"]["mean"] < 0 and len(metrics["history"]["epoch"]) == 3
    # AIS and exact test log-likelihoods differ exactly by the log Z difference
    assert ll["test_ais"]["mean"] - ll["test_exact"]["mean"] == pytest.approx(log_z["exact"] - log_z["ais"], abs=1e-9)
    model = load_model(out / "model.pt")
    assert isinstance(model, RBM) and (model.n_visible, model.n_hidden) == (64, 16)


def test_fit_eval_sample_graph_round_trip(tmp_path, capsys):
    run = tmp_path / "run"
    main(["fit", "rbm", "--hidden", "8", "--epochs", "2", "--out", str(run), "--no-progress",
          "--evaluate", "exact"])
    history = json.loads((run / "history.json").read_text())
    assert history["epoch"] == [1, 2] and all(x is not None for x in history["log_likelihood"])
    capsys.readouterr()

    main(["eval", str(run / "model.pt"), "--method", "exact"])
    exact = json.loads(capsys.readouterr().out)
    assert exact["log_z"]["method"] == "exact" and exact["log_likelihood"]["n"] == 359
    # the last epoch's evaluation in fit is the same number
    assert exact["log_likelihood"]["mean"] == pytest.approx(history["log_likelihood"][-1], abs=1e-6)

    main(["eval", str(run / "model.pt"), "--method", "ais", "--betas", "300", "--no-progress"])
    ais = json.loads(capsys.readouterr().out)
    assert ais["log_z"]["lower"] <= exact["log_z"]["log_z"] <= ais["log_z"]["upper"]

    main(["sample", str(run / "model.pt"), "--n", "9", "--steps", "5", "--out", str(tmp_path / "s.pt")])
    samples = torch.load(tmp_path / "s.pt", weights_only=True)
    assert samples.shape == (9, 64) and ((samples >= 0) & (samples <= 1)).all()
    main(["sample", str(run / "model.pt"), "--n", "4", "--steps", "2", "--out", str(tmp_path / "s.png")])
    assert (tmp_path / "s.png").stat().st_size > 0

    main(["graph", str(run / "model.pt"), "--out", str(tmp_path / "g.png")])
    main(["graph", "rbm:784x500", "--out", str(tmp_path / "g2.png")])
    printed = capsys.readouterr().out
    assert "v: bernoulli 784 (observed)" in printed and "h -- v" in printed


def test_fit_resume_continues_to_more_epochs(tmp_path, capsys):
    run = tmp_path / "run"
    common = ["fit", "rbm", "--hidden", "4", "--out", str(run), "--no-progress", "--method", "pcd",
              "--average", "polyak", "--momentum", "0.5"]
    main(common + ["--epochs", "1"])
    main(common + ["--epochs", "2", "--resume"])
    assert json.loads((run / "history.json").read_text())["epoch"] == [1, 2]


def test_load_data_specs(tmp_path):
    assert load_data("digits", "test").shape == (359, 64)
    grey = load_data("digits-grey", "all")
    assert grey.shape == (1797, 64) and ((grey > 0) & (grey < 1)).any()
    x = torch.rand(5, 3)
    torch.save(x, tmp_path / "x.pt")
    assert torch.equal(load_data(str(tmp_path / "x.pt")), x)
    with pytest.raises(SystemExit, match="not understood"):
        load_data("no-such-data")


@pytest.mark.parametrize("command", ["demo", "fit", "eval", "sample", "graph"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0 and "usage: pgm" in capsys.readouterr().out


def test_bad_arguments_exit_with_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "rbm", "--method", "sgd"])
    assert exit_info.value.code == 2 and "invalid choice" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="neither a model file nor a size"):
        main(["graph", "rbm:banana"])


SCRIPT = Path(sys.executable).parent / "pgm"


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed next to this interpreter")
def test_console_script_is_installed():
    result = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "demo" in result.stdout
