"""The benchmark scripts stay runnable: small, untimed smoke runs (no timing is asserted)."""

import importlib.util
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


def test_rbm_digits_quick(capsys):
    _load("rbm_digits").main(["--quick", "--no-exact-reference", "--methods", "ours (default recipe)"])
    assert "ours (default recipe)" in capsys.readouterr().out


def test_ais_speed_small(capsys):
    _load("ais_speed").main(["--n-visible", "20", "--n-hidden", "10", "--n-chains", "5", "--steps", "50"])
    assert "AIS" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore")  # peer libraries may warn about their own internals
def test_rbm_throughput_small(capsys):
    _load("rbm_throughput").main(["--n", "200", "--epochs", "1", "--repeats", "1", "--skip", "learnergy", "sklearn", "contended"])
    assert "GEMM ceiling" in capsys.readouterr().out


def test_grbm_digits_quick(capsys):
    _load("grbm_digits").main(["--quick"])
    assert "default recipe" in capsys.readouterr().out


def test_directed_digits_quick(capsys, one_thread):
    _load("directed_digits").main(["--quick"])
    assert "SBN 64-16 rws (K=5)" in capsys.readouterr().out


def test_nvil_variance_small(capsys, one_thread):
    _load("nvil_variance").main(["--epochs", "1", "--draws", "3"])
    assert "REINFORCE (no baseline)" in capsys.readouterr().out