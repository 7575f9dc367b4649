"""``python -m inference.cli ...``: the ``pgm`` command without the installed script."""

import sys

from . import main

sys.exit(main())
