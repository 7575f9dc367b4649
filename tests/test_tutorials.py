"""Every tutorial runs as a script, top to bottom, and writes its pictures."""

import runpy
import sys
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parents[1] / "tutorials").glob("*.py"))


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(path), str(tmp_path)])
    runpy.run_path(str(path), run_name="__main__")
    pictures = list(tmp_path.glob("*.png"))
    assert pictures and all(p.stat().st_size > 0 for p in pictures)


def test_tutorials_exist():
    assert TUTORIALS, "no tutorials found"
