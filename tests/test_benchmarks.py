"""The benchmark scripts stay runnable: small, untimed smoke runs (no timing is asserted)."""

import importlib.util
import re
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    sys.path.insert(0, str(BENCH))  # the scripts import their shared _common helpers
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def _without(monkeypatch, *modules):
    """Import of each of ``modules`` fails, as where the peer is not installed."""
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


def test_rbm_digits_quick(capsys):
    _load("rbm_digits").main(["--quick", "--no-exact-reference", "--methods", "ours (default recipe)"])
    assert "ours (default recipe)" in capsys.readouterr().out


def test_ais_speed_small(capsys):
    _load("ais_speed").main(["--n-visible", "20", "--n-hidden", "10", "--n-chains", "5", "--steps", "50"])
    assert "AIS" in capsys.readouterr().out


def test_rbm_throughput_small_without_its_peers(capsys, monkeypatch, one_thread):
    _without(monkeypatch, "learnergy", "sklearn")  # optional peers: their rows are skipped with a note
    _load("rbm_throughput").main(["--n", "200", "--epochs", "1", "--repeats", "1", "--gemm-steps", "2",
                                      "--skip", "contended"])
    out = capsys.readouterr().out
    assert "learnergy (pip install -c constraints.txt -e '.[bench]') is not installed: its rows are skipped" in out
    assert "scikit-learn (pip install scikit-learn) is not installed: its rows are skipped" in out
    assert "GEMM ceiling" in out and "learnergy RBM.fit" not in out and "sklearn BernoulliRBM" not in out


def test_grbm_digits_quick(capsys):
    _load("grbm_digits").main(["--quick"])
    assert "default recipe" in capsys.readouterr().out


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_training_killed_at_random_moments_resumes_exactly(capsys):
    """Three SIGKILLs at random moments of one training run: every checkpoint left on disk
    loads, and the run resumed after the last kill ends bit-identical to an uninterrupted one."""
    counts = _load("crash_resume").crash_trials(trials=1, kills_per_trial=3, epochs=20, seed=0)
    assert counts["loaded"] == counts["present"] and counts["identical"] == 1


def test_boltzmann_small(capsys, tmp_path):
    plot = tmp_path / "capacity.png"
    _load("boltzmann").main(["--sizes", "16", "--trials", "1", "--plot", str(plot), "--epochs", "1", "--seeds", "0",
                             "--instances", "1", "--chains", "4", "--sweeps", "5", "--units", "8", "--seconds", "0.2"])
    out = capsys.readouterr().out
    assert "breakdown" in out and "exact ML" in out and "descent hit" in out and "PT, 8 temperatures" in out
    assert plot.stat().st_size > 0


def test_boltzmann_digits_parts_small(capsys):
    _load("boltzmann").main(["--parts", "pt-vs-pcd", "mixing-digits", "--budgets", "auto:1", "--seeds", "0",
                             "--rbm-epochs", "1", "--seconds", "0.2"])
    out = capsys.readouterr().out
    assert "PCD 1 ep, native" in out and "PT-1, 5 temperatures" in out and "trained on the 294 training 0s and 1s" in out


def test_dbm_digits_quick(capsys):
    _load("dbm_digits").main(["--quick", "--no-rbm", "--variants", "pretrained+centered"])
    assert "DBM 64-8-4, pretrained+centered" in capsys.readouterr().out


def test_dbm_throughput_small(capsys):
    _load("dbm_throughput").main(["--sizes", "20", "10", "5", "--batch", "8", "--steps", "2", "--repeats", "1",
                                  "--threads", "1"])
    assert "GEMM ceiling" in capsys.readouterr().out


def test_ssrbm_digits_quick(capsys):
    _load("ssrbm_digits").main(["--quick", "--epochs", "1", "--hidden", "6"])
    out = capsys.readouterr().out
    assert "| SpikeSlabRBM | 0 |" in out and "| GaussianRBM | 0 |" in out and ", 1 epochs," in out


def test_directed_digits_quick(capsys, one_thread):
    _load("directed_digits").main(["--quick"])
    assert "SBN 64-16 rws (K=5)" in capsys.readouterr().out


def test_nvil_variance_small(capsys, one_thread):
    _load("nvil_variance").main(["--epochs", "1", "--draws", "3"])
    assert "REINFORCE (no baseline)" in capsys.readouterr().out


def test_dbm_inpainting_quick(capsys, tmp_path, one_thread):
    plot = tmp_path / "inpainting.png"
    _load("dbm_inpainting").main(["--quick", "--threads", "1", "--plot", str(plot)])
    out = capsys.readouterr().out
    assert "bottom half, 3 passes" in out and "MP: test variational bound" in out
    assert plot.stat().st_size > 0


def test_nvil_variance_over_training(capsys, tmp_path, one_thread):
    plot = tmp_path / "variance.png"
    _load("nvil_variance").main(["--epochs", "1", "--draws", "3", "--plot", str(plot), "--plot-draws", "3"])
    out = capsys.readouterr().out
    table = out.split("over training")[1]
    assert [line.split()[0] for line in table.splitlines()[3:5]] == ["0", "1"] and plot.stat().st_size > 0


def test_dbn_digits_quick(capsys, one_thread):
    _load("dbn_digits").main(["--quick", "--threads", "1"])
    out = capsys.readouterr().out
    assert "| DBN 64-8-4, propagate mean | 2 | DBN 64-8-4 |" in out


def test_dbn_classify_quick(capsys, one_thread):
    _load("dbn_classify").main(["--quick", "--seeds", "0", "--sizes", "64,8,4", "--no-sklearn"])
    out = capsys.readouterr().out
    assert "| DBN-initialised MLP | 64-8-4-10 |" in out and "| random MLP | 64-8-4-10 |" in out


def test_nrelu_approximation_small(capsys):
    _load("nrelu_approximation").main(["--visible", "3", "--hidden", "2", "--scales", "1", "--steps", "4",
                                       "--chains", "500", "--sweeps", "3", "--seeds", "0"])
    assert "NReLU chains" in capsys.readouterr().out


def test_crbm_digits_quick(capsys, one_thread):
    _load("crbm_digits").main(["--quick", "--no-sklearn"])
    out = capsys.readouterr().out
    assert "| ClassRBM, generative (fit, CD-1) | 16 |" in out and "discriminative" in out


def test_fit_overhead_small(capsys):
    _load("fit_overhead").main(["--rows", "200", "--repeats", "1", "--gap", "0"])
    assert "overhead" in capsys.readouterr().out


def test_dae_overhead_small(capsys):
    _load("dae_overhead").main(["--hidden", "8", "--repeats", "1"])
    assert "ratio" in capsys.readouterr().out


def test_dae_toys_small(capsys):
    _load("dae_toys").main(["--seeds", "0", "--hidden", "8", "--epochs", "1", "1", "--steps", "3"])
    out = capsys.readouterr().out
    assert "score cosine" in out and "walk-back" in out



def test_gan_toys_quick(capsys, one_thread):
    _load("gan_toys").main(["--quick", "--toys", "ring"])
    out = capsys.readouterr().out
    assert "modes covered" in out and "minimax" in out and "non_saturating" in out

# -- without the optional peers -------------------------------------------------------------------

def test_the_digits_benchmarks_run_without_their_peers(capsys, monkeypatch, one_thread):
    # the bundled digits come through scikit-learn (a dependency); the peers' rows use the rest of it
    _without(monkeypatch, "learnergy", "sklearn.mixture", "sklearn.neural_network")
    _load("rbm_digits").main(["--quick", "--no-exact-reference", "--methods", "learnergy RBM, lr 0.1, mom 0"])
    assert "learnergy (pip install" in capsys.readouterr().out
    _load("grbm_digits").main(["--quick", "--epochs", "1"])
    out = capsys.readouterr().out
    assert "scikit-learn (pip install scikit-learn) is not installed" in out and "GaussianMixture" not in out
    _load("dbn_classify").main(["--quick", "--seeds", "0", "--sizes", "64,8,4"])
    assert "scikit-learn (pip install scikit-learn) is not installed" in capsys.readouterr().out


def test_no_benchmark_imports_a_peer_at_the_top():
    for path in sorted(BENCH.glob("*.py")):
        top = [line for line in path.read_text().splitlines() if not line.startswith((" ", "\t"))]
        assert not [line for line in top if re.match(r"(import|from) (sklearn|learnergy)\b", line)], path.name


def test_decoder_ais_small(capsys, tmp_path):
    _load("decoder_ais").main(["--steps", "5", "10", "--images", "2", "--chains", "2", "--epochs", "1", "--repeats",
                               "1", "--plot", str(tmp_path / "b.png")])
    assert "ratio" in capsys.readouterr().out and (tmp_path / "b.png").stat().st_size > 0


def test_sample_quality_small(capsys):
    _load("sample_quality").main(["--epochs", "1", "--n", "20", "--rows", "300"])
    out = capsys.readouterr().out
    assert "held-out test digits" in out and "GSN" in out


def test_leaderboard_small(capsys):
    _load("leaderboard").main(["--epochs", "1", "--n", "20", "--test-rows", "10", "--samples", "20", "--ais-steps",
                               "3", "--rows", "150", "--valid-rows", "8", "--sigma-search", "climb",
                               "--check-rows", "3"])
    out = capsys.readouterr().out
    assert "decoder AIS" in out and "none (samples only)" in out and "NN ratio" in out
    assert "test (10, 64) scored, 20 held-out rows and samples" in out
    assert re.search(r"GAN .*: σ = [0-9.]+ of validation log-likelihoods \(last 8 training rows, climb\)", out)
    assert re.search(r"6 steps against 3 on the first 3 test rows: [+-][0-9.]+ ± [0-9.]+ nats per row", out)
    assert re.search(r"exact \(autoregressive\) +-[0-9.]+ ± [0-9.]+", out)  # mean ± standard error


def test_leaderboard_validation_rows_and_standard_errors():
    import math

    import torch

    lb = _load("leaderboard")
    train = torch.arange(50.0).view(25, 2)
    assert lb.validation_rows(train).tolist() == train[-2:].tolist()  # the last 10 %
    assert lb.validation_rows(train, 5).tolist() == train[-5:].tolist()
    for bad in (0, 26, 2.5, True):
        with pytest.raises(ValueError, match=f"valid_rows must be an int from 1 to the 25 training rows, got {bad}"):
            lb.validation_rows(train, bad)
    rows = torch.tensor([1.0, 2.0, 4.0, 7.0], dtype=torch.float64)
    mean, se = lb.mean_and_se(lb._PerRow(rows))
    assert mean == 3.5 and se == pytest.approx(float(rows.std()) / 2)
    assert lb.format_estimate(lb._PerRow(rows)) == f"3.50 ± {float(rows.std()) / 2:.2f}"
    assert lb.mean_and_se(lb._PerRow(rows[:1])) == (1.0, None) and lb.format_estimate(None) == ""

    class Summary:  # an estimate that carries its standard error over the rows
        mean, sem = -2.0, 0.25

    assert lb.mean_and_se(Summary()) == (-2.0, 0.25)
    Summary.sem = math.nan  # one row
    assert lb.format_estimate(Summary()) == "-2.00"


def test_leaderboard_on_mnist_files(capsys, tmp_path):
    """The MNIST rows from IDX files in a folder (small ones the test writes): every model
    sized for 784 columns, scored by its samples (the likelihood rows, which do not depend on
    where the data came from, are test_leaderboard_small's)."""
    import numpy as np

    from tests.pgm.test_datasets import write_idx

    rng = np.random.RandomState(0)
    for prefix, n in (("train", 40), ("t10k", 20)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8))
    _load("leaderboard").main(["--mnist", str(tmp_path), "--epochs", "1", "--n", "10", "--test-rows", "10",
                               "--no-likelihood"])
    out = capsys.readouterr().out
    assert "binarized MNIST" in out and "RBM 784-16" in out and "GSN 784-128-128" in out and "DCGAN 28x28" in out
    assert "not estimated (--no-likelihood)" in out


def test_autoregressive_digits_quick(capsys, one_thread):
    _load("autoregressive_digits").main(["--quick", "--only", "fvsbn,mades,oanade,rnade", "--test-rows", "50"])
    out = capsys.readouterr().out
    assert "FVSBN" in out and "exact, ensemble of 2" in out and "RNADE" in out and "Gaussian RBM" in out


def test_nade_overhead_small(capsys, one_thread):
    _load("nade_overhead").main(["--hidden", "8", "--repeats", "1", "--ais-chains", "2", "--betas", "50"])
    out = capsys.readouterr().out
    assert "ratio" in out and "per image" in out


def test_seed_spread_quick(capsys, tmp_path, one_thread):
    import json

    path = tmp_path / "spread.json"
    _load("seed_spread").main(["--quick", "--seeds", "2", "--only", "dbn", "--json", str(path)])
    out = capsys.readouterr().out
    assert "| dbn | test LL (importance) |" in out and "| dbn | test bound (ELBO) |" in out
    summary = json.loads(path.read_text())["summary"]["dbn"]["test LL (importance)"]
    assert summary["n"] == 2 and summary["min"] <= summary["mean"] <= summary["max"] and summary["sd"] >= 0


def test_gmmn_toys_quick(capsys):
    _load("gmmn_toys").main(["--quick"])
    out = capsys.readouterr().out
    assert "modes covered" in out and "ring" in out and "grid" in out


def test_dcgan_overhead_small(capsys):
    _load("dcgan_overhead").main(["--channels", "4", "--repeats", "1"])
    assert "DCGAN 8x8, 4 channels" in capsys.readouterr().out


def test_device_throughput_runs_on_the_cpu_and_refuses_a_missing_gpu(capsys):
    bench = _load("device_throughput")
    assert bench.main(["--device", "cpu", "--rows", "200", "--vae-rows", "200", "--repeats", "1",
                       "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "fp32 GEMM peak" in out and "GEMM work / peak" in out and "inference.fit(method='elbo')" in out
    if not __import__("torch").cuda.is_available():
        assert bench.main([]) == 2
        assert "no CUDA device here" in capsys.readouterr().err


def test_mnist_every_family_fits_from_written_idx_files(tmp_path, capsys):
    import numpy as np

    from tests.pgm.test_datasets import write_idx

    rng = np.random.RandomState(0)
    for name, n in (("train", 30), ("t10k", 10)):
        write_idx(tmp_path / f"{name}-images-idx3-ubyte", rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8))
        write_idx(tmp_path / f"{name}-labels-idx1-ubyte", rng.randint(0, 10, size=n).astype(np.uint8))
    assert _load("mnist_every_family").main(["--mnist", str(tmp_path), "--only", "rbm,condrbm"]) == 0
    out = capsys.readouterr().out
    table = [line.split() for line in out.splitlines()]
    assert ["condrbm", "–", "skipped:", "takes", "sequences"] in table
    assert any(row[:3] == ["rbm", "mnist", "ok"] and len(row) == 5 for row in table)


def test_mnist_memory_measures_cases_in_child_processes(tmp_path, capsys):
    import numpy as np

    from tests.pgm.test_datasets import write_idx

    rng = np.random.RandomState(0)
    for name, n in (("train", 30), ("t10k", 10)):
        write_idx(tmp_path / f"{name}-images-idx3-ubyte", rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8))
        write_idx(tmp_path / f"{name}-labels-idx1-ubyte", rng.randint(0, 10, size=n).astype(np.uint8))
    results = _load("mnist_memory").main(["--mnist", str(tmp_path), "--cases", "rbm-ais", "vae-importance",
                                          "--train-rows", "50", "--test-rows", "12", "--betas", "5",
                                          "--importance-batch", "4"])
    assert [r["case"] for r in results] == ["rbm-ais", "vae-importance"]
    assert all(r["peak"] >= r["baseline"] > 0 for r in results)
    assert [r["data_bytes"] for r in results] == [50 * 784 * 4, 12 * 784 * 4]  # 30 and 10 rows repeated
    out = capsys.readouterr().out
    assert "repeated row by row" in out and "| RBM 784-500, AIS log Z | 100 chains, 5 βs" in out
    assert "K = 1000 on 12 rows, passes of 4 rows (`batch`)" in out


def test_distributed_evaluation_small(capsys):
    """Every split estimator runs on two gloo processes and is compared with one."""
    _load("distributed_evaluation").main(["--chains", "4", "--betas", "5", "--exact-hidden", "4", "--rows", "6",
                                          "--samples", "4", "--gan-rows", "3", "--repeats", "1"])
    out = capsys.readouterr().out
    assert all(re.search(rf"{case}\s+\d+\.\d+\s+\d+\.\d+\s+\d+\.\d+", out) for case in
               ("rbm-ais", "rbm-exact", "dbm-bound", "vae-importance", "gan-decoder-ais"))
