"""Shared test configuration: hypothesis profiles, kernel warm-up, headless matplotlib.

Hypothesis profiles (choose with ``BANDITLAB_HYPOTHESIS_PROFILE``; default ``ci`` when the
``CI`` environment variable is set, else ``dev``):

``dev``
    ``max_examples=25``, random exploration, no deadline.
``ci``
    ``max_examples=40``, ``derandomize=True`` (the same examples on every run), no deadline.

``deadline=None`` everywhere: the first example of a property may compile (or load) Numba
kernels, which would otherwise trip the deadline and be reported as a flaky failure.
"""

from __future__ import annotations

import os

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev", deadline=None, max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci", deadline=None, max_examples=40, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(
    os.environ.get("BANDITLAB_HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
)


def pytest_configure(config: pytest.Config) -> None:
    """Headless plots: select Agg before any test module imports pyplot."""
    matplotlib.use("Agg")


@pytest.fixture(scope="session", autouse=True)
def _warm_kernels() -> None:
    """Compile (or load from Numba's cache) every registered policy's kernels once."""
    import banditlab

    banditlab.warmup("bandits", progress=False)


@pytest.fixture
def python_sigint():
    """SIGINT handled by Python (banditlab's handler) during the test, whatever this process
    inherited: a test run started in the background of a non-interactive shell ignores SIGINT,
    and so would every subprocess it starts. Yields a ``preexec_fn`` for such subprocesses."""
    import signal

    from banditlab._interrupt import install

    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    install()
    try:
        yield lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    finally:
        signal.signal(signal.SIGINT, before)
