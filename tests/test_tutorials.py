"""Every tutorial runs as a script, top to bottom (quick mode), and writes its pictures."""

import runpy
import sys
import traceback
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parents[1] / "tutorials").glob("*.py"))


def failing_cell(path: Path, error: BaseException) -> str:
    """The tutorial's line that raised and the title of the markdown cell above it."""
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if Path(f.filename) == path]
    if not lines:
        return "outside the script"
    lineno = lines[-1]
    source = path.read_text().splitlines()[:lineno]
    titles = [s.lstrip("# ").strip() for s in source if s.startswith("# #")]
    return f"cell {titles[-1]!r}, line {lineno}" if titles else f"line {lineno}"


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(path), str(tmp_path)])
    try:
        runpy.run_path(str(path), run_name="__main__")
    except Exception as error:
        pytest.fail(f"tutorial {path.name} raised in {failing_cell(path, error)}: {type(error).__name__}: {error}")
    pictures = list(tmp_path.glob("*.png"))
    assert pictures, f"tutorial {path.name} wrote no PNG into its output folder"
    assert all(p.stat().st_size > 0 for p in pictures), f"tutorial {path.name} wrote an empty PNG"


def test_failing_cell_names_the_cell(tmp_path):
    script = tmp_path / "broken.py"
    script.write_text("# %% [markdown]\n# ## Setup\n\n# %%\nx = 1\n# %% [markdown]\n# ## Training\n\n# %%\n"
                      "raise ValueError('bad')\n")
    with pytest.raises(ValueError) as info:
        runpy.run_path(str(script), run_name="__main__")
    assert failing_cell(script, info.value) == "cell 'Training', line 10"


def test_tutorials_exist():
    assert TUTORIALS, "no tutorials found"
