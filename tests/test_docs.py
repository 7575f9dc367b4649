"""The documentation site builds with no warning, and every tutorial runs in that build.

One ``sphinx-build -W --keep-going -b html`` (the ``site`` fixture) builds the whole site
into a temporary folder: the API reference from the docstrings, the pages in ``docs/`` and
the tutorials, which the build runs in their quick mode (``docs/_ext/tutorial_pages.py``,
``-D tutorials_cache=0``: always run, whatever an earlier ``make docs`` left). That build
is the only place the suite runs the tutorials; the tests below read its summary. The
docstrings' examples run as doctests (``--doctest-modules`` in pyproject.toml).
"""

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TUTORIALS = sorted((ROOT / "tutorials").glob("*.py"))
sys.path.insert(0, str(DOCS / "_ext"))
import tutorial_pages  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-D", "tutorials_cache=0",
               "-d", str(out / "doctrees"), str(DOCS), str(out / "html")]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    summary = out / "html" / "tutorials.json"
    return SimpleNamespace(returncode=result.returncode, log=result.stdout + result.stderr, html=out / "html",
                           runs=json.loads(summary.read_text()) if summary.exists() else {})


def test_site_builds_without_warnings(site):
    assert site.returncode == 0, f"sphinx-build -W failed (warnings are errors):\n{site.log[-8000:]}"
    for page in ("index", "reference", "families", "tutorials", "benchmarks", "api"):
        assert (site.html / f"{page}.html").is_file(), f"no {page}.html"


def public_modules():
    names = []
    for package in ("pgm", "models", "inference"):
        module = importlib.import_module(package)
        names.append(package)
        names += [m.name for m in pkgutil.walk_packages(module.__path__, package + ".")
                  if not any(part.startswith("_") for part in m.name.split("."))]
    return names


def test_every_module_has_an_api_page(site):
    missing = [name for name in public_modules() if not (site.html / "api" / f"{name}.html").is_file()]
    assert not missing, f"modules without an API page: {missing}"


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(site, path):
    run = site.runs.get(path.stem)
    assert run is not None, f"the docs build did not run tutorial {path.name}:\n{site.log[-4000:]}"
    assert run["error"] is None, f"tutorial {path.name} {run['error']}"
    assert not run["warnings"], f"tutorial {path.name} warned: {run['warnings']}"
    assert run["pictures"], f"tutorial {path.name} wrote no PNG into its output folder"
    assert (site.html / "tutorials" / f"{path.stem}.html").is_file()


def test_tutorials_exist():
    assert TUTORIALS, "no tutorials found"


def test_cells_and_the_failing_cell(tmp_path):
    script = tmp_path / "broken.py"
    script.write_text("import sys\nprint(sys.argv[1:])\n# %% [markdown]\n# ## Setup\n# Some *text*.\n\n# %%\nx = 1\n"
                      "print(x)\n# %% [markdown]\n# ## Training\n\n# %%\nraise ValueError('bad')\n")
    cells = tutorial_pages.split_cells(script.read_text())
    assert [(c["kind"], c["line"]) for c in cells] == [("code", 1), ("markdown", 4), ("code", 8),
                                                       ("markdown", 11), ("code", 14)]
    assert cells[1]["text"] == "## Setup\nSome *text*."
    run = tutorial_pages.run_tutorial(script, Path("out"), tmp_path)
    assert run["error"] == "raised in cell 'Training', line 14: ValueError: bad"
    assert run["cells"][0]["output"] == "['out']\n" and run["cells"][2]["output"] == "1\n"
    page = tutorial_pages.to_markdown("broken", run)
    assert "```python\nx = 1\nprint(x)\n```\n\n```text\n1\n```" in page
