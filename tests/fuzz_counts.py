"""The fuzz suites' tally: what each module tried, per area, printed at the end of the run (tests/conftest.py).

With MINIGRAD_FUZZ_COUNTS=path, each module also adds its counts to that JSON file.
"""

from __future__ import annotations

import collections
import json
import os
from typing import Any

import pytest

TOTAL: collections.Counter[str] = collections.Counter()
"""Every fuzz module's counts of this run, added as each module finishes."""


def reporter(tried: collections.Counter[str]) -> Any:
    """A module-scoped autouse fixture that adds `tried` to TOTAL (and to the JSON file named by MINIGRAD_FUZZ_COUNTS)."""

    @pytest.fixture(scope="module", autouse=True)
    def _report_counts():
        yield
        TOTAL.update(tried)
        path = os.environ.get("MINIGRAD_FUZZ_COUNTS")
        if not path:
            return
        counts = {}
        if os.path.exists(path):
            with open(path) as f:
                counts = json.load(f)
        for area, n in tried.items():
            counts[area] = counts.get(area, 0) + n
        with open(path, "w") as f:
            json.dump(counts, f, indent=1, sort_keys=True)

    return _report_counts


def summary() -> str | None:
    """One line per area with how many inputs the fuzz suites tried there, or None when none ran."""
    if not TOTAL:
        return None
    width = max(map(len, TOTAL))
    return "\n".join(f"{area:<{width}}  {n:>6}" for area, n in sorted(TOTAL.items()))
