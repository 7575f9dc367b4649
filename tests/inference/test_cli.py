"""The ``pgm`` command line, run in-process (and once as the installed script)."""

import inspect
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from inference import exact_log_partition, gibbs, log_likelihood, make_generator
from inference.checkpoint import load_model, save_model
from inference.cli import UsageError, build_parser, data_kind, load_data, main
from inference.demo import demo_outputs
from models.energy import DBM, RBM, ClassRBM, GaussianRBM, SpikeSlabRBM
from pgm.datasets import load_digits
from tests.inference.cli_run import run_ok as _ok
from tests.inference.cli_run import strict_json



def test_demo_quick_writes_every_artifact(tmp_path, capsys, monkeypatch):
    import pgm.plots

    drawn = {}  # file name -> (picture function, the values drawn)
    for func in ("image_grid", "filter_grid"):
        real = getattr(pgm.plots, func)

        def spy(*args, _real=real, _func=func, **kwargs):
            given = inspect.signature(_real).bind(*args, **kwargs).arguments
            drawn[Path(given["path"]).name] = (_func, torch.as_tensor(args[0]))
            return _real(*args, **kwargs)
        monkeypatch.setattr(pgm.plots, func, spy)
    out = tmp_path / "demo"
    _ok(["demo", "--quick", "--out", str(out), "--no-progress", "--hidden", "8", "--epochs", "2"])
    for name in ("samples.png", "filters.png", "graph.png", "curve.png", "metrics.json", "checkpoint.pt",
                 "model.pt", "dbm.pt", "dbm_samples.png", "dbm_graph.png", "sbn.pt", "vae.pt", "sbn_samples.png",
                 "vae_samples.png", "sbn_graph.png", "dbn.pt", "dbn_samples.png", "dbn_graph.png"):
        assert (out / name).stat().st_size > 0, name
    assert sorted(p.name for p in out.iterdir()) == sorted(demo_outputs())
    # the filters as pgm filters draws them (a colour scale), the SBN's samples as means, not binary draws
    assert drawn["filters.png"][0] == "filter_grid" and drawn["filters.png"][1].shape == (64, 8)
    sbn = drawn["sbn_samples.png"][1]
    assert drawn["sbn_samples.png"][0] == "image_grid" and ((sbn > 0) & (sbn < 1)).float().mean() > 0.5
    printed = capsys.readouterr().out
    assert "test LL, AIS log Z" in printed and "log Z exact" in printed
    assert "test variational bound" in printed and "VAE 64-200-10, ELBO" in printed
    metrics = strict_json((out / "metrics.json").read_text())
    bound = metrics["dbm"]["variational_bound"]["test"]["mean"]
    assert -64 * math.log(2) - 1 < bound < 0
    for name in ("sbn", "vae"):  # the importance estimate sits above the ELBO of the same draws
        part = metrics["directed"][name]
        assert part["test_elbo"] <= part["test_log_likelihood"]["mean"] < 0
    dbn = metrics["dbn"]
    assert dbn["test_elbo"] <= dbn["test_log_likelihood"]["mean"] < 0 and "test bound (ELBO)" in printed
    log_z = metrics["log_z"]
    # the AIS bracket printed in the table holds the exact value for this small model
    assert log_z["ais_lower"] <= log_z["exact"] <= log_z["ais_upper"]
    ll = metrics["log_likelihood"]
    assert ll["test_exact"]["mean"] < 0 and len(metrics["history"]["epoch"]) == 2
    # AIS and exact test log-likelihoods differ exactly by the log Z difference
    assert ll["test_ais"]["mean"] - ll["test_exact"]["mean"] == pytest.approx(log_z["exact"] - log_z["ais"], abs=1e-9)
    model = load_model(out / "model.pt")
    assert isinstance(model, RBM) and (model.n_visible, model.n_hidden) == (64, 8)


def test_fit_eval_sample_graph_round_trip(tmp_path, capsys):
    run = tmp_path / "run"
    _ok(["fit", "rbm", "--hidden", "8", "--epochs", "2", "--out", str(run), "--no-progress",
          "--evaluate", "exact"])
    history = json.loads((run / "history.json").read_text())
    assert history["epoch"] == [1, 2] and all(x is not None for x in history["log_likelihood"])
    capsys.readouterr()

    _ok(["eval", str(run / "model.pt"), "--method", "exact"])
    exact = json.loads(capsys.readouterr().out)
    assert exact["log_z"]["method"] == "exact" and exact["log_likelihood"]["n"] == 359
    # the last epoch's evaluation in fit is the same number
    assert exact["log_likelihood"]["mean"] == pytest.approx(history["log_likelihood"][-1], abs=1e-6)

    _ok(["eval", str(run / "model.pt"), "--method", "ais", "--betas", "300", "--no-progress"])
    ais = json.loads(capsys.readouterr().out)
    assert ais["log_z"]["lower"] <= exact["log_z"]["log_z"] <= ais["log_z"]["upper"]

    _ok(["sample", str(run / "model.pt"), "--n", "9", "--steps", "5", "--out", str(tmp_path / "s.pt")])
    samples = torch.load(tmp_path / "s.pt", weights_only=True)
    assert samples.shape == (9, 64) and ((samples >= 0) & (samples <= 1)).all()
    _ok(["sample", str(run / "model.pt"), "--n", "4", "--steps", "2", "--out", str(tmp_path / "s.png")])
    assert (tmp_path / "s.png").stat().st_size > 0

    _ok(["graph", str(run / "model.pt"), "--out", str(tmp_path / "g.png")])
    _ok(["graph", "rbm:784x500", "--out", str(tmp_path / "g2.png")])
    printed = capsys.readouterr().out
    assert "v: bernoulli 784 (observed)" in printed and "h -- v" in printed
    _ok(["graph", "20x3", "--out", str(tmp_path / "g3.png")])  # a bare size is an RBM
    assert "v: bernoulli 20 (observed)" in capsys.readouterr().out


def test_fit_resume_continues_to_more_epochs(tmp_path, capsys):
    run = tmp_path / "run"
    common = ["fit", "rbm", "--hidden", "4", "--out", str(run), "--no-progress", "--method", "pcd",
              "--average", "polyak", "--momentum", "0.5"]
    _ok(common + ["--epochs", "1"])
    _ok(common + ["--epochs", "2", "--resume"])
    assert json.loads((run / "history.json").read_text())["epoch"] == [1, 2]


def test_gaussian_rbm_fit_eval_sample_graph_on_real_digits(tmp_path, capsys):
    run = tmp_path / "grbm"
    _ok(["fit", "grbm", "--hidden", "4", "--epochs", "1", "--out", str(run), "--no-progress", "--evaluate", "exact"])
    history = json.loads((run / "history.json").read_text())
    assert "grbm on digits-real" in capsys.readouterr().out  # the family's default data
    model = load_model(run / "model.pt")
    assert isinstance(model, GaussianRBM) and (model.n_visible, model.n_hidden) == (64, 4)

    _ok(["eval", str(run / "model.pt"), "--method", "exact"])
    exact = json.loads(capsys.readouterr().out)
    assert exact["model"] == "grbm" and exact["data"] == "digits-real" and "log-density" in exact["units"]
    assert exact["log_likelihood"]["n"] == 359
    assert exact["log_likelihood"]["mean"] == pytest.approx(history["log_likelihood"][-1], abs=1e-6)
    test = load_data("digits-real", "test")
    assert exact["log_likelihood"]["mean"] == pytest.approx(
        log_likelihood(model, test, exact_log_partition(model)).mean, abs=1e-9)
    _ok(["eval", str(run / "model.pt"), "--method", "ais", "--betas", "100", "--chains", "20", "--no-progress"])
    ais = json.loads(capsys.readouterr().out)
    assert ais["log_z"]["method"] == "ais" and ais["log_z"]["n_chains"] == 20

    _ok(["sample", str(run / "model.pt"), "--n", "5", "--steps", "3", "--out", str(tmp_path / "g.pt")])
    samples = torch.load(tmp_path / "g.pt", weights_only=True)
    gen = make_generator(0)  # the command's: --seed 0, chains from gibbs.init, then the v-conditional means
    state = gibbs.run(model, gibbs.init(model, 5, gen), 3, gen)
    assert torch.equal(samples, model.conditional("v", state.values).mean.detach())
    _ok(["sample", str(run / "model.pt"), "--n", "4", "--steps", "2", "--out", str(tmp_path / "g.png")])
    assert (tmp_path / "g.png").stat().st_size > 0
    _ok(["graph", "grbm:64x16", "--out", str(tmp_path / "gg.png")])
    assert "v: gaussian 64 (observed)" in capsys.readouterr().out


def _usage_error(argv, capsys):
    """The message of a command refused as a usage error (exit status 2, one line)."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_data_of_the_wrong_kind_is_refused(tmp_path, capsys):
    err = _usage_error(["fit", "rbm", "--data", "digits-real", "--epochs", "1", "--out", str(tmp_path / "a")], capsys)
    assert "pgm fit rbm: error: --data digits-real holds real-valued data, but the rbm model has bernoulli" in err
    err = _usage_error(["fit", "grbm", "--data", "digits", "--epochs", "1", "--out", str(tmp_path / "b")], capsys)
    assert re.search("digits holds binary .* grbm model has gaussian visible units.*: rbm", err)
    err = _usage_error(["fit", "rbm", "--data", "digits-grey", "--evaluate", "exact", "--out", str(tmp_path / "c")],
                       capsys)
    assert "--evaluate exact: --data digits-grey holds grey levels" in err
    real = torch.randn(20, 6, generator=torch.Generator().manual_seed(0))
    torch.save(real, tmp_path / "real.pt")
    err = _usage_error(["fit", "rbm", "--data", str(tmp_path / "real.pt"), "--out", str(tmp_path / "d")], capsys)
    assert "real.pt holds real-valued data" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "d").exists()
    save_model(tmp_path / "rbm.pt", RBM(64, 4, seed=0))
    err = _usage_error(["eval", str(tmp_path / "rbm.pt"), "--data", "digits-grey", "--method", "exact"], capsys)
    assert "pgm eval: error: --data digits-grey holds grey levels" in err
    err = _usage_error(["eval", str(tmp_path / "rbm.pt"), "--data", str(tmp_path / "real.pt")], capsys)
    assert "has 6 columns, but" in err and "has 64 visible units" in err


def test_eval_reports_what_it_cannot_do(tmp_path, capsys):
    save_model(tmp_path / "wide.pt", RBM(64, 40, seed=0))
    err = _usage_error(["eval", str(tmp_path / "wide.pt"), "--method", "exact"], capsys)
    assert "pgm eval: error: --method exact: exact log Z enumerates the 2^40 states of h (40 units)" in err
    assert "limit of 25 units; use --method ais" in err


def test_samples_that_are_not_square_images_go_to_a_tensor(tmp_path, capsys):
    data = (torch.rand(30, 6, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    torch.save(data, tmp_path / "x.pt")
    _ok(["fit", "rbm", "--data", str(tmp_path / "x.pt"), "--hidden", "3", "--epochs", "1",
          "--out", str(tmp_path / "run"), "--no-progress", "--evaluate", "exact"])
    _ok(["sample", str(tmp_path / "run" / "model.pt"), "--n", "4", "--steps", "2", "--out", str(tmp_path / "s.png")])
    assert "not a square image" in capsys.readouterr().out and not (tmp_path / "s.png").exists()
    assert torch.load(tmp_path / "s.pt", weights_only=True).shape == (4, 6)


def test_load_data_specs(tmp_path):
    assert load_data("digits", "test").shape == (359, 64)
    grey = load_data("digits-grey", "all")
    assert grey.shape == (1797, 64) and ((grey > 0) & (grey < 1)).any()
    real = load_data("digits-real", "train")
    assert real.shape == (1438, 64) and torch.equal(real, load_digits(binarize=False, dequantize=True))
    assert data_kind("digits-real", real) == "real" and data_kind("digits", None) == "binary"
    x = torch.rand(5, 3)
    torch.save(x, tmp_path / "x.pt")
    assert torch.equal(load_data(str(tmp_path / "x.pt")), x)
    assert data_kind("file", x) == "grey" and data_kind("file", x.round()) == "binary"
    assert data_kind("file", 2 * x.round() - 1) == "spin" and data_kind("file", x - 2) == "real"
    with pytest.raises(UsageError, match="not understood"):
        load_data("no-such-data")


@pytest.mark.parametrize("command", ["demo", "fit", "fit rbm", "fit grbm", "eval", "sample", "graph"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*command.split(), "--help"])
    printed = capsys.readouterr().out
    assert exit_info.value.code == 0 and "usage: pgm" in printed
    if command == "fit":  # the registered models are listed
        assert "rbm " in printed and "grbm " in printed and "Gaussian-Bernoulli" in printed
    if command == "fit grbm":  # the family's own options next to fit's
        assert "--fixed-sigma" in printed and "--batch-size" in printed


def test_bad_arguments_exit_with_usage(capsys):
    err = _usage_error(["fit", "rbm", "--method", "sgd"], capsys)
    assert err.startswith("pgm fit rbm: error: --method sgd does not apply to the rbm model")
    assert "invalid choice: 'nosuch'" in _usage_error(["fit", "nosuch"], capsys)
    for spec in ("rbm:banana", "nope:3x4", "rbm:3x4x5"):
        assert "neither a model file nor a size" in _usage_error(["graph", spec], capsys)


SCRIPT = Path(sys.executable).parent / "pgm"


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed next to this interpreter")
def test_console_script_is_installed():
    result = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "demo" in result.stdout


@pytest.mark.parametrize("model", [RBM(64, 6, seed=0), GaussianRBM(64, 5, seed=0), SpikeSlabRBM(64, 4, seed=0),
                                   ClassRBM(64, 3, 10, seed=0), DBM([64, 7, 2], seed=0)],
                         ids=lambda m: type(m).__name__)
def test_filters_draws_one_tile_per_hidden_unit(model, tmp_path, capsys):
    save_model(tmp_path / "model.pt", model)
    out = tmp_path / "pictures" / "filters.png"
    _ok(["filters", str(tmp_path / "model.pt"), "--out", str(out)])
    n = model.sizes[1] if isinstance(model, DBM) else model.n_hidden
    assert out.stat().st_size > 0 and f"({n} filters)" in capsys.readouterr().out
    assert main(["filters", str(tmp_path / "model.pt"), "--out", str(out), "--n", "2"]) == 2  # out exists
    assert "exists; add --force to overwrite it" in capsys.readouterr().err
    _ok(["filters", str(tmp_path / "model.pt"), "--out", str(out), "--n", "2", "--force"])
    assert "(2 filters)" in capsys.readouterr().out
