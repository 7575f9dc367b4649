"""Executed tutorial pages: run each ``tutorials/*.py`` in its quick mode, cell by cell.

The tutorials are plain scripts in the "percent" format: ``# %% [markdown]`` cells of
comment lines holding markdown, and ``# %%`` cells of code. At ``builder-inited`` this
extension runs every tutorial in the Sphinx process (quick mode: no ``--full``; its output
folder is ``docs/tutorials/NAME/``) one code cell at a time, capturing what each cell
prints and the PNG files it writes, and writes ``docs/tutorials/NAME.md``: the markdown
cells as they are, each code cell as a Python block, followed by its printed output and
its pictures. Those pages are generated (the folder is not under version control) and the
tutorials' index page lists them with a glob.

A tutorial that raises, writes no picture, or emits a Python warning (other than the
deprecation warnings that the test suite ignores too) is reported as a Sphinx warning
naming the tutorial and its cell, so a build with ``-W`` fails on it. A summary of every
run (seconds, pictures, error) goes to ``tutorials.json`` in the output folder.

Settings (``conf.py`` or ``sphinx-build -D``):

``tutorials_dir``
    The scripts' folder, relative to the documentation's source folder.
``tutorials_cache``
    When true (the default), a tutorial is not run again while its page is newer than
    the hash of its script, this extension and the library's sources; ``-D
    tutorials_cache=0`` always runs them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import sys
import time
import traceback
import warnings
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

PAGES = "tutorials"  # generated pages and pictures, under the source folder
LIBRARY = ("pgm", "models", "inference")


def split_cells(source: str) -> list[dict]:
    """The cells of a percent-format script: ``kind`` ('markdown' or 'code'), ``text``
    (markdown without the comment marks, or the code) and ``line`` (the 1-based line of the
    cell's first line of content in the script). Lines before the first marker are code."""
    cells: list[dict] = []
    kind, start, lines = "code", 1, []

    def close():
        body = lines
        if kind == "markdown":
            body = [re.sub(r"^# ?", "", s) if s.startswith("#") else s for s in lines]
        text = "\n".join(body).strip("\n")
        if text.strip():
            skipped = next(i for i, s in enumerate(body) if s.strip())
            cells.append({"kind": kind, "text": text, "line": start + skipped})

    for number, line in enumerate(source.splitlines(), 1):
        if line.startswith("# %%"):
            close()
            kind = "markdown" if "[markdown]" in line else "code"
            start, lines = number + 1, []
        else:
            lines.append(line)
    close()
    return cells


def cell_title(cells: list[dict], index: int) -> str | None:
    """The last markdown heading above cell ``index``."""
    for cell in reversed(cells[:index]):
        if cell["kind"] == "markdown":
            titles = [s.lstrip("#").strip() for s in cell["text"].splitlines() if s.startswith("#")]
            if titles:
                return titles[-1]
    return None


def _pictures(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*.png")}


def test_suite_filters(root: Path) -> list[tuple[str, str, type, str]]:
    """The ``ignore`` entries of the test suite's ``filterwarnings`` (pyproject.toml) as
    arguments of :func:`warnings.filterwarnings`: a tutorial is held to the same rules as
    a test, where every other warning is an error."""
    import builtins
    import tomllib

    config = tomllib.loads((root / "pyproject.toml").read_text())
    entries = config.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("filterwarnings", [])
    filters = []
    for entry in entries:
        action, message, category, module = (entry.split(":") + ["", "", ""])[:4]
        if action == "ignore":
            filters.append((action, message, getattr(builtins, category or "Warning"), module))
    return filters


def run_tutorial(script: Path, out: Path, root: Path, ignore=()) -> dict:
    """Run ``script`` in quick mode with output folder ``out`` (relative to ``root``, the
    working directory during the run), one code cell at a time; every Python warning is
    recorded except those that ``ignore`` (arguments of :func:`warnings.filterwarnings`)
    ignores. Returns the cells with their ``output`` and ``pictures``, and ``error`` /
    ``warnings`` / ``seconds``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pyro
    import torch

    source = script.read_text()
    cells = split_cells(source)
    folder = root / out
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file():
            old.unlink()
    # The conditions of the test suite: Pyro's validation on, a fixed seed, an empty
    # parameter store; the tutorial's own global settings are undone afterwards.
    state = (sys.argv, Path.cwd(), torch.get_num_threads())
    pyro.enable_validation(True)
    pyro.set_rng_seed(0)
    pyro.clear_param_store()
    namespace = {"__name__": "__main__", "__file__": str(script)}
    error, caught, start = None, [], time.perf_counter()
    sys.argv = [str(script), str(out)]
    try:
        os.chdir(root)
        for index, cell in enumerate(cells):
            if cell["kind"] != "code":
                continue
            before = _pictures(folder)
            buffer = io.StringIO()
            code = compile("\n" * (cell["line"] - 1) + cell["text"] + "\n", str(script), "exec")
            with warnings.catch_warnings(record=True) as seen, contextlib.redirect_stdout(buffer), \
                    contextlib.redirect_stderr(buffer):
                warnings.simplefilter("always")
                for action, message, category, module in ignore:
                    warnings.filterwarnings(action, message, category, module)
                try:
                    exec(code, namespace)
                except Exception as exc:  # reported as a Sphinx warning by the caller
                    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(script)]
                    title = cell_title(cells, index)
                    where = f"cell {title!r}" if title else f"the cell at line {cell['line']}"
                    error = f"raised in {where}, line {lines[-1] if lines else cell['line']}: {type(exc).__name__}: {exc}"
                    buffer.write("".join(traceback.format_exception_only(type(exc), exc)))
            for message in seen:
                text = (f"{message.category.__name__} in cell {cell_title(cells, index)!r}: {message.message} "
                        f"({Path(message.filename).name}:{message.lineno})")
                if text not in caught:
                    caught.append(text)
            after = _pictures(folder)
            cell["output"] = buffer.getvalue()
            cell["pictures"] = sorted((n for n in after if before.get(n) != after[n]), key=lambda n: after[n][0])
            if error:
                break
    finally:
        sys.argv = state[0]
        os.chdir(state[1])
        torch.set_num_threads(state[2])
        plt.close("all")
    return {"cells": cells, "error": error, "warnings": caught, "seconds": time.perf_counter() - start,
            "pictures": sorted(_pictures(folder))}


def _fence(text: str, char: str = "`") -> str:
    longest = max((len(m) for m in re.findall(f"{re.escape(char)}+", text)), default=0)
    return char * max(3, longest + 1)


def _note(name: str, run: dict) -> str:
    if run["error"]:
        return f"```{{warning}}\nThis run of `tutorials/{name}.py` {run['error']}\n```"
    return (f"```{{note}}\nThis page is `tutorials/{name}.py` run in its quick mode when the site was built "
            f"({run['seconds']:.0f} s): short runs whose numbers mean little. The prose quotes the full mode's "
            f"numbers: `python tutorials/{name}.py --full`.\n```")


def to_markdown(name: str, run: dict) -> str:
    """The page of one run: markdown cells as they are, code, output and pictures."""
    parts, noted = [], False
    for cell in run["cells"]:
        if cell["kind"] == "markdown":
            parts.append(cell["text"])
            if not noted:
                parts.append(_note(name, run))
                noted = True
            continue
        fence = _fence(cell["text"])
        parts.append(f"{fence}python\n{cell['text']}\n{fence}")
        output = cell.get("output", "").rstrip()
        if output:
            fence = _fence(output)
            parts.append(f"{fence}text\n{output}\n{fence}")
        for picture in cell.get("pictures", []):
            parts.append(f"![{picture}]({name}/{picture})")
    return "\n\n".join(parts) + "\n"


def _digest(script: Path, root: Path) -> str:
    digest = hashlib.sha256(script.read_bytes())
    digest.update(Path(__file__).read_bytes())
    for package in LIBRARY:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def generate(app) -> None:
    """Run the tutorials and write their pages (``builder-inited``)."""
    source = Path(app.srcdir)
    root = source.parent
    scripts = sorted((source / app.config.tutorials_dir).resolve().glob("*.py"))
    pages = source / PAGES
    pages.mkdir(exist_ok=True)
    names = {script.stem for script in scripts}
    for old in pages.iterdir():  # what a removed tutorial left
        if old.name.split(".")[0] not in names:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    summary = {}
    for script in scripts:
        name = script.stem
        page, stamp = pages / f"{name}.md", pages / f"{name}.sha256"
        digest = _digest(script, root)
        if app.config.tutorials_cache and page.exists() and stamp.exists() and stamp.read_text() == digest:
            logger.info("tutorial %s: unchanged, not run again", name)
            continue
        logger.info("running tutorial %s (quick mode)", name)
        run = run_tutorial(script, (pages / name).relative_to(root), root, test_suite_filters(root))
        problems = ([f"tutorial {script.name} {run['error']}"] if run["error"] else [])
        problems += [f"tutorial {script.name}: {w}" for w in run["warnings"]]
        if not run["error"] and not run["pictures"]:
            problems.append(f"tutorial {script.name} wrote no PNG into its output folder")
        for problem in problems:
            logger.warning(problem, type="tutorial", location=str(script))
        text = to_markdown(name, run)
        if not page.exists() or page.read_text() != text:
            page.write_text(text)
        if problems:
            stamp.unlink(missing_ok=True)
        else:
            stamp.write_text(digest)
        summary[name] = {"seconds": round(run["seconds"], 2), "pictures": run["pictures"], "error": run["error"],
                         "warnings": run["warnings"]}
    app.tutorial_runs = summary  # written out when the build finishes


def write_summary(app, exception) -> None:
    runs = getattr(app, "tutorial_runs", None)
    if exception is None and runs is not None:
        Path(app.outdir, "tutorials.json").write_text(json.dumps(runs, indent=1))


def setup(app):
    app.add_config_value("tutorials_dir", "../tutorials", "env")
    app.add_config_value("tutorials_cache", True, "env", bool)
    app.connect("builder-inited", generate)
    app.connect("build-finished", write_summary)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
