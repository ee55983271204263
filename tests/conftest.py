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
from collections.abc import Iterator

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

# No CompileBeside helpers in the suite (tests/test_compile_beside.py turns them on in its own
# processes): on two cores the test workers keep both busy already, and a third process
# compiling would only contend with them. Every call still names its kernels, and the fixture
# below checks the names.
os.environ.setdefault("BANDITLAB_COMPILE_BESIDE", "0")


def pytest_configure(config: pytest.Config) -> None:
    """Headless plots: select Agg before any test module imports pyplot."""
    matplotlib.use("Agg")


@pytest.fixture(scope="session", autouse=True)
def _warm_kernels() -> None:
    """Compile (or load from Numba's cache) every registered policy's kernels once. The
    pytest-xdist workers start together on one cache: the odd ones go through the policies
    in reverse order, so that two workers compile different policies instead of the same
    ones at the same time, and each loads what the other has compiled."""
    from banditlab._warmup import _bandits

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    _bandits(reverse=worker[2:].isdigit() and int(worker[2:]) % 2 == 1)


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


@pytest.fixture(scope="session", autouse=True)
def _compile_beside_predicts_its_kernels() -> Iterator[None]:
    """Every call that hands kernels to :class:`banditlab.parallel.CompileBeside` (the BCD
    loop, the cascading runner) names the versions it goes on to use: a version of one of
    those dispatchers that the call adds here (compiled, or loaded from the cache) must be
    the one it predicted, else its helper compiled in vain. Checked in every test, on
    whatever configurations the tests run."""
    from banditlab.parallel import CompileBeside

    enter, leave = CompileBeside.__enter__, CompileBeside.__exit__

    def checked_enter(self: CompileBeside) -> CompileBeside:
        self._test_before = {id(d): set(d.overloads) for d, _ in self._predicted}
        return enter(self)

    def checked_exit(self: CompileBeside, *exc: object) -> None:
        leave(self, *exc)
        if exc[0] is not None:
            return
        for disp, argtypes in self._predicted:
            for used in set(disp.overloads) - self._test_before[id(disp)] - {argtypes}:
                differ = [f"argument {i}: used {u}, predicted {p}"
                          for i, (u, p) in enumerate(zip(used, argtypes)) if u != p]
                raise AssertionError(f"CompileBeside: {disp.py_func.__qualname__} was called "
                                     f"with other types than predicted ({'; '.join(differ)})")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(CompileBeside, "__enter__", checked_enter)
        mp.setattr(CompileBeside, "__exit__", checked_exit)
        yield
