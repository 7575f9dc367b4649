"""Running ``pgm`` in-process in the command-line tests."""

from inference.cli import main


def run_ok(argv):
    """Run a command that must succeed (exit status 0)."""
    assert main(argv) == 0, argv
