"""``pgm --help`` and every subcommand's help: each option that takes a value states its
default, the texts say what the commands do, and the README's ``pgm fit`` rows are
commands that ``pgm`` accepts."""

import argparse
import re
import shlex
from pathlib import Path

import pytest

import inference.cli.commands
from inference import families as registry
from inference.cli import build_parser, main

README = Path(__file__).resolve().parents[2] / "README.md"


def _subparsers(parser):
    """(name, parser) of every subcommand, ``fit MODEL`` included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                for inner, subsub in _subparsers(sub):
                    yield f"{name} {inner}", subsub


def _options():
    for name, parser in _subparsers(build_parser()):
        formatter = parser._get_formatter()
        for action in parser._actions:
            if action.option_strings and action.nargs != 0:  # an option that takes a value
                yield pytest.param(name, action, formatter._expand_help(action) if action.help else "",
                                   id=f"{name} {action.option_strings[-1]}")


def _shown(default) -> list[str]:
    if isinstance(default, (list, tuple)):
        return [",".join(map(str, default)), " ".join(map(str, default)), f"all {len(default)}"]
    return [str(default), f"{default:g}" if isinstance(default, float) else str(default)]


@pytest.mark.parametrize("command, action, text", list(_options()))
def test_every_option_states_its_default(command, action, text):
    assert re.search(r"\bdefault\b", text), f"pgm {command} {action.option_strings[-1]}: no default in {text!r}"
    if action.default is not None:  # the default the parser uses is the one the help states
        assert any(shown in text for shown in _shown(action.default)), (command, action.default, text)


def test_the_options_checked_above_cover_every_command():
    commands = {param.values[0] for param in _options()}
    assert {"demo", "eval", "sample", "graph", "filters"} <= commands
    assert {f"fit {name}" for name in registry.names()} <= commands


def test_demo_help_names_its_four_parts(capsys):
    assert main(["--help"]) == 0
    top = capsys.readouterr().out
    demo = re.search(r"\n    demo +(.*?)\n    fit", top, re.S).group(1)
    assert "rbm, dbm, directed, dbn" in " ".join(demo.split()) and "train an RBM" not in top
    assert main(["demo", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for part in ("rbm, a 64xHIDDEN RBM", "dbm, a centred 64-16-16 deep Boltzmann machine",
                 "directed, a sigmoid belief net", "dbn, a 64-32-16 deep belief net"):
        assert part in text


@pytest.mark.parametrize("name", ["sbn", "helmholtz", "vae"])
def test_particles_help_names_the_familys_own_methods(name, capsys):
    assert main(["fit", name, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    particles = re.search(r"--particles PARTICLES (.*?\))", text).group(1)
    family = registry.lookup(name)
    for method in ("iwae", "rws"):
        assert (method in particles) == (method in (family.cli_methods or family.methods)), (name, particles)


def test_sample_help_says_which_models_take_steps(capsys):
    assert main(["sample", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert ("refused for sbn, helmholtz, vae, fvsbn, nade, made, oanade, rnade, gan, cgan, dcgan, gmmn, which sample "
            "ancestrally") in text
    assert "(default 1000)" in text


# -- the README's pgm fit rows ------------------------------------------------------------------

def _words(text):
    """The arguments of ``text``, the first alternative of each ``a|b|c`` and, for each
    other alternative, a copy with it; placeholder values (``EPOCHS``) and their option
    left out."""
    words = text.split()
    variants = [[w.split("|")[0] for w in words]]
    for i, word in enumerate(words):
        for option in word.split("|")[1:]:
            variants.append([option if j == i else w.split("|")[0] for j, w in enumerate(words)])
    for variant in variants:
        argv = []
        for word in variant:
            if re.fullmatch(r"[A-Z]+", word):
                argv.pop()
            else:
                argv.append(word)
        yield argv


def _readme_fit_commands():
    """Every ``pgm fit MODEL ...`` in the first column of the README's command-line table:
    the command without its optional ``[...]`` parts, and with each part alone."""
    section = README.read_text().split("## The command line", 1)[1].split("\n## ", 1)[0]
    for line in section.splitlines():
        cells = re.split(r"(?<!\\)\|", line)
        if len(cells) < 3:
            continue
        for span in re.findall(r"`pgm fit ([a-z]+ [^`]*)`", cells[1].replace("\\|", "|")):
            parts = re.findall(r"\[([^\]]*)\]", span)
            base = re.sub(r"\[[^\]]*\]", " ", span)
            for extra in ["", *parts]:
                for argv in _words(f"{base} {extra}"):
                    yield pytest.param(argv, id=" ".join(argv))


class _Checked(Exception):
    """Raised where pgm fit would create its output folder: every check before it passed."""


@pytest.mark.parametrize("argv", list(dict.fromkeys(tuple(p.values[0]) for p in _readme_fit_commands())), ids=" ".join)
def test_readme_fit_rows_pass_every_check(argv, tmp_path, monkeypatch, capsys):
    def stop(out):
        raise _Checked

    monkeypatch.setattr(inference.cli.commands, "_make_folder", stop)
    code = main(["fit", *argv, "--out", str(tmp_path / "run"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "_Checked" in err, err


def test_readme_rows_are_read():
    rows = {" ".join(p.values[0]) for p in _readme_fit_commands()}
    assert "dbn --sizes 64,32,16 --evaluate auto --samples 1000" in rows
    assert "sbn --layers 32 16" in rows and "hopfield --rule storkey --patterns 5" in rows
    assert {r.split()[0] for r in rows} >= {"rbm", "grbm", "bm", "hopfield", "dbm", "ssrbm", "crbm", "sbn",
                                            "helmholtz", "vae", "dbn"}
