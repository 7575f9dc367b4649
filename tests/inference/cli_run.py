"""Running ``pgm`` in-process in the command-line tests."""

import json

from inference.cli import main


def run_ok(argv):
    """Run a command that must succeed (exit status 0)."""
    assert main(argv) == 0, argv


def strict_json(text):
    """``json.loads`` that refuses the NaN and Infinity that Python's json writes by default
    (they are not JSON)."""
    def refuse(constant):
        raise AssertionError(f"not valid JSON: {constant}")
    return json.loads(text, parse_constant=refuse)
