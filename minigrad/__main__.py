"""`python -m minigrad ...` runs the minigrad command (see minigrad.cli)."""

import sys

from .cli import main

sys.exit(main())
