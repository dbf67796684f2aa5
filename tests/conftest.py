"""Hypothesis profiles: "ci" is derandomized (set by .ci/run), "dev" explores with fresh seeds."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_terminal_summary(terminalreporter):
    """The fuzz suites' counts per area (tests/fuzz_counts.py), after the run."""
    import fuzz_counts

    text = fuzz_counts.summary()
    if text:
        terminalreporter.write_sep("-", "fuzz suites: inputs tried per area")
        terminalreporter.write_line(text)
